"""A build that runs out of disk space, with real processes: the CLI runs in a child process
whose file-size limit (RLIMIT_FSIZE, with SIGXFSZ ignored) makes a write past it fail with
EFBIG, "File too large", as a full disk fails one with ENOSPC. At each point the build
exits 1, says in words what ran out and what it was writing, leaves the warehouse file
byte for byte as it was and nothing beside it, and the next build without the limit
succeeds with the marts of a clean build.

The limit is one per file, for every file the process and its children write, so it falls
where a file first grows past it: below the warehouse's size, on the copy the build works
on; a little above it, on that copy when DuckDB checkpoints it (ingestion and dbt write into
its write-ahead log, far smaller than the warehouse, and a checkpoint that fails as dbt
exits leaves their writes in that log). The snapshot's files are smaller than the
warehouse, so a build always stops at its copy first; the snapshot command, which
publishes from a warehouse without copying it, shows what a snapshot that cannot be
written leaves. The Dagster instance's SQLite files stop the build first where the instance
is new: it makes them before the copy (a warehouse without its instance folder), and a first
build, which has no warehouse to copy, records its run in them before it writes anything else.
"""

from __future__ import annotations

import hashlib
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
import sqlalchemy
from dagster import DagsterRunStatus

from orchestration.cli import _step_failed_line
from orchestration.instance import (
    PROCESS_TAG,
    DeadRun,
    fail_dead_runs,
    instance_dir,
    open_instance,
)
from tests.conftest import SMALL_WORLD, BuiltWarehouse, build_cli, run_cli
from tests.test_cli_build import built_run_id, contents
from tests.test_ui import free_port
from warehouse.disk import out_of_space

pytestmark = pytest.mark.slow(
    80, reason="CLI builds, snapshots and UI starts that a file-size limit fails"
)

# DuckDB grows a database file by blocks of this size (its default block size).
DUCKDB_BLOCK = 256 * 1024
# A build writes in the instance's folder, in this order, the first line of its log (some
# 150 bytes: the line names the landing and the warehouse), the instance's dagster.yaml (467
# bytes), and, for a new instance, its run storage (runs.db, some 160 kB once its tables and
# indexes are made), all before it copies the warehouse. Measured, a build of a warehouse
# without its instance stops in SQLite from a limit of 467 bytes up to 110 kB; at 120 kB
# copying the warehouse stops it instead.
NEW_INSTANCE_LIMIT = 64 * 1024
# Below the log's first line: what a disk with no room at all refuses first.
LOG_LIMIT = 64
# A first build's run records its planned steps when it starts, in one write of over 4 MB to
# the event log's SQLite (measured: stopped there at 1 and 4 MB; at 8 MB its warehouse's
# checkpoint stops it instead).
FIRST_RUN_LIMIT = 1024 * 1024


def file_size_limit(limit: int) -> Callable[[], None]:
    """For `preexec_fn`: no file written by the child (and what it starts) grows past `limit`
    bytes; the write that would fails with EFBIG instead of the signal killing the process."""

    def limit_file_size() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))

    return limit_file_size


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Case:
    """A copy of the small world's built warehouse, in a folder of its own with its Dagster
    instance, restricted database and snapshots; the CLI's temporary files go to `temp`."""

    landing: Path
    warehouse: Path
    snapshots: Path
    temp: Path
    env: dict[str, str]

    @property
    def folder(self) -> Path:
        return self.warehouse.parent

    def build(self, limit: int | None = None, options: tuple[str, ...] = ()):
        return build_cli(
            self.landing,
            self.warehouse,
            self.env,
            snapshots=self.snapshots,
            as_of=SMALL_WORLD["as_of"],
            options=options,
            preexec_fn=file_size_limit(limit) if limit is not None else None,
        )

    def listing(self) -> list[str]:
        """Every file and folder of the case but the Dagster instance's and lock files, which
        every build keeps (the run's log, its events, the flock files)."""
        instance = self.warehouse.with_suffix(".dagster")
        return sorted(
            str(path.relative_to(self.folder))
            for path in self.folder.rglob("*")
            if not path.is_relative_to(instance) and path.suffix != ".lock"
        )

    def run_ids(self) -> dict[str, DagsterRunStatus]:
        with open_instance(self.warehouse) as instance:
            return {run.run_id: run.status for run in instance.get_runs()}


