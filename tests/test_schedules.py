"""Scheduled and partitioned operation: which months a run fetches, what the schedules and
the landing sensor ask for, and that a partitioned run loads the whole landing folder."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from dagster import (
    DagsterInstance,
    PartitionKeyRange,
    RunRequest,
    SkipReason,
    build_schedule_context,
    build_sensor_context,
    materialize,
)

from ingest.fx import SOURCE as FX
from orchestration.ingestion import build_ingest_asset
from orchestration.partitions import (
    FIRST_MONTH,
    RANGE_END_TAG,
    RANGE_START_TAG,
    clamp,
    parse_window,
    recent_window,
    window_tags,
)
from orchestration.resources import build_resources
from orchestration.schedules import daily_refresh, landing_changed, monthly_close
from orchestration.settings import Settings
from warehouse.connection import connect_read_only


def test_a_run_without_months_refreshes_the_previous_and_the_current_month():
    assert recent_window(date(2026, 3, 2)) == PartitionKeyRange("2026-02", "2026-03")
    assert recent_window(date(2026, 1, 31)) == PartitionKeyRange("2025-12", "2026-01")
    # Before the first partition there is nothing earlier to fetch.
    assert recent_window(date(2019, 6, 1)) == PartitionKeyRange(FIRST_MONTH, FIRST_MONTH)


def test_months_are_given_as_one_month_or_a_range():
    assert parse_window("2024-05") == PartitionKeyRange("2024-05", "2024-05")
    assert parse_window("2024-01:2024-03") == PartitionKeyRange("2024-01", "2024-03")
    for wrong in ("2024-13", "2024-03:2024-01", "May 2024"):
        with pytest.raises(ValueError):
            parse_window(wrong)
    assert clamp(PartitionKeyRange("2019-01", "2020-02")) == PartitionKeyRange(
        FIRST_MONTH, "2020-02"
    )


def test_the_daily_schedule_fetches_the_last_days_again():
    # On 2 March the last days of February may still be restated: both months are fetched.
    context = build_schedule_context(scheduled_execution_time=datetime(2026, 3, 2, 5, tzinfo=UTC))
    request = daily_refresh(context)
    assert isinstance(request, RunRequest)
    assert request.run_key == "2026-03-02"
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2026-02", "2026-03")


def test_the_monthly_close_after_the_fifth_publishes_the_month_before():
    for day, month in (
        (datetime(2026, 3, 6, 6, tzinfo=UTC), "2026-02"),
        (datetime(2026, 1, 6, 6, tzinfo=UTC), "2025-12"),
    ):
        request = monthly_close(build_schedule_context(scheduled_execution_time=day))
        assert (request.partition_key, request.run_key) == (month, month)


def test_the_landing_sensor_runs_once_per_change(tmp_path: Path):
    landing = tmp_path / "landing"
    (landing / "fx").mkdir(parents=True)
    rates = landing / "fx" / "rates.csv"
    rates.write_text("date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n")
    settings = Settings(landing=str(landing), warehouse=str(tmp_path / "w.duckdb"), snapshots="")
    with DagsterInstance.ephemeral() as instance:
        context = build_sensor_context(instance=instance, resources={"settings": settings})
        first = landing_changed(context)
        assert isinstance(first, RunRequest)
        assert first.tags[RANGE_END_TAG] == f"{date.today():%Y-%m}"
        context.update_cursor(first.run_key)
        assert isinstance(landing_changed(context), SkipReason)
        # Never data: a Mac's companion of the file and the Finder's view of the folder.
        (landing / "fx" / "._rates.csv").write_bytes(b"\x00\x05\x16\x07" + bytes(4092))
        (landing / "fx" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(2040))
        assert isinstance(landing_changed(context), SkipReason)
        rates.write_text(rates.read_text() + "2024-01-02,EUR,1.2\n")
        second = landing_changed(context)
        assert isinstance(second, RunRequest) and second.run_key != first.run_key


def test_a_month_run_fetches_that_month_and_loads_the_whole_landing_folder(tmp_path: Path):
    """A backfill of February pulls February only; the rows of January's file, already in
    landing, are loaded too and stay: the load is the source's whole folder, one transaction."""
    landing = tmp_path / "landing"
    (landing / "fx").mkdir(parents=True)
    (landing / "fx" / "january.csv").write_text("date,currency,usd_per_unit\n2024-01-15,EUR,1.1\n")
    fetched: list[list[date]] = []

    def pull(root: Path, months: list[date]) -> None:
        fetched.append(months)
        (root / "fx" / "february.csv").write_text(
            "date,currency,usd_per_unit\n2024-02-15,EUR,1.2\n"
        )

    monthly_fx = dataclasses.replace(FX, by_month=True, pull=pull)
    settings = Settings(landing=str(landing), warehouse=str(tmp_path / "w.duckdb"), snapshots="")
    result = materialize(
        [build_ingest_asset("fx", [monthly_fx])],
        resources=build_resources(settings),
        tags=window_tags(PartitionKeyRange("2024-02", "2024-02")),
    )
    assert result.success
    assert fetched == [[date(2024, 2, 1)]]
    with connect_read_only(tmp_path / "w.duckdb") as con:
        rows = con.execute("select rate_date, usd_per_unit from raw.fx_rates order by 1").fetchall()
    assert rows == [(date(2024, 1, 15), 1.1), (date(2024, 2, 15), 1.2)]
    materialized = result.asset_materializations_for_node("ingest_fx")
    assert [m.partition for m in materialized] == ["2024-02"]
    assert materialized[0].metadata["months_fetched"].value == "2024-02 to 2024-02"
