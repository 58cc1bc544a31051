"""One hostile value in one field of one record: that record is quarantined with a reason
naming the field, or accepted for a reason written beside it, and every other record of the
file loads as it did. No value fails the whole file (but in the registry and the pipelines,
validated as a whole, whose error names the field) or fails it in DuckDB's words: DuckDB does
not short-circuit an `and` as one expects, and `regexp_full_match(x, ...) and cast(x as int)
...` raised a cast error for one survey answer and failed the whole export (`surveys._score`).

For each connector, one record of a small valid file (the small world's, or a fixture) has
each typed field (dates and times, amounts and quantities, ids, currencies, scores) replaced
by each value of HOSTILE in turn. The file is loaded alone, with the files its source reads
beside it (questions.yaml, the registry), by `load_source`, in place of the same file loaded
unchanged first. Every expected outcome is written by hand.

The bills' other formats, where values arrive typed (GCP Parquet, its nested columns read by
its own reader; CUR 2.0 Parquet typed, where the main AWS case writes text; Azure Parquet;
FOCUS Parquet typed as AWS types it and JSON lines as Google's view exports them): a field
gets each value of TYPED_NUMBERS or TYPED_TIMES (NaN, ±infinity, 1e300, -0.0, a DECIMAL past
2^53, INT64 at its limits, a cost typed as text; year 9999, year 1, the epoch, the same
instants zoned or not, a DATE of year 1, epoch milliseconds in INT64; null, '', 100,000
characters, a NUL), in the type the value needs, the column's other values converted to it
(an exporter types a whole column), or JSON's own types (a number bare or quoted, null, true,
an array, an object). A column whose type holds no such value (a time as INT64) fails the
file naming the column: the one outcome that is the file's. Their fields are those typed
otherwise than the main formats' text: the costs, quantities and times; ids and currencies
are strings in every format and read as the main formats' text (but in GCP Parquet, read by
its own reader). Legacy CUR CSV gets HOSTILE in its cost, billing period and a tag column
(folded into resource_tags); GCP CSV's cells and Athena's legacy CUR Parquet are read by the
checks and readers of JSON lines and CUR 2.0 Parquet, and are left out.

Tags: AWS's resource_tags (as text, as CUR 2.0 CSV carries them), Azure's and FOCUS's Tags
get TAG_TEXTS and GCP's labels LABELS: a JSON object of strings (FOCUS: of its
KeyValueFormat's scalars), each key once, or GCP's list of key/value pairs, loads as written,
anything else is quarantined.

Left out, to keep the matrix near 1,400 loads (50-90 ms each): free text (names,
descriptions, stage labels: any text is one, copied and never parsed), enumerations (cost
types, GL accounts, line item types: in the list or quarantined by one `one_of`), and fields
read by the same check and projection as one that is in:
- GCP: usage_end_time (as usage_start_time), currency_conversion_rate, cost_at_list (as
  usage.amount);
- AWS: the usage end (as its start), the other costs (as pricing_public_on_demand_cost);
- Azure: EffectivePrice, UnitPrice, PayGPrice (as Quantity), BillingPeriodEndDate (as start,
  ten years ahead where the start may lie one);
- FOCUS: BillingPeriodStart (as ChargePeriodStart), ChargePeriodEnd (as BillingPeriodEnd),
  EffectiveCost, ListCost (as BilledCost);
- invoices: paid_date (as due_date), service_period_end (as service_period_start);
- surveys: satisfaction (as recommend);
- Freshdesk: priority (as status), updated_at, resolved_at, closed_at (as first_responded_at),
  a rating's created_at (as a ticket's);
- HubSpot: hs_mrr (as amount), createdate and the export's Close Date (as the page's
  closedate).
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest

from ingest.framework import RAW_SCHEMA, SourceError, load_source
from ingest.sources import SOURCES
from ingest.tabular import literal
from tests.cloud_costs.conftest import write_typed_parquet

pytestmark = pytest.mark.slow(85, reason="some 1,400 loads of one small file each")

SOURCE = {source.name: source for source in SOURCES}

# The hostile values, by the name a case is known by.
HOSTILE = {
    "empty": "",
    "blank": "   ",
    "abc": "abc",
    "e999": "1e999",  # past a double's range: infinity, read as one
    "minus_zero": "-0",
    "nan": "NaN",
    "infinity_sign": "∞",
    "infinity": "Infinity",  # DuckDB reads it as a double, a date and a timestamp
    "digits300": "9" * 300,  # no integer type holds it, a double only its first 16 digits
    "feb30": "2024-02-30",
    "zero_date": "0000-00-00",
    "long": "x" * 100_000,
    "nul": "a\x00b",
    "newline": "a\nb",
}
# A value JSON writes as a number: a field the format types as a number gets it bare.
_JSON_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")


# --- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Quarantined:
    """The record is in the quarantine, its reason holding `words`, and not in raw."""

    words: str


@dataclass(frozen=True)
class Loaded:
    """The record loads, the field's raw column holding `value` (`...`: the value as written),
    because `why`."""

    value: object
    why: str


class _Unchanged:
    """`Loaded.value` for the value the record's column held when the file loaded unchanged."""

    def __repr__(self) -> str:
        return "AS_BEFORE"


AS_BEFORE = _Unchanged()


@dataclass(frozen=True)
class NoRow:
    """The record yields no row and is not quarantined, because `why`."""

    why: str


@dataclass(frozen=True)
class Fails:
    """The load fails with a SourceError naming the file, where in it, and `words`: only for
    a file validated as a whole (the registry, the pipelines), where any error is the file's."""

    words: str


Outcome = Quarantined | Loaded | NoRow | Fails


@dataclass(frozen=True)
class Field:
    """A field as the file names it (a column, or a dotted path below the record), the raw
    column it fills (`table.column` where the source fills several tables), the values it
    gets (HOSTILE's text, or a typed format's values), and each value's outcome: `default`
    unless `cases` names it."""

    name: str
    column: str
    default: Outcome
    cases: Mapping[str, Outcome] = field(default_factory=dict)
    values: Mapping[str, object] = field(default_factory=lambda: HOSTILE)


def typed(
    name: str,
    column: str,
    default: Outcome,
    values: Mapping[str, object] = HOSTILE,
    **cases: Outcome,
) -> Field:
    """A Field; `cases` by the names of `values`."""
    unknown = set(cases) - set(values)
    assert not unknown, f"not a value of the field: {unknown}"
    return Field(name, column, default, cases, values)


def empty(outcome: Outcome) -> dict[str, Outcome]:
    """The empty and the blank (whitespace) value: alike."""
    return {"empty": outcome, "blank": outcome}


NULL = Loaded(None, "an optional field left empty is null")
ZERO = Loaded(0.0, "-0 is 0")
# Three letters: whether a currency has rates is dbt's question (cloud_costs_missing_fx_rate,
# assert_revenue_*_have_fx_rate).
ABC_CODE = Loaded("ABC", "three letters, read as a code")
NAN_CODE = Loaded("NAN", "three letters, read as a code")


