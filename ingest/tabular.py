"""Reading delimited files through DuckDB and splitting valid rows from rejected ones.

A file whose structure is broken (unterminated quote, wrong number of fields, bad encoding,
missing required column) is a `ParseError` naming the line. Files may be gzip-compressed
(`.csv.gz`, as AWS and Azure write them) or a zip archive of the one file (`.csv.zip`, legacy
CUR's ZIP compression; the ECB's `eurofxref-hist.zip`) and may mix CRLF and LF line ends
(files stitched together from two exports). A row whose values are wrong
(not a number, not a date, empty key, duplicate key, value not allowed) is rejected with a
reason and lands in quarantine; the rest of the file loads.
"""

from __future__ import annotations

import csv
import gzip
import io
import itertools
import re
import threading
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

import duckdb
import pyarrow as pa

from ingest.framework import (
    COMPRESSION_ERRORS,
    RECORD_COLUMN,
    ParseError,
    Rows,
    read_error,
    scratch_folder,
)

_LINE = re.compile(r"CSV Error on Line: (\d+)")


@dataclass(frozen=True)
class Check:
    """A row rule: `fails` is a SQL condition over the string columns, `reason` a SQL string."""

    fails: str
    reason: str


_SCRATCH_LOCK = threading.Lock()


@cache
def _scratch_database() -> duckdb.DuckDBPyConnection:
    database = duckdb.connect()
    database.execute("set global TimeZone = 'UTC'")
    return database


def scratch_connection() -> duckdb.DuckDBPyConnection:
    """Where a file is parsed: a connection of its own (its temp tables and registered
    frames are its alone, and go when it closes) to this process's in-memory database, in
    UTC. A database per file cost 15 ms to open and loaded its extensions again: at 10 M,
    the 114 CRM and support files took 6.7 s to load, and take 3.9 s."""
    with _SCRATCH_LOCK:
        return _scratch_database().cursor()


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def not_empty(column: str) -> Check:
    col = quote(column)
    return Check(f"{col} is null or trim({col}) = ''", literal(f"{column} is empty"))


def castable(column: str, type_: str) -> Check:
    col = quote(column)
    return Check(
        f"{col} is not null and trim({col}) <> '' and try_cast(trim({col}) as {type_}) is null",
        f"{literal(f'{column} is not a {type_.lower()}: ')} || {col}",
    )


# A number as a decimal-comma locale writes it: 1234,56 or -1234,56 (1,5E-05 in scientific
# notation); thousands grouped by a space, a no-break space or a narrow no-break space (1 234,56,
# as French formats write them), or by '.' before a decimal comma (1.234,56). A '.' elsewhere
# (3.000, 1,234.56) may be a decimal point, so the value is ambiguous and not read.
_DECIMAL_COMMA_NUMBER = (
    r"-?(\d+(,\d+)?([eE][-+]?\d+)?"
    r"|\d{1,3}([ \x{00A0}\x{202F}]\d{3})+(,\d+)?"
    r"|\d{1,3}(\.\d{3})+,\d+)"
)
_THOUSANDS_SEPARATOR = r"[. \x{00A0}\x{202F}]"


@dataclass(frozen=True)
class Numbers:
    """How a file writes numbers: with a decimal point (1234.56, read as DuckDB casts it), or
    with a decimal comma (`csv_numbers`)."""

    decimal_comma: bool = False

    def value(self, column: str) -> str:
        """SQL: the column as a double, null when it is not a number written this way."""
        text = f"trim({quote(column)})"
        if not self.decimal_comma:
            return f"try_cast({text} as double)"
        ungrouped = f"regexp_replace({text}, {literal(_THOUSANDS_SEPARATOR)}, '', 'g')"
        return (
            f"case when regexp_full_match({text}, {literal(_DECIMAL_COMMA_NUMBER)}) "
            f"then try_cast(replace({ungrouped}, ',', '.') as double) end"
        )

    def check(self, column: str) -> Check:
        """Rejects a value that is not a number written this way (an empty one is left to
        `not_empty`)."""
        if not self.decimal_comma:
            return castable(column, "DOUBLE")
        col = quote(column)
        ambiguous = (
            f"{column} is ambiguous: in a ';'-separated file ',' is the decimal separator and "
            "'.' only groups thousands before it (1.234,56): "
        )
        return Check(
            f"nullif(trim({col}), '') is not null and {self.value(column)} is null",
            f"case when contains({col}, '.') then {literal(ambiguous)} "
            f"else {literal(f'{column} is not a number with a decimal comma: ')} end || {col}",
        )


