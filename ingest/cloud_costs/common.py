"""What the cloud-bill connectors share: reading any file as string columns, and row checks.

Every bill format is read by DuckDB as one query of VARCHAR columns plus `_record` (where a
person finds the row: 'line N', 'element N' of a JSON array, or 'row N') and `_ordinal`
(`ingest.framework.Rows`), so the same `Check`s apply whether the file was CSV, JSON lines or
Parquet, compressed or not, and the framework streams the file into the warehouse
(`ingest.framework.Extract`). Nested values (labels, credits, tag maps) arrive as JSON text,
typed ones (timestamps, decimals) as text.

Every cloud raw table also carries the row's delivery scope, `_billing_account_id` and
`_billing_period`, as its format defines them: staging keeps the newest delivery of each
scope (see `ingest.cloud_costs.deliveries`).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import duckdb

from ingest.cloud_costs import schemas
from ingest.framework import RECORD_COLUMN, ManyFiles, ParseError, Rows, read_error
from ingest.tabular import (
    LONGEST_TERM_YEARS,
    Check,
    literal,
    open_bytes,
    plain,
    plausible_time,
    quote,
    time_text,
)

# The billing scope a delivery replaces: one billing account's one billing period.
SCOPE_COLUMNS = {"_billing_account_id": "varchar", "_billing_period": "date"}
COMPRESSED = (".gz", ".zip")


def file_kind(path: Path) -> str:
    """'csv', 'json' or 'parquet' from the file name, a `.gz` or `.zip` ending set aside."""
    name = path.name.lower()
    for ending in COMPRESSED:
        name = name.removesuffix(ending)
    suffix = name.rsplit(".", 1)[-1] if "." in name else ""
    return {"jsonl": "json", "ndjson": "json", "json": "json", "parquet": "parquet"}.get(
        suffix, "csv"
    )


def data_patterns(folder: str, kinds: Sequence[str]) -> tuple[str, ...]:
    """Landing globs for each file kind, with its gzip-compressed form where one exists."""
    endings = {
        "csv": ("csv", "csv.gz", "csv.zip"),  # zip: legacy CUR's ZIP compression
        "json": ("jsonl", "json", "ndjson", "jsonl.gz", "json.gz", "ndjson.gz"),
        "parquet": ("parquet",),  # compressed inside (snappy, gzip, zstd, ...)
    }
    return tuple(f"{folder}/**/*.{ending}" for kind in kinds for ending in endings[kind])


def parsed_timestamps(columns: Sequence[str]) -> dict[str, str]:
    """`Extract.parsed` for bill timestamp columns: each string parsed once per record into a
    naive UTC timestamp (null if unreadable), read as `timestamp_sql(column)`. A bill's checks
    and projection use each timestamp up to a dozen times; parsing it each time (with its
    offset, through ICU) was more than half the cost of checking a bill."""
    return {
        _parsed_name(c): f"cast(try_cast({time_text(c)} as timestamptz) as timestamp)"
        for c in columns
    }


def timestamp_sql(column: str) -> str:
    """A bill timestamp column as parsed by `parsed_timestamps`."""
    return quote(_parsed_name(column))


def _parsed_name(column: str) -> str:
    return f"_timestamp_{column}"


def timestamp_check(column: str) -> Check:
    col = quote(column)
    return Check(
        f"{col} is not null and trim({col}) <> '' and {timestamp_sql(column)} is null",
        f"{literal(f'{column} is not a timestamp: ')} || {col}",
    )


def within_one_month(start: str, end: str, unless: str = "false") -> Check:
    """Charge periods are [start, end): the row must not run into another calendar month,
    unless the SQL condition `unless` holds for it."""
    first, last = timestamp_sql(start), timestamp_sql(end)
    return Check(
        f"{first} is not null and {last} is not null and {last} > {first} and "
        f"date_trunc('month', {first}) <> date_trunc('month', {last} - interval 1 microsecond)"
        f" and not ({unless})",
        f"{literal(f'charge period crosses months: {start} ')} || {quote(start)} || "
        f"{literal(f', {end} ')} || {quote(end)}",
    )


def plausible_times(
    starts: Sequence[str], ends: Sequence[str], parsed: Callable[[str], str] = timestamp_sql
) -> list[Check]:
    """Every time a bill carries (`parsed(column)`: its value parsed) lies after 2000 and
    not long after the load day (`ingest.tabular.plausible_time`): a start, an event, at
    most a year after it; an end at most LONGEST_TERM_YEARS (a purchase's charge period
    covers its term). Year 9999, year 1 or the epoch, typed as a time in Parquet, is no
    billing period."""
    return [plausible_time(c, parsed(c)) for c in starts] + [
        plausible_time(c, parsed(c), years_ahead=LONGEST_TERM_YEARS) for c in ends
    ]


def end_not_before_start(start: str, end: str) -> Check:
    first, last = timestamp_sql(start), timestamp_sql(end)
    return Check(
        f"{first} is not null and {last} is not null and {last} < {first}",
        f"{literal(f'{end} is before {start}: ')} || {quote(end)}",
    )


def null_literals(rows: Rows, columns: Sequence[str], null: str = "NULL") -> Rows:
    """Real exports write nulls as the literal string NULL: read those (and '') as null."""
    kept = [RECORD_COLUMN, "_ordinal"]
    cleaned = ", ".join(
        f"case when trim({quote(c)}) in ({literal(null)}, '') then null else {quote(c)} end "
        f"as {quote(c)}"
        for c in columns
    )
    return rows.select(f"{cleaned}, {', '.join(kept)}")


_NESTED = "['OBJECT', 'ARRAY']"


def tag_map(column: str, text: str | None = None, scalars: bool = False) -> Check:
    """A bill's tags: a JSON object, each key once, each value a string or null, as AWS and
    Azure write them and legacy CUR's tag columns are folded into, where staging looks hub
    tags up (a list, a number, a nested value would load as tags no hub is found in; JSON
    allows a key twice, a map does not). FOCUS's KeyValueFormat also allows numbers and
    booleans (`scalars`). `text` names the JSON text where it is not the column's own: a
    column or an `Extract.parsed` value (Azure's tags with their braces put back), which the
    check reads five times. An empty value is no tags."""
    col = quote(column)
    json = text or col
    values = f"json_type({json}, '$.*')"
    if scalars:
        kinds, allowed = (
            "strings, numbers, booleans or nulls",
            f"not list_has_any({values}, {_NESTED})",
        )
    else:
        kinds, allowed = "strings or nulls", f"list_has_all(['VARCHAR', 'NULL'], {values})"
    keys = f"json_keys({json})"
    # A CASE, not `and`: DuckDB evaluates both sides of an `and`, and json_type of text that
    # is not JSON fails the query.
    is_map = (
        f"case when not json_valid({json}) then false "
        f"when json_type({json}) <> 'OBJECT' then false "
        f"else {allowed} and list_unique({keys}) = len({keys}) end"
    )
    return Check(
        f"nullif(trim({col}), '') is not null and not ({is_map})",
        f"{literal(f'{column} is not a tag map (a JSON object of {kinds}, each key once): ')}"
        f" || {col}",
    )


# A bill's number or time in a typed column (Parquet): of a type that holds one, or text (read
# as a CSV cell is). DuckDB's type ids.
NUMBER_TYPES = frozenset(
    {
        *("tinyint", "smallint", "integer", "bigint", "hugeint", "float", "double", "decimal"),
        *("utinyint", "usmallint", "uinteger", "ubigint", "uhugeint", "varchar"),
    }
)
TIME_TYPES = frozenset(
    {
        *("date", "timestamp", "timestamp_s", "timestamp_ms", "timestamp_ns"),
        *("timestamp with time zone", "varchar"),
    }
)


def refuse_mistyped(
    types: Mapping[str, str], numbers: Iterable[str] = (), times: Iterable[str] = ()
) -> None:
    """A ParseError naming the first column (name -> its DuckDB type in `types`) of
    `numbers` or `times` whose type holds no number or no time: a whole column typed so is
    the file's problem, not each record's. Some exporters write a time as INT64 milliseconds
    since the epoch, which Parquet does not mark as a time and nothing says the unit of."""
    for names, allowed, what in (
        (numbers, NUMBER_TYPES, "a number"),
        (times, TIME_TYPES, "a time"),
    ):
        for name in names:
            if name in types and duckdb.sqltype(types[name]).id not in allowed:
                raise ParseError(
                    f"column {name} is {types[name]}, a type that holds no {what} "
                    "(nor its text): the file types the whole column so",
                    "schema",
                )


def parquet_columns(con: duckdb.DuckDBPyConnection, path: Path) -> list[tuple[str, str]]:
    """(name, DuckDB type) of every column of a Parquet file, whatever its codec."""
    try:
        return con.execute(
            "select column_name, column_type from (describe select * from read_parquet(?))",
            [str(path)],
        ).fetchall()
    except duckdb.Error as error:
        raise ParseError(f"not a readable Parquet file: {str(error).strip()}") from error


def parquet_fields(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, bool]:
    """Every field of a Parquet file by its dotted path ('service.description'), with whether
    it is nested (a group: a struct, list or map), from the file's schema alone."""
    try:
        schema = con.execute(
            "select name, coalesce(num_children, 0) from parquet_schema(?)", [str(path)]
        ).fetchall()
    except duckdb.Error as error:
        raise ParseError(f"not a readable Parquet file: {str(error).strip()}") from error
    # The schema is the tree in depth-first order, the root first; each group names how many
    # children follow it.
    fields: dict[str, bool] = {}
    open_groups = [["", schema[0][1]]]
    for name, children in schema[1:]:
        parent = open_groups[-1]
        parent[1] -= 1
        fields[parent[0] + name] = children > 0
        if children:
            open_groups.append([f"{parent[0]}{name}.", children])
        while open_groups and open_groups[-1][1] == 0:
            open_groups.pop()
    return fields


def parquet_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    formats: Sequence[str] = (),
    numbers: Sequence[str] = (),
    times: Sequence[str] = (),
) -> Rows:
    """A Parquet file as the same string rows `ingest.tabular.csv_rows` gives for CSV.

    Typed columns become their text, nested ones JSON (`parquet_text`). A missing required
    column, or a column of `numbers` or `times` of a type that holds none
    (`refuse_mistyped`), is a ParseError. Its number of records comes from the file's
    metadata, without reading it.
    """
    columns = parquet_columns(con, path)
    present = dict(columns)
    _require_columns(list(present), required, formats)
    refuse_mistyped(present, numbers, times)
    wanted = []
    for name in [*required, *optional]:
        if name not in present:
            wanted.append(f"null::varchar as {quote(name)}")
            continue
        wanted.append(f"{parquet_text(name, present[name])} as {quote(name)}")
    return parquet_read(con, path, ", ".join(wanted), tuple(columns))


