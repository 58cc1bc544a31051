"""Reading delimited files through DuckDB and splitting valid rows from rejected ones.

A file whose structure is broken (unterminated quote, wrong number of fields, bad encoding,
missing required column) is a `ParseError` naming the line. A file is UTF-8 text, or text in
the encoding its byte-order mark declares (UTF-16, as Excel's "Unicode Text" saves a sheet):
a byte that is not of it fails the file, naming where (`checked_text`). Files may be gzip-compressed
(`.csv.gz`, as AWS and Azure write them) or a zip archive of the one file (`.csv.zip`, legacy
CUR's ZIP compression; the ECB's `eurofxref-hist.zip`; a zip of several is read a file at a
time, `zip_members` and `unzipped`, as HubSpot's export is) and may mix CRLF and LF line ends
(files stitched together from two exports). An Excel workbook (`.xlsx`, as HubSpot's export
and finance's invoice lists come) is read as the CSV of its first worksheet (`csv_rows`). A
row whose values are wrong (not a number, not a date, empty key, duplicate key, value not
allowed) is rejected with a reason and lands in quarantine; the rest of the file loads.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import itertools
import re
import threading
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

import duckdb
import openpyxl
import pyarrow as pa
from openpyxl.cell.read_only import EMPTY_CELL
from openpyxl.workbook import Workbook

from ingest.framework import (
    COMPRESSION_ERRORS,
    RECORD_COLUMN,
    ParseError,
    Rows,
    once_per_file_load,
    os_metadata,
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


def time_text(column: str) -> str:
    """SQL: the column's trimmed text when it starts with a digit, as every date and time an
    export writes does; null otherwise. What a date or time is parsed from: DuckDB reads the
    words infinity, -infinity and epoch as dates and times, by a cast and by try_strptime
    whatever the format ('Infinity' with '%Y-%m-%d' is 9999-12-31), and no export means them."""
    # The first character's code point, not a regular expression: a third of the cost, and
    # parsing times is most of checking a bill.
    text = f"trim({quote(column)})"
    return f"case when ascii({text}) between 48 and 57 then {text} end"


def date_format(column: str, fmt: str) -> Check:
    col = quote(column)
    return Check(
        f"{col} is not null and trim({col}) <> '' "
        f"and try_strptime({time_text(column)}, {literal(fmt)}) is null",
        f"{literal(f'{column} is not a date in {fmt}: ')} || {col}",
    )


# Past ±2^53 a double no longer holds every whole number: a longer number (300 digits, 1e300)
# would load as another one, so it is refused, not rounded. No amount, rate or count comes
# near it.
EXACT_DOUBLE_LIMIT = 2**53


def exact_double(number: str) -> str:
    """SQL condition: the double `number` is finite and within ±2^53 (null when it is null).
    One comparison says both: DuckDB orders NaN above every number, and ±infinity's absolute
    value is infinity; `number` is then computed once, not twice (a fifth of a bill's
    number checks)."""
    return f"(abs({number}) < {EXACT_DOUBLE_LIMIT})"


def _not_exact(column: str, number: str) -> str:
    """SQL reason for a value that is not an `exact_double` (its reading is `number`)."""
    out_of_range = f"{column} is out of range (beyond ±2^53, where a double rounds): "
    return (
        f"case when isfinite({number}) then {literal(out_of_range)} "
        f"else {literal(f'{column} is not a finite number: ')} end || {quote(column)}"
    )


def positive(column: str, numbers: Numbers = DECIMAL_POINT) -> Check:
    """A finite number above zero and within ±2^53 (a rate, a price)."""
    col = quote(column)
    number = numbers.value(column)
    return Check(
        f"{number} is not null and not ({exact_double(number)} and {number} > 0)",
        f"case when isfinite({number}) and {number} > 0 then {_not_exact(column, number)} "
        f"else {literal(f'{column} is not a positive number: ')} || {col} end",
    )


def finite(column: str) -> Check:
    """A number of any sign that a double holds as written: not NaN or infinite (Prometheus
    writes those as strings; bills carry negative credits), within ±2^53. An empty value is
    left to `not_empty`."""
    col = quote(column)
    number = f"try_cast(trim({col}) as double)"
    return Check(
        f"{col} is not null and trim({col}) <> '' and not coalesce({exact_double(number)}, false)",
        _not_exact(column, number),
    )


def in_double_range(column: str, numbers: Numbers = DECIMAL_POINT) -> Check:
    """A value that reads as a number (whether it does is `castable`'s or `Numbers.check`'s
    to say) is finite and within ±2^53: a cast to DOUBLE reads 'NaN', 'Infinity' and '1e999'
    (as infinity) without a word."""
    number = numbers.value(column)
    return Check(f"{number} is not null and not {exact_double(number)}", _not_exact(column, number))


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


def zip_members(path: Path) -> list[zipfile.ZipInfo]:
    """The files a zip archive holds, in its order: not its folders, nor the operating
    system's metadata a zip made on a Mac holds beside each file (the Finder's Compress
    writes `__MACOSX/._<name>`: `os_metadata`). A damaged archive is a ParseError naming it."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [
                member
                for member in archive.infolist()
                if not member.is_dir() and not os_metadata(PurePosixPath(member.filename))
            ]
    except (zipfile.BadZipFile, OSError) as error:
        raise _not_decompressed(path, error, "file") from error


