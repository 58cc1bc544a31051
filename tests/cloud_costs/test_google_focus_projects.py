"""Google's FOCUS view writes the billing account as SubAccountId and the project in
x_Project; the registry names a GCP cluster's account by its project id. The view's Parquet
export, built by the CLI, reaches the cluster of its project and its partner, not
'unattributed'."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import build_cli

from .conftest import CLUSTER, PARTNER, write_one_cluster_registry, write_typed_parquet

pytestmark = pytest.mark.e2e

# The project of every row of gcp-focus-view.sql (March 2025), whose SubAccountId is its
# billing account 01ABCD-234567-89EFGH; billed 6.00 + 1.25 - 0.50, effective the same.
PROJECT = "hubs-project"
BILLED = EFFECTIVE = 6.00 + 1.25 - 0.50


def test_google_focus_view_rows_reach_the_cluster_of_their_project(
    tmp_path: Path, cli_env: dict[str, str]
):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    write_one_cluster_registry(landing, "gcp", PROJECT)
    write_typed_parquet(
        "gcp-focus-view.sql",
        landing / "cloud_costs" / "focus" / "gcp-focus" / "202503" / "focus-000000000000.parquet",
    )

    result = build_cli(landing, warehouse, cli_env, as_of=date(2025, 4, 15))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        by_partner = con.execute(
            "select cluster, partner_id, sum(billed_cost_usd), sum(effective_cost_usd) "
            "from marts.fct_cloud_costs_monthly group by all order by partner_id"
        ).fetchall()
    assert by_partner == [
        (CLUSTER, PARTNER, pytest.approx(BILLED), pytest.approx(EFFECTIVE)),
    ]
