"""The exchange-rates connector: typed rows, quarantined values, broken files named by line."""

from __future__ import annotations

import zipfile
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ingest.framework import ParseError, load_source
from ingest.fx import SOURCE as FX
from ingest.fx import parse_rates


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


def test_valid_rows_are_typed_and_bad_rows_quarantined_with_every_reason(tmp_path: Path):
    rates = write(
        tmp_path / "rates.csv",
        (
            "date,currency,usd_per_unit\n"
            "2024-01-01,EUR,1.10\n"
            "2024-01-01,GBP,abc\n"
            "2024-13-01,CAD,0.74\n"
            "2024-01-01,EUR,1.2\n"
            "2024-02-01,EURO,-1\n"
            "2024-02-01,gbp,1.27\n"
        ),
    )
    parsed = parse_rates(rates)
    assert parsed.tables["fx_rates"].to_pylist() == [
        {
            "rate_date": date(2024, 1, 1),
            "currency": "EUR",
            "usd_per_unit": 1.10,
            "_record": "line 2",
        },
        {
            "rate_date": date(2024, 2, 1),
            "currency": "GBP",
            "usd_per_unit": 1.27,
            "_record": "line 7",
        },
    ]
    rejected = {row["record"]: row["reason"] for row in parsed.rejected.to_pylist()}
    assert rejected == {
        "line 3": "usd_per_unit is not a double: abc",
        "line 4": "date is not a date in %Y-%m-%d: 2024-13-01",
        "line 5": "duplicate key (date, currency), first at line 2",
        "line 6": "usd_per_unit is not a positive number: -1; "
        "currency is not an ISO 4217 code: EURO",
    }
    raw = parsed.rejected.to_pylist()[0]["raw"]
    assert raw == '{"date":"2024-01-01","currency":"GBP","usd_per_unit":"abc"}'


def test_byte_order_mark_and_extra_columns_are_accepted(tmp_path: Path):
    rates = write(
        tmp_path / "rates.csv",
        "date,source,currency,usd_per_unit\n2024-03-01,ECB,EUR,1.09\n",
        encoding="utf-8-sig",
    )
    rows = parse_rates(rates).tables["fx_rates"].to_pylist()
    assert [(r["currency"], r["usd_per_unit"]) for r in rows] == [("EUR", 1.09)]


@pytest.mark.parametrize("name", ["rates.csv", "rates.txt"])
def test_rates_saved_as_unicode_text_are_read_at_their_tabs(tmp_path: Path, name: str):
    """Excel's "Unicode Text": UTF-16 LE behind a byte-order mark, tab-separated, CRLF; named
    `.txt` as Excel names it, or renamed `.csv`."""
    rates = write(
        tmp_path / name,
        "date\tcurrency\tusd_per_unit\r\n2024-03-01\tEUR\t1.09\r\n2024-03-01\tCHF\t1.13\r\n",
        encoding="utf-16",
    )
    assert rates.read_bytes()[:2] == b"\xff\xfe"
    rows = parse_rates(rates).tables["fx_rates"].to_pylist()
    assert [(r["rate_date"], r["currency"], r["usd_per_unit"]) for r in rows] == [
        (date(2024, 3, 1), "EUR", 1.09),
        (date(2024, 3, 1), "CHF", 1.13),
    ]


def test_semicolon_rates_with_decimal_commas_read_like_their_comma_twin(tmp_path: Path):
    twin = write(
        tmp_path / "comma.csv",
        "date,currency,usd_per_unit\n"
        "2024-01-01,EUR,1.0845\n"
        "2024-01-01,JPY,0.0067\n"
        "2024-01-01,IDR,6.4E-05\n"
        "2024-01-01,KWD,3.25\n",
    )
    rates = write(
        tmp_path / "semicolon.csv",
        "date;currency;usd_per_unit\n"
        "2024-01-01;EUR;1,0845\n"
        "2024-01-01;JPY;0,0067\n"
        "2024-01-01;IDR;6,4E-05\n"
        "2024-01-01;KWD;3,25\n",
    )
    rows = parse_rates(rates).tables["fx_rates"]
    assert rows.to_pylist() == parse_rates(twin).tables["fx_rates"].to_pylist()
    assert rows.column("usd_per_unit").to_pylist() == [1.0845, 0.0067, 6.4e-05, 3.25]


