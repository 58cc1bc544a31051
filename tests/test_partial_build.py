"""A build whose only new inputs are some sources' files, or the as-of day, runs only the dbt
nodes downstream of them (orchestration/dbt_selection.py), and leaves the warehouse as a
build from scratch would: every table of the models and every recorded test outcome equal.

The small world as the tests share it (built once by the CLI) is copied; a copy of its
landing changes one GCP bill file (a line more, as the bench appends a day) and restates a
few days of one cluster's usage, and the build asks for a later as-of day; the copy is built
again (partially), and the same landing is built from nothing into another warehouse.
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from orchestration.dbt import SNAPSHOT_KEY, partner_metrics_dbt
from orchestration.definitions import make_definitions
from orchestration.settings import Settings
from orchestration.snapshots import MART_KEYS
from tests.conftest import BUILD_TIME_COLUMN, SMALL_WORLD, BuiltWarehouse, build_cli
from tests.test_cli_build import built_run_id
from tests.test_incremental_costs import grow_gcp_month, log_of, restate_usage
from warehouse.build_state import DBT_NOT_RUN, NOT_REBUILT

pytestmark = pytest.mark.slow(
    110, reason="six CLI builds of the small world: partial, again, from scratch, and three more"
)

MODEL_SCHEMAS = ("staging", "intermediate", "marts")
# Columns that hold when a row was written or its file loaded, not what it says: the build
# and record times, the load times and the versions of days and delivery scopes (hashes of
# what was loaded when).
WALL_CLOCK_COLUMNS = {BUILD_TIME_COLUMN, "recorded_at"}
WALL_CLOCK_SUFFIXES = ("loaded_at", "_version")
# A day whose as-of month (November) is a month later than the small world's (October).
LATER_DAY = date(2026, 12, 1)


def copy_built(built: BuiltWarehouse, folder: Path) -> tuple[Path, Path]:
    """A copy of the shared first build: its landing, and its warehouse with snapshots."""
    landing = folder / "landing"
    shutil.copytree(built.landing, landing)
    warehouse = folder / "partial" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(built.warehouse, warehouse)
    shutil.copytree(built.snapshots, warehouse.parent / "snapshots")
    return landing, warehouse


def built(landing: Path, warehouse: Path, env: dict[str, str], as_of: date) -> str:
    result = build_cli(landing, warehouse, env, as_of=as_of)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


@pytest.fixture(scope="module")
def partial_and_fresh(
    tmp_path_factory: pytest.TempPathFactory,
    built_warehouse: BuiltWarehouse,
    cli_env: dict[str, str],
) -> dict:
    """One partial build of a bill, some usage and the as-of day changed together (one case:
    each partial build and its build from scratch cost some 50 CPU-seconds; which nodes each
    kind of change selects is tested on the manifest, tests/test_dbt_selection.py)."""
    work = tmp_path_factory.mktemp("partial")
    landing, warehouse = copy_built(built_warehouse, work)
    grow_gcp_month(landing)
    restate_usage(landing)
    as_of = LATER_DAY
    stdout = built(landing, warehouse, cli_env, as_of)
    partial = work / "kept" / "warehouse.duckdb"
    partial.parent.mkdir()
    shutil.copy(warehouse, partial)
    again = built(landing, warehouse, cli_env, as_of)  # nothing new since
    fresh = work / "fresh" / "warehouse.duckdb"
    fresh.parent.mkdir()
    built(landing, fresh, cli_env, as_of)
    return {
        "partial": partial,
        "fresh": fresh,
        "stdout": stdout,
        "log": log_of(stdout).read_text(),
        "again": again,
        "snapshots": warehouse.parent / "snapshots",
    }


def tables(con: duckdb.DuckDBPyConnection, catalog: str) -> dict[str, list[str]]:
    """Every table of the models (not views: they hold no rows of their own) with its
    columns but the wall-clock ones, and the recorded test outcomes."""
    found: dict[str, list[str]] = {}
    for schema, table, column in con.execute(
        "select c.table_schema, c.table_name, c.column_name "
        "from information_schema.columns c join information_schema.tables t "
        "using (table_catalog, table_schema, table_name) "
        "where c.table_catalog = ? and t.table_type = 'BASE TABLE' "
        "and (c.table_schema in (select unnest(?)) or c.table_name = 'dbt_test_results') "
        "order by c.table_schema, c.table_name, c.ordinal_position",
        [catalog, list(MODEL_SCHEMAS)],
    ).fetchall():
        if column not in WALL_CLOCK_COLUMNS and not column.endswith(WALL_CLOCK_SUFFIXES):
            found.setdefault(f"{schema}.{table}", []).append(f'"{column}"')
    return found


def test_a_partial_build_leaves_what_a_build_from_scratch_does(partial_and_fresh):
    with duckdb.connect(str(partial_and_fresh["partial"]), read_only=True) as con:
        con.execute(f"attach '{partial_and_fresh['fresh']}' as fresh (read_only)")
        partial, fresh = tables(con, "warehouse"), tables(con, "fresh")
        assert partial == fresh
        assert "audit.dbt_test_results" in partial and "marts.fct_cloud_costs_monthly" in partial
        selects = {table: ", ".join(columns) for table, columns in partial.items()}
        assert rows_only_in_one(con, selects, "fresh") == []


def rows_only_in_one(
    con: duckdb.DuckDBPyConnection, selects: dict[str, str], other: str
) -> list[str]:
    """Each table (with the columns to compare) whose rows differ between the connection's
    warehouse and the attached `other`, EXCEPT ALL both ways, with how many rows only one
    holds."""
    differing = []
    for table, select in selects.items():
        for one, two in (("warehouse", other), (other, "warehouse")):
            extra = con.execute(
                f"select count(*) from (select {select} from {one}.{table} "
                f"except all select {select} from {two}.{table})"
            ).fetchone()[0]
            if extra:
                differing.append(f"{table}: {extra} rows only in {one}")
    return differing


def dbt_lines(log: str, verb: str) -> set[str]:
    """The models dbt's log lines say it `verb` (START, OK created), by name."""
    return set(re.findall(rf"{verb} sql \w+ model \w+\.(\w+)", log))


