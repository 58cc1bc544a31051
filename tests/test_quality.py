"""Great Expectations suites on raw tables, on frames small enough to check by hand."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import psutil
import pytest

from ingest.hubspot import parse_deals_export
from ingest.quality import (
    SUITES,
    Loaded,
    row_count_expectation,
    start_validation_workers,
    validate_loaded,
    validate_side_by_side,
    validate_table,
    validation_pool,
)
from ingest.sources import SOURCES

pytestmark = pytest.mark.slow(20, reason="Great Expectations suites, each importing GX in a worker")


def clusters(*providers: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "cluster": [f"c{i}" for i in range(len(providers))],
            "provider": list(providers),
            "account": ["a"] * len(providers),
            "paid_by_us": [True] * len(providers),
        }
    )


def test_a_clean_table_passes_every_expectation():
    result = validate_table("registry_clusters", clusters("gcp", "aws", "azure"))
    assert result.passed
    assert (result.rows, result.evaluated) == (3, 6)


def test_a_value_outside_the_allowed_set_fails_with_a_sample():
    result = validate_table("registry_clusters", clusters("gcp", "gce", "gce"))
    assert not result.passed
    [failure] = result.failures
    assert (failure.expectation, failure.column) == (
        "expect_column_values_to_be_in_set",
        "provider",
    )
    assert failure.detail == "2 unexpected rows, e.g. ['gce', 'gce']"


def test_a_validated_frame_is_not_kept_after_its_suite():
    # GX's context kept every data source's batch, frames included, for the life of the
    # process: a build's batches stayed resident while dbt ran. 1,234 rows mark the frames.
    def marked_frames() -> int:
        gc.collect()
        return sum(1 for o in gc.get_objects() if isinstance(o, pd.DataFrame) and len(o) == 1234)

    providers = ["gcp", "aws"] * 617
    for passing in (True, False):
        frame = clusters(*providers) if passing else clusters("gce", *providers[1:])
        assert validate_table("registry_clusters", frame).passed is passing
        del frame
    assert marked_frames() == 0


def test_a_table_that_lost_more_than_a_fifth_of_its_rows_fails():
    # 10 rows before: at least ceil(10 x 0.8) = 8 must remain.
    assert row_count_expectation(10) == [("ExpectTableRowCountToBeBetween", {"min_value": 8})]
    assert row_count_expectation(None) == []
    assert validate_table("registry_clusters", clusters(*["aws"] * 8), previous_rows=10).passed
    shrunk = validate_table("registry_clusters", clusters(*["aws"] * 7), previous_rows=10)
    assert [f.detail for f in shrunk.failures] == ["observed 7, expected {'min_value': 8}"]


def test_duplicate_rates_within_one_file_fail_but_restatements_across_files_pass():
    frame = pd.DataFrame(
        {
            "rate_date": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-01-01"]),
            "currency": ["EUR", "EUR", "EUR"],
            "usd_per_unit": [1.1, 1.1, 1.2],
            "_file": ["fx/a.csv", "fx/a.csv", "fx/b.csv"],
        }
    )
    result = validate_table("fx_rates", frame)
    assert [(f.expectation, f.column) for f in result.failures] == [
        ("expect_compound_columns_to_be_unique", "rate_date,currency,_file")
    ]
    assert validate_table("fx_rates", frame.iloc[1:]).passed


def test_every_raw_table_has_a_suite():
    tables = {table.name for source in SOURCES for table in source.tables}
    assert tables - set(SUITES) == set()


def test_a_hubspot_ui_export_passes_the_deals_suite():
    """An export names each deal's stage by its label and leaves stage_id empty (resolved in
    dbt): the suite asked for a stage_id on every row and failed every build with an export
    (tests/fixtures/revenue/hubspot_shapes/primary-company-export.csv: deals 201, 202, 204)."""
    export = Path(__file__).parent / "fixtures" / "revenue" / "hubspot_shapes"
    deals = parse_deals_export(export / "primary-company-export.csv").tables["hubspot_deals"]
    frame = deals.to_pandas().assign(_file="crm/deals/export.csv")
    assert list(frame["stage_id"]) == [None, None, None]
    assert validate_table("hubspot_deals", frame).failures == []


def test_times_outside_the_plausible_window_fail_the_suite_like_the_connectors_gate():
    """A row written into raw past the connectors (by hand, by an old loader) still meets
    the window: 2000-01-01 .. a year after today, ten years for a contract's end."""
    today = pd.Timestamp.today().normalize()
    deals = pd.DataFrame(
        {
            "deal_id": ["1", "2", "3"],
            "stage_id": ["closedwon"] * 3,
            "_file": ["crm/deals/p.json"] * 3,
            "currency": ["USD"] * 3,
            "amount": [1200.0] * 3,
            "forecast_probability": [1.0] * 3,
            "close_date": pd.to_datetime(["2024-01-01", "1970-01-01", "2024-01-01"]),
            "create_date": pd.to_datetime(["2023-12-01"] * 3),
            "contract_start_date": pd.to_datetime(["2024-01-01"] * 3),
            # A five-year agreement is a promise, not a mistake; a century typo is.
            "contract_end_date": [
                today + pd.DateOffset(years=5),
                pd.NaT,
                pd.Timestamp("2124-12-31"),
            ],
            "created_at": pd.to_datetime(["2023-12-01T00:00:00Z"] * 3, utc=True),
            "updated_at": pd.to_datetime(
                ["2024-01-01T00:00:00Z"] * 2 + ["2099-01-01T00:00:00Z"], utc=True
            ),
        }
    )
    result = validate_table("hubspot_deals", deals)
    assert [(f.column, f.detail) for f in result.failures] == [
        ("close_date", "1 unexpected rows, e.g. ['1970-01-01 00:00:00']"),
        ("updated_at", "1 unexpected rows, e.g. ['2099-01-01 00:00:00+00:00']"),
        ("contract_end_date", "1 unexpected rows, e.g. ['2124-12-31 00:00:00']"),
    ]


