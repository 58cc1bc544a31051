"""`make docs`: dbt's documentation, generated against the warehouse and served on loopback,
describes every model and loads nothing from the internet."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from orchestration.instance import instance_dir
from tests.conftest import CLI, BuiltWarehouse, stop_server
from tests.test_ui import free_port
from warehouse.paths import DBT_PROJECT_DIR, PROJECT_ROOT

pytestmark = pytest.mark.slow(15, reason="dbt docs generate, then served")


def test_docs_are_served_offline_with_every_model(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, warehouse)
    shared_manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    manifest_written = shared_manifest.stat().st_mtime_ns
    port = free_port()
    server = subprocess.Popen(
        [*CLI, "docs", "--warehouse", str(warehouse), "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=cli_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                index = requests.get(f"{base}/index.html", timeout=10)
                break
            except requests.ConnectionError:
                assert server.poll() is None, "partner-metrics docs exited"
                assert time.monotonic() < deadline, "docs not served within 300 s"
                time.sleep(1)
        assert index.status_code == 200
        manifest = requests.get(f"{base}/manifest.json", timeout=10).json()
        catalog = requests.get(f"{base}/catalog.json", timeout=10).json()
    finally:
        stop_server(server)

    # Offline: no stylesheet or script from elsewhere; dbt's page tracker only starts when
    # the manifest says usage stats may be sent, and it says they may not.
    assert not re.search(r"<(script|link)[^>]+(src|href)=\"(https?:)?//", index.text)
    assert manifest["metadata"]["send_anonymous_usage_stats"] is False
    # Complete: every model is in the catalog with its columns, and documented.
    models = {k: v for k, v in manifest["nodes"].items() if v["resource_type"] == "model"}
    assert set(models) <= set(catalog["nodes"])
    assert all(catalog["nodes"][k]["columns"] for k in models)
    assert all(node["description"] for node in models.values())
    # Written beside the warehouse's instance; the manifest every build reads is untouched.
    assert json.loads((instance_dir(warehouse) / "docs" / "catalog.json").read_text())["nodes"]
    assert shared_manifest.stat().st_mtime_ns == manifest_written


def test_a_server_stops_on_sigterm_that_its_parent_blocked_and_ignored():
    # A blocked or ignored signal survives exec: a server started from such a parent (a test
    # worker, a supervisor) would never stop on SIGTERM. `exec_server` starts it with both
    # restored; the plain `os.execve` beside it shows the difference.
    def start(exec_sleep: str) -> subprocess.Popen:
        code = (
            "import os, signal, sys\n"
            "from orchestration.cli import exec_server\n"
            "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})\n"
            "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
            f"{exec_sleep}\n"
        )
        process = subprocess.Popen([sys.executable, "-c", code], cwd=PROJECT_ROOT)
        deadline = time.monotonic() + 60
        while not Path(f"/proc/{process.pid}/cmdline").read_bytes().startswith(b"/bin/sleep"):
            assert process.poll() is None and time.monotonic() < deadline, "no exec"
            time.sleep(0.05)
        process.terminate()
        return process

    served = start("exec_server(['/bin/sleep', '60'], dict(os.environ))")
    assert served.wait(timeout=10) == -signal.SIGTERM
    plain = start("os.execve('/bin/sleep', ['/bin/sleep', '60'], dict(os.environ))")
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            plain.wait(timeout=2)
    finally:
        plain.kill()
        plain.wait()
