"""Row checks shared by the connectors, on rows written for the test."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pyarrow as pa
import pytest

from ingest.tabular import plausible_time, scratch_connection, split_rows


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
