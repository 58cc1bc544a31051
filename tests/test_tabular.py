"""Row checks shared by the connectors, on rows written for the test."""

from __future__ import annotations

import codecs
import gzip
import zipfile
from datetime import date, datetime, time, timedelta
from pathlib import Path

import duckdb
import openpyxl
import pyarrow as pa
import pytest

from ingest.framework import ParseError, file_scratch
from ingest.tabular import (
    checked_text,
    csv_delimiter,
    csv_header,
    csv_rows,
    plausible_time,
    read_csv_strings,
    scratch_connection,
    split_rows,
)


def test_times_before_2000_or_over_a_year_ahead_are_quarantined_with_the_reason():
    con = duckdb.connect()
    next_year_and_a_day = (date.today() + timedelta(days=367)).isoformat()
    rows = con.sql(
        "select * from (values "
        "('2024-01-15', 'line 2', 2), "  # kept
        "('1999-12-31', 'line 3', 3), "  # a day before the window
        "('2000-01-01', 'line 4', 4), "  # first day of the window: kept
        f"('{next_year_and_a_day}', 'line 5', 5), "  # past load day + 1 year
        "(null, 'line 6', 6)"  # no value: left to not_empty
        ") as t(sample_date, _record, _ordinal)"
    )
    valid, rejected = split_rows(
        con,
        rows,
        [plausible_time("sample_date", "try_cast(sample_date as date)")],
        {"sample_date": "sample_date"},
    )
    assert valid.column("_record").to_pylist() == ["line 2", "line 4", "line 6"]
    assert rejected.to_pylist() == [
        {
            "record": "line 3",
            "reason": "sample_date is outside 2000-01-01 .. a year after the load day: 1999-12-31",
            "raw": '{"sample_date":"1999-12-31"}',
        },
        {
            "record": "line 5",
            "reason": "sample_date is outside 2000-01-01 .. a year after the load day: "
            + next_year_and_a_day,
            "raw": f'{{"sample_date":"{next_year_and_a_day}"}}',
        },
    ]


def test_files_parsed_side_by_side_do_not_see_each_others_tables():
    """Parsers share one in-memory database: each file's temp tables and registered frames
    are its own connection's, gone when it closes, and its times are UTC."""
    first, second = scratch_connection(), scratch_connection()
    first.execute("create temp table items as select 1 as item")
    second.execute("create temp table items as select 2 as item")
    first.register("_rows", pa.table({"item": [3]}))
    assert first.sql("select item from items").fetchall() == [(1,)]
    assert second.sql("select item from items").fetchall() == [(2,)]
    with pytest.raises(duckdb.CatalogException, match="_rows"):
        second.sql("select * from _rows")
    assert second.sql("select current_setting('TimeZone')").fetchall() == [("UTC",)]
    first.close()
    third = scratch_connection()
    third.execute("create temp table items as select 4 as item")  # the name is free again
    assert third.sql("select item from items").fetchall() == [(4,)]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_a_zipped_csv_reads_like_the_csv_with_its_line_numbers(tmp_path: Path):
    # CRLF then LF line ends, which DuckDB refuses unless made LF: lines 2-4, 5.25 in all.
    text = b"id,amount\r\na,1.00\r\nb,2.00\nc,2.25\n"
    zipped = _zip(tmp_path / "report-1.csv.zip", {"report-1.csv": text})
    rows = duckdb.sql(csv_rows(zipped, ["id", "amount"]).sql).fetchall()
    assert rows == [
        ("a", "1.00", 2, "line 2"),
        ("b", "2.00", 3, "line 3"),
        ("c", "2.25", 4, "line 4"),
    ]


