"""The incremental models (int_cloud_costs__focus by delivery scope, int_cloud_costs__allocated
by charge month, the Prometheus staging models by day) give the same rows as a full refresh.

The small world as the tests share it (built once by the CLI) is copied; then a copy of its
landing changes the ways providers and operators change it: one more line in a GCP account's
month-to-date file (a reloaded file), the same account's oldest month, whose only file is
removed (its scope disappears), a legacy CUR period manifest that switches to the other
assembly (the current delivery changes, no data file is reloaded: only superseded_by flips) and
one hub's memory requests restated for five days by a month folder of a live pull (those days'
usage is rebuilt, and the shared cost of their month splits differently). The second CLI build
runs dbt incrementally; a copy of its warehouse is kept, and the warehouse is built again with
`partner-metrics build --full-refresh`: every row of the incremental models and of the marts
over them must be equal in both. Money columns are compared to the cent, the rest exactly.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from tests.conftest import (
    BUILD_TIME_COLUMN,
    SMALL_WORLD,
    BuiltWarehouse,
    build_cli,
)

pytestmark = pytest.mark.slow(
    75, reason="CLI builds of the small world: incremental, full and forced"
)

# Tables compared row by row: the incremental models and every mart over them.
COMPARED = (
    "staging.stg_prometheus__samples",
    "staging.stg_prometheus__user_servers",
    "intermediate.int_hub_usage_daily",
    "marts.fct_hub_usage_daily",
    "marts.fct_hub_usage_monthly",
    "marts.fct_cluster_mau_monthly",
    "marts.fct_usage_fee_recovery_monthly",
    "intermediate.int_cloud_costs__focus",
    "intermediate.int_cloud_costs__allocated",
    "intermediate.int_cloud_costs__unattributed_share",
    "marts.fct_cloud_costs_monthly",
    "marts.fct_mrc_monthly",
    "marts.fct_sustainability_monthly",
    "marts.fct_partner_sustainability_monthly",
    "marts.fct_partner_unit_economics_monthly",
    "marts.fct_cost_recovery_monthly",
)


def build(
    landing: Path, warehouse: Path, env: dict[str, str], *options: str
) -> subprocess.CompletedProcess[str]:
    result = build_cli(landing, warehouse, env, as_of=SMALL_WORLD["as_of"], options=options)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def log_of(stdout: str) -> Path:
    """The run's log file, which a build's summary names."""
    return Path(re.search(r"^Log +(\S+)$", stdout, re.M).group(1))


def change_landing(landing: Path) -> dict:
    """The four changes; returns what each touched, for the assertions."""
    # A GCP billing account's files, one per month: the newest month grows by a line, and
    # the oldest is removed.
    months = grow_gcp_month(landing)
    months[0].unlink()
    # A legacy CUR period whose manifest names one of two assemblies: name the other.
    period_manifest = next(
        m
        for m in (landing / "cloud_costs" / "aws").rglob("*-Manifest.json")
        if len([d for d in m.parent.iterdir() if d.is_dir()]) == 2
    )
    named = json.loads(period_manifest.read_text())["assemblyId"]
    other = next(d for d in period_manifest.parent.iterdir() if d.is_dir() and d.name != named)
    shutil.copy(other / period_manifest.name, period_manifest)
    period = period_manifest.parent.name  # yyyymmdd-yyyymmdd
    return {
        "appended_month": month_of(months[-1].stem),
        "removed_month": month_of(months[0].stem),
        "removed_file": months[0].relative_to(landing).as_posix(),
        "switched_month": month_of(period),
        "assembly_now": other.name,
        "assembly_before": named,
        **restate_usage(landing),
    }


def restate_usage(landing: Path) -> dict:
    """One cluster's memory requests restated: a live pull's month folder re-delivers its
    first hub's first five days, doubled (staging keeps each day's highest sample)."""
    memory_file = sorted((landing / "usage").rglob("memory_requests_bytes.json"))[0]
    series = json.loads(memory_file.read_text())
    first = series["data"]["result"][0]
    month = day_of(first["values"][0][0]).replace(day=1)
    restated_values = [[t, str(float(v) * 2)] for t, v in first["values"][:5]]
    assert {day_of(t).replace(day=1) for t, _ in restated_values} == {month}
    restatement = memory_file.parent / f"{month:%Y-%m}" / memory_file.name
    restatement.parent.mkdir()
    series["data"]["result"] = [{**first, "values": restated_values}]
    restatement.write_text(json.dumps(series))
    return {
        "restated_months": {month},
        "restated_days": {day_of(t) for t, _ in restated_values},
        "restated_hub": (memory_file.parent.name, first["metric"]["namespace"]),
    }


def grow_gcp_month(landing: Path) -> list[Path]:
    """The newest month of a GCP billing account with three months or more grows by a line
    (as the bench appends a day: GCP lines carry no id, so a copy of a line is another
    line); returns the account's month files, oldest first."""
    costs = landing / "cloud_costs" / "gcp"
    account = next(d for d in sorted(costs.iterdir()) if len(list(d.glob("*.parquet"))) > 2)
    months = sorted(account.glob("*.parquet"))
    grown = months[-1].with_name(months[-1].name + ".next")
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from read_parquet('{months[-1]}') union all "
            f"(select * from read_parquet('{months[-1]}') limit 1)) to '{grown}' (format parquet)"
        )
    os.replace(grown, months[-1])
    return months


