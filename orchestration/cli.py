"""`partner-metrics`: generate demo data, build the warehouse, query it, serve the UI.

`build` runs the Dagster job `partner_metrics_pipeline` in-process, recorded in the
warehouse's own Dagster instance (orchestration/instance.py) with the tags `source: cli`,
`landing` and `warehouse`. It builds into a copy of the warehouse and swaps the copy in only
when every step and every blocking check passed, so a failed build leaves the warehouse as it
was; a build that changed nothing (nothing new landed, so dbt did not run) discards the copy
and leaves the warehouse file untouched. The terminal shows one line per stage and a
summary; everything else goes to the run's log file (`--verbose` streams it too). Every error
message passes through the secret redactor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ingest.secrets import redact
from warehouse.paths import DATA_DIR, DBT_PROJECT_DIR, landing_path, snapshots_path, warehouse_path

if TYPE_CHECKING:
    from dagster import DagsterInstance, PartitionKeyRange

    from orchestration.console import LogFile, Progress
    from orchestration.instance import DeadRun
    from orchestration.settings import Settings

# Telemetry off for every library, for libraries that read only the environment. The Dagster
# instance (orchestration/dagster.yaml) and dbt (dbt_project.yml) also say so in their files.
QUIET_ENV = {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}


class BuildFailedError(RuntimeError):
    """A step or a blocking check failed; the message lists what, for a person to act on."""


def quiet_environment() -> None:
    """Telemetry defaults for this process and the processes it starts (dbt)."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)


def ensure_dbt_manifest() -> None:
    """dagster-dbt reads target/manifest.json when the definitions load: parse it when it is
    missing or older than any model, macro, test or project file, as `make` does.

    Builds of other warehouses may be reading it meanwhile: dbt parses into a folder of its
    own and the new manifest replaces the old in one rename, so a reader sees one or the other.
    """
    from orchestration.resources import dbt_executable

    target = DBT_PROJECT_DIR / "target"
    manifest = target / "manifest.json"
    inputs = [DBT_PROJECT_DIR / "dbt_project.yml"] + [
        path
        for folder in ("models", "macros", "tests")
        for path in (DBT_PROJECT_DIR / folder).rglob("*")
        if path.is_file()
    ]
    built = manifest.stat().st_mtime if manifest.exists() else 0.0
    if any(path.stat().st_mtime > built for path in inputs):
        target.mkdir(exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="parse-", dir=target) as parsed:
            subprocess.run(
                [
                    dbt_executable(),
                    "parse",
                    "--profiles-dir",
                    str(DBT_PROJECT_DIR),
                    "--target-path",
                    parsed,
                    "--quiet",
                ],
                cwd=DBT_PROJECT_DIR,
                check=True,
            )
            partial = Path(parsed) / "partial_parse.msgpack"  # absent when partial parse is off
            if partial.exists():
                os.replace(partial, target / partial.name)
            os.replace(Path(parsed) / "manifest.json", manifest)


def exec_server(args: list[str], env: dict[str, str]) -> None:
    """Replace this process with a server that stops on SIGTERM and Ctrl+C, whatever its
    parent blocked or ignored (a blocked or ignored signal survives exec)."""
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    os.execve(args[0], args, env)


@dataclass
class BuildResult:
    warehouse: Path
    snapshot: Path | None
    seconds: float
    log: Path
    run_id: str
    warnings: list[str] = field(default_factory=list)
    dead_runs: list[DeadRun] = field(default_factory=list)


def _copy_database(source: Path, target: Path) -> None:
    """Copy a DuckDB file with its write-ahead log, if any (nothing if it does not exist)."""
    from warehouse.connection import remove_database

    remove_database(target)
    for suffix in ("", ".wal"):
        source_file = Path(str(source) + suffix)
        if source_file.exists():
            shutil.copy2(source_file, Path(str(target) + suffix))