def test_a_zip_of_several_files_or_a_damaged_zip_is_a_parse_error(tmp_path: Path):
    several = _zip(tmp_path / "two.csv.zip", {"a.csv": b"id\n1\n", "b.csv": b"id\n2\n"})
    with pytest.raises(ParseError) as error:
        csv_rows(several, ["id"])
    assert (error.value.problem, error.value.where) == (
        "a zip archive of 2 files (a.csv, b.csv), not of one export",
        "file",
    )
    damaged = tmp_path / "cut.csv.zip"
    damaged.write_bytes(_zip(tmp_path / "whole.zip", {"a.csv": b"id\n1\n"}).read_bytes()[:40])
    with pytest.raises(ParseError, match=r"^not a readable zip file: "):
        csv_rows(damaged, ["id"])


@pytest.mark.parametrize(
    ("flag", "method", "why"),
    [
        (1, zipfile.ZIP_DEFLATED, "File 'a.csv' is encrypted, password required for extraction"),
        (0, 9, "That compression method is not supported"),  # Deflate64
    ],
    ids=["encrypted", "deflate64"],
)
def test_a_zipped_file_python_cannot_open_says_why_and_what_to_do(
    tmp_path: Path, flag: int, method: int, why: str
):
    """A member zipped with a password, or with Deflate64 (Windows' compressed folder of a
    large file): its entries' flag bit 0 or method field set as those tools write them."""
    archive = bytearray(_zip(tmp_path / "a.csv.zip", {"a.csv": b"id\n1\n"}).read_bytes())
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        entry = archive.index(signature)
        archive[entry + flags_at] |= flag
        archive[entry + flags_at + 2 : entry + flags_at + 4] = method.to_bytes(2, "little")
    path = tmp_path / "b.csv.zip"
    path.write_bytes(bytes(archive))
    with pytest.raises(ParseError) as error:
        csv_rows(path, ["id"])
    assert (error.value.problem, error.value.where) == (
        f"a.csv in the zip cannot be read ({why}): zip it again without a password, compressed "
        "with Deflate (any zip tool's default), or land the file unzipped",
        "file",
    )


def test_a_header_cell_with_a_line_break_is_one_column(tmp_path: Path):
    """A question asked on two lines heads its column with the line break inside quotes (a
    Forms download, CRLF): the header is the whole quoted record, not its first line, and the
    rows that follow are lines 2 and 3 as a spreadsheet numbers them."""
    title = 'How likely are you\r\nto recommend us? ("0" = not at all)'
    path = tmp_path / "responses.csv"
    path.write_bytes(
        b'Timestamp,"How likely are you\r\nto recommend us? (""0"" = not at all)",Community\r\n'
        b"1/15/2024 10:00:00,9,alpha\r\n"
        b"1/15/2024 11:00:00,8,beta\r\n"
    )
    assert csv_header(path) == ["Timestamp", title, "Community"]
    rows = duckdb.sql(csv_rows(path, ["Timestamp", title, "Community"]).sql).fetchall()
    assert rows == [
        ("1/15/2024 10:00:00", "9", "alpha", 2, "line 2"),
        ("1/15/2024 11:00:00", "8", "beta", 3, "line 3"),
    ]


def test_a_file_with_carriage_returns_alone_reads_its_lines(tmp_path: Path):
    """Classic Mac line ends (a CR alone, as Excel's "CSV (Macintosh)" saves a sheet): the
    header is its first record, not the whole file read as one line."""
    path = tmp_path / "mac.csv"
    path.write_bytes(b"id,amount\ra,1.5\rb,2\r")
    assert csv_header(path) == ["id", "amount"]
    rows = duckdb.sql(csv_rows(path, ["id", "amount"]).sql).fetchall()
    assert rows == [("a", "1.5", 2, "line 2"), ("b", "2", 3, "line 3")]