def day_of(unix_time: float) -> date:
    """The UTC day of a Prometheus sample time."""
    return datetime.fromtimestamp(unix_time, UTC).date()


def month_of(name: str) -> date:
    """The month a name starting yyyymm names."""
    return date(int(name[:4]), int(name[4:6]), 1)


def rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """Every row of `table` without its build time, money rounded to the cent, sorted."""
    columns = [
        (name, kind)
        for name, kind in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema || '.' || table_name = ? order by ordinal_position",
            [table],
        ).fetchall()
        if name != BUILD_TIME_COLUMN
    ]
    assert columns, table
    select = ", ".join(
        f'round("{name}", 2)'
        if kind in ("DOUBLE", "FLOAT") or kind.startswith("DECIMAL")
        else f'"{name}"'
        for name, kind in columns
    )
    return sorted(
        con.execute(f"select {select} from {table}").fetchall(), key=lambda row: repr(row)
    )


@pytest.fixture(scope="module")
def incremental_and_full(
    tmp_path_factory: pytest.TempPathFactory,
    built_warehouse: BuiltWarehouse,
    cli_env: dict[str, str],
) -> dict:
    work = tmp_path_factory.mktemp("incremental")
    landing = work / "landing"
    shutil.copytree(built_warehouse.landing, landing)
    warehouse = work / "built" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(built_warehouse.warehouse, warehouse)  # the first build, shared
    with duckdb.connect(str(warehouse), read_only=True) as con:
        first_built = con.execute(
            "select max(built_at) from intermediate.int_cloud_costs__focus"
        ).fetchone()[0]
    changed = change_landing(landing)
    incremental_build = build(landing, warehouse, cli_env)
    # What the incremental build made is kept aside; then the same warehouse is built again
    # from the same landing, forced: dbt --full-refresh rebuilds every model from scratch.
    incremental = work / "incremental" / "warehouse.duckdb"
    incremental.parent.mkdir()
    shutil.copy(warehouse, incremental)
    published = files_of(warehouse.parent / "snapshots")
    forced = build(landing, warehouse, cli_env, "--full-refresh")
    return {
        "incremental": incremental,
        "full": warehouse,
        "first_built": first_built,
        "log": log_of(incremental_build.stdout),
        "forced_log": log_of(forced.stdout),
        "forced_stdout": forced.stdout,
        "published_before_forced": published,
        **changed,
    }


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_an_incremental_build_equals_a_full_refresh_row_by_row(incremental_and_full):
    with (
        duckdb.connect(str(incremental_and_full["incremental"]), read_only=True) as inc,
        duckdb.connect(str(incremental_and_full["full"]), read_only=True) as full,
    ):
        for table in COMPARED:
            assert rows(inc, table) == rows(full, table), table


def test_the_incremental_build_rebuilt_only_what_changed(incremental_and_full):
    """Not a full rebuild in disguise: scopes no change touched keep the lines of the first
    build (the GCP account's folder is one delivery of all its months, yet only the changed
    file's month is rebuilt), and exactly the changed months (the appended line's, the
    removed file's, the switched assembly's, the restated memory requests') were rebuilt in
    the allocation; the removed scope and the superseded assembly left no line behind."""
    built = incremental_and_full
    changed = {built[key] for key in ("appended_month", "removed_month", "switched_month")} | built[
        "restated_months"
    ]
    with duckdb.connect(str(built["incremental"]), read_only=True) as con:
        kept_scopes = con.execute(
            "select count(distinct delivery_scope) from intermediate.int_cloud_costs__focus "
            "where built_at = ?",
            [built["first_built"]],
        ).fetchone()[0]
        assert kept_scopes > 0, "every scope was rebuilt"
        rebuilt = {
            month
            for (month,) in con.execute(
                "select distinct charge_month from intermediate.int_cloud_costs__allocated "
                "where built_at > ?",
                [built["first_built"]],
            ).fetchall()
        }
        assert rebuilt == changed
        assert (
            con.execute(
                "select count(*) from intermediate.int_cloud_costs__focus where line_key like ?",
                [f"%{built['removed_file']}%"],
            ).fetchone()[0]
            == 0
        )
        for assembly, expected in (
            (built["assembly_before"], False),
            (built["assembly_now"], True),
        ):
            found = con.execute(
                "select count(*) from intermediate.int_cloud_costs__focus where line_key like ?",
                [f"%{assembly}%"],
            ).fetchone()[0]
            assert (found > 0) is expected, assembly


