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
written leaves.
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
from dagster import DagsterRunStatus

from orchestration.cli import _step_failed_line
from orchestration.instance import open_instance
from tests.conftest import SMALL_WORLD, BuiltWarehouse, build_cli, run_cli
from tests.test_cli_build import built_run_id, contents

# DuckDB grows a database file by blocks of this size (its default block size).
DUCKDB_BLOCK = 256 * 1024


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
    """The one line of `text` that names `file`."""
    lines = [line for line in text.splitlines() if str(file) in line]
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
    with duckdb.connect(str(warehouse)) as con:  # its tables, made before the load, empty
        for table in ("prometheus_samples", "_ingest_log", "_quarantine"):
            assert con.execute(f"select count(*) from raw.{table}").fetchone() == (0,), table