@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_a_semicolon_or_tab_separated_file_is_read_at_the_separator_of_its_header(
    tmp_path: Path, delimiter: str
):
    # A spreadsheet's export: a comma is text inside a field, a ';' within one is quoted.
    path = tmp_path / "export.csv"
    path.write_text(
        f"id{delimiter}amount{delimiter}note\n"
        f"a{delimiter}1,50{delimiter}Cloud costs, January\n"
        f'b{delimiter}2{delimiter}"setup; onboarding"\n',
        encoding="utf-8",
    )
    rows = read_csv_strings(scratch_connection(), path, ["id", "amount"], ["note"]).fetchall()
    assert rows == [
        ("a", "1,50", "Cloud costs, January", 2, "line 2"),
        ("b", "2", "setup; onboarding", 3, "line 3"),
    ]


def test_the_separator_is_told_by_the_header_alone(tmp_path: Path):
    """A comma file whose values hold ';' and tabs is read at commas; a ';' header that lacks
    a column names that column, and a header wrong every way names them all."""
    commas = tmp_path / "commas.csv"
    commas.write_text('id,note\na,x;y\nb,"p\tq;r"\n', encoding="utf-8")
    rows = read_csv_strings(scratch_connection(), commas, ["id", "note"]).fetchall()
    assert [row[:2] for row in rows] == [("a", "x;y"), ("b", "p\tq;r")]
    for header, missing in [("id;amount", "note"), ("identifier;comment", "id, note")]:
        path = tmp_path / "export.csv"
        path.write_text(f"{header}\na;1\n", encoding="utf-8")
        with pytest.raises(ParseError) as error:
            csv_rows(path, ["id", "note"])
        assert (error.value.where, error.value.problem) == (
            "line 1 (header)",
            f"missing required column(s): {missing}",
        )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("id;amount\na;1,00\nb;2,00;x\nc;3,00\n", "Expected Number of Columns: 2 Found: 3"),
        # A bare CR: DuckDB names no line, Python's reader (at ';') finds the long one.
        ("id;amount\na;1,00\rb;2,00;x\nc;3,00\n", "This can happen when is not possible"),
    ],
)
def test_a_line_of_another_width_in_a_semicolon_file_is_named(
    tmp_path: Path, text: str, problem: str
):
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode())
    with pytest.raises(ParseError) as error:
        read_csv_strings(scratch_connection(), path, ["id", "amount"])
    assert error.value.where == "line 3"
    assert error.value.problem.startswith("malformed CSV: " + problem)


# --- Text encodings, as people's tools save a sheet: Excel's "CSV UTF-8" (UTF-8 behind a
# byte-order mark), "Unicode Text" (UTF-16 LE behind one, tab-separated), "CSV (Comma
# delimited)" (Windows-1252, no mark), all with CRLF line ends.

# Accents, a euro sign, a character outside the Basic Multilingual Plane (a UTF-16 surrogate
# pair) and a negative amount.
ACCENTED = "customer,amount\r\nUniversidad de Córdoba,1234.50\r\nZoë Müller \u2013 € 🙂,-7\r\n"
ACCENTED_ROWS = [
    ("Universidad de Córdoba", "1234.50", 2, "line 2"),
    ("Zoë Müller \u2013 € 🙂", "-7", 3, "line 3"),
]
MARKED = {
    "utf-8": b"",
    "utf-8-sig": b"",  # the codec writes the mark itself
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-16-be": codecs.BOM_UTF16_BE,
}


def _packed(path: Path, data: bytes, container: str) -> Path:
    if container == "gzip":
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
        return path
    if container == "zip":
        return _zip(path.with_name(path.name + ".zip"), {path.name: data})
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("container", ["plain", "gzip", "zip"])
@pytest.mark.parametrize("codec", MARKED)
def test_utf8_with_or_without_its_mark_and_utf16_with_its_mark_read_as_the_same_rows(
    tmp_path: Path, codec: str, container: str
):
    data = MARKED[codec] + ACCENTED.encode(codec)
    path = _packed(tmp_path / "export.csv", data, container)
    with file_scratch():
        rows = read_csv_strings(scratch_connection(), path, ["customer", "amount"]).fetchall()
    assert rows == ACCENTED_ROWS


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_unicode_text_is_read_at_its_tabs_where_the_separator_is_told_by_the_header(
    tmp_path: Path, codec: str
):
    path = tmp_path / "export.txt"
    path.write_bytes(MARKED[codec] + ACCENTED.replace(",", "\t").encode(codec))
    with file_scratch():
        rows = read_csv_strings(scratch_connection(), path, ["customer", "amount"]).fetchall()
    assert rows == ACCENTED_ROWS


