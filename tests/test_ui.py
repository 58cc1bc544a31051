"""`make ui` (`partner-metrics ui`): the Dagster UI serves the asset graph over the
warehouse's own instance and materialises every asset from it, also when a killed process
left a run in progress in that instance."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from orchestration.instance import open_instance
from orchestration.partitions import RANGE_END_TAG, RANGE_START_TAG
from tests.conftest import CLI, BuiltWarehouse, stop_server
from warehouse.paths import PROJECT_ROOT

pytestmark = pytest.mark.slow(65, reason="the Dagster UI and its daemon materialising every asset")

# A process that has a run in progress in the warehouse's instance, as a run worker would,
# and is then killed: its run stays STARTED.
HOLD_A_RUN = """
import sys, time
from pathlib import Path
from dagster import DagsterRun, DagsterRunStatus
from orchestration.instance import PROCESS_TAG, open_instance, this_process
with open_instance(Path(sys.argv[1])) as instance:
    run = DagsterRun(
        job_name="refresh_warehouse",
        status=DagsterRunStatus.STARTED,
        tags={PROCESS_TAG: this_process()},
    )
    instance.add_run(run)
print(run.run_id, flush=True)
time.sleep(600)
"""


def dead_run(warehouse: Path, env: dict[str, str]) -> str:
    """The id of a STARTED run whose process was killed with SIGKILL."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_A_RUN, str(warehouse)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    run_id = holder.stdout.readline().strip()
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=30)
    return run_id


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    response = requests.post(url, json={"query": query, "variables": variables or {}}, timeout=60)
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


@pytest.fixture
def dagster_ui(tmp_path: Path, built_warehouse: BuiltWarehouse, cli_env: dict[str, str]):
    port = free_port()
    warehouse = tmp_path / "ui.duckdb"
    shutil.copy(built_warehouse.warehouse, warehouse)  # the run brings only a new as-of day
    stuck = dead_run(warehouse, cli_env)
    terminal = tmp_path / "terminal.txt"  # what `make ui` prints
    with terminal.open("w") as output:  # the server writes to its own copy of it
        server = subprocess.Popen(
            [
                *CLI,
                "ui",
                "--warehouse",
                str(warehouse),
                "--landing",
                str(built_warehouse.landing),
                "--snapshots",
                str(tmp_path / "snapshots"),
                "--port",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            env=cli_env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                graphql(url, "{ version }")
                break
            except requests.ConnectionError:
                assert server.poll() is None, "dagster dev exited"
                time.sleep(1)
        else:
            pytest.fail("dagster dev did not answer within 120 s")
        yield url, warehouse, stuck, terminal
    finally:
        stop_server(server)


def test_the_ui_serves_the_graph_and_materialises_everything(dagster_ui, tmp_path: Path):
    dagster_ui, warehouse, stuck, terminal = dagster_ui
    with open_instance(warehouse) as instance:
        assert instance.get_run_by_id(stuck).status.value == "FAILURE", "failed at UI start"
    # It starts quietly: `dagster dev` printed "SupersessionWarning: Function `dev_command` is
    # superseded ... Use 'dg dev' instead." on every start.
    started = terminal.read_text()
    assert f"Dagster UI on {dagster_ui.removesuffix('/graphql')} (instance " in started, started
    assert "Dagster services" in started, started
    assert [line for line in started.splitlines() if "Warning" in line] == []
    nodes = graphql(dagster_ui, "{ assetNodes { assetKey { path } } }")["assetNodes"]
    keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert {
        "raw/registry_hubs",
        "staging/stg_registry__hubs",
        "marts/dim_partners",
        "metric_snapshot",
    } <= keys

    repositories = graphql(
        dagster_ui,
        "{ repositoriesOrError { ... on RepositoryConnection "
        "{ nodes { name location { name } } } } }",
    )
    repository = repositories["repositoriesOrError"]["nodes"][0]
    launched = graphql(
        dagster_ui,
        """mutation($params: ExecutionParams!) { launchRun(executionParams: $params) {
             __typename ... on LaunchRunSuccess { run { runId } }
             ... on PythonError { message } } }""",
        {
            "params": {
                "selector": {
                    "repositoryLocationName": repository["location"]["name"],
                    "repositoryName": repository["name"],
                    "jobName": "partner_metrics_pipeline",
                },
                "executionMetadata": {
                    "tags": [
                        {"key": RANGE_START_TAG, "value": "2026-10"},
                        {"key": RANGE_END_TAG, "value": "2026-11"},
                    ]
                },
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    deadline = time.monotonic() + 300
    status = None
    while time.monotonic() < deadline:
        query = f'{{ runOrError(runId: "{run_id}") {{ ... on Run {{ status }} }} }}'
        status = graphql(dagster_ui, query)["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(2)
    assert status == "SUCCESS", "the run was not held back behind the dead one"
    assert warehouse.exists()
    assert (tmp_path / "ui.dagster" / "dagster.yaml").exists(), "the instance is the warehouse's"