def unzipped(path: Path, member: str) -> Path:
    """One file of a zip archive decompressed into the loading file's scratch folder
    (`scratch_folder`), under its own name, to be read as that file landed alone is; its CRC
    is checked on the way, so a damaged member is a ParseError naming the archive's fault."""
    target = scratch_folder() / f"{next(_TABLES)}-{PurePosixPath(member).name}"
    with zipfile.ZipFile(path) as archive, _open_member(archive, member) as reader:
        return _inflated(path, reader, target)


def _inflated(path: Path, reader: BinaryIO, target: Path) -> Path:
    """`target`, written with the bytes of `reader`, a decompressing stream of `path` (a zip
    member, a gzip file) that checks its CRC as it reads: a damaged or cut stream is a
    ParseError naming the fault."""
    with target.open("wb") as writer:
        while True:
            try:
                chunk = reader.read(1 << 20)
            except COMPRESSION_ERRORS as error:
                raise _not_decompressed(path, error, "file") from error
            if not chunk:
                return target
            writer.write(chunk)


def _zip_member(path: Path) -> BinaryIO:
    """The one CSV of a zip archive, as a stream (the archive closes with it). An export
    zipped for download holds one file, a CSV wherever a zip is read as one file (legacy
    CUR's ZIP compression, the ECB's history, a Forms download); an archive of several is
    not one export, and one of anything else is named rather than read as text."""
    members = zip_members(path)
    if len(members) != 1:
        names = ", ".join(member.filename for member in members) or "none"
        raise ParseError(
            f"a zip archive of {len(members)} files ({names}), not of one export", "file"
        )
    (member,) = members
    if not member.filename.lower().endswith(".csv"):
        raise ParseError(f"a zip archive of {member.filename}, not of a CSV export", "file")
    with zipfile.ZipFile(path) as archive:
        return _open_member(archive, member.filename)


def _open_member(archive: zipfile.ZipFile, member: str) -> BinaryIO:
    """A file of the archive, as a stream; one Python cannot open is a ParseError saying why
    and what to do: encrypted (a password set when zipping), or compressed by a method
    zipfile does not read (Windows' Send to > Compressed folder writes Deflate64 for a large
    file)."""
    try:
        return archive.open(member)
    except (RuntimeError, NotImplementedError) as error:
        raise ParseError(
            f"{member} in the zip cannot be read ({error}): zip it again without a password, "
            "compressed with Deflate (any zip tool's default), or land the file unzipped",
            "file",
        ) from error


# How a spreadsheet separates the fields it saves: ',' in CSV, ';' in CSV where the locale's
# decimal separator is ',' (de, fr, es, it, nl, pt-BR), a tab in "Text (tab delimited)".
DELIMITERS = (",", ";", "\t")