@pytest.mark.parametrize("codec", MARKED)
def test_text_decoded_in_chunks_that_cut_characters_is_the_text(tmp_path: Path, codec: str):
    """A chunk may end inside a character (ó is 2 bytes in UTF-8, 🙂 4 in both): the decoder
    carries its first bytes over, whatever the chunk size."""
    path = tmp_path / "export.csv"
    path.write_bytes(MARKED[codec] + ACCENTED.encode(codec))
    for size in range(1, 9):
        assert "".join(checked_text(path, chunk_bytes=size)) == ACCENTED


SAVE_AS_UTF8 = (
    ': save the file as "CSV UTF-8 (Comma delimited)" (Excel), or as CSV with the character '
    "set UTF-8"
)


def _not_text(path: Path, chunk_bytes: int) -> ParseError:
    with pytest.raises(ParseError) as error:
        for _ in checked_text(path, chunk_bytes):
            pass
    return error.value


@pytest.mark.parametrize(
    ("data", "where", "problem"),
    [
        # Excel's "CSV (Comma delimited)": Windows-1252. 17 bytes of header, then
        # 'Universidad de C' (16): byte 33 is its ó.
        (
            b"customer,amount\r\nUniversidad de C\xf3rdoba,1234.50\r\n",
            "line 2",
            "not UTF-8 text: byte offset 33, after 'Universidad de C', holds F3 72 64 6F "
            "(invalid continuation byte), which reads 'órdo' in Windows-1252, as Excel's "
            '"CSV (Comma delimited)" saves text',
        ),
        # A "CSV UTF-8" file with a line pasted from a Windows-1252 one: the mark (3 bytes),
        # the header (16), 'Universidad de Córdoba,1' and its LF (22 letters, ó in 2 bytes,
        # and 3: 26), 'Universit' (9): byte 54 is the second line's é.
        (
            codecs.BOM_UTF8
            + "customer,amount\nUniversidad de Córdoba,1\n".encode()
            + b"Universit\xe9 de Gen\xe8ve,2\n",
            "line 3",
            "not UTF-8 text: byte offset 54, after 'Universit', holds E9 20 64 65 (invalid "
            "continuation byte), which reads 'é de' in Windows-1252, as Excel's \"CSV (Comma "
            'delimited)" saves text',
        ),
        # UTF-16 with a low surrogate alone: the mark (2), 'id' and CRLF (8): byte 10.
        (
            codecs.BOM_UTF16_LE + "id\r\n".encode("utf-16-le") + b"\x00\xdc\r\x00\n\x00",
            "line 2",
            "not UTF-16 LE text: byte offset 10 holds 00 DC 0D 00 (illegal encoding)",
        ),
        # UTF-16 cut in the middle of a character: the mark (2), 'id' and LF (6), 'x' (2).
        (
            codecs.BOM_UTF16_BE + "id\nx".encode("utf-16-be") + b"\x00",
            "line 2",
            "not UTF-16 BE text: byte offset 10, after 'x', holds 00 (truncated data)",
        ),
    ],
    ids=["windows-1252", "utf-8-then-windows-1252", "lone-surrogate", "cut-utf-16"],
)
def test_a_byte_not_of_the_files_encoding_fails_naming_line_offset_bytes_and_the_fix(
    tmp_path: Path, data: bytes, where: str, problem: str
):
    path = tmp_path / "export.csv"
    path.write_bytes(data)
    for size in (1, 3, 1 << 20):
        failure = _not_text(path, size)
        assert (failure.where, failure.problem) == (where, problem + SAVE_AS_UTF8)