def test_timestamps_as_duckdb_hands_them_meet_the_window_even_past_nanosecond_range():
    """DuckDB's timestamps reach pandas in microseconds; the suite compares them in
    nanoseconds, except a time beyond 2262 (no nanosecond form), which still fails."""
    with duckdb.connect() as con:
        con.execute("create schema raw")
        con.execute(
            """
            create table raw.azure_costs as
            select * from (values
                ('s', timestamp '2024-01-01 08:00', 1.5, 'USD', 'Usage', 'actual', 'a.csv'),
                ('s', timestamp '1999-12-31 23:00', 1.5, 'USD', 'Usage', 'actual', 'a.csv'),
                ('s', timestamp '9999-01-01 00:00', 1.5, 'USD', 'Usage', 'actual', 'a.csv')
            ) as t(subscription_id, date, cost_in_billing_currency, billing_currency,
                   charge_type, dataset, _file)
            """
        )
        result = validate_loaded(con, "azure_costs", ["a.csv"])
    assert [(f.column, f.detail) for f in result.failures] == [
        ("date", "2 unexpected rows, e.g. ['1999-12-31 23:00:00', '9999-01-01 00:00:00']"),
    ]


FX_RATES = (
    "create table raw.fx_rates as select * from (values "
    "(date '2024-01-01', 'EUR', 0.0, 'fx/old.csv'), "
    "(date '2024-01-02', 'EUR', 1.1, 'fx/old.csv'), "
    "(date '2024-01-01', 'GBP', 20000.0, 'fx/new.csv'), "
    "(date '2024-01-03', 'EUR', 1.2, 'fx/new.csv'), "
    "(date '2024-01-03', 'EUR', 1.2, 'fx/new.csv')"
    ") as t(rate_date, currency, usd_per_unit, _file)"
)