def test_the_partial_build_ran_only_the_nodes_downstream_of_what_changed(partial_and_fresh):
    log = partial_and_fresh["log"]
    said = re.search(r"dbt build: (.+) changed since run \w{8}: (\d+) of (\d+) nodes", log)
    assert said, log[-3000:]
    assert int(said[2]) < int(said[3])
    started = dbt_lines(log, "START")
    # Worked out from the project's lineage: what reads the bills, or the as-of day.
    assert said[1] == "raw data of gcp_billing, prometheus, as-of day"
    # The allocation splits a cluster's shared costs by its hubs' usage; the spine, partners
    # and renewals read the as-of day.
    assert {
        "stg_gcp__billing_export",
        "int_cloud_costs__focus",
        "int_cloud_costs__allocated",
        "fct_cloud_costs_monthly",
        "stg_prometheus__samples",
        "fct_hub_usage_daily",
        "int_month_spine",
        "dim_partners",
        "fct_renewals",
    } <= started
    # The other bills' staging reads only its own source's rows of the ingest log; the deals
    # and their stage history read HubSpot, and not the day.
    kept = {
        "stg_aws__deliveries",
        "stg_azure__deliveries",
        "int_revenue__deals",
        "int_lifecycle__stage_history",
    }
    assert started.isdisjoint(kept)
    # dbt counts the nodes it runs ("1 of N START"): the selection's.
    assert re.search(rf"\b1 of {said[2]} START", log)


def test_a_month_whose_marts_partly_changed_is_published_and_a_build_of_nothing_new_skips_it(
    partial_and_fresh,
):
    stdout, log = partial_and_fresh["stdout"], partial_and_fresh["log"]
    assert "not rebuilt: its inputs are unchanged" not in stdout
    # November (the later day's month) was not published: the partial build publishes it.
    assert (partial_and_fresh["snapshots"] / "2026-11" / "v1" / "metrics.parquet").exists()
    assert re.search(r"2026-11 v1 published", log)
    assert DBT_NOT_RUN in partial_and_fresh["again"]
    assert "skipped: models unchanged" in partial_and_fresh["again"]


def test_a_failing_test_over_a_rebuilt_model_and_a_kept_one_fails_the_partial_build(
    tmp_path: Path, built_warehouse: BuiltWarehouse, cli_env: dict[str, str]
):
    landing, warehouse = copy_built(built_warehouse, tmp_path)
    # A partner with cloud costs leaves dim_partners, which the bill does not rebuild; its
    # costs in fct_cloud_costs_monthly, which it does, are then orphans.
    with duckdb.connect(str(warehouse)) as con:
        [(partner,)] = con.execute(
            "select min(partner_id) from marts.fct_cloud_costs_monthly where partner_id is not null"
        ).fetchall()
        con.execute("delete from marts.dim_partners where partner_id = ?", [partner])
    grow_gcp_month(landing)
    result = build_cli(landing, warehouse, cli_env, as_of=SMALL_WORLD["as_of"])
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "relationships_fct_cloud_costs_monthly_partner_id" in output, output[-3000:]


def unpublished_copy(built: BuiltWarehouse, folder: Path) -> tuple[Path, Path, Path]:
    """A copy of the shared first build whose month (October) an operator unpublished: its
    snapshot folder removed. Returns the landing, the warehouse and the removed v1's metrics
    (kept aside)."""
    landing, warehouse = copy_built(built, folder)
    october = warehouse.parent / "snapshots" / "2026-10"
    published = folder / "published-v1.parquet"
    shutil.copy(october / "v1" / "metrics.parquet", published)
    shutil.rmtree(october)
    return landing, warehouse, published