# Excel's "Unicode Text" (File > Save As > Unicode Text) saves a sheet as `<name>.txt`: UTF-16
# LE behind a byte-order mark, fields separated by tabs, CRLF line ends ("Text (Tab
# delimited)" writes the same in the system's code page). The folders staff fill from Excel
# read `*.txt` as that: at tabs, whatever the header holds.
TAB_SEPARATED_SUFFIX = ".txt"


def csv_delimiter(path: Path, required: Sequence[str]) -> str:
    """The separator the header is written with: ',' unless the header split at commas has
    none of `required` and split at ';' or a tab has some; a tab in a `.txt`. Data rows are
    not looked at: a value holding ';' is no sign of anything. A workbook is read through a
    ','-separated copy with decimal points (`_text`): it is not opened again to say so."""
    if workbook(path):
        return ","
    return _delimiter(path, _first_line(path), required)


def _delimiter(path: Path, line: str, required: Sequence[str]) -> str:
    if path.suffix == TAB_SEPARATED_SUFFIX:
        return _tabs(line)
    return next((d for d in DELIMITERS if set(required) & set(_cells(line, d))), ",")


def _tabs(line: str) -> str:
    """A tab, the separator of a `.txt` header, which must hold one: any other text is not
    what Excel's "Unicode Text" saves."""
    if len(_cells(line, "\t")) < 2:
        raise ParseError(
            'a .txt file is read as Excel\'s "Unicode Text" saves a sheet, its fields separated '
            'by tabs, and this header has no tab: save the sheet as "Unicode Text", or as '
            '"CSV UTF-8 (Comma delimited)" and name it .csv',
            "line 1 (header)",
        )
    return "\t"


def csv_numbers(path: Path, required: Sequence[str]) -> Numbers:
    """A ';'-separated file writes decimal commas: Excel and LibreOffice save CSV with ';' in
    the locales whose decimal separator is ','. Any other file writes decimal points. A ';'
    file written with decimal points anyway has them quarantined as ambiguous, not misread."""
    return DECIMAL_COMMA if csv_delimiter(path, required) == ";" else DECIMAL_POINT


def csv_header(path: Path, delimiter: str = ",") -> list[str]:
    """The header row, without a byte-order mark. A header with more cells at tabs than at
    `delimiter` is tab-separated, as Excel's "Unicode Text" and "Text (Tab delimited)" save a
    sheet: a source that reads only commas (`delimiter` ',') says what to save it as rather
    than miss every column it needs. A `.txt` is read at tabs (`TAB_SEPARATED_SUFFIX`)."""
    line = _first_line(path)
    if path.suffix == TAB_SEPARATED_SUFFIX:
        delimiter = _tabs(line)
    header = _header(line, delimiter)
    if delimiter != "\t" and len(_cells(line, "\t")) > len(header):
        raise ParseError(
            'the header is separated by tabs (as Excel\'s "Unicode Text" and "Text (Tab '
            f'delimited)" save a sheet), and this file is read at {delimiter!r}: save it as '
            '"CSV UTF-8 (Comma delimited)"',
            "line 1 (header)",
        )
    return header


def _header(line: str, delimiter: str) -> list[str]:
    header = _cells(line, delimiter)
    if not any(header):
        raise ParseError("file is empty: no header row", "line 1")
    return header


# A header record is read on while a quoted cell is open, up to this many characters: a
# header with an unterminated quote must not read a bill of gigabytes into memory.
_HEADER_BYTES = 1 << 16