def test_a_build_validates_the_rows_of_the_files_it_wrote_and_keys_over_the_table():
    # raw.fx_rates: file old.csv (loaded earlier) has a rate of 0 (outside 1e-5 .. 1e4);
    # new.csv, written by this load, has a rate of 20,000 and a date+currency repeated
    # within itself. The row expectations look at new.csv only: one rate out of range, the
    # old file's 0 is not counted again. The key (rate_date, currency, _file) includes the
    # file, so only new.csv is grouped: one key, 2 rows. Counted by hand from the rows.
    with duckdb.connect() as con:
        con.execute("create schema raw")
        con.execute(FX_RATES)
        result = validate_loaded(con, "fx_rates", ["fx/new.csv"], previous_rows=5)
        unchanged = validate_loaded(con, "fx_rates", [], previous_rows=5)
        shrunk = validate_loaded(con, "fx_rates", [], previous_rows=10)
    failures = {(f.expectation, f.column): f for f in result.failures}
    assert set(failures) == {
        ("expect_column_values_to_be_between", "usd_per_unit"),
        ("expect_compound_columns_to_be_unique", "rate_date,currency,_file"),
    }
    assert failures[("expect_column_values_to_be_between", "usd_per_unit")].unexpected_count == 1
    duplicate = failures[("expect_compound_columns_to_be_unique", "rate_date,currency,_file")]
    assert duplicate.unexpected_count == 2
    assert result.rows == 5
    # Nothing written: no row is validated again, the old 0 does not fail a later build.
    assert unchanged.passed
    # 5 rows after 10: below ceil(10 x 0.8) = 8.
    assert [f.expectation for f in shrunk.failures] == ["expect_table_row_count_to_be_between"]


def test_suites_side_by_side_in_worker_processes_give_what_one_process_gives(tmp_path):
    """The warehouse file holds the fx rates above (failing: a rate out of range, a repeated
    key in new.csv) and three clean clusters; aws_cur is missing. Each worker opens the file
    read-only: the two tables' results are those of the same suites in this process, and the
    missing table's error is reported for that table alone."""
    warehouse = str(tmp_path / "warehouse.duckdb")
    with duckdb.connect(warehouse) as con:
        con.execute("create schema raw")
        con.execute(FX_RATES)
        con.register("clean", clusters("gcp", "aws", "azure"))
        con.execute(
            "create table raw.registry_clusters as "
            "select *, 'registry/clusters.yaml' as _file from clean"
        )
    loads = [
        Loaded("fx_rates", ["fx/new.csv"], 5),
        Loaded("registry_clusters", None, None),
        Loaded("aws_cur", None, None),
    ]
    outcomes = {
        load.table: outcome
        for load, outcome in validate_side_by_side(warehouse, {"memory_limit": "1GB"}, loads, 2)
    }
    with duckdb.connect(warehouse, read_only=True) as con:
        for load in loads[:2]:
            expected = validate_loaded(con, load.table, load.files, load.previous_rows)
            assert outcomes[load.table] == expected
    assert not outcomes["fx_rates"].passed and outcomes["registry_clusters"].passed
    assert isinstance(outcomes["aws_cur"], duckdb.CatalogException)
    assert "aws_cur" in str(outcomes["aws_cur"])
    # The workers' server, some 300 MB, is stopped once they are done.
    assert workers_server() == []


def workers_server() -> list[psutil.Process]:
    """The workers' server among this process's children, told by the pid multiprocessing
    keeps for it, not by its command line: until the server has exec'd, its command line is
    this process's (a loaded machine found no server right after it started)."""
    from multiprocessing import forkserver

    pid = forkserver._forkserver._forkserver_pid
    return [p for p in psutil.Process().children() if pid is not None and p.pid == pid]


def test_validation_workers_start_under_a_temporary_folder_too_long_for_their_socket(
    tmp_path: Path,
):
    """A TMPDIR whose path leaves no room for the server's Unix socket under it (a CI
    runner's, a test's: 104 bytes at most) failed every build with `AF_UNIX path too long`;
    the workers start, and the folder is left as it was."""
    long_temp = tmp_path / ("t" * 100)
    long_temp.mkdir()
    program = (
        "from ingest.quality import start_validation_workers, validation_pool\n"
        "start_validation_workers()\n"
        "with validation_pool(1) as pool:\n"
        "    print(pool.submit(pow, 2, 5).result())\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", program],
        env={**os.environ, "TMPDIR": str(long_temp)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (ran.returncode, ran.stdout, ran.stderr) == (0, "32\n", "")
    assert not list(long_temp.iterdir())


def test_validation_workers_fork_from_a_server_that_imported_gx():
    """Started before the suites run, the server imports GX once; every worker it forks has
    it already (a spawned worker imported it again, some 4 s)."""
    start_validation_workers()
    assert len(workers_server()) == 1
    with validation_pool(2) as pool:
        imported = [
            pool.submit(eval, "'great_expectations' in __import__('sys').modules") for _ in range(2)
        ]
        assert [future.result() for future in imported] == [True, True]