def _failed(command: str) -> str:
    """The first line of every failure of a command that writes the warehouse's instance."""
    return f"{command} failed; the warehouse was left as it was:"


@contextmanager
def _making_room(step: str, command: str = "build") -> Iterator[None]:
    """A write of `step` refused for want of space (warehouse/disk.py) fails the `command` in
    words, naming the step and the file; any other error passes unchanged."""
    from warehouse.disk import out_of_space

    try:
        yield
    except BuildFailedError:  # said already, by a step's own `_making_room`
        raise
    except Exception as error:
        space = out_of_space(error)
        if space is None:
            raise
        raise BuildFailedError(
            f"{_failed(command)}\n  {step} failed: {space}; make room and run {command} again"
        ) from error


def _writing_instance(warehouse: Path) -> str:
    """The step of a write to the warehouse's Dagster instance (its SQLite files, the build's
    log), as `_making_room` names it: SQLite's error does not name the file, so the folder."""
    from orchestration.instance import instance_dir

    return f"writing the Dagster instance {instance_dir(warehouse)}"


def build(
    landing: Path,
    warehouse: Path,
    snapshots: Path | None = None,
    verbose: bool = False,
    as_of: date | None = None,
    months: PartitionKeyRange | None = None,
    out: TextIO | None = None,
    full_refresh: bool = False,
    unit_tests: bool = True,
) -> BuildResult:
    """Ingest every source under `landing`, run dbt and the checks, publish a snapshot.

    `months` are the monthly partitions whose live data the run fetches again (default: the
    previous and the current month of the as-of day). dbt runs only when its inputs changed
    since the warehouse's last dbt build, or with `full_refresh` (then with dbt's
    `--full-refresh`). dbt's unit tests run when it rebuilds from scratch, unless not
    `unit_tests`. Progress lines go to `out`.
    """
    from ingest.quality import start_validation_workers
    from orchestration.console import LogFile, Progress, is_terminal, log_path
    from orchestration.instance import fail_dead_runs, instance_dir, open_instance
    from orchestration.partitions import clamp, recent_window
    from orchestration.settings import Settings
    from warehouse.connection import build_lock, compact, connect_read_only, remove_database
    from warehouse.snapshots import SnapshotError, latest_report

    out = out or sys.stdout
    quiet_environment()
    landing, warehouse = landing.resolve(), warehouse.resolve()
    snapshots = (snapshots or snapshots_path(warehouse)).resolve()
    if not landing.is_dir():
        raise BuildFailedError(f"landing folder {landing} does not exist")
    # As soon as the build can run (its run would start it after the prepare stage).
    start_validation_workers()
    window = clamp(months or recent_window(as_of or date.today()))
    started = time.monotonic()
    dead: list[DeadRun] = []
    # The log, the instance's SQLite files and the run's records in them: a write refused in
    # the instance's folder says so (copying and checkpointing the warehouse say their step).
    writing_instance = _writing_instance(warehouse)
    with _making_room(writing_instance):
        log = LogFile(log_path(instance_dir(warehouse)), verbose, terminal=sys.stderr)
    try:
        with _making_room(writing_instance):
            log.line(f"partner-metrics build: landing {landing}, warehouse {warehouse}")
        with Progress(out, live=is_terminal(out) and not verbose) as progress:
            # Until the first step starts: dbt parse if models changed, definitions, instance.
            progress.begin("prepare", "dbt manifest, definitions, Dagster instance")
            ensure_dbt_manifest()
            with (
                build_lock(warehouse),
                _making_room(writing_instance),
                open_instance(warehouse) as instance,
            ):
                for run in fail_dead_runs(instance, holding_lock=True):
                    dead.append(run)
                    log.line(str(run))
                    progress.line("cleanup", f"run {run.run_id[:8]} of a killed process failed", 0)
                staging = warehouse.with_name(warehouse.name + ".building")
                settings = Settings(
                    landing=str(landing),
                    warehouse=str(staging),
                    snapshots=str(snapshots),
                    as_of=as_of.isoformat() if as_of else None,
                    full_refresh=full_refresh,
                    unit_tests=unit_tests,
                )
                tags = _cli_run_tags(warehouse, landing=str(landing))
                passed_run = None  # the run, once its steps all passed
                try:
                    with _making_room("copying the warehouse"):
                        _copy_database(warehouse, staging)
                    before = _warehouse_state(staging)
                    result = _run_pipeline(settings, instance, tags, window, log, progress)
                    passed_run = instance.get_run_by_id(result.run_id)
                    changed = before is None or _warehouse_state(staging) != before
                    if changed:
                        with _making_room("checkpointing the new warehouse before the swap"):
                            compact(staging, settings.duckdb_config())
                except BaseException as error:
                    remove_database(staging)
                    if passed_run is not None:  # the build failed after it: so did the run
                        # (unless the instance's storage, on the same full disk, cannot say so)
                        with suppress(Exception):
                            instance.report_run_failed(passed_run, redact(str(error)))
                    raise
                if changed:
                    Path(str(warehouse) + ".wal").unlink(missing_ok=True)
                    os.replace(staging, warehouse)
                else:  # the copy holds what the warehouse holds: keep the file as it is
                    remove_database(staging)
                    log.line("nothing changed in the warehouse: its file was left as it was")
                if result.snapshot is None:  # not published by this run: the month's current one
                    with connect_read_only(warehouse) as con, suppress(SnapshotError):
                        result.snapshot = latest_report(con, snapshots)
    except BuildFailedError as error:
        with suppress(OSError):  # a full disk may refuse the log too: the terminal has the words
            log.line(str(error))
            if error.__cause__ is not None:  # the terminal has its words, the log its traceback
                log.line("".join(traceback.format_exception(error.__cause__)))
        raise BuildFailedError(f"{error}\nLog: {log.path}") from None
    finally:
        with suppress(OSError):  # the lines a full disk refused, which closing writes again
            log.close()
    return BuildResult(
        warehouse,
        result.snapshot,
        time.monotonic() - started,
        log.path,
        result.run_id,
        result.warnings,
        dead,
    )