def number(name: str, column: str, required: bool, called: str = "", **cases: Outcome) -> Field:
    """An amount or quantity (`called` in reasons, if not `name`): -0 is 0; empty is null,
    or says so when required; anything but a finite number a double holds as written (NaN,
    infinity, 1e999, 300 digits) is quarantined."""
    called = called or name
    outcomes = {
        **empty(Quarantined(f"{called} is empty") if required else NULL),
        "minus_zero": ZERO,
        "digits300": Quarantined(f"{called} is out of range"),
        **cases,
    }
    return typed(name, column, Quarantined(f"{called} is not a finite number"), **outcomes)


def moment(
    name: str, column: str, required: bool, what: str, called: str = "", **cases: Outcome
) -> Field:
    """A date or timestamp: `what` is what the reason says it is not."""
    called = called or name
    outcomes = {**empty(Quarantined(f"{called} is empty") if required else NULL), **cases}
    return typed(name, column, Quarantined(f"{called} is not {what}"), **outcomes)


def currency(
    name: str, column: str, required: bool = True, called: str = "", **cases: Outcome
) -> Field:
    called = called or name
    outcomes = {
        **empty(Quarantined(f"{called} is empty") if required else NULL),
        "abc": ABC_CODE,
        "nan": NAN_CODE,
        **cases,
    }
    return typed(name, column, Quarantined(f"{called} is not an ISO 4217 code"), **outcomes)


def identifier(name: str, column: str, called: str = "", **cases: Outcome) -> Field:
    """A required id kept as text: any text but an empty one is an id (whether it names a
    known account or deal is the registry's and dbt's question)."""
    outcomes = {**empty(Quarantined(f"{called or name} is empty")), **cases}
    return typed(name, column, Loaded(..., "an id is text, kept as written"), **outcomes)


# --- values as a typed format holds them ------------------------------------------------------


@dataclass(frozen=True)
class Typed:
    """A value as Parquet holds it: SQL for the record's value, and for every other record's
    (`{v}`: the value the file had there), in a column of `type` (None: the column's own): an
    exporter writes a whole column in one type, so a value of another type retypes it."""

    record: str
    type: str | None = None
    others: str = "{v}"


def whole_column(sql: str, type_: str) -> Typed:
    """Every record's value converted alike: the same instants in another type."""
    return Typed(sql, type_, sql)


TYPED_ANY = {
    "null": Typed("null"),
    "empty": Typed("''", "VARCHAR"),
    "long": Typed("repeat('x', 100000)", "VARCHAR"),
    "nul": Typed("'a' || chr(0) || 'b'", "VARCHAR"),
}
TYPED_NUMBERS = {
    "nan": Typed("'NaN'", "DOUBLE"),
    "infinity": Typed("'Infinity'", "DOUBLE"),
    "minus_infinity": Typed("'-Infinity'", "DOUBLE"),
    "e300": Typed("1e300", "DOUBLE"),
    "minus_zero": Typed("'-0.0'", "DOUBLE"),
    # BigQuery's NUMERIC: 2^53 + 1, which no double holds.
    "decimal_past_2_53": Typed("9007199254740993", "DECIMAL(38, 9)"),
    # A cost written as text, as an exporter that types nothing writes it.
    "text_number": Typed("'12.5'", "VARCHAR"),
    "text_abc": Typed("'abc'", "VARCHAR"),
    # A column of a type that holds no number.
    "boolean": Typed("true", "BOOLEAN"),
    **TYPED_ANY,
}
# A whole number typed INT64, at its limits: only where the file's other values are whole.
TYPED_INT64 = {
    "int64_max": Typed("9223372036854775807", "BIGINT"),
    "int64_min": Typed("-9223372036854775808", "BIGINT"),
}
TYPED_TIMES = {
    "year9999": Typed("timestamp '9999-12-31 23:59:59'", "TIMESTAMP"),
    "year0001": Typed("timestamp '0001-01-01 00:00:00'", "TIMESTAMP"),
    "epoch": Typed("timestamp '1970-01-01 00:00:00'", "TIMESTAMP"),
    # The file's instants with their zone (Parquet's isAdjustedToUTC: BigQuery, Microsoft) and
    # without (AWS), and as milliseconds since the epoch in a plain INT64 (some exporters).
    "zoned": whole_column("({v})::timestamptz", "TIMESTAMPTZ"),
    "naive": whole_column("({v})::timestamptz::timestamp", "TIMESTAMP"),
    "epoch_ms": whole_column("epoch_ms(({v})::timestamptz)", "BIGINT"),
    **TYPED_ANY,
}
# A date column: only where the file's other values are midnights.
TYPED_DATES = {
    "date0001": Typed("date '0001-01-01'", "DATE", "({v})::timestamptz::date"),
    "day": whole_column("({v})::timestamptz::date", "DATE"),
}
AS_TEXT = Loaded(12.5, "a number written as text is read as a CSV cell is")
SAME_INSTANT = Loaded(AS_BEFORE, "the same instant, whatever the column's type says of its zone")


def _applying(values: Mapping[str, object], outcomes: Mapping[str, Outcome]) -> dict:
    return {name: outcome for name, outcome in outcomes.items() if name in values}


def typed_number(
    name: str,
    column: str,
    required: bool,
    called: str = "",
    values: Mapping[str, object] = TYPED_NUMBERS,
    **cases: Outcome,
) -> Field:
    """A number as a typed format holds it: what `number` says of its text, and text that is
    a number (a cost typed VARCHAR) is that number."""
    called = called or name
    outcomes = {
        **dict.fromkeys(("null", "empty"), Quarantined(f"{called} is empty") if required else NULL),
        **dict.fromkeys(
            ("e300", "decimal_past_2_53", *TYPED_INT64),
            Quarantined(f"{called} is out of range"),
        ),
        "minus_zero": ZERO,
        "text_number": AS_TEXT,
        "boolean": Fails(f"column {name} is BOOLEAN"),
        **cases,
    }
    not_finite = Quarantined(f"{called} is not a finite number")
    return typed(name, column, not_finite, values, **_applying(values, outcomes))


def typed_moment(
    name: str,
    column: str,
    required: bool,
    implausible: Outcome,
    called: str = "",
    what: str = "a timestamp",
    values: Mapping[str, object] = TYPED_TIMES,
    **cases: Outcome,
) -> Field:
    """A timestamp as a typed format holds it: `implausible` for year 9999, year 1 and the
    epoch; the same instant zoned or not loads alike; a column of epoch milliseconds is the
    file's problem (whether they are seconds, milliseconds or microseconds is nowhere said)."""
    called = called or name
    outcomes = {
        **dict.fromkeys(("null", "empty"), Quarantined(f"{called} is empty") if required else NULL),
        **dict.fromkeys(("year9999", "year0001", "epoch", "date0001"), implausible),
        "zoned": SAME_INSTANT,
        "naive": SAME_INSTANT,
        "day": SAME_INSTANT,
        "epoch_ms": Fails(f"column {name} is BIGINT"),
        **cases,
    }
    not_a_time = Quarantined(f"{called} is not {what}")
    return typed(name, column, not_a_time, values, **_applying(values, outcomes))