def test_a_byte_not_utf8_fails_the_file_even_in_a_column_no_source_reads(tmp_path: Path):
    """DuckDB checks only the columns it reads: the file is checked whole before, so a file
    in another encoding is refused wherever its first such byte is. 'id,note' and LF (8),
    'a,Caf' (5): byte 13."""
    path = tmp_path / "export.csv"
    path.write_bytes(b"id,note\na,Caf\xe9\n")
    with pytest.raises(ParseError) as error:
        csv_rows(path, ["id"])
    assert (error.value.where, error.value.problem) == (
        "line 2",
        "not UTF-8 text: byte offset 13, after 'a,Caf', holds E9 0A (invalid continuation byte), "
        "which reads 'é\\n' in Windows-1252, as Excel's \"CSV (Comma delimited)\" saves text"
        + SAVE_AS_UTF8,
    )


def test_utf16_without_its_mark_is_named_not_read_as_a_header_of_nul_bytes(tmp_path: Path):
    path = tmp_path / "export.csv"
    path.write_bytes("id,amount\r\na,1\r\n".encode("utf-16-le"))
    with pytest.raises(ParseError) as error:
        csv_header(path)
    assert (error.value.where, error.value.problem) == (
        "line 1",
        "the header holds NUL bytes, as UTF-16 text without a byte-order mark does: save the "
        'file as "CSV UTF-8 (Comma delimited)", or as UTF-16 with a byte-order mark',
    )


def test_a_tab_separated_header_read_at_commas_says_what_to_save_it_as(tmp_path: Path):
    path = tmp_path / "export.csv"
    path.write_bytes(codecs.BOM_UTF16_LE + "Record ID\tDeal Stage\r\n".encode("utf-16-le"))
    assert csv_header(path, "\t") == ["Record ID", "Deal Stage"]
    with pytest.raises(ParseError) as error:
        csv_header(path)
    assert (error.value.where, error.value.problem) == (
        "line 1 (header)",
        'the header is separated by tabs (as Excel\'s "Unicode Text" and "Text (Tab '
        "delimited)\" save a sheet), and this file is read at ',': save it as \"CSV UTF-8 "
        '(Comma delimited)"',
    )


def test_a_txt_is_read_at_its_tabs_and_one_without_a_tab_in_its_header_fails(tmp_path: Path):
    """`<name>.txt` is what Excel's "Unicode Text" saves: its header is read at tabs whatever
    the caller reads a CSV at, and even when a title holds commas; a header without a tab (a
    CSV named .txt) is refused before any column is looked for."""
    path = tmp_path / "export.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + "Record ID\tStage, as named\r\n".encode("utf-16-le"))
    assert csv_header(path) == ["Record ID", "Stage, as named"]
    assert csv_delimiter(path, ["id"]) == "\t"
    path.write_text("Record ID,Deal Stage\n1,won\n", encoding="utf-8")
    for read in (csv_header, lambda p: csv_rows(p, ["Record ID"])):
        with pytest.raises(ParseError) as error:
            read(path)
        assert (error.value.where, error.value.problem) == (
            "line 1 (header)",
            'a .txt file is read as Excel\'s "Unicode Text" saves a sheet, its fields separated '
            'by tabs, and this header has no tab: save the sheet as "Unicode Text", or as "CSV '
            'UTF-8 (Comma delimited)" and name it .csv',
        )


# --- Excel workbooks: written by openpyxl as a program writes them (typed cells, a formula
# without a computed value), and patched where Excel writes its own shape (cached results).