def _require_columns(
    columns: Sequence[str], required: Sequence[str], formats: Sequence[str]
) -> None:
    """A Parquet or JSON file's columns: another provider's file is named as such (when
    `formats` says whose it must be), then a missing required column is a ParseError."""
    if formats:
        schemas.expect(columns, *formats)
    missing = [c for c in required if c not in columns]
    if missing:
        raise ParseError(f"missing required column(s): {', '.join(missing)}", "schema")


def parquet_text(name: str, column_type: str) -> str:
    """SQL for a Parquet column of DuckDB type `column_type` as text: a nested value as JSON,
    and a list of key/value records (BigQuery's repeated STRUCT<key, value, ...>, as Google's
    FOCUS view writes Tags) as the JSON object a map gives, so tags read alike whoever wrote
    them. Where a key repeats, its first value is kept (the view lists a resource's own
    labels before those it inherits from its project)."""
    col = quote(name)
    kind = duckdb.sqltype(column_type)
    if _key_value_records(kind):
        return key_value_object(col)
    if kind.id in ("map", "struct", "list", "array"):
        return f"to_json({col})::varchar"
    return f"{col}::varchar"


def key_value_object(records: str) -> str:
    """SQL: `records` (a list of structs with `key` and `value`) as the JSON object text a
    map of them gives, a repeated key's first value kept (`parquet_text`)."""
    keys = f"list_transform({records}, lambda t: t.key)"
    entries = f"list_transform({records}, lambda t: struct_pack(k := t.key, v := t.value))"
    first = (
        f"list_filter({entries}, lambda e, i: e.k is not null and list_position({keys}, e.k) = i)"
    )
    return f"to_json(map_from_entries({first}))::varchar"