# One hub's daily memory requests (cluster, namespace).
HUB_MEMORY = (
    "select sample_date, value from staging.stg_prometheus__samples "
    "where cluster = ? and namespace = ? and measure = 'memory_requested_bytes'"
)


def test_the_incremental_build_rebuilt_only_the_restated_days_of_usage(
    incremental_and_full, built_warehouse: BuiltWarehouse
):
    """The restatement holds five days of one cluster: those days' samples were rebuilt (every
    cluster's rows of them, since a day is the unit), every other day kept the first build's
    rows, and the doubled requests are the days' values now."""
    built = incremental_and_full
    with duckdb.connect(str(built["incremental"]), read_only=True) as con:
        rebuilt = {}
        for table in ("stg_prometheus__samples", "stg_prometheus__user_servers"):
            builds = dict(
                con.execute(
                    f"select built_at > ?, list(distinct sample_date) from staging.{table} "
                    "group by all",
                    [built["first_built"]],
                ).fetchall()
            )
            rebuilt[table] = set(builds.get(True, []))
            assert rebuilt[table] <= built["restated_days"], table
            assert not set(builds[False]) & built["restated_days"], table
        assert rebuilt["stg_prometheus__samples"] == built["restated_days"]
        restated = con.execute(HUB_MEMORY, list(built["restated_hub"])).fetchall()
    with duckdb.connect(str(built_warehouse.warehouse), read_only=True) as con:
        before = dict(con.execute(HUB_MEMORY, list(built["restated_hub"])).fetchall())
    assert {day: value for day, value in restated if day in built["restated_days"]} == {
        day: before[day] * 2 for day in built["restated_days"]
    }


def test_unit_tests_run_in_a_full_refresh_unless_the_settings_leave_them_out(
    incremental_and_full, built_warehouse: BuiltWarehouse
):
    """The incremental build leaves them out: they passed on the same SQL in the first build
    (a full refresh, which runs them). The forced full refresh was asked `--no-unit-tests`."""

    def summary(log: Path) -> str:
        (ran,) = re.findall(r"Finished running (.+) in \d+ hours", log.read_text())
        return ran

    assert re.search(r"\d+ unit tests", summary(log_of(built_warehouse.stdout)))
    incremental = summary(incremental_and_full["log"])
    assert "data tests" in incremental and "unit test" not in incremental, incremental
    assert "unit tests not run: the project is unchanged since" in (
        incremental_and_full["log"].read_text()
    )
    forced = summary(incremental_and_full["forced_log"])
    assert "data tests" in forced and "unit test" not in forced, forced
    assert "unit tests not run: left out by the settings (--no-unit-tests)" in (
        incremental_and_full["forced_log"].read_text()
    )


def test_a_forced_full_refresh_runs_dbt_records_it_and_republishes_nothing(incremental_and_full):
    """`build --full-refresh` of a landing with nothing new: dbt runs all the same (the rows
    it gives are compared above), the warehouse records a full refresh after the incremental
    build, and the month's published report is not rewritten."""
    built = incremental_and_full
    assert re.search(r"^  dbt +\d+ models, \d+ tests", built["forced_stdout"], re.M)
    with duckdb.connect(str(built["full"]), read_only=True) as con:
        recorded = con.execute(
            "select full_refresh from audit.dbt_builds order by built_at"
        ).fetchall()
    # The shared first build (a warehouse's first build is a full refresh), the incremental
    # one, the forced one.
    assert [full for (full,) in recorded] == [True, False, True]
    assert files_of(built["full"].parent / "snapshots") == built["published_before_forced"]
    assert built["published_before_forced"], "a report was published to compare"


def test_the_forced_build_parses_only_what_changed_since_the_build_before(incremental_and_full):
    """dbt's parse is kept in the warehouse's Dagster folder (orchestration/dbt.py): the
    incremental build found none (its warehouse was copied without that folder) and parsed the
    project in full; the forced build of the same warehouse, with the same vars and project,
    started from the kept parse."""
    assert "Unable to do partial parsing" in incremental_and_full["log"].read_text()
    forced = incremental_and_full["forced_log"].read_text()
    assert re.search(r"Found \d+ models", forced), "dbt ran and parsed"
    assert "Unable to do partial parsing" not in forced