def _workbook(path: Path, *sheets: tuple[str, list[list[object]]]) -> Path:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def _count_workbook_loads(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The keyword arguments of every openpyxl load from now on, one entry per load (the
    workbook is still loaded: this counts, it does not stand in for openpyxl)."""
    opened: list[dict] = []
    load = openpyxl.load_workbook
    monkeypatch.setattr(
        openpyxl,
        "load_workbook",
        lambda *args, **kwargs: opened.append(kwargs) or load(*args, **kwargs),
    )
    return opened


def _patched(path: Path, old: str, new: str) -> Path:
    """The workbook with its first worksheet's XML edited (old must be there)."""
    member = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    xml = parts[member].decode()
    assert old in xml
    parts[member] = xml.replace(old, new).encode()
    return _zip(path, parts)


def test_a_workbook_reads_as_the_csv_of_its_first_sheet_with_its_row_numbers(tmp_path: Path):
    """Typed cells become the text a CSV holds; a blank row is skipped and the next keeps its
    row number; a cell right of the header's last label is not read."""
    path = _workbook(
        tmp_path / "export.xlsx",
        (
            "Export",
            [
                ["id", "amount", "day", "at", "flag", "note"],
                # 0.1 + 0.7 is 0.7999999999999999 in a double; Excel shows and keeps 0.8.
                [18345678901, 0.1 + 0.7, date(2024, 1, 5), datetime(2024, 4, 20, 14, 5), True],
                [7, 4800.0, datetime(2024, 1, 5), time(14, 5), False, 'say "hi",\nbye'],
                [],
                [8, 1234.56, None, None, None, None, "not under a label"],
            ],
        ),
        ("Notes", [["exported by finance"]]),
    )
    assert csv_header(path) == ["id", "amount", "day", "at", "flag", "note"]
    rows = duckdb.sql(csv_rows(path, ["id", "amount"], ["day", "at", "flag", "note"]).sql)
    assert rows.fetchall() == [
        ("18345678901", "0.8", "2024-01-05", "2024-04-20T14:05:00", "true", None, 2, "line 2"),
        ("7", "4800", "2024-01-05", "14:05:00", "false", 'say "hi",\nbye', 3, "line 3"),
        ("8", "1234.56", None, None, None, None, 5, "line 5"),
    ]


def test_a_date_time_cell_reads_to_the_second_as_a_time_format_shows_it(tmp_path: Path):
    """A spreadsheet keeps a time to the millisecond and shows h:mm:ss rounded: 14:05:59.6 is
    14:06:00, 14:05:59.4 is 14:05:59, and 23:59:59.5 is midnight, a date cell's form."""
    path = _workbook(
        tmp_path / "times.xlsx",
        (
            "Times",
            [
                ["at"],
                [datetime(2024, 4, 20, 14, 5, 59, 600_000)],
                [datetime(2024, 4, 20, 14, 5, 59, 400_000)],
                [datetime(2024, 4, 20, 23, 59, 59, 500_000)],
            ],
        ),
    )
    rows = duckdb.sql(csv_rows(path, ["at"]).sql).fetchall()
    assert [at for at, _, _ in rows] == ["2024-04-20T14:06:00", "2024-04-20T14:05:59", "2024-04-21"]


def test_a_formula_reads_as_its_computed_value_and_one_never_computed_fails(tmp_path: Path):
    written = _workbook(
        tmp_path / "written.xlsx",
        ("Invoices", [["id", "total", "note"], [1, "=1+1", '=IF(A2=1,"","x")']]),
    )
    # As a program writes it, without values: the first formula is named, not read as empty.
    with pytest.raises(ParseError) as error:
        csv_rows(written, ["id", "total"], ["note"])
    assert (error.value.where, error.value.problem) == (
        "line 2",
        "worksheet 'Invoices', cell B2: formula =1+1 has no computed value (the workbook was "
        "written by a program and never calculated); open and save it in Excel or LibreOffice, "
        "or export CSV",
    )
    # As Excel saves it: each formula with its result, an empty text result typed "str".
    saved = _patched(written, '<c r="B2"><f>1+1</f><v /></c>', '<c r="B2"><f>1+1</f><v>2</v></c>')
    saved = _patched(
        saved,
        '<c r="C2"><f>IF(A2=1,"","x")</f><v /></c>',
        '<c r="C2" t="str"><f>IF(A2=1,"","x")</f><v></v></c>',
    )
    rows = duckdb.sql(csv_rows(saved, ["id", "total"], ["note"]).sql).fetchall()
    assert rows == [("1", "2", None, 2, "line 2")]


def test_a_formatted_blank_reads_as_empty_without_reading_the_workbook_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Excel writes a formatted empty cell as `<c r="C2" s="1"/>`: no value, like a formula
    never computed. Without a formula in the workbook it is read as empty, and the workbook is
    opened once, not a second time to look for formulas (a second read of a 30,000-row
    workbook took 4 s)."""
    path = _workbook(tmp_path / "styled.xlsx", ("Invoices", [["id", "total", "note"], [1, 2]]))
    path = _patched(
        path, '<c r="B2" t="n"><v>2</v></c>', '<c r="B2" t="n"><v>2</v></c><c r="C2" s="1"/>'
    )
    opened = _count_workbook_loads(monkeypatch)
    rows = duckdb.sql(csv_rows(path, ["id", "total"], ["note"]).sql).fetchall()
    assert rows == [("1", "2", None, 2, "line 2")]
    assert [kwargs["data_only"] for kwargs in opened] == [True]


def test_a_workbook_read_for_its_header_then_its_rows_is_loaded_once_per_file_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """HubSpot's export and fx files are told apart by their header before their rows are
    read: while the file loads (the framework's `file_scratch`), the workbook's CSV copy
    serves both, and a 30,000-row export is not loaded a second time (1.3 s). The copy goes
    with the load: the next load reads the workbook again."""
    path = _workbook(
        tmp_path / "deals.xlsx",
        ("Deals", [["Record ID", "Deal Stage", "Amount"], [201, "Closed Won", 4800]]),
    )
    opened = _count_workbook_loads(monkeypatch)
    required = ["Record ID", "Deal Stage", "Amount"]
    for _ in range(2):
        with file_scratch():
            assert csv_header(path) == required
            rows = read_csv_strings(scratch_connection(), path, required).fetchall()
        assert rows == [("201", "Closed Won", "4800", 2, "line 2")]
    assert len(opened) == 2  # once per load


def test_a_workbook_is_read_whole_whatever_size_its_dimension_states(tmp_path: Path):
    """Read-only reading trusts the sheet's <dimension>, which some writers leave at A1."""
    path = _workbook(tmp_path / "a.xlsx", ("Sheet", [["id", "amount"], ["a", 1], ["b", 2]]))
    path = _patched(path, '<dimension ref="A1:B3" />', '<dimension ref="A1" />')
    rows = duckdb.sql(csv_rows(path, ["id", "amount"]).sql).fetchall()
    assert rows == [("a", "1", 2, "line 2"), ("b", "2", 3, "line 3")]


def test_a_second_sheet_of_the_same_columns_or_an_empty_header_fails(tmp_path: Path):
    """Only the first sheet is read: one more holding rows of the source must not be passed
    over, so the workbook fails naming both."""
    header = ["invoice_number", "amount"]
    years = _workbook(
        tmp_path / "years.xlsx",
        ("2024", [header, ["INV-1", 10]]),
        ("2025", [[*header, "note"], ["INV-2", 20]]),
    )
    with pytest.raises(ParseError) as error:
        csv_rows(years, header)
    assert error.value.problem == (
        "worksheets '2024' and '2025' both have the columns invoice_number, amount; only the "
        "first worksheet is read: save each as a workbook of its own"
    )
    titled = _workbook(tmp_path / "titled.xlsx", ("Invoices", [[], header, ["INV-1", 10]]))
    for read in (csv_header, lambda path: csv_rows(path, header)):
        with pytest.raises(ParseError) as error:
            read(titled)
        assert (error.value.where, error.value.problem) == (
            "line 1",
            "worksheet 'Invoices' has no header: row 1 is empty",
        )