def test_a_rate_with_a_decimal_point_in_a_semicolon_file_is_quarantined(tmp_path: Path):
    """1.085 would be 1085 to the locale that writes ';': not read either way."""
    rates = write(
        tmp_path / "semicolon.csv",
        "date;currency;usd_per_unit\n2024-01-01;EUR;1,0845\n2024-01-01;GBP;1.085\n",
    )
    parsed = parse_rates(rates)
    assert parsed.tables["fx_rates"].column("currency").to_pylist() == ["EUR"]
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        (
            "line 3",
            "usd_per_unit is ambiguous: in a ';'-separated file ',' is the decimal separator "
            "and '.' only groups thousands before it (1.234,56): 1.085",
        )
    ]


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (
            "date,usd_per_unit\n2024-01-01,1\n",
            "line 1 (header)",
            "missing required column(s): currency",
        ),
        ("", "line 1", "file is empty: no header row"),
        (
            'date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n2024-02-01,"EUR,1.2\n',
            "line 3",
            "malformed CSV: Value with unterminated quote found.",
        ),
        (
            "date,currency,usd_per_unit\n2024-01-01,EUR,1.1,9\n",
            "line 2",
            "malformed CSV: Expected Number of Columns: 3 Found: 4",
        ),
    ],
)
def test_broken_files_fail_naming_the_line(tmp_path: Path, text: str, where: str, problem: str):
    rates = write(tmp_path / "rates.csv", text)
    with pytest.raises(ParseError) as failure:
        parse_rates(rates)
    assert (failure.value.where, failure.value.problem) == (where, problem)


def test_a_file_that_is_not_utf8_fails_naming_the_line(tmp_path: Path):
    rates = tmp_path / "rates.csv"
    rates.write_bytes(b"date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n2024-02-01,\xe9UR,1.2\n")
    with pytest.raises(ParseError) as failure:
        parse_rates(rates)
    # 27 bytes of header, 19 of line 2, then '2024-02-01,' (11): byte 57 is Latin-1's é.
    assert failure.value.where == "line 3"
    assert failure.value.problem == (
        "not UTF-8 text: byte offset 57, after '2024-02-01,', holds E9 55 52 2C (invalid "
        "continuation byte), which reads 'éUR,' in Windows-1252, as Excel's \"CSV (Comma "
        'delimited)" saves text: save the file as "CSV UTF-8 (Comma delimited)" (Excel), or '
        "as CSV with the character set UTF-8"
    )


ECB = Path(__file__).parent / "fixtures" / "fx"


def test_ecb_history_becomes_usd_per_unit_for_each_quoted_currency():
    """tests/fixtures/fx/eurofxref-hist.csv: 3 days, 41 currency columns and a trailing
    comma; each day 12 currencies are N/A (BGN, CYP, EEK, LTL, LVL, MTL, ROL, SIT, SKK, HRK,
    RUB, TRL), so 29 are quoted, USD among them: 28 rows, plus EUR, a day; 3 x 29 = 87."""
    parsed = parse_rates(ECB / "eurofxref-hist.csv")
    rows = parsed.tables["fx_rates"].to_pylist()
    assert parsed.rejected.num_rows == 0
    assert len(rows) == 87
    currencies = {r["currency"] for r in rows}
    assert "USD" not in currencies  # as in our own files: the models take USD at 1
    assert not currencies & {"BGN", "CYP", "HRK", "RUB", "TRL"}  # N/A: no row
    assert {r["rate_date"] for r in rows} == {
        date(2026, 4, 13),
        date(2026, 4, 10),
        date(2026, 4, 9),
    }
    rate = {(r["rate_date"], r["currency"]): r["usd_per_unit"] for r in rows}
    # 2026-04-13: USD 1.1684 per EUR.
    assert rate[date(2026, 4, 13), "EUR"] == 1.1684
    # GBP 0.87058 per EUR: 1.1684 / 0.87058 = 1.342093...
    assert rate[date(2026, 4, 13), "GBP"] == pytest.approx(1.342094, abs=1e-6)
    # JPY 186.75 per EUR: 1.1684 / 186.75 = 0.0062565...
    assert rate[date(2026, 4, 13), "JPY"] == pytest.approx(0.0062565, abs=1e-7)
    # CAD 1.6177 per EUR: 1.1684 / 1.6177 = 0.72226...
    assert rate[date(2026, 4, 13), "CAD"] == pytest.approx(0.72226, abs=1e-5)
    # 2026-04-10: USD 1.1711, GBP 0.87105 per EUR: 1.1711 / 0.87105 = 1.344469...
    assert rate[date(2026, 4, 10), "GBP"] == pytest.approx(1.344469, abs=1e-6)
    first = next(r for r in rows if (r["rate_date"], r["currency"]) == (date(2026, 4, 13), "GBP"))
    assert first["_record"] == "line 2, GBP"


