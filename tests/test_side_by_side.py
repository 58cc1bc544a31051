"""The monthly sources (the cloud bills and the usage samples) load side by side in one
Dagster step, each in its own transaction: the same rows as loading them one after another,
and a source that fails leaves its own tables as they were while the others load."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import AssetKey, PartitionKeyRange, materialize

from ingest.framework import RAW_SCHEMA, load_source
from orchestration.ingestion import INGEST_ASSETS, MONTHLY_SOURCES
from orchestration.partitions import window_tags
from orchestration.resources import build_resources
from orchestration.settings import Settings

MONTHLY_STEP = "ingest_monthly_sources"
# What a load writes that depends on the moment it ran, not on the files: its times, and a
# file's identity, kept once the file is older than a few seconds (`landed_sha256`).
LOAD_TIMES = {"_loaded_at", "loaded_at", "quarantined_at", "file_identity", "file_sha256"}


@pytest.fixture
def landing(tmp_path: Path, small_landing: Path) -> Path:
    """The small world's folders of the monthly sources (and the registry prometheus checks
    clusters against), a copy the test may break."""
    copy = tmp_path / "landing"
    for folder in ("cloud_costs", "usage", "registry"):
        shutil.copytree(small_landing / folder, copy / folder)
    return copy


def monthly_step():
    [step] = [asset for asset in INGEST_ASSETS if asset.op.name == MONTHLY_STEP]
    return step


def ingest_in_dagster(landing: Path, warehouse: Path):
    settings = Settings(landing=str(landing), warehouse=str(warehouse), snapshots="")
    return materialize(
        [monthly_step()],
        resources=build_resources(settings),
        tags=window_tags(PartitionKeyRange("2026-10", "2026-11")),  # no source pulls here
        raise_on_error=False,
    )


def raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = ? order by 1",
            [RAW_SCHEMA],
        ).fetchall()
    ]


def contents(con: duckdb.DuckDBPyConnection, table: str, where: str = "true") -> list[tuple]:
    """A raw table's rows without their load times, sorted."""
    columns = [
        f'"{name}"'
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [RAW_SCHEMA, table],
        ).fetchall()
        if name not in LOAD_TIMES
    ]
    return sorted(
        con.execute(
            f"select {', '.join(columns)} from {RAW_SCHEMA}.{table} where {where}"
        ).fetchall(),
        key=repr,
    )


def test_loaded_side_by_side_the_raw_tables_equal_those_loaded_one_at_a_time(
    landing: Path, tmp_path: Path
):
    result = ingest_in_dagster(landing, tmp_path / "side_by_side.duckdb")
    assert result.success
    tables = {table.name for source in MONTHLY_SOURCES for table in source.tables}
    materialized = result.asset_materializations_for_node(MONTHLY_STEP)
    assert {m.asset_key.path[-1] for m in materialized} == tables

    with duckdb.connect(str(tmp_path / "one_at_a_time.duckdb")) as con:
        for source in MONTHLY_SOURCES:
            load_source(con, source, landing)
    with (
        duckdb.connect(str(tmp_path / "side_by_side.duckdb"), read_only=True) as side,
        duckdb.connect(str(tmp_path / "one_at_a_time.duckdb"), read_only=True) as alone,
    ):
        assert raw_tables(side) == raw_tables(alone)
        for table in raw_tables(alone):
            assert contents(side, table) == contents(alone, table), table
        for table in tables:  # every source landed rows, so the comparison compared rows
            assert contents(alone, table), table


def test_a_source_failing_side_by_side_keeps_its_rows_while_the_others_load(
    landing: Path, tmp_path: Path
):
    warehouse = tmp_path / "w.duckdb"
    assert ingest_in_dagster(landing, warehouse).success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        before = {table: contents(con, table) for table in raw_tables(con)}
    gone = "cloud_costs/gcp/BA-quantum-academy/202605.parquet"
    (landing / gone).unlink()
    # Two bills break at once: an Azure part re-delivered without its columns, a FOCUS file
    # whose header is not FOCUS.
    [azure_part] = sorted((landing / "cloud_costs/azure").rglob("part_1_0001.csv.gz"))[:1]
    azure_part.write_bytes(gzip.compress(b"not,a,bill\n1,2,3\n"))
    [focus_file] = sorted((landing / "cloud_costs/focus").rglob("*.csv"))[:1]
    focus_file.write_text("Date,Amount\n2026-09-01,12.5\n")

    result = ingest_in_dagster(landing, warehouse)

    assert not result.success
    failure = result.failure_data_for_node(MONTHLY_STEP).user_failure_data
    assert failure.description.startswith("2 sources failed: ")
    for name, file in (("azure_costs", azure_part), ("focus", focus_file)):
        assert f"{name}: {file.relative_to(landing).as_posix()}" in failure.description
    loaded = {m.asset_key.path[-1] for m in result.asset_materializations_for_node(MONTHLY_STEP)}
    assert loaded == {"gcp_billing_export", "gcp_billing_credits", "aws_cur", "prometheus_samples"}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table in ("azure_costs", "focus_costs"):  # as they were
            assert contents(con, table) == before[table], table
        for source in ("azure_costs", "focus"):
            log = "_ingest_log"
            assert contents(con, log, f"source = '{source}'") == [
                row for row in before[log] if row[0] == source
            ]
        # The GCP file that left the landing folder took its rows with it, and only those.
        gcp = contents(con, "gcp_billing_export")
        kept = [row for row in before["gcp_billing_export"] if gone not in row]
        assert gcp == kept and len(kept) < len(before["gcp_billing_export"])


def test_selecting_one_sources_table_in_the_ui_loads_that_source_only(
    landing: Path, tmp_path: Path
):
    warehouse = tmp_path / "w.duckdb"
    settings = Settings(landing=str(landing), warehouse=str(warehouse), snapshots="")
    result = materialize(
        [monthly_step()],
        selection=[AssetKey(["raw", "focus_costs"])],
        resources=build_resources(settings),
        tags=window_tags(PartitionKeyRange("2026-10", "2026-11")),
    )
    materialized = result.asset_materializations_for_node(MONTHLY_STEP)
    assert {m.asset_key.path[-1] for m in materialized} == {"focus_costs"}  # for each month
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert raw_tables(con) == ["_ingest_log", "_quarantine", "_sources", "focus_costs"]
        [(sources,)] = con.execute("select list(distinct source) from raw._ingest_log").fetchall()
        assert sources == ["focus"]
