"""The exchange-rates connector: typed rows, quarantined values, broken files named by line."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ingest.framework import ParseError
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
    assert failure.value.where == "line 3"
    assert "not utf-8 encoded" in failure.value.problem