def test_ecb_history_opened_in_excel_and_saved_as_unicode_text_reads_like_the_csv(
    tmp_path: Path,
):
    """fx/*.txt is read at its tabs whatever its header: the ECB's columns too."""
    history = (ECB / "eurofxref-hist.csv").read_text(encoding="utf-8")
    saved = write(tmp_path / "eurofxref-hist.txt", history.replace(",", "\t"), "utf-16")
    from_text = parse_rates(saved).tables["fx_rates"].to_pylist()
    assert from_text == parse_rates(ECB / "eurofxref-hist.csv").tables["fx_rates"].to_pylist()


def test_fx_reads_txt_files_in_its_folder(tmp_path: Path):
    landing = tmp_path / "landing"
    write_in = landing / "fx"
    write_in.mkdir(parents=True)
    write(
        write_in / "rates.txt",
        "date\tcurrency\tusd_per_unit\r\n2024-03-01\tEUR\t1.09\r\n",
        "utf-16",
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        report = load_source(con, FX, landing)
        assert [(f.file, f.status, f.rows_loaded) for f in report.files] == [
            ("fx/rates.txt", "loaded", 1)
        ]


def test_ecb_history_zipped_as_downloaded_reads_like_the_csv(tmp_path: Path):
    # The ECB offers the history as eurofxref-hist.zip, the CSV its one file.
    zipped = tmp_path / "eurofxref-hist.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(ECB / "eurofxref-hist.csv", "eurofxref-hist.csv")
    from_zip = parse_rates(zipped).tables["fx_rates"].to_pylist()
    assert from_zip == parse_rates(ECB / "eurofxref-hist.csv").tables["fx_rates"].to_pylist()
    assert len(from_zip) == 87  # worked out in the test above


def test_rates_kept_in_a_workbook_load_from_fx_xlsx(tmp_path: Path):
    """Our rates as a workbook keeps them: date cells, rates as numbers (1.0845 typed, 0.66 a
    formula's 0.06 + 0.6 = 0.6599999999999999); the same rows as the CSV would give."""
    landing = tmp_path / "landing"
    (landing / "fx").mkdir(parents=True)
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [
        ["date", "currency", "usd_per_unit"],
        [date(2024, 1, 1), "EUR", 1.0845],
        [date(2024, 1, 1), "AUD", 0.06 + 0.6],
    ]:
        sheet.append(row)
    book.save(landing / "fx" / "rates.xlsx")
    con = duckdb.connect()
    load_source(con, FX, landing)
    assert con.sql(
        "select rate_date, currency, usd_per_unit, _record from raw.fx_rates order by _record"
    ).fetchall() == [
        (date(2024, 1, 1), "EUR", 1.0845, "line 2"),
        (date(2024, 1, 1), "AUD", 0.66, "line 3"),
    ]


def test_ecb_daily_file_with_spaces_and_a_spelled_out_date_reads_like_the_history():
    """tests/fixtures/fx/eurofxref.csv is `13 April 2026`, the history's first day: 29
    currency columns with USD, none N/A, so 28 rows plus EUR, with the same rates."""
    daily = parse_rates(ECB / "eurofxref.csv").tables["fx_rates"].to_pylist()
    history = parse_rates(ECB / "eurofxref-hist.csv").tables["fx_rates"].to_pylist()
    assert len(daily) == 29
    assert daily == [r for r in history if r["rate_date"] == date(2026, 4, 13)]


def test_ecb_days_before_2000_and_the_old_turkish_lira_are_quarantined():
    """tests/fixtures/fx/eurofxref-hist-early.csv: 2004-12-31 quotes 28 currencies with USD
    (27 rows plus EUR); TRL at 1836200 per EUR is 1.3621 / 1836200 = 7.4e-7 USD, below the
    quality suite's floor. 1999-01-04 is before 2000, as our own files' dates may not be."""
    parsed = parse_rates(ECB / "eurofxref-hist-early.csv")
    rows = parsed.tables["fx_rates"].to_pylist()
    assert len(rows) == 27
    assert {r["rate_date"] for r in rows} == {date(2004, 12, 31)}
    rejected = {row["record"]: row["reason"] for row in parsed.rejected.to_pylist()}
    assert rejected == {
        "line 2, TRL": "TRL gives usd_per_unit 7.418037250844135e-07, outside 1e-05 .. 10000: "
        "1836200",
        "line 3": "Date is outside 2000-01-01 .. a year after the load day: 1999-01-04",
    }


def test_ecb_bad_values_are_quarantined_naming_line_and_currency(tmp_path: Path):
    """A day without a USD rate yields nothing; N/A yields no row; a bad rate is its cell's
    quarantine, a bad Date its line's."""
    rates = write(
        tmp_path / "eurofxref-hist.csv",
        "Date,USD,GBP,CAD,CYP,\n"
        "2026-04-13,1.1684,0.87O58,1.6177,N/A,\n"  # a typo: letter O
        "2026-04-10,N/A,0.87105,1.6187,N/A,\n"  # no USD: no rows
        "2026-04-31,1.1685,0.87053,1.6175,N/A,\n"
        "2026-04-08,1.1706,-0.86893,1.6225,N/A,\n",
    )
    parsed = parse_rates(rates)
    rows = [
        (r["rate_date"], r["currency"], r["_record"]) for r in parsed.tables["fx_rates"].to_pylist()
    ]
    assert rows == [
        (date(2026, 4, 13), "CAD", "line 2, CAD"),
        (date(2026, 4, 13), "EUR", "line 2, EUR"),
        (date(2026, 4, 8), "CAD", "line 5, CAD"),
        (date(2026, 4, 8), "EUR", "line 5, EUR"),
    ]
    rejected = {row["record"]: row["reason"] for row in parsed.rejected.to_pylist()}
    assert rejected == {
        "line 2, GBP": "GBP is not a double: 0.87O58",
        "line 4": "Date is not a date in %Y-%m-%d or %d %B %Y: 2026-04-31",
        "line 5, GBP": "GBP is not a positive number: -0.86893",
    }
    [raw] = [row["raw"] for row in parsed.rejected.to_pylist() if row["record"] == "line 2, GBP"]
    assert raw == '{"Date":"2026-04-13","USD":"1.1684","currency":"GBP","rate":"0.87O58"}'


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        ("Date,JPY,GBP,", "ECB rates header: no USD column, so no rate converts to USD"),
        ("Date,USD,Pound,", "ECB rates header: not ISO 4217 code(s): Pound"),
    ],
)
def test_an_ecb_header_without_usd_or_with_a_stranger_fails(tmp_path: Path, header, problem):
    rates = write(tmp_path / "eurofxref.csv", f"{header}\n2026-04-13,1.1684,0.87058,\n")
    with pytest.raises(ParseError) as failure:
        parse_rates(rates)
    assert failure.value.problem == problem
