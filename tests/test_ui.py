"""`make ui`: the Dagster UI serves the asset graph and materialises every asset from it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.conftest import BuiltWarehouse
from warehouse.paths import LANDING_ENV, PROJECT_ROOT, SNAPSHOTS_ENV, WAREHOUSE_ENV

DAGSTER = Path(sys.executable).with_name("dagster")


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
    env = {
        **cli_env,
        WAREHOUSE_ENV: str(tmp_path / "ui.duckdb"),
        LANDING_ENV: str(built_warehouse.landing),
        SNAPSHOTS_ENV: str(tmp_path / "snapshots"),
    }
    server = subprocess.Popen(
        [
            str(DAGSTER),
            "dev",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-m",
            "orchestration.definitions",
        ],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
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
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def test_the_ui_serves_the_graph_and_materialises_everything(dagster_ui: str, tmp_path: Path):
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
                }
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
    assert status == "SUCCESS"
    assert (tmp_path / "ui.duckdb").exists()