def _first_line(path: Path) -> str:
    """The header record as text (`checked_text`): its first line, and the next ones while a
    quoted cell is open (a column title with a line break in it, as Google Forms writes a
    question asked on two lines), up to `_HEADER_BYTES`; past them, or in a header whose quote
    never closes, the first line. A NUL in it is UTF-16 (or UTF-32) without a byte-order
    mark, whose ASCII reads as valid UTF-8 with a NUL after each letter: named, not read as
    a header of no known column. A damaged gzip or zip is the file's fault, as it is when
    found past the header: reading the header of a small one inflates it whole, its trailer
    (CRC, length) and what follows it too."""
    if workbook(path):
        return _csv_line(_sheet_copy(path).header)
    text = ""
    try:
        with closing(checked_text(path, chunk_bytes=1 << 14)) as chunks:
            for chunk in chunks:
                text += chunk
                if _header_record(text) or len(text) >= _HEADER_BYTES:
                    break
    except COMPRESSION_ERRORS as error:
        raise _not_decompressed(path, error, "file") from error
    head, newline, _ = text.partition("\n")
    line = _header_record(text) or head + newline
    if "\x00" in line:
        raise ParseError(
            "the header holds NUL bytes, as UTF-16 text without a byte-order mark does: save "
            'the file as "CSV UTF-8 (Comma delimited)", or as UTF-16 with a byte-order mark',
            "line 1",
        )
    return line


def _header_record(text: str) -> str | None:
    """The text up to the first line end outside quotes (None before one is read). Quotes
    are counted: an escaped one (`""`) leaves the count's parity as it was."""
    start = 0
    while (end := text.find("\n", start)) != -1:
        if text.count('"', 0, end) % 2 == 0:
            return text[: end + 1]
        start = end + 1
    return None


