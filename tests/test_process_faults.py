"""Process faults with real processes: a build killed with SIGKILL in the middle of dbt leaves
no dbt process behind, and the run it left STARTED is marked failed when the next build
starts, so nothing waits behind it; one killed while GX's workers run leaves none of them; a
run a killed CLI process created and never started is failed, one the UI launched is not; a
UI re-execution is not failed for the process its parent's tags name."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterRunStatus

from orchestration.instance import PROCESS_TAG, fail_dead_runs, open_instance
from tests.conftest import CLI, BuiltWarehouse, run_cli
from warehouse.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow(
    30, reason="builds and GX workers killed mid-way, then the next build"
)


def process_table() -> dict[int, tuple[int, str, str]]:
    """pid -> (parent pid, state, command line) of every process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # ended while we looked
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), fields[0], command)
    return table


def wait_for(condition, seconds: float, what: str, process: subprocess.Popen | None = None):
    """Poll `condition` until it holds; fail at once if `process` ends first."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        if process is not None and process.poll() is not None:
            raise AssertionError(f"no {what}: the process ended first ({process.returncode})")
        time.sleep(0.2)
    raise AssertionError(f"no {what} within {seconds:.0f} s")


def alive(pid: int) -> bool:
    """Running or stopped, not gone and not a zombie waiting to be reaped."""
    entry = process_table().get(pid)
    return entry is not None and entry[1] != "Z"


def test_a_build_killed_during_dbt_leaves_no_orphan_and_its_run_is_failed_next_time(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, warehouse)
    command = [
        *CLI,
        "build",
        "--landing",
        str(built_warehouse.landing),
        "--warehouse",
        str(warehouse),
        "--snapshots",
        str(tmp_path / "snapshots"),
    ]
    output = tmp_path / "build.out"
    with output.open("w") as out:
        build = subprocess.Popen(
            command, env=cli_env, cwd=PROJECT_ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        dbt = wait_for(
            lambda: [
                pid
                for pid, (parent, _, line) in process_table().items()
                if parent == build.pid and "partner-metrics-dbt build" in line
            ],
            600,
            "dbt child of the build",
            build,
        )[0]
        time.sleep(2)  # dbt is working on the warehouse copy
        assert alive(dbt)
        os.kill(build.pid, signal.SIGKILL)
        assert build.wait(timeout=30) == -signal.SIGKILL
    except AssertionError as error:
        raise AssertionError(f"{error}; the build printed:\n{output.read_text()[-3000:]}") from None
    finally:
        if build.poll() is None:
            build.kill()
    wait_for(lambda: not alive(dbt), 10, "end of the orphaned dbt process")

    with open_instance(warehouse) as instance:
        (run,) = instance.get_runs()
        assert run.status == DagsterRunStatus.STARTED, "the killed build could not end its run"
        assert run.tags["source"] == "cli" and PROCESS_TAG in run.tags

    # The next build starts by failing the dead run. (This one stops early on a broken
    # registry: what matters here is what it does first.)
    landing = tmp_path / "landing"
    shutil.copytree(built_warehouse.landing, landing)
    registry = landing / "registry" / "clusters.yaml"
    registry.write_text(registry.read_text().replace("provider: aws", "provider: amazon", 1))
    result = run_cli(["build", "--landing", str(landing), "--warehouse", str(warehouse)], cli_env)
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"cleanup   run {run.run_id[:8]} of a killed process failed" in result.stdout
    with open_instance(warehouse) as instance:
        dead = instance.get_run_by_id(run.run_id)
        assert dead.status == DagsterRunStatus.FAILURE
        failure = instance.all_logs(run.run_id)[-1]
        assert "ended without finishing it" in failure.message
        assert not [r for r in instance.get_runs() if r.status == DagsterRunStatus.STARTED]


# A process that validates as the GX step does: a pool of validation workers (forked from
# their server) with one busy for ten minutes, then it prints its pid and waits.
VALIDATING = """
import os, time
from ingest.quality import validation_pool
pool = validation_pool(1)
pool.submit(time.sleep, 600)
print(os.getpid(), flush=True)
time.sleep(600)
"""


def test_a_build_killed_while_gx_validates_leaves_no_worker_nor_their_server():
    """A worker waits for work for ever once its build is gone, and keeps the server it
    forked from alive (each holds the server's liveness pipe): killed with SIGKILL, the
    validating process must take both with it."""
    validating = subprocess.Popen(
        [sys.executable, "-c", VALIDATING], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        pid = int(validating.stdout.readline())

        def server_and_worker() -> list[int]:
            table = process_table()
            servers = [p for p, (parent, _, _) in table.items() if parent == pid]
            workers = [p for p, (parent, _, _) in table.items() if parent in servers]
            return servers + workers if servers and workers else []

        forked = wait_for(server_and_worker, 120, "server and busy worker", validating)
        os.kill(pid, signal.SIGKILL)
        assert validating.wait(timeout=30) == -signal.SIGKILL
    finally:
        if validating.poll() is None:
            validating.kill()
    wait_for(lambda: not any(alive(p) for p in forked), 20, "end of the server and its worker")


# A process that creates runs as the CLI and the UI create them, all tagged with its process,
# prints their ids and waits (to be killed): the CLI's `execute_in_process` creates its run
# NOT_STARTED with no launcher origin; the UI's launchpad or re-execution (which copies the
# parent run's tags, a dead process's among them) creates one with the origin `dagster dev`
# serves the code from, NOT_STARTED, then QUEUED for the daemon.
UI_ORIGIN = """
import sys, time
from pathlib import Path
from dagster import DagsterRun, DagsterRunStatus
from dagster._core.remote_origin import (
    ManagedGrpcPythonEnvCodeLocationOrigin, RemoteJobOrigin, RemoteRepositoryOrigin,
)
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from orchestration.instance import PROCESS_TAG, open_instance, this_process
location = ManagedGrpcPythonEnvCodeLocationOrigin(
    LoadableTargetOrigin(module_name="orchestration.definitions"), "orchestration.definitions"
)
ui_origin = RemoteJobOrigin(RemoteRepositoryOrigin(location, "__repository__"), "refresh_warehouse")
"""
CREATE_RUNS = (
    UI_ORIGIN
    + """
runs = {
    "cli": (DagsterRunStatus.NOT_STARTED, None),
    "ui created": (DagsterRunStatus.NOT_STARTED, ui_origin),
    "ui queued": (DagsterRunStatus.QUEUED, ui_origin),
}
with open_instance(Path(sys.argv[1])) as instance:
    for name, (status, origin) in runs.items():
        run = DagsterRun(
            job_name="refresh_warehouse",
            status=status,
            remote_job_origin=origin,
            tags={PROCESS_TAG: this_process()},
        )
        instance.add_run(run)
        print(name, run.run_id, flush=True)
time.sleep(600)
"""
)


def test_a_run_a_killed_cli_process_never_started_is_failed_but_not_one_the_ui_launched(
    tmp_path: Path,
):
    warehouse = tmp_path / "warehouse.duckdb"
    creator = subprocess.Popen(
        [sys.executable, "-c", CREATE_RUNS, str(warehouse)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        runs = dict(creator.stdout.readline().rsplit(" ", 1) for _ in range(3))
        runs = {name: run_id.strip() for name, run_id in runs.items()}
        os.kill(creator.pid, signal.SIGKILL)
        assert creator.wait(timeout=30) == -signal.SIGKILL
    finally:
        if creator.poll() is None:
            creator.kill()

    with open_instance(warehouse) as instance:
        dead = fail_dead_runs(instance, holding_lock=False)  # as the UI's sensor does
        status = {name: instance.get_run_by_id(run_id).status for name, run_id in runs.items()}

    assert [run.run_id for run in dead] == [runs["cli"]]
    assert dead[0].reason == f"its process {creator.pid} ended without finishing it"
    assert status == {
        "cli": DagsterRunStatus.FAILURE,
        "ui created": DagsterRunStatus.NOT_STARTED,
        "ui queued": DagsterRunStatus.QUEUED,
    }


# A process that has a run the UI launched in progress, as its run worker would, prints its id
# and waits (to be killed).
START_A_UI_RUN = (
    UI_ORIGIN
    + """
with open_instance(Path(sys.argv[1])) as instance:
    run = DagsterRun(
        job_name="refresh_warehouse",
        status=DagsterRunStatus.STARTED,
        remote_job_origin=ui_origin,
        tags={PROCESS_TAG: this_process()},
    )
    instance.add_run(run)
print(run.run_id, flush=True)
time.sleep(600)
"""
)

# A process that re-executes a run as the UI's "Re-execute" does (Dagster's own
# `create_reexecuted_run`, with the parent's tags), starts it as a run worker would, prints its
# id, then on a line from its input records its process as the run's warehouse lock does, says
# so and waits (to be killed).
REEXECUTE = """
import sys, time
from pathlib import Path
from dagster import DagsterEvent, DagsterEventType
from dagster._core.execution.plan.resume_retry import ReexecutionStrategy
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from orchestration.instance import PROCESS_TAG, open_instance, this_process
with open_instance(Path(sys.argv[1])) as instance:
    parent = instance.get_run_by_id(sys.argv[2])
    code = LoadableTargetOrigin(module_name="orchestration.definitions")
    with in_process_test_workspace(instance, code) as workspace:
        (entry,) = workspace.get_code_location_entries().values()
        location = entry.code_location
        (repository,) = location.get_repositories().values()
        run = instance.create_reexecuted_run(
            parent_run=parent,
            request_context=workspace,
            code_location=location,
            remote_job=repository.get_full_job(parent.job_name),
            strategy=ReexecutionStrategy.ALL_STEPS,
            use_parent_run_tags=True,
        )
    for event in (DagsterEventType.RUN_STARTING, DagsterEventType.RUN_START):
        instance.report_dagster_event(DagsterEvent(event.value, job_name=run.job_name), run.run_id)
    print(run.run_id, flush=True)
    sys.stdin.readline()
    instance.add_run_tags(run.run_id, {PROCESS_TAG: this_process()})
    print("recorded", flush=True)
time.sleep(600)
"""


def test_a_ui_re_execution_of_a_killed_run_is_not_failed_for_its_parents_process(
    tmp_path: Path,
):
    """A re-execution copies its parent's tags, the parent's process with them: a run killed
    and failed, then re-executed, named a dead process from its start, and the `dead_runs`
    sensor failed it while it started. Once it records its own process, that one counts."""
    warehouse = tmp_path / "warehouse.duckdb"
    creator = subprocess.Popen(
        [sys.executable, "-c", START_A_UI_RUN, str(warehouse)],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        parent_id = creator.stdout.readline().strip()
        os.kill(creator.pid, signal.SIGKILL)
        assert creator.wait(timeout=30) == -signal.SIGKILL
    finally:
        if creator.poll() is None:
            creator.kill()
    with open_instance(warehouse) as instance:
        assert [run.run_id for run in fail_dead_runs(instance, holding_lock=False)] == [parent_id]
        parent_process = instance.get_run_by_id(parent_id).tags[PROCESS_TAG]

    reexecution = subprocess.Popen(
        [sys.executable, "-c", REEXECUTE, str(warehouse), parent_id],
        cwd=PROJECT_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        run_id = reexecution.stdout.readline().strip()
        assert run_id, "the re-execution was not created"
        with open_instance(warehouse) as instance:
            run = instance.get_run_by_id(run_id)
            assert run.parent_run_id == parent_id and run.tags[PROCESS_TAG] == parent_process
            assert run.status == DagsterRunStatus.STARTED
            assert fail_dead_runs(instance, holding_lock=False) == []  # as the UI's sensor does
            assert instance.get_run_by_id(run_id).status == DagsterRunStatus.STARTED

        reexecution.stdin.write("take the lock\n")
        reexecution.stdin.flush()
        assert reexecution.stdout.readline() == "recorded\n"
        with open_instance(warehouse) as instance:
            assert fail_dead_runs(instance, holding_lock=False) == []
        os.kill(reexecution.pid, signal.SIGKILL)
        assert reexecution.wait(timeout=30) == -signal.SIGKILL
    finally:
        if reexecution.poll() is None:
            reexecution.kill()

    with open_instance(warehouse) as instance:
        dead = fail_dead_runs(instance, holding_lock=False)
        assert [(run.run_id, run.reason) for run in dead] == [
            (run_id, f"its process {reexecution.pid} ended without finishing it")
        ]
        assert instance.get_run_by_id(run_id).status == DagsterRunStatus.FAILURE


# The `snapshot` command, its run's warehouse lock stalled: it says when the run is about to
# take the lock (before which the run has recorded no process) and waits there (to be killed).
SNAPSHOT_BEFORE_THE_LOCK = """
import sys, time
from contextlib import contextmanager
import orchestration.resources
from orchestration.cli import main

@contextmanager
def stalled_lock(path):
    print("taking the lock", flush=True)
    time.sleep(600)
    yield

orchestration.resources.build_lock = stalled_lock
main(["snapshot", *sys.argv[1:]])
"""


def test_a_snapshot_killed_before_it_takes_the_lock_is_failed_by_the_sensor(
    tmp_path: Path, cli_env: dict[str, str]
):
    """Its run is STARTED before its first step takes the warehouse lock: killed then, it named
    no process, so the `dead_runs` sensor left it in progress (and every run the UI queued
    behind it) until the next build or UI start, two minutes later at least."""
    warehouse = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(warehouse)).close()  # it is killed before it reads anything
    command = [sys.executable, "-c", SNAPSHOT_BEFORE_THE_LOCK, "--month", "2026-10"]
    command += ["--warehouse", str(warehouse), "--snapshots", str(tmp_path / "snapshots")]
    snapshot = subprocess.Popen(
        command,
        env=cli_env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert snapshot.stdout.readline() == "taking the lock\n"
        os.kill(snapshot.pid, signal.SIGKILL)
        assert snapshot.wait(timeout=30) == -signal.SIGKILL
    finally:
        if snapshot.poll() is None:
            snapshot.kill()

    with open_instance(warehouse) as instance:
        (run,) = instance.get_runs()
        assert run.status == DagsterRunStatus.STARTED, "the killed snapshot could not end its run"
        assert run.tags["source"] == "cli"
        dead = fail_dead_runs(instance, holding_lock=False)  # as the UI's sensor does
        assert [(r.run_id, r.reason) for r in dead] == [
            (run.run_id, f"its process {snapshot.pid} ended without finishing it")
        ]
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.FAILURE