def _cli_run_tags(warehouse: Path, **more: str) -> dict[str, str]:
    """The tags of a run a CLI command executes in its own process, that process among them
    from the start: killed before its run takes the warehouse lock (where a run launched from
    the UI records its process), the run is still failed as dead (orchestration/instance.py)."""
    from orchestration.instance import PROCESS_TAG, this_process

    return {"source": "cli", "warehouse": str(warehouse), **more, PROCESS_TAG: this_process()}


def _warehouse_state(path: Path) -> tuple | None:
    """What a build can change in the DuckDB file at `path` (warehouse/build_state.py); None
    when there is no file yet."""
    import duckdb

    from warehouse.build_state import warehouse_state

    if not path.exists():
        return None
    with duckdb.connect(str(path), read_only=True) as con:
        return warehouse_state(con)


@dataclass
class PipelineRun:
    run_id: str
    snapshot: Path | None
    warnings: list[str]


def _run_pipeline(
    settings: Settings,
    instance: DagsterInstance,
    tags: dict[str, str],
    window: PartitionKeyRange,
    log: LogFile,
    progress: Progress,
) -> PipelineRun:
    """Run the pipeline job; return its warnings or raise BuildFailedError with its failures."""
    from orchestration.console import captured_output, run_logger
    from orchestration.definitions import make_definitions
    from orchestration.partitions import window_tags
    from orchestration.schedules import PIPELINE_JOB

    errors: list[str] = []
    definitions = make_definitions(settings, loggers={"cli": run_logger(log, progress, errors)})
    job = definitions.resolve_job_def(PIPELINE_JOB)
    with captured_output(log, progress):
        result = job.execute_in_process(
            instance=instance,
            tags={**tags, **window_tags(window)},
            run_config={"loggers": {"cli": {}}},
            raise_on_error=False,
        )
    progress.finish()
    if not result.success:
        raise BuildFailedError(_failure_report(result, errors))
    snapshot = None
    for event in result.all_events:
        if event.is_step_materialization and event.step_key == "metric_snapshot":
            report = event.event_specific_data.materialization.metadata.get("report")
            snapshot = Path(str(report.value)) if report is not None else None
    evaluations = [
        event.event_specific_data
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    warnings = [
        _evaluation_line(evaluation, "warned")
        for evaluation in evaluations
        if not evaluation.passed and evaluation.severity.value == "WARN"
    ]
    # The tests this run did not run (dbt did not run, or built only what changed): their
    # data is unchanged, so their warnings from an earlier build still hold.
    ran = {evaluation.check_name for evaluation in evaluations}
    warnings += _last_dbt_warnings(settings.warehouse_file, ran)
    return PipelineRun(result.run_id, snapshot, warnings)


def _last_dbt_warnings(warehouse: Path, ran: Collection[str] = ()) -> list[str]:
    """The dbt tests that warned when they last ran (audit.dbt_test_results), but those
    named in `ran`, each with the time of the dbt build that ran it: a build that rebuilt
    only what changed keeps the outcomes of the other tests from earlier builds."""
    import duckdb

    from orchestration.dbt import failing_rows_description

    with duckdb.connect(str(warehouse), read_only=True) as con:
        try:
            warned = con.execute(
                "select test_name, model_name, failures, recorded_at "
                "from audit.dbt_test_results where status = 'warn' order by test_name"
            ).fetchall()
        except duckdb.CatalogException:
            return []
    return [
        _check_line(
            test,
            model,
            f"warned in the dbt build of {recorded_at:%b %d %H:%M}",
            failing_rows_description(failures, []),
        )
        for test, model, failures, recorded_at in warned
        if test not in ran
    ]


def snapshot(warehouse: Path, snapshots: Path, month: date) -> str:
    """Publish the month's snapshot from `warehouse` as a Dagster run (shown in the UI); say
    which version is current and whether it was written."""
    from dagster import materialize

    from orchestration.instance import open_instance
    from orchestration.resources import build_resources
    from orchestration.settings import Settings
    from orchestration.snapshots import metric_snapshot
    from warehouse.connection import require_warehouse

    warehouse = require_warehouse(warehouse.resolve())
    quiet_environment()
    ensure_dbt_manifest()
    defaults = Settings.from_environment()
    settings = Settings(
        landing=defaults.landing,
        warehouse=str(warehouse),
        snapshots=str(snapshots.resolve()),
        as_of=defaults.as_of,
    )
    with (
        _making_room(_writing_instance(warehouse), "snapshot"),
        open_instance(warehouse) as instance,
    ):
        result = materialize(
            [metric_snapshot],
            resources=build_resources(settings),
            instance=instance,
            tags=_cli_run_tags(warehouse),
            raise_on_error=False,
            run_config={
                "ops": {"metric_snapshot": {"config": {"month": f"{month:%Y-%m}"}}},
                # The failure report below says what went wrong, in one line.
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
            },
        )
    if not result.success:
        raise BuildFailedError(_failure_report(result, command="snapshot"))
    metadata = result.asset_materializations_for_node("metric_snapshot")[0].metadata
    version, report = metadata["version"].value, metadata["report"].value
    if metadata["written"].value:
        return f"published {month:%Y-%m} v{version}: {report}"
    return f"{month:%Y-%m} unchanged since v{version}, nothing written: {report}"


def _check_line(check: str, model: str, outcome: str, description: str | None) -> str:
    """'check <check> on <model> <outcome>: <description>': the one wording of a check in the
    terminal, whether a build's run reported it or an earlier dbt build recorded it. The model
    or table goes by its name (`int_x`, as in `select * from intermediate.int_x`), not by its
    asset key (`intermediate/int_x`): the name is what audit.dbt_test_results records."""
    reason = f": {description}" if description else ""
    return redact(f"check {check} on {model} {outcome}{reason}")


def _evaluation_line(evaluation, outcome: str) -> str:
    """A Dagster check evaluation in words; its asset key is [schema, name]."""
    model = evaluation.asset_key.path[-1]
    return _check_line(evaluation.check_name, model, outcome, evaluation.description)


def _failure_report(result, errors: Sequence[str] = (), command: str = "build") -> str:
    """What failed in the `command`'s run, in words: failed steps with their reason, failed
    blocking checks, then the steps Dagster did not run because of them."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.event_specific_data
            failure = data.user_failure_data
            if failure is not None and failure.description:  # a Failure raised on purpose
                message = failure.description
            else:  # an exception: its root cause, not Dagster's wrappers
                error = data.error
                while error is not None and error.cause is not None:
                    error = error.cause
                if error is not None and error.cls_name == "DagsterAssetCheckFailedError":
                    continue  # the failed check has its own line
                message = error.message.strip() if error else "unknown error"
            lines.append(redact(_step_failed_line(event.step_key, message, command)))
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity.value == "ERROR":
                lines.append(_evaluation_line(evaluation, "failed"))
    lines += [_not_run_line(error) for error in errors]
    return f"{_failed(command)}\n  " + "\n  ".join(lines or ["a step failed (see the log)"])


def _step_failed_line(step: str, message: str, command: str = "build") -> str:
    """A failed step of the `command`'s run in words; a write refused for want of space (a
    load's commit, whose DuckDB error names the file) says what to do, as `_making_room` does,
    unless the step's own words say it already (a snapshot that could not be written)."""
    from warehouse.disk import out_of_space

    advised = "make room" in message
    hint = f"; make room and run {command} again" if out_of_space(message) and not advised else ""
    return f"step {step} failed: {message}{hint}"


NOT_EXECUTING = re.compile(
    r"Dependencies for step (?P<step>\S+)(?: failed: \[(?P<failed>[^\]]*)\])?"
    r"(?: were not executed: \[(?P<skipped>[^\]]*)\])?\. Not executing\."
)


def _not_run_line(message: str) -> str:
    """Dagster's 'Dependencies for step X failed: [...]. Not executing.' in a few words."""
    match = NOT_EXECUTING.fullmatch(message.strip())
    if match is None:
        return message
    reasons = []
    for group, verb in (("failed", "failed"), ("skipped", "did not run")):
        if match[group]:
            steps = dict.fromkeys(step.strip(" '") for step in match[group].split(","))
            reasons.append(f"{', '.join(steps)} {verb}")
    return f"step {match['step']} not run: {'; '.join(reasons)}"


def reconcile(warehouse: Path) -> tuple[str, bool]:
    """The verdict per source (marts.fct_reconciliation_verdicts) after the stages table;
    and whether every source is explained."""
    from orchestration.query import as_table, run_query
    from warehouse.snapshots import RECONCILIATION_SQL

    stages = as_table(run_query(warehouse, RECONCILIATION_SQL, limit=0))
    verdicts = run_query(
        warehouse,
        "select source, verdict, records_read, rows_raw, rows_quarantined, rows_restated, "
        "unexplained_reason from marts.fct_reconciliation_verdicts order by source",
        limit=0,
    )
    lines = [stages, "", "Verdict per source:"]
    for source, verdict, read, raw, quarantined, restated, reason in verdicts.rows:
        if verdict == "unexplained difference":
            detail = reason
        elif source == "cloud costs, all":
            detail = "staging = normalised per currency; normalised = marts in USD"
        else:
            detail = f"{read:,} records read = {raw:,} in raw + {quarantined:,} quarantined"
            if restated:
                detail += f"; {restated:,} rows of earlier deliveries replaced in staging"
        lines.append(f"  {source:<18} {verdict:<23} {detail}")
    explained = all(row[1] != "unexplained difference" for row in verdicts.rows)
    return "\n".join(lines), explained


# `dagster dev` warns at every start that `dg dev` supersedes it. dg (dagster-dg-cli) is not in
# uv.lock and serves a dg project or workspace (dg.toml, `[tool.dg]`), which this is not, so
# the UI stays on `dagster dev`, with that one warning filtered in its own process only
# (`python -W`, matching the start of the message).
DAGSTER_DEV_SUPERSEDED = "ignore:Function `dev_command` is superseded"


def ui(warehouse: Path, landing: Path, snapshots: Path, host: str, port: int) -> int:
    """Serve the Dagster UI over this warehouse's own instance (replaces this process)."""
    from orchestration.instance import fail_dead_runs, open_instance, prepare_instance_dir
    from orchestration.schedules import pipeline_job
    from warehouse.connection import WarehouseBusyError, build_lock

    warehouse, landing, snapshots = warehouse.resolve(), landing.resolve(), snapshots.resolve()
    if not warehouse.is_file():  # the UI's own jobs build one: said, not refused
        print(
            f"partner-metrics: no warehouse yet at {warehouse}; the UI's {pipeline_job.name} job "
            "builds it (or partner-metrics build, make demo)",
            flush=True,
        )
    ensure_dbt_manifest()
    with _making_room(_writing_instance(warehouse), "ui"):
        home = prepare_instance_dir(warehouse)
        with open_instance(warehouse) as instance:
            try:
                with build_lock(warehouse):
                    dead = fail_dead_runs(instance, holding_lock=True)
            except WarehouseBusyError:  # a build is running: only runs of dead processes
                dead = fail_dead_runs(instance, holding_lock=False)
    for run in dead:
        print(f"partner-metrics: {run}")
    env = {
        **os.environ,
        **QUIET_ENV,
        "DAGSTER_HOME": str(home),
        "PARTNER_METRICS_WAREHOUSE": str(warehouse),
        "PARTNER_METRICS_LANDING": str(landing),
        "PARTNER_METRICS_SNAPSHOTS": str(snapshots),
    }
    args = [sys.executable, "-W", DAGSTER_DEV_SUPERSEDED, "-m", "dagster", "dev"]
    args += ["-h", host, "-p", str(port), "-m", "orchestration.definitions"]
    print(f"Dagster UI on http://{host}:{port} (instance {home})", flush=True)
    exec_server(args, env)
    return 0  # not reached


def docs(warehouse: Path, port: int) -> int:
    """Generate dbt's docs against the warehouse and serve them on 127.0.0.1 (offline).

    They are written beside the warehouse's Dagster instance (`<name>.dagster/docs/`), not to
    the project's target folder, whose manifest the pipeline of every warehouse reads.
    """
    from orchestration.instance import prepare_instance_dir
    from orchestration.resources import dbt_executable
    from orchestration.settings import Settings
    from warehouse.connection import require_warehouse

    warehouse = require_warehouse(warehouse.resolve())
    dbt_vars = Settings(
        landing=str(landing_path()), warehouse=str(warehouse), snapshots=""
    ).dbt_vars()
    target = prepare_instance_dir(warehouse) / "docs"
    common = ["--profiles-dir", str(DBT_PROJECT_DIR), "--vars", json.dumps(dbt_vars)]
    common += ["--target-path", str(target)]
    env = {**os.environ, **QUIET_ENV}
    # In full: a partial parse from the docs of an older project can lose descriptions
    # (see the Makefile's parse).
    subprocess.run(
        [dbt_executable(), "docs", "generate", *common, "--no-partial-parse", "--quiet"],
        cwd=DBT_PROJECT_DIR,
        env=env,
        check=True,
    )
    args = [dbt_executable(), "docs", "serve", *common, "--host", "127.0.0.1"]
    args += ["--port", str(port), "--no-browser"]
    print(f"dbt docs on http://127.0.0.1:{port} (from {target})", flush=True)
    os.chdir(DBT_PROJECT_DIR)
    exec_server(args, env)
    return 0  # not reached


SNAPSHOTS_HELP = "default $PARTNER_METRICS_SNAPSHOTS, else snapshots/ beside the warehouse"


def _parser() -> argparse.ArgumentParser:
    from orchestration.partitions import parse_window
    from orchestration.query import DEFAULT_LIMIT, FORMATS

    parser = argparse.ArgumentParser(prog="partner-metrics", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate the demo landing data and build it")
    demo.add_argument(
        "--out",
        type=Path,
        default=DATA_DIR,
        help="folder for landing/, warehouse.duckdb and snapshots/ (default data/)",
    )

    build_cmd = commands.add_parser("build", help="ingest a landing folder, run dbt and checks")
    build_cmd.add_argument("--landing", type=Path, required=True)
    build_cmd.add_argument("--warehouse", type=Path, required=True)
    build_cmd.add_argument(
        "--snapshots",
        type=Path,
        default=None,
        help=f"where to publish the snapshot ({SNAPSHOTS_HELP})",
    )
    build_cmd.add_argument(
        "--months",
        type=parse_window,
        default=None,
        metavar="YYYY-MM[:YYYY-MM]",
        help="fetch these months again from the live sources (default: the previous and the "
        "current month)",
    )
    build_cmd.add_argument(
        "--full-refresh",
        action="store_true",
        help="run dbt even when nothing changed since the last build, rebuilding incremental "
        "models from scratch (dbt build --full-refresh)",
    )
    build_cmd.add_argument(
        "--no-unit-tests",
        dest="unit_tests",
        action="store_false",
        help="leave out dbt's unit tests even when the project changed: they check SQL on "
        "given rows, not data (for deployments whose project passed make test)",
    )
    for command in (demo, build_cmd):
        command.add_argument(
            "--verbose", action="store_true", help="stream the log (Dagster and dbt) too"
        )
        command.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="the day the marts describe, YYYY-MM-DD (default today)",
        )

    query_cmd = commands.add_parser("query", help="run read-only SQL against the warehouse")
    query_cmd.add_argument("sql")
    query_cmd.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        help=f"at most this many rows (default {DEFAULT_LIMIT}; 0 for all)",
    )
    query_cmd.add_argument("--format", choices=FORMATS, default="table", help="default table")
    reconcile_cmd = commands.add_parser(
        "reconcile", help="rows and money of every source at each stage, and a verdict"
    )
    ui_cmd = commands.add_parser("ui", help="serve the Dagster UI over a warehouse")
    ui_cmd.add_argument(
        "--landing",
        type=Path,
        default=None,
        help="default $PARTNER_METRICS_LANDING, else data/landing",
    )
    ui_cmd.add_argument("--snapshots", type=Path, default=None, help=SNAPSHOTS_HELP)
    ui_cmd.add_argument("--host", default="127.0.0.1", help="default 127.0.0.1")
    ui_cmd.add_argument("--port", type=int, default=3000, help="default 3000")
    docs_cmd = commands.add_parser("docs", help="generate and serve dbt's docs (offline)")
    docs_cmd.add_argument("--port", type=int, default=8080, help="default 8080")
    snapshot_cmd = commands.add_parser(
        "snapshot", help="publish the monthly snapshot (metrics, report) of the warehouse's month"
    )
    snapshot_cmd.add_argument(
        "--month",
        type=lambda text: date.fromisoformat(text + "-01"),
        required=True,
        help="YYYY-MM, the month the warehouse describes",
    )
    snapshot_cmd.add_argument("--snapshots", type=Path, default=None, help=SNAPSHOTS_HELP)
    # Each reads the warehouse the environment names unless told: as the UI and notebooks do.
    for command in (query_cmd, reconcile_cmd, ui_cmd, docs_cmd, snapshot_cmd):
        command.add_argument(
            "--warehouse",
            type=Path,
            default=None,
            help="default $PARTNER_METRICS_WAREHOUSE, else data/warehouse.duckdb",
        )

    commands.add_parser("bench", help="time and memory of the pipeline at scale (make bench)")
    generate = commands.add_parser("generate", help="write demo landing data only")
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--seed", type=int, default=42, help="default 42")
    generate.add_argument("--months", type=int, default=36, help="default 36")
    generate.add_argument("--partners", type=int, default=30, help="default 30")
    generate.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="the day the data ends (default today)",
    )
    return parser


