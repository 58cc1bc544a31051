"""`make docs`: dbt's documentation, generated against the warehouse and served on loopback,
describes every model and loads nothing from the internet."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import requests

from tests.conftest import CLI, BuiltWarehouse, stop_server
from tests.test_ui import free_port
from warehouse.paths import DBT_PROJECT_DIR, PROJECT_ROOT


def test_docs_are_served_offline_with_every_model(
    built_warehouse: BuiltWarehouse, cli_env: dict[str, str], tmp_path: Path
):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, warehouse)
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
    assert json.loads((DBT_PROJECT_DIR / "target" / "catalog.json").read_text())["nodes"]