def _key_value_records(kind: duckdb.sqltypes.DuckDBPyType) -> bool:
    if kind.id != "list":
        return False
    [(_, element)] = kind.children
    return element.id == "struct" and {"key", "value"} <= {name for name, _ in element.children}


def parquet_read(
    con: duckdb.DuckDBPyConnection, path: Path, columns: str, schema: tuple, alias: str = "t"
) -> Rows:
    """`columns` (SQL over the file's columns, the table named `alias`) of one Parquet file,
    numbered by the file's own row numbers, and the same over several files of `schema`
    (`ManyFiles`). Its number of records comes from the file's metadata, without reading it."""
    [(records,)] = con.execute(
        "select sum(num_rows) from parquet_file_metadata(?)", [str(path)]
    ).fetchall()
    select = (
        f"select {columns}, file_row_number + 1 as _ordinal, "
        f"'row ' || (file_row_number + 1) as {RECORD_COLUMN}"
    )
    return Rows(
        f"{select} from read_parquet({literal(str(path))}, file_row_number = true) as {alias}",
        records=records,
        many=ManyFiles(
            f"{select}, _path from read_parquet($files, file_row_number = true, "
            f"filename = '_path') as {alias}",
            schema,
        ),
    )


def json_objects(path: Path) -> tuple[Rows, str]:
    """A JSON file's objects as rows of one JSON column `j` (plus `_ordinal`), and what a
    person calls each: a `line` of JSON lines (as `bq extract` writes a table), or an
    `element` of one JSON array (as `bq query --format=json` or `prettyjson` writes results,
    each object over as many lines as it likes). A gzipped file is read from its checked,
    decompressed copy (`plain`): a damaged one fails here, naming why."""
    source = plain(path)
    if _json_array(source):
        return Rows(
            f"select json as j, row_number() over () as _ordinal "
            f"from read_json_objects({literal(str(source))}, format = 'array')",
            explain=read_error,
        ), "element"
    return Rows(
        f"select json as j, row_number() over () as _ordinal "
        f"from read_json_objects({literal(str(source))}, format = 'newline_delimited')",
        explain=lambda error: _not_json(error, source),
    ), "line"