def model_tables_unchanged(warehouse: Path, before: Path) -> list[str]:
    """The tables of the models, the recorded test outcomes and dbt builds whose rows differ
    between `warehouse` and `before`, every column compared (the build times too: a table
    dbt rebuilt, even to the same rows, differs)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute(f"attach '{before}' as before (read_only)")
        relations = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_catalog = 'warehouse' and table_type = 'BASE TABLE' and "
            "(table_schema in (select unnest(?)) or table_schema = 'audit') order by 1",
            [list(MODEL_SCHEMAS)],
        ).fetchall()
        assert ("audit.dbt_builds",) in relations and ("marts.dim_partners",) in relations
        return rows_only_in_one(con, {table: "*" for (table,) in relations}, "before")


def same_metrics(published: Path, again: Path) -> None:
    """The metrics published again are the removed version's (the marts are the same)."""
    with duckdb.connect() as con:
        query = (
            "select metric, value, unit from read_parquet(?) "
            "except all select metric, value, unit from read_parquet(?)"
        )
        assert con.execute(query, [str(published), str(again)]).fetchall() == []
        assert con.execute(query, [str(again), str(published)]).fetchall() == []


def test_a_month_unpublished_since_the_last_build_is_published_without_running_dbt(
    tmp_path: Path, built_warehouse: BuiltWarehouse, cli_env: dict[str, str]
):
    landing, warehouse, published = unpublished_copy(built_warehouse, tmp_path)
    stdout = built(landing, warehouse, cli_env, SMALL_WORLD["as_of"])
    log = log_of(stdout).read_text()
    # Published again: the snapshot ran, so every mart was yielded (Dagster skips a step
    # when an output it depends on was not). As v2: v1 is still in the warehouse's
    # published table, and a version number is never given twice.
    october = warehouse.parent / "snapshots" / "2026-10"
    assert sorted(path.name for path in october.iterdir()) == ["v2"], stdout[-3000:]
    same_metrics(published, october / "v2" / "metrics.parquet")
    assert stdout.rstrip().endswith(f"Report     {october / 'v2' / 'report.html'}")
    # dbt did not run: no node in the log, and no table of a model written.
    assert not re.search(r"\d+ of \d+ START", log), log[-3000:]
    assert model_tables_unchanged(warehouse, built_warehouse.warehouse) == []
    # And says why, on the terminal and in the log.
    first_run = built_run_id(built_warehouse.warehouse)
    assert re.search(
        rf"^  dbt +nothing changed since run {first_run[:8]}, marts kept to publish +\d",
        stdout,
        re.M,
    ), stdout
    assert re.search(
        r"dbt not run: the month's snapshot is not published yet; every mart is passed on "
        rf"as run {first_run[:8]} \(\w{{3}} \d\d \d\d:\d\d\) built it",
        log,
    )
    # The warning kept from the first build says when that build ran its test.
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(recorded_at,)] = con.execute(
            "select recorded_at from audit.dbt_test_results where status = 'warn'"
        ).fetchall()
    assert f"warned in the dbt build of {recorded_at:%b %d %H:%M}: 1 failing row" in stdout


def test_the_ui_publishes_a_month_unpublished_since_the_last_build_without_running_dbt(
    tmp_path: Path, built_warehouse: BuiltWarehouse
):
    """The UI's runs write the warehouse itself: a run whose dbt step built the marts and
    whose snapshot step then failed leaves this state too. Materialising the models and the
    snapshot (as the asset graph's "Materialize" does) publishes the month from the marts as
    they are."""
    _, warehouse, published = unpublished_copy(built_warehouse, tmp_path)
    settings = Settings(
        landing=str(tmp_path / "landing"),
        warehouse=str(warehouse),
        snapshots=str(warehouse.parent / "snapshots"),
        as_of=SMALL_WORLD["as_of"].isoformat(),
        unit_tests=False,
    )
    job = make_definitions(settings).resolve_implicit_global_asset_job_def()
    with DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(
            instance=instance, asset_selection=[*partner_metrics_dbt.keys, SNAPSHOT_KEY]
        )
    assert result.success
    kept = {
        event.asset_key
        for event in result.get_asset_materialization_events()
        if NOT_REBUILT in event.materialization.metadata
    }
    assert kept == set(MART_KEYS)
    assert {event.asset_key for event in result.get_asset_materialization_events()} == kept | {
        SNAPSHOT_KEY
    }
    assert not [
        event for event in result.all_events if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    october = warehouse.parent / "snapshots" / "2026-10"
    same_metrics(published, october / "v2" / "metrics.parquet")
    assert model_tables_unchanged(warehouse, built_warehouse.warehouse) == []