def _generate(out: Path, progress_out: TextIO, **options) -> str:
    from ingest.demo import generate as generate_landing
    from orchestration.console import Progress

    started = time.monotonic()
    world = generate_landing(out, **options)
    description = (
        f"{len(world.partners)} partners, {len(world.hubs)} hubs, {len(world.months)} months"
    )
    Progress(progress_out, live=False).line("generate", description, time.monotonic() - started)
    return description


def _print(text: str, stream: TextIO | None = None) -> None:
    """Print, and on a closed pipe (`... | head`) stop quietly."""
    stream = stream or sys.stdout
    try:
        stream.write(text + "\n")
        stream.flush()
    except BrokenPipeError:
        # Python would report the closed pipe again when it flushes at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())
        raise


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # its own flags: benchmarks/pipeline.py
        from benchmarks.pipeline import main as bench

        return bench(argv[1:])
    args = _parser().parse_args(argv)
    quiet_environment()
    import duckdb

    from orchestration.summary import summary
    from warehouse.connection import WarehouseBusyError, WarehouseMissingError

    warehouse = getattr(args, "warehouse", None) or warehouse_path()
    try:
        if args.command == "generate":
            _generate(
                args.out,
                sys.stdout,
                seed=args.seed,
                months=args.months,
                partners=args.partners,
                as_of=args.as_of,
            )
            return 0
        if args.command == "query":
            from orchestration.query import formatted, left_out_note, run_query

            result = run_query(warehouse, args.sql, args.limit)
            _print(formatted(result, args.format))
            note = left_out_note(result)
            if note and args.format != "table":
                _print(note, sys.stderr)
            return 0
        if args.command == "reconcile":
            text, explained = reconcile(warehouse)
            _print(text)
            return 0 if explained else 1
        if args.command == "snapshot":
            _print(snapshot(warehouse, args.snapshots or snapshots_path(warehouse), args.month))
            return 0
        if args.command == "ui":
            return ui(
                warehouse,
                args.landing or landing_path(),
                args.snapshots or snapshots_path(warehouse),
                args.host,
                args.port,
            )
        if args.command == "docs":
            return docs(warehouse, args.port)
        if args.command == "demo":
            landing = args.out / "landing"
            _generate(landing, sys.stdout, as_of=args.as_of)
            result = build(
                landing,
                args.out / "warehouse.duckdb",
                args.out / "snapshots",
                verbose=args.verbose,
                as_of=args.as_of,
            )
        else:
            result = build(
                args.landing,
                args.warehouse,
                args.snapshots,
                verbose=args.verbose,
                as_of=args.as_of,
                months=args.months,
                full_refresh=args.full_refresh,
                unit_tests=args.unit_tests,
            )
        _print(
            "\n"
            + summary(
                result.warehouse, result.snapshot, result.warnings, result.log, result.seconds
            )
        )
        return 0
    except BrokenPipeError:
        return 0
    except (
        BuildFailedError,
        WarehouseBusyError,
        WarehouseMissingError,
        duckdb.Error,
        subprocess.CalledProcessError,
    ) as error:
        print(redact(f"partner-metrics: {error}"), file=sys.stderr)
        return 1
    except Exception:  # a bug: its traceback, redacted like everything else
        print(redact(traceback.format_exc()), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