def new_case(built: BuiltWarehouse, env: dict[str, str], folder: Path, instance: bool) -> Case:
    warehouse = folder / built.warehouse.name
    shutil.copy(built.warehouse, warehouse)
    restricted = built.warehouse.with_name("warehouse.restricted.duckdb")
    shutil.copy(restricted, folder / restricted.name)
    if instance:
        dagster = built.warehouse.with_suffix(".dagster")
        shutil.copytree(dagster, folder / dagster.name)
    temp = folder / "tmp"
    temp.mkdir()
    return Case(built.landing, warehouse, folder / "snapshots", temp, {**env, "TMPDIR": str(temp)})


@pytest.fixture
def case(built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path) -> Case:
    """The warehouse as an operator has it: its instance beside it, its snapshots published."""
    case = new_case(built_warehouse, cli_env, tmp_path, instance=True)
    shutil.copytree(built_warehouse.snapshots, case.snapshots)
    return case


def the_line_naming(text: str, file: Path) -> str:
    """The one line of `text` that names `file` (but the line that gives the log's path)."""
    lines = [
        line for line in text.splitlines() if str(file) in line and not line.startswith("Log: ")
    ]
    assert len(lines) == 1, text
    return lines[0]


def assert_failed_in_words(result, file: Path, *words: str) -> None:
    """Exit 1 without a traceback, the warehouse said to be as it was, and the one line that
    names `file` saying each of `words`."""
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr, result.stderr
    assert "the warehouse was left as it was" in result.stderr
    line = the_line_naming(result.stderr, file)
    assert all(word in line for word in words), line


def assert_left_as_it_was(case: Case, digest: str, listing: list[str]) -> None:
    assert sha256(case.warehouse) == digest
    assert case.listing() == listing  # no copy, write-ahead log, spill or partial file
    assert not list(case.temp.iterdir())


def assert_marts_of_a_clean_build(case: Case, built: BuiltWarehouse) -> None:
    marts = contents(case.warehouse)
    assert marts == contents(built.warehouse)
    assert marts["marts.fct_headline_metrics"] and marts["marts.dim_partners"]