def typed_text(name: str, column: str, default: Outcome, called: str = "", **cases) -> Field:
    """A required text field (an id, a currency) as Parquet holds it: a null is empty."""
    empty_ = Quarantined(f"{called or name} is empty")
    return typed(name, column, default, TYPED_ANY, **{"null": empty_, "empty": empty_, **cases})


# --- file edits -------------------------------------------------------------------------------

Edit = Callable[[bytes, str, Any], bytes]  # (the file, a field, a value) -> the file


class Bare(str):
    """A value written into JSON as it is (a number, null, true, an array), not as a string."""


def csv_cell(row: int) -> Edit:
    """Data row `row` (1: the first after the header) of a CSV, gzipped or not, with a
    byte-order mark or not; written back by Python's csv writer (quoting what needs it)."""

    def edit(data: bytes, name: str, value: str) -> bytes:
        zipped = data[:2] == b"\x1f\x8b"
        text = (gzip.decompress(data) if zipped else data).decode("utf-8")
        bom = "\ufeff" if text.startswith("\ufeff") else ""
        ending = "\r\n" if "\r\n" in text else "\n"
        rows = list(csv.reader(io.StringIO(text.removeprefix(bom), newline="")))
        rows[row][rows[0].index(name)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator=ending).writerows(rows)
        written = (bom + out.getvalue()).encode("utf-8")
        return gzip.compress(written, mtime=0) if zipped else written

    return edit


def json_field(
    record: tuple[str | int, ...], numbers: tuple[str, ...] = (), line: int | None = None
) -> Edit:
    """A field (dotted, list positions as numbers) of the object at path `record` of a JSON
    document, or of line `line` (0-based) of JSON lines. A field in `numbers` is a JSON
    number in the format: a value that reads as one is written bare (`1e999`, `-0`, 300
    digits), any other as a string; a `Bare` value is written bare in any field."""

    def edit(data: bytes, name: str, value: str) -> bytes:
        text = data.decode("utf-8")
        texts, index = ([text], 0) if line is None else (text.splitlines(), line)
        document = json.loads(texts[index])
        *parents, last = [*record, *(int(p) if p.isdigit() else p for p in name.split("."))]
        node = document
        for key in parents:
            node = node[key]
        bare = isinstance(value, Bare) or (name in numbers and _JSON_NUMBER.fullmatch(value))
        node[last] = "\x00bare\x00" if bare else value
        text = json.dumps(document, ensure_ascii=False)
        texts[index] = text.replace('"\\u0000bare\\u0000"', value)
        return ("\n".join(texts) + "\n").encode("utf-8")

    return edit


def parquet_cell(row: int) -> Edit:
    """Row `row` (0-based) of a Parquet file, the field's column written as text: a typed
    column cannot hold a hostile value, a text one can, and the bills read both as text."""

    def edit(data: bytes, name: str, value: str) -> bytes:
        with tempfile.TemporaryDirectory() as scratch, duckdb.connect() as con:
            source, target = Path(scratch, "in.parquet"), Path(scratch, "out.parquet")
            source.write_bytes(data)
            con.execute(
                "copy (select * exclude (file_row_number) replace ("
                f'case when file_row_number = {row} then $value else "{name}"::varchar end '
                f"as \"{name}\") from read_parquet('{source}', file_row_number = true, "
                f"hive_partitioning = false) order by file_row_number) "
                f"to '{target}' (format parquet)",
                {"value": value},
            )
            return target.read_bytes()

    return edit


def parquet_typed(row: int) -> Edit:
    """Row `row` (0-based) of a Parquet file, its field (a column `c`, a struct's field
    `c.f`, or a field of a list's element `c.0.f`) set to a `Typed` value, every other
    record's value of the field converted to the value's type."""

    def edit(data: bytes, name: str, value: Typed) -> bytes:
        column, *inner = name.split(".")
        index, leaf = (int(inner[0]) + 1, inner[1]) if len(inner) == 2 else (None, None)
        with tempfile.TemporaryDirectory() as scratch, duckdb.connect() as con:
            con.execute("set TimeZone = 'UTC'")
            source, target = Path(scratch, "in.parquet"), Path(scratch, "out.parquet")
            source.write_bytes(data)
            read = f"read_parquet('{source}', file_row_number = true, hive_partitioning = false)"
            if index is not None:  # a list's element
                current, here = f'e."{leaf}"', f"file_row_number = {row} and i = {index}"
                probe = f'"{column}"[{index}]."{leaf}"'
            else:
                current = probe = ".".join(f'"{part}"' for part in name.split("."))
                here = f"file_row_number = {row}"
            [(kind,)] = con.execute(f"select typeof({probe}) from {read} limit 1").fetchall()
            kind = value.type or kind
            new = (
                f"case when {here} then ({value.record.replace('{v}', current)})::{kind} "
                f"else ({value.others.replace('{v}', current)})::{kind} end"
            )
            if index is not None:
                new = (
                    f'list_transform("{column}", lambda e, i: struct_update(e, "{leaf}" := {new}))'
                )
            elif inner:
                new = f'struct_update("{column}", "{inner[0]}" := {new})'
            con.execute(
                f'copy (select * exclude (file_row_number) replace ({new} as "{column}") '
                f"from {read} order by file_row_number) to '{target}' (format parquet)"
            )
            return target.read_bytes()

    return edit


def yaml_value(line: str) -> Edit:
    """The value of the one `line` (`key: value`) of a YAML file, typed plain as a person
    types it; one YAML cannot write plain (a NUL, a newline) double-quoted."""

    def edit(data: bytes, name: str, value: str) -> bytes:
        text = data.decode("utf-8")
        assert text.count(line) == 1, line
        key = line.split(":")[0]
        written = value if value.isprintable() else json.dumps(value)
        return text.replace(line, f"{key}: {written}".rstrip()).encode("utf-8")

    return edit


# --- the connectors' files and fields ---------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A small valid file of a source and the record whose fields are replaced."""

    source: str
    file: str  # in the small world, or under tests/ when it starts with fixtures/
    record: str  # as raw's _record and the quarantine name it
    edit: Edit
    fields: tuple[Field, ...]
    landed: str | None = None  # where it lands, when not where the small world has it
    beside: tuple[str, ...] = ()  # small-world files its source reads with it
    records: Mapping[str, str] = field(default_factory=dict)  # a field's record, if another
    made: Callable[[Path], bytes] | None = None  # the file written from `file` in its format

    def path(self) -> str:
        return self.landed or self.file