def _cells(line: str, delimiter: str) -> list[str]:
    """The cells of the first record of `line`, read as a file is (a line break ends it
    unless quoted), so that reading it at another delimiter cannot fail on a break that is
    quoted only at its own."""
    reader = csv.reader(io.StringIO(line, newline=""), delimiter=delimiter)
    return [cell.strip() for cell in next(reader, [])]


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

    Fields are separated by ',', or by ';' or a tab when the header says so (`csv_delimiter`);
    a `.txt`'s by tabs.
    Columns beyond `required` and `optional` are accepted and ignored; a missing optional
    column reads as null; a missing required column is a ParseError. A blank header cell (a
    trailing comma, as the ECB writes its rates) names column<N> (0-based), as DuckDB's own
    sniffer does. DuckDB refuses a file that mixes CRLF and LF line ends (often without
    naming a line): such a file is read from a copy with its line ends made LF, which keeps
    line numbers; so is a zipped file, which DuckDB does not read, and a UTF-16 one, which
    the copy makes UTF-8 (the copy is removed when the file's load is done: `scratch_folder`).
    Every file is decoded whole by Python, to count its line ends or to copy it: a byte that
    is not of its encoding is a ParseError naming where (`checked_text`). A gzip file is read
    from its decompressed copy, its CRC and length checked, as DuckDB does not (`plain`): a
    damaged one is a ParseError; zero bytes padded after its last member are ignored.
    A refusal that names no line is located by Python's csv reader. A workbook is read as its
    first worksheet (`workbook_rows`).
    """
    if workbook(path):
        return workbook_rows(path, required, optional)
    first_line = _first_line(path)  # read once, for the separator and the header
    delimiter = _delimiter(path, first_line, required)
    header = _header(first_line, delimiter)
    missing = [c for c in required if c not in header]
    if missing:
        raise ParseError(f"missing required column(s): {', '.join(missing)}", "line 1 (header)")
    header = [h or f"column{i}" for i, h in enumerate(header)]
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if duplicated:
        raise ParseError(f"column(s) repeated in header: {', '.join(duplicated)}", "line 1")
    # A gzip file is read from its checked copy (`plain`): DuckDB's gzip reader also refuses
    # the zero bytes some tools pad a file with after its last member, which gzip ignores.
    source = plain(path)
    try:
        # A zipped or UTF-16 file is copied whatever its line ends: no pass to count them first.
        if zipped(path) or _text_encoding(source).codec != UTF_8.codec or all(line_endings(source)):
            name = path.name.removesuffix(".gz").removesuffix(".zip")
            lf_copy = scratch_folder() / f"{next(_TABLES)}-{name}"
            _copy_with_lf(source, lf_copy)
            source = lf_copy
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
    """How many lines end in CRLF and how many in a bare LF (the text read in chunks,
    checked: `checked_text`)."""
    crlf = lf = 0
    previous = ""
    for chunk in checked_text(path):
        lf += chunk.count("\n")
        crlf += chunk.count("\r\n") + (previous.endswith("\r") and chunk.startswith("\n"))
        previous = chunk
    return crlf, lf - crlf


@dataclass(frozen=True)
class TextEncoding:
    """How a text file writes its characters: the name a person knows, Python's codec for
    the bytes after the byte-order mark, and that mark."""

    name: str
    codec: str
    bom: bytes = b""


UTF_8 = TextEncoding("UTF-8", "utf-8")
# The encodings a byte-order mark declares, as the WHATWG Encoding Standard sniffs them: Excel's
# "CSV UTF-8" and Azure's exports start with UTF-8's; Excel's "Unicode Text" and some
# accounting tools write UTF-16 (little-endian; big-endian is rarer) behind theirs. Text in any
# other encoding without a mark (Windows-1252, as Excel's "CSV (Comma delimited)" saves it;
# Latin-1) cannot be told from it by its bytes: it is refused where it is not UTF-8.
_MARKED_ENCODINGS = (
    TextEncoding("UTF-8", "utf-8", codecs.BOM_UTF8),
    TextEncoding("UTF-16 LE", "utf-16-le", codecs.BOM_UTF16_LE),
    TextEncoding("UTF-16 BE", "utf-16-be", codecs.BOM_UTF16_BE),
)


def _text_encoding(path: Path) -> TextEncoding:
    """The encoding the file's byte-order mark declares; UTF-8 when it has none."""
    with open_bytes(path) as handle:
        return _marked(handle.read(3))


def _marked(start: bytes) -> TextEncoding:
    return next((e for e in _MARKED_ENCODINGS if start.startswith(e.bom)), UTF_8)


def checked_text(path: Path, chunk_bytes: int = 1 << 20) -> Iterator[str]:
    """The file's text after its byte-order mark, decoded strictly in chunks of `chunk_bytes`
    in the encoding the mark declares (`_text_encoding`). A byte sequence that is not of it is
    a ParseError naming its line, its byte offset and the bytes (`_not_text`): nothing is
    replaced by U+FFFD, and no row of a file in another encoding loads."""
    with open_bytes(path) as handle:
        start = handle.read(3)
        encoding = _marked(start)
        decoder = codecs.getincrementaldecoder(encoding.codec)()
        chunk = start[len(encoding.bom) :] + handle.read(chunk_bytes)
        offset = len(encoding.bom)  # where `chunk` starts in the file
        while True:
            pending = decoder.getstate()[0]  # bytes of a character the last chunk cut
            try:
                text = decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as error:
                at = offset - len(pending) + error.start
                raise _not_text(path, encoding, error.reason, at) from None
            if not chunk:
                return
            yield text
            offset += len(chunk)
            chunk = handle.read(chunk_bytes)


def _not_text(path: Path, encoding: TextEncoding, reason: str, at: int) -> ParseError:
    """The first byte sequence that is not `encoding`, at byte offset `at`: its line, the
    text before it on the line, the bytes from it (`_context_at`), and what to save the file
    as. Bytes that are not UTF-8 are shown as Windows-1252 reads them (as Excel's "CSV (Comma
    delimited)" saves text) when they read so; NUL bytes between the letters before them are
    UTF-16 without a byte-order mark."""
    line, before, seen = _context_at(path, encoding, at)
    problem = (
        f"not {encoding.name} text: byte offset {at}"
        + (f", after {before!r}," if before else "")
        + f" holds {seen.hex(' ').upper()} ({reason})"
    )
    if "\x00" in before:
        problem += "; the NUL bytes between letters are UTF-16 without a byte-order mark"
    elif encoding.codec == UTF_8.codec:
        with suppress(UnicodeDecodeError):
            problem += (
                f", which reads {seen.decode('cp1252')!r} in Windows-1252, as Excel's "
                '"CSV (Comma delimited)" saves text'
            )
    return ParseError(
        f'{problem}: save the file as "CSV UTF-8 (Comma delimited)" (Excel), or as CSV with '
        "the character set UTF-8",
        f"line {line}",
    )


def _context_at(path: Path, encoding: TextEncoding, at: int) -> tuple[int, str, bytes]:
    """The line holding byte offset `at`, the text before `at` on it (24 characters at most)
    and the 4 bytes from `at`, whatever chunks the file was decoded in: the file is read again
    up to `at` (whose bytes before it are `encoding`), so that a file that loads is not
    counted as it is read."""
    decoder = codecs.getincrementaldecoder(encoding.codec)()
    newlines, before = 0, ""
    with open_bytes(path) as handle:
        left = at - len(handle.read(len(encoding.bom)))
        while left > 0 and (chunk := handle.read(min(left, 1 << 20))):
            text = decoder.decode(chunk)
            newlines += text.count("\n")
            before = (before + text).rsplit("\n", 1)[-1][-24:]
            left -= len(chunk)
        return newlines + 1, before, handle.read(4)


def plain(path: Path) -> Path:
    """The file DuckDB reads for `path`: a gzip file's decompressed copy (`gunzipped`), any
    other file itself. DuckDB's own gzip reader checks neither the CRC nor the length in a
    member's trailer: a flipped bit that still inflates loads wrong numbers without a word.
    Python's gzip checks both, fails a cut file and reads every member of a multi-member one
    (`cat a.gz b.gz`), as DuckDB does. DuckDB reads the plain copy faster than the gzip, which
    pays for most of the copy (a 300 MB GCP export loads in 2.8 s, 2.7 s from the gzip); the
    copy takes the file's uncompressed size on disk until it is loaded. Zero bytes padded
    after the last member (`dd`, some tape and object-store tools), which gzip ignores with
    a warning and DuckDB refuses ("Input is not a GZIP stream"), are ignored."""
    return gunzipped(path) if gzipped(path) else path


def gunzipped(path: Path) -> Path:
    """A gzip file (`.gz`) decompressed whole into the loading file's scratch folder
    (`scratch_folder`), checked on the way (every member's CRC and length: see `plain`); a
    damaged or cut stream is a ParseError naming why, an empty file too (Python's gzip reads
    no member as no bytes; a gzip of nothing is 20 bytes, so a 0-byte one is a cut copy)."""
    if not path.stat().st_size:
        raise _not_decompressed(path, EOFError("0 bytes, not even a gzip header"), "file")
    target = scratch_folder() / f"{next(_TABLES)}-{path.name.removesuffix('.gz')}"
    with gzip.open(path, "rb") as reader:
        return _inflated(path, reader, target)


def _copy_with_lf(source: Path, target: Path) -> None:
    """The file's text (`checked_text`) written as UTF-8 with LF line ends."""
    with target.open("w", encoding="utf-8", newline="") as writer:
        carry = ""
        for chunk in checked_text(source):
            chunk = carry + chunk
            carry = "\r" if chunk.endswith("\r") else ""
            writer.write(chunk[: len(chunk) - len(carry)].replace("\r\n", "\n"))
        writer.write(carry)


def _locate_unreadable_line(path: Path, width: int, delimiter: str) -> str | None:
    """The first line Python's strict csv reader cannot read, or whose field count is off."""
    with open_bytes(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")  # checked: `csv_rows`
        reader = csv.reader(text, delimiter=delimiter, strict=True)
        try:
            for row in reader:
                if len(row) != width:
                    return f"line {reader.line_num}"
        except csv.Error:
            return f"line {reader.line_num}"
    return None


# --- Excel workbooks --------------------------------------------------------------------------

# The column of a workbook's CSV copy that holds each row's row number in the worksheet.
_SHEET_ROW = "_sheet_row"
# How a workbook's CSV copy writes a date-time cell (`_text`), whatever the spreadsheet's
# locale: ISO 8601 to the second; a date alone when the time is midnight (a date cell).
CELL_DATE_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")
# How an OLE2 compound file starts: an Excel 97-2003 workbook, or an encrypted (password-
# protected) .xlsx, which Excel stores inside one.
_OLE2_SIGNATURE = bytes.fromhex("d0cf11e0a1b11ae1")
# A formula element of a worksheet's XML, with or without a namespace prefix (`<f>`, `<x:f t=`).
_FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s>/]")
# What openpyxl raises on a damaged workbook: not a zip or a cut one, a missing part (KeyError),
# malformed XML (SyntaxError), a value it cannot read (ValueError).
_WORKBOOK_ERRORS = (*COMPRESSION_ERRORS, KeyError, SyntaxError, ValueError)


def workbook(path: Path) -> bool:
    """An Excel workbook: `.xlsx`, read as its first worksheet; `.xls`, refused by name."""
    return path.suffix.lower() in (".xlsx", ".xls")


def workbook_rows(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> Rows:
    """`csv_rows` of the workbook's first worksheet, written to a CSV copy (`_sheet_copy`);
    `_record` is 'line N' with N the worksheet's row, as a CSV saved from it would number it.
    Another worksheet headed with the same required columns fails the file: only the first
    is read, and half a workbook must not load as all of it."""
    sheet = _sheet_copy(path)
    for title, labels in sheet.others:
        if set(required) <= labels:
            raise ParseError(
                f"worksheets {sheet.title!r} and {title!r} both have the columns "
                f"{', '.join(required)}; only the first worksheet is read: save each as a "
                "workbook of its own"
            )
    rows = csv_rows(sheet.csv, [*required, _SHEET_ROW], optional)
    columns = ", ".join(quote(c) for c in [*required, *optional])
    row = quote(_SHEET_ROW)
    return rows.select(
        f"{columns}, cast({row} as bigint) as _ordinal, 'line ' || {row} as {RECORD_COLUMN}"
    )


@dataclass(frozen=True)
class _SheetCopy:
    """A workbook's first worksheet as a CSV file (`csv`), with what else a reader asks of the
    workbook: the worksheet's title and header (row 1), and each other worksheet's title and
    row 1 labels."""

    csv: Path
    title: str
    header: list[str]
    others: tuple[tuple[str, frozenset[str]], ...]


def _sheet_copy(path: Path) -> _SheetCopy:
    """The workbook's `_SheetCopy`, made once per file load (`once_per_file_load`): a source
    that reads a workbook's header before its rows (HubSpot's export, fx) loads it once."""
    return once_per_file_load(("workbook", path), lambda: _copy_first_sheet(path))


def _copy_first_sheet(path: Path) -> _SheetCopy:
    """The first worksheet as a CSV copy in the scratch folder: row 1 is the header (HubSpot's
    export has nothing above it), each later row with anything in it follows with its row
    number (a blank row is skipped, as the Sheets path skips one). A cell becomes the text a
    CSV would hold (`_text`); cells right of the header's last label are not read, as a CSV's
    unlabelled columns are not."""
    target = scratch_folder() / f"{next(_TABLES)}-{path.stem}.csv"
    with _open_workbook(path) as book:
        first = book.worksheets[0]
        others = tuple(
            (other.title, frozenset(cell.strip() for cell in _header_row(other)))
            for other in book.worksheets[1:]
        )
        header = _first_header(book)
        # Cells the file writes without a value: blank, or a formula never computed.
        valueless: set[tuple[int, int]] = set()
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow([*header, _SHEET_ROW])
            for number, row in enumerate(_stream(first, min_row=2), start=2):
                cells = row[: len(header)]
                texts = [_text(cell.value) for cell in cells]
                valueless.update(
                    (number, column)
                    for column, cell in enumerate(cells, start=1)
                    if cell is not EMPTY_CELL and cell.value is None and cell.data_type == "n"
                )
                if any(text.strip() for text in texts):
                    writer.writerow([*texts, *[""] * (len(header) - len(texts)), number])
    if valueless and _has_formulas(path):
        _no_formula_without_value(path, valueless)
    return _SheetCopy(target, first.title, header, others)


def _has_formulas(path: Path) -> bool:
    """Whether a worksheet of the workbook holds a formula (an `<f>` element). A cell written
    without a value is a formula never computed only then; otherwise it is a formatted blank,
    which Excel writes routinely, and the workbook need not be read a second time for it."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                continue
            with archive.open(name) as part:
                carried = b""
                for chunk in iter(lambda: part.read(1 << 20), b""):
                    if _FORMULA_ELEMENT.search(carried + chunk):
                        return True
                    carried = chunk[-8:]  # an element split between two chunks
    return False


def _no_formula_without_value(path: Path, valueless: set[tuple[int, int]]) -> None:
    """A formula never computed (a workbook written by a program and not opened in a
    spreadsheet since) has no value: a ParseError naming its cell, not an empty value. (A
    formula whose text result is empty is typed 'str', as Excel writes `IF(...,"",...)`, and
    reads as empty.) Only a workbook with cells written without a value is read again, for
    its formulas."""
    with _open_workbook(path, formulas=True) as book:
        sheet = book.worksheets[0]
        for cells in _stream(sheet, min_row=2):
            for cell in cells:
                if cell.data_type == "f" and (cell.row, cell.column) in valueless:
                    formula = getattr(cell.value, "text", cell.value)
                    raise ParseError(
                        f"worksheet {sheet.title!r}, cell {cell.coordinate}: formula {formula} "
                        "has no computed value (the workbook was written by a program and "
                        "never calculated); open and save it in Excel or LibreOffice, or "
                        "export CSV",
                        f"line {cell.row}",
                    )


@contextmanager
def _open_workbook(path: Path, formulas: bool = False) -> Iterator[Workbook]:
    """The workbook, read-only (streamed), with each formula cell's value as last computed,
    or (`formulas`) its formula. An .xls, an encrypted or a damaged file is a ParseError."""
    if path.suffix.lower() == ".xls":
        raise ParseError(
            "an Excel 97-2003 workbook (.xls) is not read: export or save it as CSV or XLSX"
        )
    with path.open("rb") as handle:
        if handle.read(len(_OLE2_SIGNATURE)) == _OLE2_SIGNATURE:
            raise ParseError(
                "a password-protected (encrypted) workbook, or an .xls named .xlsx: not read; "
                "remove the password, or export or save it as CSV or XLSX"
            )
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=not formulas)
    except _WORKBOOK_ERRORS as error:
        raise _unreadable(error) from error
    try:
        if not book.worksheets:
            raise ParseError("the workbook has no worksheet")
        yield book
    finally:
        book.close()


def _unreadable(error: Exception) -> ParseError:
    return ParseError(f"not a readable XLSX workbook: {error}")


def _stream(sheet: Any, min_row: int, max_row: int | None = None) -> Iterator[tuple[Any, ...]]:
    """A worksheet's rows of cells from `min_row`, each as long as the file writes it (not
    padded to the `<dimension>` a file states, which some writers get wrong); a damaged
    worksheet is a ParseError."""
    sheet.reset_dimensions()
    try:
        yield from sheet.iter_rows(min_row=min_row, max_row=max_row)
    except _WORKBOOK_ERRORS as error:
        raise _unreadable(error) from error


def _first_header(book: Workbook) -> list[str]:
    sheet = book.worksheets[0]
    header = _header_row(sheet)
    if not any(header):
        raise ParseError(f"worksheet {sheet.title!r} has no header: row 1 is empty", "line 1")
    return header


def _header_row(sheet: Any) -> list[str]:
    """Row 1's cells as text, without the empty cells after the last label."""
    cells = next(_stream(sheet, min_row=1, max_row=1), ())
    texts = [_text(cell.value) for cell in cells]
    while texts and not texts[-1].strip():
        texts.pop()
    return texts


def _text(value: object) -> str:
    """A typed cell as a CSV holds it: a whole number without '.0' (HubSpot's Record ID), a
    decimal to the 15 significant digits Excel keeps (0.1+0.2 is 0.3), a date-time as
    `CELL_DATE_TIME_FORMATS` say (to the second, rounded as a time format without fractions
    shows it), a boolean as true/false, an error as Excel shows it (#N/A), an empty cell as
    empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:.15g}"
    if isinstance(value, datetime):
        value = (value + timedelta(microseconds=500_000)).replace(microsecond=0)
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def _csv_line(cells: Sequence[str]) -> str:
    line = io.StringIO()
    csv.writer(line, lineterminator="\n").writerow(cells)
    return line.getvalue()


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