def test_a_disk_full_while_copying_the_warehouse_changes_nothing(
    case: Case, built_warehouse: BuiltWarehouse
):
    digest, listing, runs = sha256(case.warehouse), case.listing(), case.run_ids()
    copy = case.warehouse.with_name(case.warehouse.name + ".building")

    result = case.build(limit=case.warehouse.stat().st_size // 2)

    assert_failed_in_words(result, copy, "copying the warehouse", "file size limit")
    assert_left_as_it_was(case, digest, listing)
    assert case.run_ids() == runs  # no run started: the copy comes first

    again = case.build()
    assert again.returncode == 0, again.stderr[-3000:]
    assert_marts_of_a_clean_build(case, built_warehouse)


def test_a_disk_full_while_the_build_writes_its_copy_changes_nothing_and_fails_the_run(
    case: Case, built_warehouse: BuiltWarehouse
):
    """dbt rebuilds every model (--full-refresh): the copy grows past the warehouse's size."""
    digest, listing, runs = sha256(case.warehouse), case.listing(), case.run_ids()
    copy = case.warehouse.with_name(case.warehouse.name + ".building")
    # Room for the copy and one more block of DuckDB's, not for what a rebuild writes.
    limit = case.warehouse.stat().st_size + DUCKDB_BLOCK

    result = case.build(limit=limit, options=("--full-refresh",))

    assert_failed_in_words(result, copy, "checkpointing", "file size limit")
    assert_left_as_it_was(case, digest, listing)
    (run,) = set(case.run_ids()) - set(runs)
    assert case.run_ids()[run] == DagsterRunStatus.FAILURE

    # Without --full-refresh (30 s less): the warehouse is the first build's, so the next build
    # finds nothing to do since that build, not since the failed one.
    again = case.build()
    assert again.returncode == 0, again.stderr[-3000:]
    first_run = built_run_id(built_warehouse.warehouse)
    assert f"nothing changed since run {first_run[:8]}" in again.stdout, again.stdout
    assert_marts_of_a_clean_build(case, built_warehouse)


def test_a_new_instance_that_cannot_be_written_fails_the_build_in_words(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    """The warehouse was moved without its `.dagster` folder: the build makes a new instance
    beside it, whose SQLite files the limit refuses (SQLite's 'disk I/O error' was a
    traceback). The line names the instance's folder; its traceback goes to the log."""
    case = new_case(built_warehouse, cli_env, tmp_path, instance=False)
    shutil.copytree(built_warehouse.snapshots, case.snapshots)
    digest, listing = sha256(case.warehouse), case.listing()
    instance = instance_dir(case.warehouse)

    result = case.build(limit=NEW_INSTANCE_LIMIT)

    assert_failed_in_words(
        result,
        instance,
        "writing the Dagster instance",
        "file size limit",
        "disk I/O error",
        "make room and run build again",
    )
    assert_left_as_it_was(case, digest, listing)
    (log,) = (instance / "logs").iterdir()
    assert "sqlite3.OperationalError: disk I/O error" in log.read_text()

    again = case.build()
    assert again.returncode == 0, again.stderr[-3000:]
    assert_marts_of_a_clean_build(case, built_warehouse)


def test_a_first_build_whose_run_cannot_be_recorded_fails_in_words(
    small_landing: Path, cli_env: dict[str, str], tmp_path: Path
):
    """No warehouse and no instance yet: the run's first records are what the limit refuses,
    inside Dagster's run (whose SQLAlchemy error was a traceback); no warehouse is left."""
    warehouse = tmp_path / "warehouse.duckdb"

    result = build_cli(
        small_landing,
        warehouse,
        cli_env,
        as_of=SMALL_WORLD["as_of"],
        preexec_fn=file_size_limit(FIRST_RUN_LIMIT),
    )

    assert_failed_in_words(
        result, instance_dir(warehouse), "writing the Dagster instance", "file size limit"
    )
    assert sorted(path.name for path in tmp_path.iterdir() if path.suffix != ".lock") == [
        "warehouse.dagster"
    ]
    # Its run was created but never started; its process is gone, so it is failed (as the UI's
    # sensor would, without the lock), not left "not started" for ever.
    with open_instance(warehouse) as instance:
        (run,) = instance.get_runs()
        assert run.status == DagsterRunStatus.NOT_STARTED
        dead = fail_dead_runs(instance, holding_lock=False)
        pid = run.tags[PROCESS_TAG].split(":")[1]
        assert dead == [
            DeadRun(run.run_id, run.job_name, f"its process {pid} ended without finishing it")
        ]
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE


def test_a_log_that_cannot_be_written_fails_the_build_in_words(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    """The log's first line (an OSError's traceback before) names the instance's folder too."""
    case = new_case(built_warehouse, cli_env, tmp_path, instance=False)
    digest, listing = sha256(case.warehouse), case.listing()

    result = case.build(limit=LOG_LIMIT)

    assert_failed_in_words(
        result,
        instance_dir(case.warehouse),
        "writing the Dagster instance",
        "the file size limit was reached (File too large)",
        "make room and run build again",
    )
    assert_left_as_it_was(case, digest, listing)


@pytest.mark.parametrize("command", ["snapshot", "ui"])
def test_snapshot_and_ui_say_a_new_instance_cannot_be_written(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path, command: str
):
    """Both open the warehouse's instance (the UI's server would start after), here new."""
    case = new_case(built_warehouse, cli_env, tmp_path, instance=False)
    digest, listing = sha256(case.warehouse), case.listing()
    options = {
        "snapshot": ["--month", "2026-10", "--snapshots", str(case.snapshots)],
        "ui": ["--landing", str(case.landing), "--port", str(free_port())],
    }[command]

    result = run_cli(
        [command, "--warehouse", str(case.warehouse), *options],
        case.env,
        timeout=120,
        preexec_fn=file_size_limit(NEW_INSTANCE_LIMIT),
    )

    assert f"{command} failed; the warehouse was left as it was" in result.stderr
    assert_failed_in_words(
        result,
        instance_dir(case.warehouse),
        "writing the Dagster instance",
        "file size limit",
        f"make room and run {command} again",
    )
    assert_left_as_it_was(case, digest, listing)


def test_sqlite_full_through_sqlalchemy_is_a_full_disk(tmp_path: Path):
    """SQLite's SQLITE_FULL ('database or disk is full', ENOSPC's error), made here by a page
    cap, reaches the CLI wrapped by SQLAlchemy, which names no file."""
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'capped.db'}")
    with engine.connect() as conn:
        conn.exec_driver_sql("create table t (x text)")
        conn.exec_driver_sql("pragma max_page_count = 2")
        with pytest.raises(sqlalchemy.exc.OperationalError) as raised:
            conn.exec_driver_sql("insert into t values (?)", ("x" * 10_000,))
    engine.dispose()

    space = out_of_space(raised.value)

    assert space is not None
    assert str(space) == "the disk is full (SQLite: database or disk is full)"


def test_a_snapshot_that_cannot_be_written_leaves_no_partial_folder(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    """Published to a new snapshots folder, from a warehouse whose instance is new too (the
    instance's files, as large as the report, would reach the limit first)."""
    case = new_case(built_warehouse, cli_env, tmp_path, instance=False)
    case.snapshots.mkdir()
    digest, listing = sha256(case.warehouse), case.listing()
    report = built_warehouse.snapshots / "2026-10" / "v1" / "report.html"
    command = ["snapshot", "--month", "2026-10", "--warehouse", str(case.warehouse)]
    command += ["--snapshots", str(case.snapshots)]

    result = run_cli(command, case.env, preexec_fn=file_size_limit(report.stat().st_size // 2))

    assert "snapshot failed; the warehouse was left as it was" in result.stderr
    # The warehouse knows v1 (its table of published versions), the new folder nothing.
    new_version = case.snapshots / "2026-10" / "v2"
    assert_failed_in_words(result, new_version, "file size limit", "nothing was published")
    # Once, in the snapshot's words (the CLI added "; make room and run build again").
    assert the_line_naming(result.stderr, new_version).endswith(
        "; nothing was published: make room and run again"
    )
    assert_left_as_it_was(case, digest, listing)
    assert list(case.run_ids().values()) == [DagsterRunStatus.FAILURE]

    again = run_cli(command, case.env)
    assert again.returncode == 0, again.stderr[-3000:]
    published = case.snapshots / "2026-10" / "v2" / "metrics.parquet"
    metrics = "select metric, unit, value from read_parquet(?) order by metric"
    assert (
        duckdb.execute(metrics, [str(published)]).fetchall()
        == duckdb.execute(metrics, [str(report.with_name("metrics.parquet"))]).fetchall()
    )


LOAD_UNDER_A_LIMIT = """
import sys
from pathlib import Path
import duckdb
from ingest.framework import load_source
from ingest.sources import SOURCES
source = next(s for s in SOURCES if s.name == "prometheus")
with duckdb.connect(sys.argv[1]) as con:
    load_source(con, source, Path(sys.argv[2]))
"""


def test_a_load_whose_commit_runs_out_of_space_says_why(small_landing: Path, tmp_path: Path):
    """The usage load's samples go to the write-ahead log when it commits, past a limit of
    300 kB: the commit fails and so ends the transaction. The error is the commit's, naming
    the log (a rollback after it used to fail too, and its "no transaction is active" was all
    the build said), with what to do; the warehouse holds
    none of the load."""
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()
    load = [sys.executable, "-c", LOAD_UNDER_A_LIMIT, str(warehouse), str(small_landing)]

    result = subprocess.run(
        load, capture_output=True, text=True, preexec_fn=file_size_limit(300_000), check=False
    )

    assert result.returncode == 1
    error = result.stderr.strip().splitlines()[-1]
    assert f'Could not write file "{warehouse}.wal": File too large' in error, result.stderr
    assert "no transaction is active" not in result.stderr
    assert _step_failed_line("ingest_prometheus", error).endswith(
        "File too large; make room and run build again"
    )
    # The snapshot command's one step writes the warehouse too (its table of publications).
    assert _step_failed_line("metric_snapshot", error, "snapshot").endswith(
        "File too large; make room and run snapshot again"
    )
    with duckdb.connect(str(warehouse)) as con:  # its tables, made before the load, empty
        for table in ("prometheus_samples", "_ingest_log", "_quarantine"):
            assert con.execute(f"select count(*) from raw.{table}").fetchone() == (0,), table