TIMESTAMP = "a timestamp"
DATE = "a date in %Y-%m-%d"
AZURE_DATE = "a date (MM/DD/YYYY or YYYY-MM-DD)"
HUBSPOT_DATE = "a date or ISO timestamp"
# The fields Freshdesk's API writes as JSON numbers.
FRESHDESK_NUMBERS = ("id", "company_id", "status", "ticket_id", "survey_id")


def freshdesk_id(
    name: str, column: str, required: bool = True, meaning: str = "an id", **cases: Outcome
) -> Field:
    """A Freshdesk number (an id, a status): a whole number; JSON's -0 is 0."""
    outcomes = {
        **empty(Quarantined(f"{name} is empty") if required else NULL),
        "minus_zero": Loaded(0, "JSON's -0 is the number 0"),
        **cases,
    }
    return typed(name, column, Quarantined(f"{name} is not {meaning}"), **outcomes)


def survey_score(name: str, column: str, scale: str) -> Field:
    """A score: a value with a digit is no whole number on the scale, one without is a label
    (questions.yaml maps none); an empty one is no answer (the other score is given)."""
    number = Quarantined(f"{column} is not a whole number from {scale}")
    outcomes = {
        **empty(Loaded(None, "no answer: the response's other score counts")),
        **dict.fromkeys(("e999", "minus_zero", "digits300", "feb30", "zero_date"), number),
    }
    return typed(name, column, Quarantined(f"{column} is a label, not a whole number"), **outcomes)


# The other formats' files, as their exporters type them.


def _azure_parquet(path: Path) -> bytes:
    """An Azure CSV export as the same export in Parquet: dates DATE, amounts DOUBLE, the
    rest text (as test_azure_costs' Parquet export types them)."""
    dates = ("Date", "BillingPeriodStartDate", "BillingPeriodEndDate")
    numbers = ("Quantity", "EffectivePrice", "CostInBillingCurrency", "PayGPrice")
    with tempfile.TemporaryDirectory() as scratch, duckdb.connect() as con:
        target = Path(scratch, "part.parquet")
        retyped = ", ".join(
            [f'strptime("{c}", \'%m/%d/%Y\')::date as "{c}"' for c in dates]
            + [f'"{c}"::double as "{c}"' for c in numbers]
        )
        con.execute(
            f"copy (select * replace ({retyped}) from read_csv('{path}', all_varchar = true)) "
            f"to '{target}' (format parquet)"
        )
        return target.read_bytes()


def _focus_parquet(path: Path) -> bytes:
    """A FOCUS fixture's rows as its provider types them in Parquet."""
    with tempfile.TemporaryDirectory() as scratch:
        return write_typed_parquet(path.name, Path(scratch, "part.parquet")).read_bytes()


# A JSON field's values, typed as JSON types them: a number bare, a string quoted.
JSON_ANY = {
    "null": Bare("null"),
    "true": Bare("true"),
    "array": Bare("[1, 2]"),
    "object": Bare('{"a": 1}'),
    "empty": "",
    "long": "x" * 100_000,
    "nul": "a\x00b",
}
JSON_NUMBERS = {
    "e300": Bare("1e300"),
    "e999": Bare("1e999"),
    "minus_zero": Bare("-0.0"),
    "number": Bare("12.5"),
    "text_number": "12.5",
    "text_abc": "abc",
    **JSON_ANY,
}
JSON_TIMES = {
    "year9999": "9999-12-31 23:59:59 UTC",
    "year0001": "0001-01-01 00:00:00 UTC",
    "epoch": "1970-01-01 00:00:00 UTC",
    "epoch_ms": Bare("1741136400000"),
    **JSON_ANY,
}
LEGACY_TAG = "resourceTags/user:2i2c:hub-name"


def legacy_tag(value: str) -> Outcome:
    """Legacy CUR's tag column folded into resource_tags: any text is a tag value, an empty
    one null (JSON as DuckDB writes it: no spaces, non-ASCII as it is)."""
    tag = value.strip() or None
    text = json.dumps({"user:2i2c:hub-name": tag}, ensure_ascii=False, separators=(",", ":"))
    return Loaded(text, "a tag's value is any text")


# A tag map's values (resource_tags, Tags; GCP's labels are a list of key/value pairs), as
# text in a CSV cell or a Parquet string (JSON's own, bare, for GCP's labels).
TAG_TEXTS = {
    "object": '{"user:team": "research"}',
    "empty_object": "{}",
    "null_value": '{"user:team": null}',
    "number_value": '{"user:team": 1}',
    "nested": '{"user:team": {"a": "b"}}',
    "duplicate_key": '{"user:team": "a", "user:team": "b"}',
    "e999": "1e999",
    "array": "[1, 2]",
    "string": '"research"',
    "json_null": "null",
    "not_json": "team=research",
    "empty": "",
}
LABELS = {
    name: Bare(text)
    for name, text in {
        "pairs": '[{"key": "team", "value": "research"}]',
        "empty_list": "[]",
        "null_value": '[{"key": "team", "value": null}]',
        "number_value": '[{"key": "team", "value": 1}]',
        "null_key": '[{"key": null, "value": "research"}]',
        "duplicate_key": '[{"key": "team", "value": "a"}, {"key": "team", "value": "b"}]',
        "object": '{"team": "research"}',
        "e999": "1e999",
        "array": "[1, 2]",
        "string": '"research"',
        "json_null": "null",
    }.items()
}


def tag_map(
    name: str,
    column: str,
    called: str,
    values: str = "strings",
    texts: Mapping[str, object] = TAG_TEXTS,
    **cases: Outcome,
) -> Field:
    """A tag map (TAG_TEXTS, or the same `texts` as a format holds them): a JSON object, each
    key once, each value a string or null (or, where `values` says so, a number or boolean);
    anything else is quarantined."""
    loaded = {
        name: Loaded(TAG_TEXTS[name], f"a JSON object of {values}, kept as written")
        for name in ("object", "empty_object", "null_value")
    }
    outcomes = {**loaded, "empty": NULL, **cases}
    return typed(name, column, Quarantined(f"{called} is not a tag map"), texts, **outcomes)


