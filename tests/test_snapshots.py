"""Monthly snapshots are immutable and versioned: a re-run writes nothing, a restatement
writes the next version with what changed since v1, and every version stays queryable.

Each test publishes from a copy of the session's built warehouse whose headline metrics are
replaced by three made by hand (the other marts stay as built), with no version published yet;
the last has no warehouse at all.
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from reporting.format import MISSING as DASH
from tests.conftest import BuiltWarehouse, run_cli
from warehouse.connection import connect
from warehouse.snapshots import SnapshotError, publish

pytestmark = pytest.mark.slow(25, reason="snapshots published from copies of the small world")

OCTOBER = date(2026, 10, 1)
NOVEMBER_5 = datetime(2026, 11, 5, 6, 0, tzinfo=UTC)
DECEMBER_9 = datetime(2026, 12, 9, 6, 0, tzinfo=UTC)


@pytest.fixture
def warehouse(built_warehouse: BuiltWarehouse, tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, path)
    with connect(path) as con:
        con.execute("delete from published.metric_snapshots")
        set_headline(con, mrc=400.0, mrr=1000.0)
    return path


def set_headline(con: duckdb.DuckDBPyConnection, mrc: float, mrr: float) -> None:
    con.execute("delete from marts.fct_headline_metrics")
    con.execute(
        "insert into marts.fct_headline_metrics (sort_order, metric, value, unit, as_of, "
        "definition) values (35, 'MRC', ?, 'USD', ?, 'cost'), (40, 'MRR', ?, 'USD', ?, "
        "'revenue'), (60, 'MRC/MRR ratio', ?, 'ratio', ?, 'MRC / MRR')",
        [mrc, OCTOBER, mrr, OCTOBER, mrc / mrr, OCTOBER],
    )


def files_of(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_publishing_the_same_numbers_again_writes_nothing(warehouse: Path, tmp_path: Path):
    root = tmp_path / "snapshots"
    with connect(warehouse) as con:
        first = publish(con, root, "run-1", now=NOVEMBER_5, git_commit="c1")
        published = files_of(root)
        again = publish(con, root, "run-2", now=DECEMBER_9, git_commit="c2")
        rows = con.execute("select count(*) from published.metric_snapshots").fetchone()[0]
    assert (first.written, first.version, first.folder) == (True, 1, root / "2026-10" / "v1")
    assert sorted(published) == [
        "2026-10/v1/manifest.json",
        "2026-10/v1/metrics.parquet",
        "2026-10/v1/report.html",
        "2026-10/v1/report.md",
    ]
    assert (again.written, again.version) == (False, 1)
    assert files_of(root) == published
    assert rows == 3


def test_metrics_parquet_holds_every_headline_metric_with_its_provenance(
    warehouse: Path, tmp_path: Path
):
    with connect(warehouse) as con:
        publication = publish(con, tmp_path, "run-1", now=NOVEMBER_5, git_commit="c1")
    metrics = pd.read_parquet(publication.folder / "metrics.parquet")
    assert metrics[["metric", "value", "unit", "definition"]].to_dict("records") == [
        {"metric": "MRC", "value": 400.0, "unit": "USD", "definition": "cost"},
        {"metric": "MRR", "value": 1000.0, "unit": "USD", "definition": "revenue"},
        {"metric": "MRC/MRR ratio", "value": 0.4, "unit": "ratio", "definition": "MRC / MRR"},
    ]
    assert set(metrics["month"]) == {OCTOBER}
    assert set(metrics["run_id"]) == {"run-1"} and set(metrics["git_commit"]) == {"c1"}
    assert set(metrics["version"]) == {1}


def test_a_restatement_writes_the_next_version_with_what_changed_since_v1(
    warehouse: Path, tmp_path: Path
):
    root = tmp_path / "snapshots"
    with connect(warehouse) as con:
        publish(con, root, "run-1", now=NOVEMBER_5, git_commit="c1")
        v1 = files_of(root / "2026-10" / "v1")
        set_headline(con, mrc=400.0, mrr=1100.0)  # a late contract amendment
        v2 = publish(con, root, "run-2", now=DECEMBER_9, git_commit="c2")
        set_headline(con, mrc=480.0, mrr=1200.0)
        v3 = publish(con, root, "run-3", now=DECEMBER_9, git_commit="c3")
    assert (v2.written, v2.version, v3.version) == (True, 2, 3)
    assert files_of(root / "2026-10" / "v1") == v1  # never rewritten
    v2_report = (v2.folder / "report.md").read_text()
    # MRR 1,000 -> 1,100: +100. Ratio 400 / 1,000 = 0.40 -> 400 / 1,100 = 0.3636: -0.04.
    # MRC did not move: not listed.
    assert (
        "## What changed since v1\n\n"
        "| metric | v1 | v2 | change since v1 |\n"
        "|---|---|---|---|\n"
        "| MRR | 1,000 | 1,100 | +100 |\n"
        "| MRC/MRR ratio | 0.40 | 0.36 | -0.04 |\n"
    ) in v2_report
    # v3: MRC 400 -> 480 (+80); MRR 1,000 -> 1,100 (v2) -> 1,200 (+200); ratio 480 / 1,200
    # = 0.40, as in v1: unchanged since v1, so not listed.
    assert (
        "| metric | v1 | v2 | v3 | change since v1 |\n"
        "|---|---|---|---|---|\n"
        "| MRC | 400 | 400 | 480 | +80.00 |\n"
        "| MRR | 1,000 | 1,100 | 1,200 | +200 |\n\n"
    ) in (v3.folder / "report.md").read_text()
    assert "What changed since v1" in (v2.folder / "report.html").read_text()
    assert "What changed since v1" not in (root / "2026-10" / "v1" / "report.md").read_text()


def test_a_restated_earlier_month_in_a_chart_is_a_new_version_naming_the_section(
    warehouse: Path, tmp_path: Path
):
    root = tmp_path / "snapshots"
    with connect(warehouse) as con:
        publish(con, root, "run-1", now=NOVEMBER_5, git_commit="c1")
        # July's MRR moves; the headline (October) does not.
        con.execute(
            "update marts.fct_sustainability_monthly set mrr_usd = mrr_usd + 500 "
            "where month = date '2026-07-01'"
        )
        v2 = publish(con, root, "run-2", now=DECEMBER_9, git_commit="c2")
    assert (v2.written, v2.version) == (True, 2)
    report = (v2.folder / "report.md").read_text()
    assert "Sections whose numbers moved: Cloud cost against revenue." in report


def test_what_was_reported_for_a_month_at_any_date_is_one_query(warehouse: Path, tmp_path: Path):
    with connect(warehouse) as con:
        publish(con, tmp_path, "run-1", now=NOVEMBER_5, git_commit="c1")
        set_headline(con, mrc=400.0, mrr=1100.0)
        publish(con, tmp_path, "run-2", now=DECEMBER_9, git_commit="c2")

        def reported(on: date) -> float | None:
            row = con.execute(
                "select value from marts.metric_snapshots where month = ? and metric = 'MRR' "
                "and published_at <= ? and (superseded_at is null or superseded_at > ?)",
                [OCTOBER, on, on],
            ).fetchone()
            return row[0] if row else None

        assert reported(date(2026, 11, 1)) is None  # not published yet
        assert reported(date(2026, 11, 30)) == 1000.0  # v1, told in November
        assert reported(date(2026, 12, 31)) == 1100.0  # v2 since 9 December
        versions = con.execute(
            "select version, is_latest, run_id, git_commit from marts.metric_snapshots "
            "where metric = 'MRR' order by version"
        ).fetchall()
    assert versions == [(1, False, "run-1", "c1"), (2, True, "run-2", "c2")]


def test_versions_lost_from_the_table_come_back_from_the_folders(warehouse: Path, tmp_path: Path):
    """A failed build's copy or a warehouse rebuilt from nothing loses table rows: the folders
    are the record, and the next publication puts them back without a new version."""
    with connect(warehouse) as con:
        publish(con, tmp_path, "run-1", now=NOVEMBER_5, git_commit="c1")
        con.execute("delete from published.metric_snapshots")
        again = publish(con, tmp_path, "run-2", now=DECEMBER_9, git_commit="c2")
        rows = con.execute(
            "select distinct version, run_id from published.metric_snapshots"
        ).fetchall()
    assert (again.written, again.version) == (False, 1)
    assert rows == [(1, "run-1")]


def test_a_month_the_warehouse_does_not_describe_is_refused(warehouse: Path, tmp_path: Path):
    with connect(warehouse) as con, pytest.raises(SnapshotError) as error:
        publish(con, tmp_path, "run-1", month=date(2026, 9, 1))
    assert str(error.value) == (
        "the warehouse describes 2026-10, not 2026-09: a month is published from a warehouse "
        "built as of it (build --as-of 2026-09-30 into another --warehouse, then snapshot that)"
    )
    assert not any(tmp_path.glob("2026-*"))


def test_the_previous_months_report_gives_the_month_over_month_change(
    warehouse: Path, tmp_path: Path
):
    with connect(warehouse) as con:
        # September as reported (MRR 800) before October is published.
        con.execute(
            "insert into published.metric_snapshots values (date '2026-09-01', 1, "
            "timestamp '2026-10-06 06:00', 'run-0', 'c0', 40, 'MRR', 800.0, 'USD', null, 'r')"
        )
        publication = publish(con, tmp_path, "run-1", now=NOVEMBER_5, git_commit="c1")
    # MRR 800 -> 1,000: +25.0%; MRC had no September value: a dash.
    report = (publication.folder / "report.md").read_text()
    assert f"| MRR | 1,000 USD | +25.0% | {DASH} |" in report
    assert f"| MRC | 400 USD | {DASH} | {DASH} |" in report


def test_cli_snapshot_on_demand(built_warehouse: BuiltWarehouse, cli_env, tmp_path: Path):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, warehouse)
    snapshots = tmp_path / "snapshots"
    shutil.copytree(built_warehouse.snapshots, snapshots)
    args = ["snapshot", "--warehouse", str(warehouse), "--snapshots", str(snapshots)]

    same = run_cli([*args, "--month", "2026-10"], cli_env)
    assert same.returncode == 0, same.stderr[-2000:]
    report = snapshots / "2026-10" / "v1" / "report.html"
    assert same.stdout == f"2026-10 unchanged since v1, nothing written: {report}\n"

    with connect(warehouse) as con:
        con.execute("update marts.fct_headline_metrics set value = value + 1 where metric = 'MRR'")
    restated = run_cli([*args, "--month", "2026-10"], cli_env)
    assert restated.stdout == (
        f"published 2026-10 v2: {snapshots / '2026-10' / 'v2' / 'report.html'}\n"
    )

    other = run_cli([*args, "--month", "2026-09"], cli_env)
    assert other.returncode == 1
    assert other.stderr.endswith(
        "step metric_snapshot failed: the warehouse describes 2026-10, not 2026-09: a month "
        "is published from a warehouse built as of it (build --as-of 2026-09-30 into "
        "another --warehouse, then snapshot that)\n"
    )


def test_the_asset_over_a_missing_warehouse_fails_naming_it_and_creates_nothing(tmp_path: Path):
    """Materialised alone, as from the UI over a warehouse not built yet: it opened the
    warehouse through Dagster's DuckDBResource and so created an empty one. It fails in the
    CLI's words and the folder holds what it held: the lock file the UI leaves as it starts
    (and every run's lock resource takes), nothing else."""
    from dagster import materialize

    from orchestration.resources import build_resources
    from orchestration.settings import Settings
    from orchestration.snapshots import metric_snapshot
    from warehouse.connection import build_lock

    missing = tmp_path / "warehouse.duckdb"
    with build_lock(missing):  # as `partner-metrics ui` does when it starts
        pass
    before = sorted(tmp_path.iterdir())
    settings = Settings(
        landing=str(tmp_path / "landing"),
        warehouse=str(missing),
        snapshots=str(tmp_path / "snapshots"),
    )
    result = materialize(
        [metric_snapshot], resources=build_resources(settings), raise_on_error=False
    )
    [failure] = [event for event in result.all_events if event.is_step_failure]
    assert failure.event_specific_data.user_failure_data.description == (
        f"no warehouse at {missing}; build it first: make demo (for data/warehouse.duckdb), "
        f"or partner-metrics build --landing DIR --warehouse {missing}"
    )
    assert sorted(tmp_path.iterdir()) == before == [tmp_path / "warehouse.duckdb.lock"]