DECIMAL_POINT = Numbers()
DECIMAL_COMMA = Numbers(decimal_comma=True)


def date_format(column: str, fmt: str) -> Check:
    col = quote(column)
    return Check(
        f"{col} is not null and trim({col}) <> '' "
        f"and try_strptime(trim({col}), {literal(fmt)}) is null",
        f"{literal(f'{column} is not a date in {fmt}: ')} || {col}",
    )


def positive(column: str, numbers: Numbers = DECIMAL_POINT) -> Check:
    """A finite number above zero (a rate, a price)."""
    col = quote(column)
    number = numbers.value(column)
    return Check(
        f"{number} is not null and not (isfinite({number}) and {number} > 0)",
        f"{literal(f'{column} is not a positive number: ')} || {col}",
    )


def finite(column: str) -> Check:
    """A number of any sign that is not NaN or infinite (Prometheus writes those as strings;
    bills carry negative credits). An empty value is left to `not_empty`."""
    col = quote(column)
    number = f"try_cast(trim({col}) as double)"
    return Check(
        f"{col} is not null and trim({col}) <> '' and ({number} is null or not isfinite({number}))",
        f"{literal(f'{column} is not a finite number: ')} || {col}",
    )


EARLIEST_PLAUSIBLE = "2000-01-01"
# How far ahead a date that is a promise may lie: a contract's end, a prepaid service
# period's end (multi-year agreements run three to five years; ten leaves room).
LONGEST_TERM_YEARS = 10


def plausible_time(column: str, value_sql: str, years_ahead: int = 1) -> Check:
    """An event time (a sample, a charge, an invoice date) before 2000 or more than a year
    after the day of the load is a unit or format mistake (milliseconds read as seconds, a
    two-digit year), not data: the record is quarantined rather than stretch every chart.

    `value_sql` is the column already parsed to a date or timestamp. The bound is the load
    day, not a pinned as-of day, so what raw holds does not depend on the month reported.
    A date that is a promise rather than an event (a contract's end, a prepaid service
    period's end) may lie `years_ahead` years after it.
    """
    value = f"cast({value_sql} as date)"
    horizon = "a year" if years_ahead == 1 else f"{years_ahead} years"
    return Check(
        f"{value} is not null and ({value} < date '{EARLIEST_PLAUSIBLE}' "
        f"or {value} > current_date + interval {years_ahead} year)",
        f"{literal(f'{column} is outside {EARLIEST_PLAUSIBLE} .. {horizon} after the load day: ')}"
        f" || {quote(column)}",
    )


def matches(column: str, pattern: str, meaning: str) -> Check:
    col = quote(column)
    return Check(
        f"{col} is not null and trim({col}) <> '' "
        f"and not regexp_full_match(trim({col}), {literal(pattern)})",
        f"{literal(f'{column} is not {meaning}: ')} || {col}",
    )


def one_of(column: str, allowed: Sequence[str]) -> Check:
    col = quote(column)
    values = ", ".join(literal(v) for v in allowed)
    return Check(
        f"{col} is not null and {col} not in ({values})",
        literal(f"{column} is not one of {', '.join(allowed)}: ") + f" || {col}",
    )


def unique(columns: Sequence[str]) -> Check:
    """Rejects the second and later rows with the same key, naming where it was first seen."""
    cols = ", ".join(quote(c) for c in columns)
    order = f"order by {quote('_ordinal')}"
    return Check(
        f"row_number() over (partition by {cols} {order}) > 1",
        literal(f"duplicate key ({', '.join(columns)}), first at ") + " || "
        f"first_value({RECORD_COLUMN}) over (partition by {cols} {order})",
    )


