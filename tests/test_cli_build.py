"""`partner-metrics build` end to end: summary, idempotency, and failures that change nothing."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from ingest.demo.world import build_world
from tests.conftest import BUILD_TIME_COLUMN, SMALL_WORLD, BuiltWarehouse, build_cli
from warehouse.connection import build_lock, connect_read_only

pytestmark = pytest.mark.slow(65, reason="CLI builds of copies of the small world")


def contents(warehouse: Path, schemas: tuple[str, ...] = ("marts",)) -> dict[str, list[tuple]]:
    """Every table of the schemas, rows sorted: the warehouse's content, not its bytes."""
    with connect_read_only(warehouse) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' for _ in schemas)}) order by all",
            list(schemas),
        ).fetchall()
        table_contents = {}
        for schema, name in tables:
            columns = [
                f'"{column}"'
                for column in con.table(f'{schema}."{name}"').columns
                if column != BUILD_TIME_COLUMN
            ]
            rows = con.execute(f'select {", ".join(columns)} from {schema}."{name}"').fetchall()
            table_contents[f"{schema}.{name}"] = sorted(rows, key=repr)
        return table_contents


def copy_of(built: BuiltWarehouse, tmp_path: Path) -> Path:
    target = tmp_path / "warehouse.duckdb"
    shutil.copy(built.warehouse, target)
    return target


def build(
    landing: Path,
    warehouse: Path,
    env: dict[str, str],
    tmp_path: Path,
    snapshots: Path | None = None,
):
    return build_cli(
        landing,
        warehouse,
        env,
        snapshots=snapshots or tmp_path / "snapshots",
        as_of=SMALL_WORLD["as_of"],
    )


def built_run_id(warehouse: Path) -> str:
    """The Dagster run whose dbt build the warehouse records last."""
    with connect_read_only(warehouse) as con:
        return con.execute(
            "select run_id from audit.dbt_builds order by built_at desc limit 1"
        ).fetchall()[0][0]


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_build_prints_rows_per_source_and_headline_metrics(built_warehouse: BuiltWarehouse):
    world = build_world(**SMALL_WORLD)
    # A row per partner, cluster and hub, and per partner's Freshdesk company: the demo gives
    # each partner one, in the helpdesk landed in support/.
    registry_rows = 2 * len(world.partners) + len(world.clusters) + len(world.hubs)
    fx_files = sorted((built_warehouse.landing / "fx").glob("*.csv"))
    fx_rows = sum(len(f.read_text().splitlines()) - 1 for f in fx_files)  # minus each header
    out = built_warehouse.stdout
    assert f"registry {registry_rows:,}" in out
    assert f"fx {fx_rows:,}" in out
    assert "Headline metrics, 2026-10:" in out
    assert "partners running" in out and "hubs running" in out
    assert f"Warehouse  {built_warehouse.warehouse}" in out
    # As of 2026-11-15 the last closed month is October: its first version is the report.
    report = built_warehouse.snapshots / "2026-10" / "v1" / "report.html"
    assert out.rstrip().endswith(f"Report     {report}")
    assert sorted(p.name for p in report.parent.iterdir()) == [
        "manifest.json",
        "metrics.parquet",
        "report.html",
        "report.md",
    ]


def test_a_build_prints_no_dagster_warning(built_warehouse: BuiltWarehouse):
    # In particular no dbt test logged as an AssetObservation instead of a check result.
    output = built_warehouse.stdout + built_warehouse.stderr
    assert "AssetObservation" not in output
    assert " - dagster - WARNING - " not in output


