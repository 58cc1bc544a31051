"""Microsoft's FOCUS export names a subscription by its resource path
('/subscriptions/<guid>'); the registry names it by the GUID alone, as Azure's own exports do.
Real Microsoft rows of the FOCUS sample, built by the CLI, reach the cluster of that GUID and
its partner, not 'unattributed'."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import build_cli

from .conftest import CLUSTER, FIXTURES, PARTNER, write_one_cluster_registry

pytestmark = pytest.mark.e2e

SUBSCRIPTION = "64e355d7-997c-491d-b0c1-8414dccfcf42"
# BilledCost = EffectiveCost on every row of microsoft-subscriptions.csv (September 2024):
# three rows of /subscriptions/64e355d7-... and three of two subscriptions in no cluster.
REGISTERED = -0.149 + 0.37096774194 - 0.000026
UNREGISTERED = 1.58088 + 0.0 + 0.17568072


def test_microsoft_focus_rows_reach_the_cluster_of_their_subscription_guid(
    tmp_path: Path, cli_env: dict[str, str]
):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    write_one_cluster_registry(landing, "azure", SUBSCRIPTION)
    export = landing / "cloud_costs" / "focus" / "microsoft"
    export.mkdir(parents=True)
    shutil.copy(FIXTURES / "focus" / "microsoft-subscriptions.csv", export)

    result = build_cli(landing, warehouse, cli_env, as_of=date(2024, 10, 15))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        by_partner = con.execute(
            "select cluster, partner_id, sum(billed_cost_usd), sum(effective_cost_usd) "
            "from marts.fct_cloud_costs_monthly group by all order by partner_id"
        ).fetchall()
    assert by_partner == [
        (None, "unattributed", pytest.approx(UNREGISTERED), pytest.approx(UNREGISTERED)),
        (CLUSTER, PARTNER, pytest.approx(REGISTERED), pytest.approx(REGISTERED)),
    ]