def open_bytes(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when it is gzip (`.gz`) or a zip archive (`.zip`) of
    one file."""
    if gzipped(path):
        return gzip.open(path, "rb")
    if zipped(path):
        return _zip_member(path)
    return path.open("rb")


def gzipped(path: Path) -> bool:
    return path.name.lower().endswith(".gz")


def zipped(path: Path) -> bool:
    return path.name.lower().endswith(".zip")


def _not_decompressed(path: Path, error: Exception, where: str) -> ParseError:
    if zipped(path):
        return ParseError(f"not a readable zip file: {error}", where)
    if gzipped(path):
        return ParseError(f"not a readable gzip file: {error}", where)
    return ParseError(f"cannot be read: {error}", where)


def _zip_member(path: Path) -> BinaryIO:
    """The one file of a zip archive, as a stream (the archive closes with it). An export
    zipped for download holds one file; an archive of several is not one export."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise _not_decompressed(path, error, "file") from error
    with archive:
        members = [member for member in archive.infolist() if not member.is_dir()]
        if len(members) != 1:
            names = ", ".join(member.filename for member in members) or "none"
            raise ParseError(
                f"a zip archive of {len(members)} files ({names}), not of one export", "file"
            )
        return archive.open(members[0])


# How a spreadsheet separates the fields it saves: ',' in CSV, ';' in CSV where the locale's
# decimal separator is ',' (de, fr, es, it, nl, pt-BR), a tab in "Text (tab delimited)".
DELIMITERS = (",", ";", "\t")


def csv_delimiter(path: Path, required: Sequence[str]) -> str:
    """The separator the header is written with: ',' unless the header split at commas has
    none of `required` and split at ';' or a tab has some. Data rows are not looked at: a
    value holding ';' is no sign of anything."""
    return _delimiter(_first_line(path), required)


def _delimiter(line: str, required: Sequence[str]) -> str:
    return next((d for d in DELIMITERS if set(required) & set(_cells(line, d))), ",")


def csv_numbers(path: Path, required: Sequence[str]) -> Numbers:
    """A ';'-separated file writes decimal commas: Excel and LibreOffice save CSV with ';' in
    the locales whose decimal separator is ','. Any other file writes decimal points. A ';'
    file written with decimal points anyway has them quarantined as ambiguous, not misread."""
    return DECIMAL_COMMA if csv_delimiter(path, required) == ";" else DECIMAL_POINT


def csv_header(path: Path, delimiter: str = ",") -> list[str]:
    """The header row, without a UTF-8 byte-order mark (only the first line is decoded)."""
    return _header(_first_line(path), delimiter)


def _header(line: str, delimiter: str) -> list[str]:
    header = _cells(line, delimiter)
    if not any(header):
        raise ParseError("file is empty: no header row", "line 1")
    return header


def _first_line(path: Path) -> str:
    with open_bytes(path) as handle:
        try:
            first_line = handle.readline()
        except COMPRESSION_ERRORS as error:
            raise _not_decompressed(path, error, "line 1") from error
    try:
        return first_line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ParseError(f"header is not UTF-8: {error.reason}", "line 1") from error


def _cells(line: str, delimiter: str) -> list[str]:
    return [cell.strip() for cell in next(csv.reader([line], delimiter=delimiter), [])]


def read_csv_strings(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
) -> duckdb.DuckDBPyRelation:
    """`csv_rows` read into a temporary table of `con`, for a parser that builds its rows in
    Python (a file of a few thousand records); a broken file is a ParseError here."""
    rows = csv_rows(path, required, optional)
    table = f"_csv_{next(_TABLES)}"
    try:
        con.execute(f"create temp table {table} as {rows.sql}")
    except duckdb.Error as error:
        raise rows.explain(error) from error
    return con.sql(f"select * from {table} order by _ordinal")


_TABLES = itertools.count()


def csv_rows(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> Rows:
    """All wanted columns as strings, plus `_record` ('line N') and `_ordinal` (file order),
    read by DuckDB's strict CSV reader when the query runs.

    Fields are separated by ',', or by ';' or a tab when the header says so (`csv_delimiter`).
    Columns beyond `required` and `optional` are accepted and ignored; a missing optional
    column reads as null; a missing required column is a ParseError. A blank header cell (a
    trailing comma, as the ECB writes its rates) names column<N> (0-based), as DuckDB's own
    sniffer does. DuckDB refuses a file that mixes CRLF and LF line ends (often without
    naming a line): such a file is read from a copy with its line ends made LF, which keeps
    line numbers; so is a zipped file, which DuckDB does not read (the copy is removed when
    the file's load is done: `scratch_folder`). A refusal that names no line is located by
    Python's csv reader.
    """
    first_line = _first_line(path)  # read once, for the separator and the header
    delimiter = _delimiter(first_line, required)
    header = _header(first_line, delimiter)
    missing = [c for c in required if c not in header]
    if missing:
        raise ParseError(f"missing required column(s): {', '.join(missing)}", "line 1 (header)")
    header = [h or f"column{i}" for i, h in enumerate(header)]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ParseError(f"column(s) repeated in header: {', '.join(duplicated)}", "line 1")
    source = path
    try:
        # A zipped file is copied whatever its line ends: no pass to count them first.
        if zipped(path) or all(line_endings(path)):
            plain = path.name.removesuffix(".gz").removesuffix(".zip")
            source = scratch_folder() / f"{next(_TABLES)}-{plain}"
            _copy_with_lf(path, source)
    except COMPRESSION_ERRORS as error:  # damaged past the header (a bad CRC, a cut file)
        raise _not_decompressed(path, error, "file") from error
    columns = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in header)
    wanted = [
        f"{quote(c)}" if c in header else f"null::varchar as {quote(c)}"
        for c in [*required, *optional]
    ]
    return Rows(
        f"select {', '.join(wanted)}, row_number() over () + 1 as _ordinal, "
        f"'line ' || (row_number() over () + 1) as {RECORD_COLUMN} "
        f"from read_csv({literal(str(source))}, header = true, auto_detect = false, "
        f"columns = {{{columns}}}, delim = {literal(delimiter)}, quote = '\"', escape = '\"', "
        "strict_mode = true, encoding = 'utf-8')",
        explain=lambda error: _located(error, source, len(header), delimiter),
    )


def _located(error: duckdb.Error, path: Path, width: int, delimiter: str) -> ParseError:
    """DuckDB's error, with the line found by Python's csv reader when DuckDB names none."""
    if _LINE.search(str(error)):
        return read_error(error)
    problem = read_error(error).problem.removeprefix("cannot be read: ")
    where = _locate_unreadable_line(path, width, delimiter)
    return ParseError(f"malformed CSV: {problem}", where)


def line_endings(path: Path) -> tuple[int, int]:
    """How many lines end in CRLF and how many in a bare LF (read in chunks)."""
    crlf = lf = 0
    previous = b""
    with open_bytes(path) as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            lf += chunk.count(b"\n")
            crlf += chunk.count(b"\r\n") + (previous.endswith(b"\r") and chunk.startswith(b"\n"))
            previous = chunk
    return crlf, lf - crlf


def _copy_with_lf(source: Path, target: Path) -> None:
    with open_bytes(source) as reader, target.open("wb") as writer:
        carry = b""
        for chunk in iter(lambda: reader.read(1 << 20), b""):
            chunk = carry + chunk
            carry = b"\r" if chunk.endswith(b"\r") else b""
            writer.write(chunk[: len(chunk) - len(carry)].replace(b"\r\n", b"\n"))
        writer.write(carry)


def _locate_unreadable_line(path: Path, width: int, delimiter: str) -> str | None:
    """The first line Python's strict csv reader cannot read, or whose field count is off."""
    with open_bytes(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        try:
            for row in reader:
                if len(row) != width:
                    return f"line {reader.line_num}"
        except csv.Error:
            return f"line {reader.line_num}"
    return None


def _sheet_cells(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[list[str], int]:
    """Load a Sheets v4 `values.get` response into temp table `_sheet_cells(cells, n)`, one
    list of strings per sheet row (numbers of UNFORMATTED_VALUE become their text); return
    the header (the first row) and the sheet row it is on."""
    try:
        [(body,)] = con.execute("select json(content) from read_text(?)", [str(path)]).fetchall()
    except duckdb.Error as error:
        raise ParseError(f"not a Sheets values response: {str(error).strip()}") from error
    [(kind, major, values_kind, sheet_range)] = con.execute(
        "select json_type(j), j->>'majorDimension', json_type(j, '$.values'), j->>'range' "
        "from (select ?::json as j)",
        [body],
    ).fetchall()
    if kind != "OBJECT":
        raise ParseError(f"not a Sheets values response: expected a JSON object, found {kind}")
    if major not in (None, "ROWS"):
        raise ParseError(f"majorDimension is {major!r}; expected 'ROWS'")
    if values_kind is None:
        raise ParseError("the sheet range is empty: no header row", f"range {sheet_range}")
    if values_kind != "ARRAY":
        raise ParseError(f"'values' is {values_kind}, expected an array of rows")
    con.execute(
        "create or replace temp table _sheet_cells as "
        "select unnest(from_json(j->'values', '[[\"varchar\"]]')) as cells, "
        "generate_subscripts(from_json(j->'values', '[[\"varchar\"]]'), 1) as n "
        "from (select ?::json as j)",
        [body],
    )
    header_rows = con.execute("select cells from _sheet_cells where n = 1").fetchall()
    header = [(h or "").strip() for h in (header_rows[0][0] or [])] if header_rows else []
    return header, _first_row(sheet_range)


def _first_row(sheet_range: str | None) -> int:
    """The sheet row of the first value: 'Invoices!A3:L9' -> 3 (1 when not given)."""
    cells = (sheet_range or "").rsplit("!", 1)[-1].split(":")[0]
    digits = "".join(ch for ch in cells if ch.isdigit())
    return int(digits) if digits else 1


def sheet_header(con: duckdb.DuckDBPyConnection, path: Path) -> list[str]:
    """The header row of a Sheets `values.get` response (like `csv_header` for a CSV)."""
    return _sheet_cells(con, path)[0]


def read_sheet_values(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    required: Sequence[str],
    optional: Sequence[str] = (),
) -> duckdb.DuckDBPyRelation:
    """A Sheets v4 `values.get` response read like `read_csv_strings`: the wanted columns as
    strings, `_record` ('row N' of the sheet) and `_ordinal`. Trailing empty cells and rows
    are omitted by the API, so rows are ragged: a cell past a row's end reads as null, and a
    row with nothing in it is skipped."""
    header, first_row = _sheet_cells(con, path)
    where = f"row {first_row} (header)"
    missing = [c for c in required if c not in header]
    if missing:
        raise ParseError(f"missing required column(s): {', '.join(missing)}", where)
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if duplicated:
        raise ParseError(f"column(s) repeated in header: {', '.join(duplicated)}", where)
    # List indexing past the end of a ragged row gives null, which is what an omitted cell is.
    wanted = [
        f"cells[{header.index(c) + 1}] as {quote(c)}"
        if c in header
        else f"null::varchar as {quote(c)}"
        for c in [*required, *optional]
    ]
    return con.sql(
        f"select {', '.join(wanted)}, n as _ordinal, "
        f"'row ' || (n + {first_row - 1}) as {RECORD_COLUMN} "
        "from _sheet_cells "
        "where n > 1 and len(list_filter(cells, lambda c: trim(c) <> '')) > 0"
    )


def split_rows(
    con: duckdb.DuckDBPyConnection,
    rows: duckdb.DuckDBPyRelation,
    checks: Sequence[Check],
    select: Mapping[str, str],
) -> tuple[pa.Table, pa.Table]:
    """Valid rows projected through `select` (column -> SQL expression) and rejected rows.

    `rows` holds string columns plus `_record` (where a person finds the record) and
    `_ordinal` (the record's position in the file).

    Rejected rows carry every reason that applies, joined with '; ', and the raw record as
    JSON of its string columns.
    """
    raw_columns = [c for c in rows.columns if c not in (RECORD_COLUMN, "_ordinal")]
    reasons = ", ".join(f"case when {c.fails} then {c.reason} end" for c in checks) or "null"
    raw_json = ", ".join(f"{literal(c)}, {quote(c)}" for c in raw_columns)
    try:
        checked = rows.select(f"*, concat_ws('; ', {reasons}) as _reason").fetch_arrow_table()
    except duckdb.Error as error:
        raise read_error(error) from error
    con.register("_checked", checked)
    try:
        projection = ", ".join(f"{expr} as {quote(name)}" for name, expr in select.items())
        valid = con.sql(
            f"select {projection}, {RECORD_COLUMN} from _checked where _reason = '' "
            "order by _ordinal"
        ).fetch_arrow_table()
        rejected = con.sql(
            f"select {RECORD_COLUMN} as record, _reason as reason, "
            f"json_object({raw_json})::varchar as raw "
            "from _checked where _reason <> '' order by _ordinal"
        ).fetch_arrow_table()
    finally:
        con.unregister("_checked")
    return valid, rejected