def test_an_invoice_in_a_currency_without_a_rate_fails_naming_the_file_and_line(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    landing = tmp_path / "landing"
    shutil.copytree(built_warehouse.landing, landing)
    # A line for a real deal, in a currency fx/*.csv has no rate for.
    first_invoices = sorted((landing / "invoices").glob("*.csv"))[0]
    deal_id = first_invoices.read_text().splitlines()[1].split(",")[2]
    (landing / "invoices" / "extra.csv").write_text(
        "invoice_number,customer,hubspot_deal_id,invoice_date,gl_account,amount,currency\n"
        f"INV-CHF-1,Someone,{deal_id},2026-09-05,4221,1200,CHF\n"
    )
    warehouse = copy_of(built_warehouse, tmp_path)
    result = build(landing, warehouse, cli_env, tmp_path)
    assert result.returncode == 1
    assert (
        "check assert_revenue_invoice_lines_have_fx_rate on int_revenue__invoice_lines"
        " failed: 1 failing row, e.g. invoices/extra.csv, line 2: invoice INV-CHF-1 in CHF has "
        "no fx rate on or before 2026-09-05"
    ) in result.stderr


def test_a_second_build_of_the_same_landing_changes_nothing(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    warehouse = copy_of(built_warehouse, tmp_path)
    snapshots = tmp_path / "snapshots"
    shutil.copytree(built_warehouse.snapshots, snapshots)
    # staging models are views over raw; published holds the snapshot versions
    every_table = ("raw", "intermediate", "marts", "published")
    before, published_before = contents(warehouse, every_table), files_of(snapshots)
    file_before, mtime_before = warehouse.read_bytes(), warehouse.stat().st_mtime_ns
    result = build(built_warehouse.landing, warehouse, cli_env, tmp_path, snapshots)
    assert result.returncode == 0, result.stderr[-3000:]
    # Nothing new landed: dbt did not run, and its line says since which build.
    first_run = built_run_id(built_warehouse.warehouse)
    assert re.search(
        rf"^  dbt +nothing changed since run {first_run[:8]} \(.+\), skipped +\d",
        result.stdout,
        re.M,
    ), result.stdout
    assert re.search(
        r"^  snapshot +skipped: models unchanged, the month's report stands +\d",
        result.stdout,
        re.M,
    )
    # The warehouse file was not rewritten (no compaction, no swap) and no copy is left.
    assert warehouse.read_bytes() == file_before
    assert warehouse.stat().st_mtime_ns == mtime_before
    assert not (tmp_path / "warehouse.duckdb.building").exists()
    assert not (tmp_path / "warehouse.duckdb.building.wal").exists()
    assert contents(warehouse, every_table) == before
    assert before["marts.dim_partners"], "the comparison is over real rows"
    # The summary still reads the marts, and names the month's report, the one published.
    assert "Headline metrics, 2026-10:" in result.stdout
    # It repeats the first build's warning in the same words (the first named the model
    # `intermediate/int_revenue__rejected_deals`): the demo's prospect, company 9001.
    warning = "check assert_revenue_no_rejected_deals on int_revenue__rejected_deals warned"
    assert re.search(
        rf"^  {warning}: 1 failing row, e.g. deal \d+: company 9001 is not a partner in the "
        "registry$",
        built_warehouse.stdout,
        re.M,
    ), built_warehouse.stdout
    # Saying when: the first build ran the test; this one ran no dbt.
    with connect_read_only(warehouse) as con:
        [(recorded_at,)] = con.execute(
            "select recorded_at from audit.dbt_test_results "
            "where test_name = 'assert_revenue_no_rejected_deals'"
        ).fetchall()
    assert (
        f"\n  {warning} in the dbt build of {recorded_at:%b %d %H:%M}: 1 failing row\n"
        in result.stdout
    )
    report = snapshots / "2026-10" / "v1" / "report.html"
    assert result.stdout.rstrip().endswith(f"Report     {report}")
    # The closed month's snapshot is not rewritten, and no new version appears.
    assert files_of(snapshots) == published_before
    assert len(before["published.metric_snapshots"]) == len(before["marts.fct_headline_metrics"])

    # The shared build found no recorded build, so it built from scratch (a warehouse's first
    # dbt build is a full refresh; test_incremental_costs forces one with --full-refresh).
    with connect_read_only(warehouse) as con:
        builds = con.execute("select run_id, full_refresh from audit.dbt_builds").fetchall()
    assert builds == [(first_run, True)]


def test_a_broken_registry_fails_the_build_naming_it_and_keeps_the_warehouse(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    landing = tmp_path / "landing"
    shutil.copytree(built_warehouse.landing, landing)
    registry = landing / "registry" / "clusters.yaml"
    registry.write_text(registry.read_text().replace("provider: aws", "provider: amazon", 1))
    warehouse = copy_of(built_warehouse, tmp_path)
    before = contents(warehouse, ("raw", "marts"))

    result = build(landing, warehouse, cli_env, tmp_path)
    assert result.returncode == 1
    assert "build failed; the warehouse was left as it was" in result.stderr
    assert "registry: registry/clusters.yaml, cluster '" in result.stderr
    assert "field provider: Input should be 'gcp', 'aws' or 'azure'" in result.stderr
    assert contents(warehouse, ("raw", "marts")) == before
    assert not warehouse.with_name(warehouse.name + ".building").exists()


def test_a_second_concurrent_build_is_told_the_warehouse_is_busy(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    warehouse = copy_of(built_warehouse, tmp_path)
    with build_lock(warehouse):
        result = build(built_warehouse.landing, warehouse, cli_env, tmp_path)
    assert result.returncode == 1
    assert "warehouse is busy" in result.stderr


@pytest.mark.parametrize("missing", ["landing"])
def test_a_missing_landing_folder_is_a_clear_error(tmp_path: Path, cli_env, missing):
    result = build(tmp_path / missing, tmp_path / "w.duckdb", cli_env, tmp_path)
    assert result.returncode == 1
    assert f"landing folder {tmp_path / missing} does not exist" in result.stderr


def test_a_failing_great_expectations_suite_stops_the_models_downstream(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    landing = tmp_path / "landing"
    shutil.copytree(built_warehouse.landing, landing)
    rates = landing / "fx" / "rates.csv"
    # A positive number passes the connector's row checks; 50,000 USD per euro is a unit error.
    lines = rates.read_text().splitlines()
    date_, currency, _ = lines[1].split(",")
    lines[1] = f"{date_},{currency},50000"
    rates.write_text("\n".join(lines) + "\n")
    # The registry re-delivered unchanged but for a comment: two tables were written, so
    # their suites run in a worker process (orchestration/quality.py).
    clusters = landing / "registry" / "clusters.yaml"
    clusters.write_text(clusters.read_text() + "# reviewed\n")
    warehouse = copy_of(built_warehouse, tmp_path)
    before = contents(warehouse, ("raw", "marts"))

    result = build(landing, warehouse, cli_env, tmp_path)
    assert result.returncode == 1
    assert (
        "check great_expectations_suite on fx_rates failed: fx_rates: "
        "expect_column_values_to_be_between(usd_per_unit): 1 unexpected rows, e.g. [50000.0]"
    ) in result.stderr
    assert (
        "step partner_metrics_dbt not run: great_expectations_suites failed\n"
        "  step metric_snapshot not run: partner_metrics_dbt did not run\n"
    ) in result.stderr
    assert contents(warehouse, ("raw", "marts")) == before