# A number a cast to DOUBLE does not read: the reason of `castable`, where a file is checked so.
NOT_A_DOUBLE = dict.fromkeys(
    ("abc", "infinity_sign", "feb30", "zero_date", "long", "nul", "newline"),
    Quarantined("amount is not a double"),
)
TARGETS = {
    "gcp": Target(
        "gcp_billing",
        "cloud_costs/gcp/01A2B3-C4D5E6-2I2C00/202606-000000000000.jsonl",
        "line 1",
        json_field((), numbers=("cost", "usage.amount", "credits.0.amount"), line=0),
        (
            number("cost", "cost", required=True),
            number("usage.amount", "usage_amount", required=False, called="usage_amount"),
            typed(
                "credits.0.amount",
                "gcp_billing_credits.amount",
                Quarantined("credits has an amount that is not"),
                minus_zero=ZERO,
            ),
            moment("usage_start_time", "usage_start_time", True, TIMESTAMP),
            moment("export_time", "export_time", False, TIMESTAMP),
            typed(
                "invoice.month",
                "invoice_month",
                Quarantined("invoice_month is not a YYYYMM month"),
                **empty(Quarantined("invoice_month is empty")),
            ),
            currency("currency", "currency"),
            identifier("billing_account_id", "billing_account_id"),
        ),
    ),
    "aws": Target(
        "aws_cur",
        "cloud_costs/aws/790657130469/cur2/data/BILLING_PERIOD=2026-05/cur2-00001.snappy.parquet",
        "row 2",
        parquet_cell(1),
        (
            number("line_item_unblended_cost", "line_item_unblended_cost", required=True),
            number("pricing_public_on_demand_cost", "pricing_public_on_demand_cost", False),
            moment("line_item_usage_start_date", "line_item_usage_start_date", True, TIMESTAMP),
            moment(
                "bill_billing_period_start_date", "bill_billing_period_start_date", True, TIMESTAMP
            ),
            currency(
                "line_item_currency_code",
                "line_item_currency_code",
                required=False,
                **empty(Loaded("USD", "CUR's currency when a line names none")),
            ),
            identifier("line_item_usage_account_id", "line_item_usage_account_id"),
        ),
    ),
    "azure": Target(
        "azure_costs",
        "cloud_costs/azure/desert-observatory/actualcost/20261001-20261031/"
        "2746931b-0fe0-cd96-c31a-991ace9f36d8/part_0_0001.csv.gz",
        "line 3",
        csv_cell(2),
        (
            moment("Date", "date", True, AZURE_DATE, called="date"),
            number(
                "CostInBillingCurrency",
                "cost_in_billing_currency",
                True,
                called="cost_in_billing_currency",
            ),
            number("Quantity", "quantity", False, called="quantity"),
            moment(
                "BillingPeriodStartDate",
                "billing_period_start_date",
                False,
                AZURE_DATE,
                called="billing_period_start_date",
            ),
            currency("BillingCurrency", "billing_currency", called="billing_currency"),
            identifier(
                "SubscriptionId",
                "subscription_id",
                called="subscription_id",
                nan=Loaded("nan", "a subscription GUID is read lower-cased"),
                infinity=Loaded("infinity", "a subscription GUID is read lower-cased"),
            ),
        ),
    ),
    "focus": Target(
        "focus",
        "cloud_costs/focus/aws/focus-2026-08.csv",
        "line 3",
        csv_cell(2),
        (
            number("BilledCost", "billed_cost", required=True),
            number("ContractedCost", "contracted_cost", required=False),
            moment("ChargePeriodStart", "charge_period_start", True, TIMESTAMP),
            moment("BillingPeriodEnd", "billing_period_end", False, TIMESTAMP),
            currency("BillingCurrency", "billing_currency"),
            identifier("BillingAccountId", "billing_account_id"),
        ),
    ),
    "invoices": Target(
        "invoices",
        "invoices/invoices-2024.csv",
        "line 2",
        csv_cell(1),
        (
            moment("invoice_date", "invoice_date", True, DATE),
            moment("due_date", "due_date", False, DATE),
            moment(
                "service_period_start",
                "service_period_start",
                False,
                DATE,
                **empty(Quarantined("service period has only one of start and end")),
            ),
            number("amount", "amount", required=True, **NOT_A_DOUBLE),
            currency("currency", "currency"),
            typed(
                "hubspot_deal_id",
                "hubspot_deal_id",
                Loaded(..., "an id is text, kept as written"),
                **empty(
                    Loaded(
                        None,
                        "a line without a deal is left out in dbt, "
                        "int_revenue__rejected_invoice_lines",
                    )
                ),
            ),
        ),
    ),
    "invoice_sheet": Target(
        "invoices",
        "invoices/finance-sheet-2026.json",
        "row 3",
        # Cells by position: 1 invoice_date, 5 amount, 6 currency, 9 due_date. The live pull
        # asks for unformatted values: amounts and date cells come as numbers.
        json_field(("values", 2), numbers=("1", "5", "9")),
        (
            # JSON's -0 is serial day 0, 1899-12-30: a day, but not a plausible one.
            moment(
                "1",
                "invoice_date",
                True,
                DATE,
                called="invoice_date",
                minus_zero=Quarantined("invoice_date is outside 2000-01-01"),
            ),
            moment(
                "9",
                "due_date",
                False,
                DATE,
                called="due_date",
                minus_zero=Quarantined("due_date is outside 2000-01-01"),
            ),
            number("5", "amount", True, called="amount", **NOT_A_DOUBLE),
            currency("6", "currency", called="currency"),
        ),
    ),
    "fx": Target(
        "fx",
        "fx/rates.csv",
        "line 3",
        csv_cell(2),
        (
            moment("date", "rate_date", True, DATE),
            currency("currency", "currency"),
            typed(
                "usd_per_unit",
                "usd_per_unit",
                Quarantined("usd_per_unit is not a double"),
                **empty(Quarantined("usd_per_unit is empty")),
                **dict.fromkeys(
                    ("e999", "minus_zero", "nan", "infinity"),
                    Quarantined("usd_per_unit is not a positive number"),
                ),
                digits300=Quarantined("usd_per_unit is out of range"),
            ),
        ),
    ),
    "ecb": Target(
        "fx",
        "fixtures/fx/eurofxref-hist.csv",
        "line 3",
        csv_cell(2),
        (
            moment("Date", "rate_date", True, "a date in %Y-%m-%d or %d %B %Y"),
            typed(
                "USD",
                "usd_per_unit",
                Quarantined("USD is not a double"),
                **empty(NoRow("empty is the ECB's N/A: a day without a USD rate converts nothing")),
                **dict.fromkeys(
                    ("e999", "minus_zero", "nan", "infinity"),
                    Quarantined("USD is not a positive number"),
                ),
                digits300=Quarantined("USD is out of range"),
            ),
            typed(
                "GBP",
                "usd_per_unit",
                Quarantined("GBP is not a double"),
                **empty(NoRow("empty is the ECB's N/A: a currency not quoted that day")),
                **dict.fromkeys(
                    ("e999", "minus_zero", "nan", "infinity"),
                    Quarantined("GBP is not a positive number"),
                ),
                digits300=Quarantined("GBP gives usd_per_unit"),
            ),
        ),
        landed="fx/eurofxref-hist.csv",
        records={"GBP": "line 3, GBP"},
    ),
    "surveys": Target(
        "surveys",
        "surveys/partner-survey-2026-q3.csv",
        "line 3",
        csv_cell(2),
        (
            moment("Timestamp", "submitted_at", True, "a date-time in en_US"),
            survey_score(
                "How likely are you to recommend 2i2c to a colleague?", "recommend", "0 to 10"
            ),
            identifier(
                "Which community (or hub) do you belong to?", "community", called="community"
            ),
        ),
        beside=("surveys/questions.yaml",),
    ),
    "freshdesk_tickets": Target(
        "freshdesk",
        "support/tickets/updated-since-2026-07-01.json",
        "[1]",
        json_field((1,), numbers=FRESHDESK_NUMBERS),
        (
            freshdesk_id("id", "ticket_id"),
            freshdesk_id(
                "company_id",
                "company_id",
                required=False,
                minus_zero=Loaded("0", "JSON's -0 is the number 0"),
                digits300=Loaded(..., "an id kept as text"),
            ),
            freshdesk_id("status", "status", required=False, meaning="a status number"),
            moment("created_at", "created_at", True, "an ISO timestamp"),
            moment(
                "stats.first_responded_at",
                "first_responded_at",
                False,
                "an ISO timestamp",
                called="first_responded_at",
            ),
        ),
    ),
    "freshdesk_ratings": Target(
        "freshdesk",
        "support/satisfaction_ratings/created-since-2026-06-01.json",
        "[1]",
        json_field((1,), numbers=(*FRESHDESK_NUMBERS, "ratings.default_question")),
        (
            freshdesk_id("id", "rating_id"),
            freshdesk_id("ticket_id", "ticket_id"),
            freshdesk_id("survey_id", "survey_id", required=False),
            typed(
                "ratings.default_question",
                "rating",
                Quarantined("rating is not one of"),
                **empty(Quarantined("rating is empty")),
            ),
            moment("updated_at", "updated_at", False, "an ISO timestamp"),
        ),
    ),
    "hubspot_page": Target(
        "hubspot",
        "crm/deals/page-0002.json",
        "page file, results[1]",
        json_field(("results", 1)),
        (
            identifier("id", "deal_id"),
            number("properties.amount", "amount", False, called="amount", **NOT_A_DOUBLE),
            typed(
                "properties.hs_forecast_probability",
                "forecast_probability",
                Quarantined("hs_forecast_probability is not between 0 and 1"),
                **empty(NULL),
                minus_zero=ZERO,
                **dict.fromkeys(
                    ("abc", "infinity_sign", "feb30", "zero_date", "long", "nul", "newline"),
                    Quarantined("hs_forecast_probability is not a double"),
                ),
            ),
            moment("properties.closedate", "close_date", False, HUBSPOT_DATE, called="closedate"),
            moment(
                "properties.contract_end_date",
                "contract_end_date",
                False,
                HUBSPOT_DATE,
                called="contract_end_date",
            ),
            currency(
                "properties.deal_currency_code",
                "currency",
                called="deal_currency_code",
                **empty(Loaded(None, "HubSpot leaves the portal's own currency empty")),
            ),
            moment("createdAt", "created_at", False, HUBSPOT_DATE),
        ),
    ),
    "hubspot_export": Target(
        "hubspot",
        "fixtures/revenue/crm_export/deals-export.csv",
        "line 3",
        csv_cell(2),
        (
            identifier("Record ID", "deal_id", called="id"),
            number("Amount", "amount", False, called="amount", **NOT_A_DOUBLE),
            typed(
                "Forecast probability",
                "forecast_probability",
                Quarantined("hs_forecast_probability is not between 0 and 1"),
                **empty(NULL),
                minus_zero=ZERO,
                **dict.fromkeys(
                    ("abc", "infinity_sign", "feb30", "zero_date", "long", "nul", "newline"),
                    Quarantined("hs_forecast_probability is not a number or percentage"),
                ),
            ),
            moment(
                "Contract End Date",
                "contract_end_date",
                False,
                HUBSPOT_DATE,
                called="contract_end_date",
            ),
            currency(
                "Currency",
                "currency",
                called="deal_currency_code",
                **empty(Loaded(None, "HubSpot leaves the portal's own currency empty")),
            ),
        ),
        landed="crm/deals/deals-export.csv",
    ),
    "pipelines": Target(
        "hubspot",
        "crm/pipelines.json",
        "results[0].stages[1]",
        json_field(("results", 0, "stages", 1), numbers=("displayOrder",)),
        (
            typed(
                "metadata.probability",
                "probability",
                Fails("results[0].stages[1]: metadata.probability"),
                minus_zero=ZERO,
            ),
            typed(
                "displayOrder",
                "display_order",
                Fails("results[0].stages[1]: displayOrder"),
                empty=Loaded(0, "a stage without a display order sorts first"),
                minus_zero=Loaded(0, "JSON's -0 is the number 0"),
            ),
        ),
    ),
    "prometheus": Target(
        "prometheus",
        "usage/2i2c-aws-us/daily_active_users.json",
        "result[0] values[2]",
        # A sample is [<unix time, a JSON number>, "<value, a string>"].
        json_field(("data", "result", 0, "values", 2), numbers=("0",)),
        (
            typed(
                "0",
                "sampled_at",
                Quarantined("sampled_at is not a double"),
                **empty(Quarantined("sampled_at is empty")),
                **dict.fromkeys(
                    ("e999", "minus_zero", "nan", "infinity", "digits300"),
                    Quarantined("sampled_at is outside 2000-01-01"),
                ),
            ),
            number("1", "value", True, called="value"),
        ),
        beside=("registry/clusters.yaml",),
    ),
    "registry": Target(
        "registry",
        "registry/clusters.yaml",
        "cluster 2i2c-uk hub coastal-data-lab",
        yaml_value("launched_on: 2026-06-14"),
        # Validated as a whole: any error fails it, naming the field (ingest.registry).
        (
            typed(
                "launched_on",
                "launched_on",
                Fails("cluster '2i2c-uk', hub 'coastal-data-lab', field launched_on"),
            ),
        ),
    ),
    "registry_account": Target(
        "registry",
        "registry/clusters.yaml",
        "cluster 2i2c-aws-us",
        yaml_value("account: '790657130469'"),
        (
            typed(
                "account",
                "account",
                Loaded(..., "an account id is text, kept as written"),
                **empty(Fails("cluster '2i2c-aws-us', field account")),
            ),
        ),
    ),
    # --- the other formats: values typed as the format types them ---
    "gcp_parquet": Target(
        "gcp_billing",
        "cloud_costs/gcp/BA-quantum-academy/202606.parquet",
        "row 1",
        parquet_typed(0),
        (
            typed_number("cost", "cost", required=True),
            typed_number("usage.amount", "usage_amount", False, called="usage_amount"),
            typed(
                "credits.0.amount",
                "gcp_billing_credits.amount",
                Quarantined("credits has an amount that is not"),
                # Doubles only: raw keeps each credit's JSON, which another type writes
                # otherwise for every credit (-0.776400000, "-0.7764").
                {n: TYPED_NUMBERS[n] for n in ("nan", "infinity", "minus_infinity", "e300")}
                | {n: TYPED_NUMBERS[n] for n in ("minus_zero", "null")},
                minus_zero=ZERO,
            ),
            typed_moment(
                "usage_start_time",
                "usage_start_time",
                True,
                Quarantined("usage_start_time is outside 2000-01-01"),
            ),
            typed_moment(
                "export_time",
                "export_time",
                False,
                Quarantined("export_time is outside 2000-01-01"),
            ),
            typed_text("currency", "currency", Quarantined("currency is not an ISO 4217 code")),
            typed_text(
                "billing_account_id",
                "billing_account_id",
                Loaded(AS_BEFORE, "unchanged"),
                long=Loaded("x" * 100_000, "an id is text, kept as written"),
                nul=Loaded("a\x00b", "an id is text, kept as written"),
            ),
        ),
    ),
    "aws_parquet": Target(
        "aws_cur",
        "cloud_costs/aws/790657130469/cur2/data/BILLING_PERIOD=2026-05/cur2-00001.snappy.parquet",
        "row 2",
        parquet_typed(1),
        (
            typed_number("line_item_unblended_cost", "line_item_unblended_cost", required=True),
            typed_moment(
                "line_item_usage_start_date",
                "line_item_usage_start_date",
                True,
                Quarantined("line_item_usage_start_date is outside 2000-01-01"),
            ),
            typed_moment(
                "bill_billing_period_start_date",
                "bill_billing_period_start_date",
                True,
                Quarantined("bill_billing_period_start_date is outside 2000-01-01"),
                values={**TYPED_TIMES, **TYPED_DATES},
            ),
            typed_moment(
                "bill_billing_period_end_date",
                "bill_billing_period_end_date",
                False,
                Quarantined("bill_billing_period_end_date is outside 2000-01-01"),
                values={**TYPED_TIMES, **TYPED_DATES},
            ),
        ),
    ),
    "legacy_cur": Target(
        "aws_cur",
        "cloud_costs/aws/551107237430/2i2c-legacy-cur/20260501-20260601/"
        "f71b1417-6244-209c-a47d-7a59b049c849/2i2c-legacy-cur-1.csv.gz",
        "line 3",
        csv_cell(2),
        (
            number(
                "lineItem/UnblendedCost",
                "line_item_unblended_cost",
                True,
                called="line_item_unblended_cost",
            ),
            moment(
                "bill/BillingPeriodStartDate",
                "bill_billing_period_start_date",
                True,
                TIMESTAMP,
                called="bill_billing_period_start_date",
            ),
            typed(
                LEGACY_TAG,
                "resource_tags",
                legacy_tag(""),
                **{name: legacy_tag(value) for name, value in HOSTILE.items() if value.strip()},
            ),
        ),
    ),
    "azure_parquet": Target(
        "azure_costs",
        "cloud_costs/azure/desert-observatory/actualcost/20261001-20261031/"
        "2746931b-0fe0-cd96-c31a-991ace9f36d8/part_0_0001.csv.gz",
        "row 3",
        parquet_typed(2),
        (
            typed_number(
                "CostInBillingCurrency",
                "cost_in_billing_currency",
                True,
                called="cost_in_billing_currency",
            ),
            typed_number("Quantity", "quantity", False, called="quantity"),
            typed_moment(
                "Date",
                "date",
                True,
                Quarantined("date is outside 2000-01-01"),
                called="date",
                what=AZURE_DATE,
                values={**TYPED_TIMES, **TYPED_DATES},
            ),
            typed_moment(
                "BillingPeriodStartDate",
                "billing_period_start_date",
                False,
                Quarantined("billing_period_start_date is outside 2000-01-01"),
                called="billing_period_start_date",
                what=AZURE_DATE,
                values={**TYPED_TIMES, **TYPED_DATES},
            ),
        ),
        landed="cloud_costs/azure/desert-observatory/actualcost/20261001-20261031/"
        "2746931b-0fe0-cd96-c31a-991ace9f36d8/part_0_0001.parquet",
        made=_azure_parquet,
    ),
    "focus_parquet": Target(
        "focus",
        "fixtures/cloud_costs/focus/parquet/aws-focus-1.0.sql",
        "row 1",
        parquet_typed(0),
        (
            typed_number("BilledCost", "billed_cost", required=True),
            typed_number(
                "ConsumedQuantity",
                "consumed_quantity",
                False,
                values={**TYPED_NUMBERS, **TYPED_INT64},
            ),
            typed_moment(
                "ChargePeriodStart",
                "charge_period_start",
                True,
                Quarantined("ChargePeriodStart is outside 2000-01-01"),
            ),
            typed_moment(
                "BillingPeriodStart",
                "billing_period_start",
                True,
                Quarantined("BillingPeriodStart is outside 2000-01-01"),
                values={**TYPED_TIMES, **TYPED_DATES},
            ),
            typed_moment(
                "BillingPeriodEnd",
                "billing_period_end",
                False,
                Quarantined("BillingPeriodEnd is outside 2000-01-01"),
                values={**TYPED_TIMES, **TYPED_DATES},
            ),
        ),
        landed="cloud_costs/focus/aws-focus/focus-1-0/data/BILLING_PERIOD=2025-03/"
        "focus-1-0-00001.snappy.parquet",
        made=_focus_parquet,
    ),
    "focus_json": Target(
        "focus",
        "fixtures/cloud_costs/focus/json/gcp-focus-view.jsonl",
        "line 2",
        json_field((), line=1),
        (
            typed_number(
                "BilledCost",
                "billed_cost",
                True,
                values=JSON_NUMBERS,
                number=Loaded(12.5, "a JSON number"),
                e999=Quarantined("BilledCost is not a finite number"),
            ),
            typed_moment(
                "ChargePeriodStart",
                "charge_period_start",
                True,
                Quarantined("ChargePeriodStart is outside 2000-01-01"),
                values=JSON_TIMES,
                epoch_ms=Quarantined("ChargePeriodStart is not a timestamp"),
            ),
            typed_moment(
                "BillingPeriodEnd",
                "billing_period_end",
                False,
                Quarantined("BillingPeriodEnd is outside 2000-01-01"),
                values=JSON_TIMES,
                epoch_ms=Quarantined("BillingPeriodEnd is not a timestamp"),
            ),
        ),
        landed="cloud_costs/focus/gcp/focus-2025-03.jsonl",
    ),
    # --- tags: a JSON object of strings in every bill that carries them ---
    "aws_tags": Target(
        "aws_cur",
        "cloud_costs/aws/790657130469/cur2/data/BILLING_PERIOD=2026-05/cur2-00001.snappy.parquet",
        "row 2",
        parquet_typed(1),
        # CUR 2.0's map written as JSON text, as its CSV carries it.
        (
            tag_map(
                "resource_tags",
                "resource_tags",
                "resource_tags",
                texts={
                    name: Typed(literal(text), "VARCHAR", "to_json({v})")
                    for name, text in TAG_TEXTS.items()
                },
            ),
        ),
    ),
    "azure_tags": Target(
        "azure_costs",
        "cloud_costs/azure/desert-observatory/actualcost/20261001-20261031/"
        "2746931b-0fe0-cd96-c31a-991ace9f36d8/part_0_0001.csv.gz",
        "line 3",
        csv_cell(2),
        (tag_map("Tags", "tags", "tags"),),
    ),
    "focus_tags": Target(
        "focus",
        "cloud_costs/focus/aws/focus-2026-08.csv",
        "line 3",
        csv_cell(2),
        (
            tag_map(
                "Tags",
                "tags",
                "Tags",
                values="strings, numbers or booleans (FOCUS's KeyValueFormat)",
                number_value=Loaded(
                    TAG_TEXTS["number_value"], "FOCUS's KeyValueFormat allows a number"
                ),
            ),
        ),
    ),
    "gcp_labels": Target(
        "gcp_billing",
        "cloud_costs/gcp/01A2B3-C4D5E6-2I2C00/202606-000000000000.jsonl",
        "line 1",
        json_field((), line=0),
        (
            typed(
                "labels",
                "labels",
                Quarantined("labels is not a list of key/value pairs"),
                LABELS,
                pairs=Loaded('[{"key":"team","value":"research"}]', "GCP's form of a tag map"),
                empty_list=Loaded("[]", "no labels"),
                null_value=Loaded('[{"key":"team","value":null}]', "a label without a value"),
            ),
        ),
    ),
}


