"""A cost in a currency with no rate on or before its charge date fails a dbt test by name."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest import fx, registry
from ingest.cloud_costs import aws, azure, focus, gcp
from ingest.demo.world import build_world
from ingest.demo.writers import write_fx_rates, write_registry
from ingest.framework import load_source
from warehouse.paths import DBT_PROJECT_DIR

pytestmark = [pytest.mark.slow(15, reason="a CLI build that a missing rate fails"), pytest.mark.e2e]

# 2026-04-15 in EUR; the world's rates start on 2026-05-01, so there is no rate for it.
EUR_BEFORE_FIRST_RATE = (
    '{"billing_account_id":"BA","service":{"description":"Compute Engine"},'
    '"project":{"id":"nowhere"},"usage_start_time":"2026-04-15 00:00:00 UTC",'
    '"usage_end_time":"2026-04-15 01:00:00 UTC","cost":9.5,"currency":"EUR",'
    '"credits":[],"invoice":{"month":"202604"},"cost_type":"regular"}\n'
)


def test_missing_fx_rate_fails_the_named_dbt_test(tmp_path: Path):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    world = build_world(seed=7, months=6, partners=8, as_of=date(2026, 11, 15))
    write_registry(world, landing)
    write_fx_rates(world, landing)
    path = landing / "cloud_costs" / "gcp" / "BA" / "202604.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(EUR_BEFORE_FIRST_RATE)
    with duckdb.connect(str(warehouse)) as con:
        for source in (
            registry.SOURCE,
            fx.SOURCE,
            gcp.SOURCE,
            aws.SOURCE,
            azure.SOURCE,
            focus.SOURCE,
        ):
            load_source(con, source, landing)

    dbt = str(Path(sys.executable).with_name("dbt"))
    result = subprocess.run(
        [
            dbt,
            "build",
            "--profiles-dir",
            ".",
            "--select",
            "+int_cloud_costs__focus",
            "--exclude",
            "int_month_spine",
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=600,
        env={
            **os.environ,
            "PARTNER_METRICS_WAREHOUSE": str(warehouse),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        },
    )
    assert result.returncode == 1, result.stdout[-3000:]
    failures = [line for line in result.stdout.splitlines() if " FAIL " in line]
    assert len(failures) == 1 and "cloud_costs_missing_fx_rate" in failures[0], failures
    assert "FAIL 1" in failures[0]
