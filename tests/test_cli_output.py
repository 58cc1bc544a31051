"""What the CLI shows a person and what it records for the UI, on the session's built
warehouse: a quiet build output, its log file, the run in the warehouse's own Dagster
instance, `query` formats and limits, `reconcile` verdicts."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dagster import AssetKey, DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.events.log import EventLogEntry

from ingest.sources import SOURCES
from orchestration import cli
from orchestration.instance import instance_dir, open_instance
from tests.conftest import CLI, SMALL_WORLD, BuiltWarehouse, run_cli
from warehouse.connection import connect
from warehouse.paths import DBT_PROJECT_DIR, PROJECT_ROOT

pytestmark = pytest.mark.slow(15, reason="CLI runs over the small world")


def query(built: BuiltWarehouse, env: dict[str, str], sql: str, *options: str):
    return run_cli(["query", sql, "--warehouse", str(built.warehouse), *options], env)


def test_the_build_prints_a_few_progress_lines_and_the_summary_and_logs_the_rest(
    built_warehouse: BuiltWarehouse,
):
    lines = built_warehouse.stdout.splitlines()
    assert len(lines) <= 40, built_warehouse.stdout
    stages = [line.split()[0] for line in lines[:4]]
    assert stages == ["prepare", "ingest", "dbt", "snapshot"]
    assert all(line.rstrip().endswith(" s") for line in lines[:4])
    # Every source counted, the monthly ones loaded side by side in one step among them.
    assert f" {len(SOURCES)} sources, " in lines[1]
    # No Dagster event, warning block or dbt node line on the terminal.
    for noise in ("dagster - ", "AssetObservation", " START ", "PASS in", "WARNING"):
        assert noise not in built_warehouse.stdout
    log = Path(next(line for line in lines if line.startswith("Log")).split(maxsplit=1)[1])
    assert log.parent.parent == instance_dir(built_warehouse.warehouse)
    text = log.read_text()
    assert "RUN_SUCCESS" in text and " of " in text and "PASS" in text  # Dagster and dbt


def test_a_cli_run_is_a_named_tagged_job_in_the_warehouses_own_instance(
    built_warehouse: BuiltWarehouse,
):
    with open_instance(built_warehouse.warehouse) as instance:
        (run,) = instance.get_runs()
        assert run.job_name == "partner_metrics_pipeline"
        assert run.status == DagsterRunStatus.SUCCESS
        assert run.tags["source"] == "cli"
        assert run.tags["landing"] == str(built_warehouse.landing)
        assert run.tags["warehouse"] == str(built_warehouse.warehouse)


def test_a_build_leaves_no_dbt_artifacts_in_the_project(built_warehouse: BuiltWarehouse):
    # dagster-dbt's default target of an invocation is dbt_project/target/<op>-<run id>-<uuid>,
    # some 25 MB a build with dbt's debug log; the build's own temporary folder is removed.
    with open_instance(built_warehouse.warehouse) as instance:
        (run,) = instance.get_runs()
    assert list((DBT_PROJECT_DIR / "target").glob(f"*-{run.run_id[:7]}-*")) == []


def test_the_ui_reads_the_events_the_cli_stored_with_its_engine_keeping_storage(
    built_warehouse: BuiltWarehouse,
):
    # `dagster dev` makes the instance from dagster.yaml alone, with Dagster's own SQLite
    # event log class; the CLI stores through EngineKeepingEventLogStorage: same files.
    folder = instance_dir(built_warehouse.warehouse)
    ui = DagsterInstance.from_config(str(folder))
    try:
        assert type(ui.event_log_storage).__name__ == "SqliteEventLogStorage"
        (run,) = ui.get_runs()
        ui_events = ui.all_logs(run.run_id)
    finally:
        ui.dispose()
    with open_instance(built_warehouse.warehouse) as instance:
        assert type(instance.event_log_storage).__name__ == "EngineKeepingEventLogStorage"
        cli_events = instance.all_logs(run.run_id)
    assert [event.dagster_event_type for event in ui_events] == [
        event.dagster_event_type for event in cli_events
    ]
    kinds = {event.dagster_event_type for event in ui_events}
    stored = {DagsterEventType.ASSET_MATERIALIZATION, DagsterEventType.ASSET_CHECK_EVALUATION}
    assert stored <= kinds


def test_the_ui_shows_rows_columns_previews_and_money(built_warehouse: BuiltWarehouse):
    with open_instance(built_warehouse.warehouse) as instance:

        def latest(*path: str) -> dict:
            record = instance.fetch_materializations(AssetKey(list(path)), limit=1).records[0]
            return record.asset_materialization.metadata

        partners = latest("marts", "dim_partners")
        assert partners["dagster/row_count"].value == SMALL_WORLD["partners"]
        columns = {c.name: c for c in partners["dagster/column_schema"].schema.columns}
        assert columns["partner_id"].type and columns["partner_id"].description
        preview = partners["preview"].value
        assert preview.startswith("| partner_id |") and len(preview.splitlines()) == 2 + 5

        with connect(built_warehouse.warehouse, read_only=True) as con:
            (lines,) = con.execute("select count(*) from raw.invoice_lines").fetchone()
            by_currency = con.execute(
                "select currency, count(*), sum(amount) from raw.invoice_lines group by 1"
            ).fetchall()
        invoices = latest("raw", "invoice_lines")
        assert invoices["dagster/row_count"].value == lines
        money = invoices["money_total"].value
        for currency, count, total in by_currency:
            assert f"| {currency} | {count:,} | {total:,.2f} |" in money
        assert invoices["preview"].value.startswith("| invoice_number |")


def test_query_rounds_money_and_speaks_table_csv_and_json(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str]
):
    sql = (
        "select cast(37111.75999999999 as double) as mrr_usd, "
        "cast(0.35331234567 as double) as ratio, cast(1.0876 as double) as usd_per_unit"
    )
    table = query(built_warehouse, cli_env, sql)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[2].split() == ["37111.76", "0.353312", "1.0876"]
    assert table.stdout.rstrip().endswith("(1 rows)")
    as_csv = query(built_warehouse, cli_env, sql, "--format", "csv")
    assert list(csv.reader(io.StringIO(as_csv.stdout))) == [
        ["mrr_usd", "ratio", "usd_per_unit"],
        ["37111.76", "0.353312", "1.0876"],
    ]
    as_json = query(built_warehouse, cli_env, sql, "--format", "json")
    assert json.loads(as_json.stdout) == [
        {"mrr_usd": 37111.76, "ratio": 0.353312, "usd_per_unit": 1.0876}
    ]


def test_query_shows_fifty_rows_and_says_how_many_more(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str]
):
    sql = "select i from range(120) as t(i)"
    table = query(built_warehouse, cli_env, sql)
    assert len(table.stdout.splitlines()) == 2 + 50 + 1  # header, rule, rows, count
    assert table.stdout.rstrip().endswith("(50 of 120 rows; 70 more (--limit 0 shows all))")
    as_csv = query(built_warehouse, cli_env, sql, "--format", "csv", "--limit", "10")
    assert len(as_csv.stdout.splitlines()) == 1 + 10
    assert "10 rows shown, 110 more" in as_csv.stderr
    everything = query(built_warehouse, cli_env, sql, "--format", "json", "--limit", "0")
    assert len(json.loads(everything.stdout)) == 120 and everything.stderr == ""


def test_query_into_a_closed_pipe_ends_quietly(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str]
):
    """`partner-metrics query ... | head -1`: far more output than a pipe holds."""
    reader = subprocess.Popen(
        [
            *CLI,
            "query",
            "select i, 'row ' || i as label from range(200000) as t(i)",
            "--limit",
            "0",
            "--warehouse",
            str(built_warehouse.warehouse),
        ],
        cwd=PROJECT_ROOT,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reader.stdout.readline().split() == [b"i", b"label"]
    reader.stdout.close()
    assert reader.wait(timeout=120) == 0
    assert reader.stderr.read() == b""


def test_reconcile_ends_with_a_verdict_per_source(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    result = run_cli(["reconcile", "--warehouse", str(built_warehouse.warehouse)], cli_env)
    assert result.returncode == 0, result.stderr
    verdicts = result.stdout.split("Verdict per source:\n", 1)[1].splitlines()
    sources = {line.split()[0] for line in verdicts}
    assert {"registry", "fx", "prometheus", "hubspot", "invoices", "gcp_billing"} <= sources
    assert all(any(v in line for v in ("balanced", "restated", "quarantined")) for line in verdicts)

    tampered = tmp_path / "w.duckdb"
    shutil.copy(built_warehouse.warehouse, tampered)
    with connect(tampered) as con:
        con.execute(
            "update marts.fct_reconciliation_verdicts set verdict = 'unexplained difference', "
            "unexplained_reason = 'landing records differ from raw rows + quarantined' "
            "where source = 'fx'"
        )
    result = run_cli(["reconcile", "--warehouse", str(tampered)], cli_env)
    assert result.returncode == 1
    assert (
        "fx                 unexplained difference  "
        "landing records differ from raw rows + quarantined"
    ) in result.stdout


@pytest.mark.parametrize(
    "command",
    [["query", "select 1"], ["reconcile"], ["snapshot", "--month", "2026-10"], ["docs"]],
    ids=lambda command: command[0],
)
def test_a_command_that_reads_a_missing_warehouse_says_how_to_build_one_and_creates_nothing(
    command: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    """`snapshot --warehouse <missing>` left an empty .duckdb and a Dagster instance behind,
    saying 'the warehouse was left as it was'; `docs` served the docs of an empty one.
    In-process, so a server it would start never replaces pytest."""
    monkeypatch.setattr(cli, "exec_server", lambda args, env: pytest.fail(f"started {args}"))
    missing = tmp_path / "typo" / "w.duckdb"
    assert cli.main([*command, "--warehouse", str(missing)]) == 1
    assert capsys.readouterr().err == (
        f"partner-metrics: no warehouse at {missing}; build it first: make demo (for "
        f"data/warehouse.duckdb), or partner-metrics build --landing DIR --warehouse {missing}\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_the_ui_over_a_missing_warehouse_starts_and_says_its_job_builds_one(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
):
    """The UI runs the pipeline itself, so a warehouse not built yet is no reason to refuse
    it: it starts (in-process, the server's start recorded instead), saying how one is built,
    and creates no warehouse file."""
    started = []
    monkeypatch.setattr(cli, "exec_server", lambda args, env: started.append(env))
    missing = tmp_path / "new" / "w.duckdb"
    assert cli.main(["ui", "--warehouse", str(missing)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        f"partner-metrics: no warehouse yet at {missing}; the UI's partner_metrics_pipeline job "
        "builds it (or partner-metrics build, make demo)"
    )
    assert [env["PARTNER_METRICS_WAREHOUSE"] for env in started] == [str(missing)]
    assert not missing.exists()


UI_READER = """
import sys
from dagster import DagsterInstance
ui = DagsterInstance.from_config(sys.argv[1])
print(len(ui.all_logs(sys.argv[2])))
ui.dispose()
"""


def test_another_process_reads_each_event_while_the_cli_keeps_its_connections(tmp_path: Path):
    # The CLI's storage keeps its connections open between events; another process (the UI,
    # with Dagster's own class) reads each committed event at once, and the CLI writes on
    # after that read: an idle kept connection holds no lock.
    run_id = "a" * 36

    def message(text: str) -> EventLogEntry:
        return EventLogEntry(
            error_info=None,
            level=20,
            user_message=text,
            run_id=run_id,
            timestamp=time.time(),
            job_name="job",
        )

    def ui_count() -> int:
        reader = [sys.executable, "-c", UI_READER, str(instance_dir(warehouse)), run_id]
        return int(subprocess.run(reader, capture_output=True, text=True, check=True).stdout)

    warehouse = tmp_path / "warehouse.duckdb"
    with open_instance(warehouse) as instance:
        instance.event_log_storage.store_event(message("first"))
        assert ui_count() == 1
        instance.event_log_storage.store_event(message("second"))
        assert ui_count() == 2
        assert [e.user_message for e in instance.all_logs(run_id)] == ["first", "second"]