def _cases() -> list:
    return [
        pytest.param(target, index, value, id=f"{target}-{hostile.name}-{value}")
        for target, spec in TARGETS.items()
        for index, hostile in enumerate(spec.fields)
        for value in hostile.values
    ]


# --- loading and comparing --------------------------------------------------------------------


@dataclass
class Load:
    """What a file's load wrote: its raw rows by record, each `{table.column: value}`, and its
    quarantined records with their reasons."""

    rows: dict[str, list[dict[str, object]]]
    quarantined: dict[str, str]


def _original(target: Target, world: Path) -> bytes:
    root = Path(__file__).parent if target.file.startswith("fixtures/") else world
    path = root / target.file
    return target.made(path) if target.made else path.read_bytes()


class Loader:
    """A target's file alone (with the files beside it) in a landing folder of its own,
    loaded by `load_source` into a database of its own: first as it is (`baseline`), then
    each case's copy in its place, as a corrected export replaces a file (its rows and
    quarantined records go, the new copy's come; a load that fails changes nothing)."""

    def __init__(self, target: Target, world: Path, landing: Path):
        self.target, self.landing = target, landing
        for beside in target.beside:
            (landing / beside).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(world / beside, landing / beside)
        self.con = duckdb.connect()
        self.original = _original(target, world)
        self.baseline = self.load(self.original)

    def load(self, content: bytes) -> Load:
        path, source = self.target.path(), SOURCE[self.target.source]
        (self.landing / path).parent.mkdir(parents=True, exist_ok=True)
        (self.landing / path).write_bytes(content)
        load_source(self.con, source, self.landing)
        rows: dict[str, list[dict[str, object]]] = {}
        for table in source.tables:
            result = self.con.execute(
                f"select * exclude (_file, _loaded_at) from {RAW_SCHEMA}.{table.name} "
                "where _file = ?",
                [path],
            )
            names = [d[0] for d in result.description]
            for values in result.fetchall():
                row = dict(zip(names, values, strict=True))
                record = row.pop("_record")
                rows.setdefault(record, []).append(
                    {f"{table.name}.{name}": value for name, value in row.items()}
                )
        quarantined = self.con.execute(
            f"select record, reason from {RAW_SCHEMA}._quarantine where file = ?", [path]
        ).fetchall()
        return Load(rows, dict(quarantined))