# Objects read for a file's keys: a file whose first objects carry every needed key has
# them; only one that seems to lack one is read whole to be sure.
KEY_SAMPLE_LINES = 1000


def json_keys(
    con: duckdb.DuckDBPyConnection, rows: Rows, path: Path, needed: Iterable[str]
) -> set[str]:
    """The top-level keys (columns) of `json_objects` rows: those of the first
    KEY_SAMPLE_LINES objects, or of every one when they lack one of `needed`."""
    keys = _top_keys(con, rows, path, KEY_SAMPLE_LINES)
    if set(needed) - keys:
        keys = _top_keys(con, rows, path)
    return keys


def json_rows(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
    formats: Sequence[str] = (),
) -> Rows:
    """A JSON lines file, or one JSON array of objects, as the same string rows
    `parquet_rows` gives: a scalar as its text, a nested value as its JSON, a list of
    key/value records (BigQuery's repeated STRUCT<key, value, ...>, such as Tags) as the
    object a map gives. A missing required key is a ParseError."""
    rows, record = json_objects(path)
    _require_columns(sorted(json_keys(con, rows, path, required)), required, formats)
    columns = [*required, *optional]
    # Each object is parsed once, for every column, not once per column.
    parsed = rows.select(
        f"json_extract(j, [{', '.join(literal('$.' + c) for c in columns)}]) as _values, _ordinal"
    )
    texts = ", ".join(
        f"{_json_text(f'_values[{i}]')} as {quote(c)}" for i, c in enumerate(columns, start=1)
    )
    return parsed.select(
        f"{texts}, _ordinal, {literal(record + ' ')} || _ordinal as {RECORD_COLUMN}"
    )


# The structure a list of key/value records is read as, other fields set aside.
KEY_VALUE_RECORDS = '[{"key": "VARCHAR", "value": "VARCHAR"}]'


def _json_text(value: str) -> str:
    """SQL: a JSON `value` as text, as `parquet_text` gives a typed one: an array of objects
    that all have a key (an empty one too, as Parquet's typed empty list) as the object a
    map gives, any other nested value as its JSON, a string unquoted, a number as its text."""
    records = f"from_json({value}, {literal(KEY_VALUE_RECORDS)})"
    return (
        f"case when json_type({value}) = 'ARRAY' and "
        f"len(json_extract({value}, '$[*].key')) = json_array_length({value}) "
        f"then {key_value_object(records)} else {value}->>'$' end"
    )


def _top_keys(
    con: duckdb.DuckDBPyConnection, rows: Rows, path: Path, lines: int | None = None
) -> set[str]:
    """The top-level keys of the file's first `lines` objects (of every one when None)."""
    limit = "" if lines is None else f" limit {lines}"
    try:
        found = con.execute(f"select distinct unnest(json_keys(j)) from ({rows.sql}{limit})")
        return {k for (k,) in found.fetchall()}
    except duckdb.Error as error:
        raise _not_json(error, path) from error


def _not_json(error: duckdb.Error, path: Path) -> ParseError:
    """DuckDB refused a line (read for the keys, or later with every field): which one."""
    line = _bad_json_line(path)
    if line is None:
        return read_error(error)
    return ParseError(f"not valid JSON: {str(error).strip().rsplit(': ', 1)[-1]}", line)


def _bad_json_line(path: Path) -> str | None:
    """Only after DuckDB refused the file: the first line that is not a JSON object."""
    with io.TextIOWrapper(open_bytes(path), encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                json.loads(line)
            except ValueError:
                return f"line {number}"
    return None


def _json_array(path: Path) -> bool:
    """Whether the file is one JSON array (its first character other than white space is
    '['), rather than JSON lines: a line of JSON lines is an object, so none starts an
    array."""
    with open_bytes(path) as handle:
        while chunk := handle.read(4096):
            if chunk.strip():
                return chunk.lstrip().startswith(b"[")
    return False