@pytest.fixture(scope="module")
def loaders(small_landing: Path, tmp_path_factory: pytest.TempPathFactory):
    """Each target's Loader, made when a case first asks for it."""
    made: dict[str, Loader] = {}

    def loader(name: str) -> Loader:
        if name not in made:
            landing = tmp_path_factory.mktemp(f"landing-{name}")
            made[name] = Loader(TARGETS[name], small_landing, landing)
        return made[name]

    yield loader
    for each in made.values():
        each.con.close()


def _value(rows: list[dict[str, object]], column: str) -> list[object]:
    """The column's values in a record's rows (`table.column`, or a column of any table)."""
    return [
        value
        for row in rows
        for name, value in row.items()
        if name == column or name.split(".", 1)[1] == column
    ]


def _part_of(name: str, record: str) -> bool:
    """Whether raw's record `name` is `record` or one of its parts: an ECB line's cells are
    its records `line N, GBP`, ..."""
    return name == record or name.startswith(f"{record}, ")


@pytest.mark.parametrize(("target", "index", "value"), _cases())
def test_one_hostile_value(target: str, index: int, value: str, loaders):
    spec, loader = TARGETS[target], loaders(target)
    hostile = spec.fields[index]
    expected = hostile.cases.get(value, hostile.default)
    record = spec.records.get(hostile.name, spec.record)
    before = loader.baseline
    assert any(_part_of(r, record) for r in before.rows), f"the baseline loads {record}"
    try:
        after = loader.load(spec.edit(loader.original, hostile.name, hostile.values[value]))
    except SourceError as error:
        assert isinstance(expected, Fails), f"one value failed the whole file: {error}"
        assert str(error).startswith(f"{spec.source}: {spec.path()}, "), "names file and where"
        assert expected.words in str(error)
        return
    assert not isinstance(expected, Fails), f"loaded; expected the file to fail: {expected}"
    others = {r: rows for r, rows in before.rows.items() if not _part_of(r, record)}
    assert {r: after.rows.get(r) for r in others} == others, "every other record loads as before"
    new = {r: reason for r, reason in after.quarantined.items() if r not in before.quarantined}
    if isinstance(expected, Quarantined):
        loaded = _value(after.rows.get(record, []), hostile.column)
        assert list(new) == [record], f"not quarantined; loaded {loaded!r:.200}"
        assert expected.words in new[record]
        assert not any(_part_of(r, record) for r in after.rows)
    elif isinstance(expected, NoRow):
        assert not new, f"quarantined: {new}"
        assert not any(_part_of(r, record) for r in after.rows), "no row"
    else:
        assert not new, f"quarantined: {new}"
        want = [expected.value]
        if expected.value is ...:
            want = [HOSTILE[value]]
        elif expected.value is AS_BEFORE:
            want = _value(before.rows[record], hostile.column)
        assert _value(after.rows[record], hostile.column) == want
