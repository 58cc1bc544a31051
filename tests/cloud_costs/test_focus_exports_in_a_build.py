"""The providers' own FOCUS exports, built by the CLI beside a CUR (two builds, to keep the
suite short):

- one AWS account's month landed both as its CUR 2.0 and as its FOCUS export would count
  twice: the build fails on the dbt test that says so, naming the account, the month and both
  landing folders; with the CUR removed from landing it builds and counts the month once;
- Microsoft's FOCUS export names a subscription by its resource path ('/subscriptions/<guid>')
  and the registry by the GUID alone, as Azure's own exports do: real Microsoft rows of the
  FOCUS sample reach the cluster of that GUID, not 'unattributed';
- Google's FOCUS view writes the billing account as SubAccountId and the project in
  x_Project; the registry names a GCP cluster by its project: the view's Parquet export
  reaches the cluster of its project.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.conftest import build_cli

from .conftest import FIXTURES, write_registry, write_typed_parquet

pytestmark = [pytest.mark.slow(65, reason="two CLI builds of a few bills"), pytest.mark.e2e]

ACCOUNT = "790657130469"
SUBSCRIPTION = "64e355d7-997c-491d-b0c1-8414dccfcf42"
PROJECT = "hubs-project"  # every row of gcp-focus-view.sql (March 2025)
CUR_FOLDER = "cloud_costs/aws/cur/data/BILLING_PERIOD=2024-09"
FOCUS_FOLDER = "cloud_costs/focus/aws/focus/data/BILLING_PERIOD=2024-09"
# September 2024 of the account (payer 111111111111): 2.00 of EC2 usage and 0.20 of tax,
# as AWS Data Exports writes it in CUR 2.0 and in FOCUS 1.0.
CUR = (
    "identity_line_item_id,identity_time_interval,bill_billing_period_start_date,"
    "bill_payer_account_id,line_item_usage_account_id,line_item_line_item_type,"
    "line_item_usage_start_date,line_item_usage_end_date,line_item_unblended_cost,"
    "line_item_currency_code\n"
    f"li-1,2024-09-02T00:00:00Z/2024-09-02T01:00:00Z,2024-09-01T00:00:00Z,111111111111,{ACCOUNT},"
    "Usage,2024-09-02T00:00:00Z,2024-09-02T01:00:00Z,2.00,USD\n"
    f"li-2,2024-09-01T00:00:00Z/2024-10-01T00:00:00Z,2024-09-01T00:00:00Z,111111111111,{ACCOUNT},"
    "Tax,2024-09-01T00:00:00Z,2024-10-01T00:00:00Z,0.20,USD\n"
)
FOCUS = (
    "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,BillingPeriodStart,"
    "ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,ServiceName,SubAccountId\n"
    "2.00,2.00,2.00,USD,111111111111,2024-09-01 00:00:00,Usage,2024-09-02 00:00:00,"
    f"2024-09-02 01:00:00,AWS,Amazon Elastic Compute Cloud,{ACCOUNT}\n"
    "0.20,0.20,0.20,USD,111111111111,2024-09-01 00:00:00,Tax,2024-09-01 00:00:00,"
    f"2024-10-01 00:00:00,AWS,Tax,{ACCOUNT}\n"
)
# BilledCost = EffectiveCost on every row of microsoft-subscriptions.csv (September 2024):
# three rows of /subscriptions/64e355d7-... and three of two subscriptions in no cluster.
MICROSOFT_REGISTERED = -0.149 + 0.37096774194 - 0.000026
MICROSOFT_UNREGISTERED = 1.58088 + 0.0 + 0.17568072
# gcp-focus-view.sql: SubAccountId is the billing account 01ABCD-234567-89EFGH; billed
# 6.00 + 1.25 - 0.50, effective the same.
GOOGLE = 6.00 + 1.25 - 0.50


def test_focus_exports_reach_their_clusters_and_a_month_in_two_formats_fails_the_build(
    tmp_path: Path, cli_env: dict[str, str]
):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse.duckdb"
    write_registry(landing, {"aws": ACCOUNT, "azure": SUBSCRIPTION, "gcp": PROJECT})
    for folder, name, text in (
        (CUR_FOLDER, "cur-00001.csv", CUR),
        (FOCUS_FOLDER, "focus-00001.csv", FOCUS),
    ):
        (landing / folder).mkdir(parents=True)
        (landing / folder / name).write_text(text, encoding="utf-8")
    microsoft = landing / "cloud_costs" / "focus" / "microsoft"
    microsoft.mkdir(parents=True)
    shutil.copy(FIXTURES / "focus" / "microsoft-subscriptions.csv", microsoft)
    write_typed_parquet(
        "gcp-focus-view.sql",
        landing / "cloud_costs" / "focus" / "gcp-focus" / "202503" / "focus-000000000000.parquet",
    )

    doubled = build_cli(landing, warehouse, cli_env, as_of=date(2025, 4, 15))
    assert doubled.returncode == 1, doubled.stdout[-3000:]
    assert (
        "check assert_cloud_cost_sub_account_months_come_in_one_format on "
        "int_cloud_costs__focus failed: 1 failing row, e.g. "
        f"aws account {ACCOUNT}, month 2024-09-01: current lines from aws_cur ({CUR_FOLDER}) "
        f"and focus ({FOCUS_FOLDER}), so its cost counts twice; keep one format of it in landing"
    ) in doubled.stderr

    shutil.rmtree(landing / "cloud_costs" / "aws")
    once = build_cli(landing, warehouse, cli_env, as_of=date(2025, 4, 15))
    assert once.returncode == 0, once.stdout[-3000:] + once.stderr[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        by_partner = con.execute(
            "select cluster, partner_id, sum(billed_cost_usd), sum(effective_cost_usd) "
            "from marts.fct_cloud_costs_monthly group by all order by partner_id"
        ).fetchall()
    # Billed and effective cost are equal on every row landed.
    assert {
        (cluster, partner): (billed, effective)
        for cluster, partner, billed, effective in by_partner
    } == {
        (None, "unattributed"): pytest.approx((MICROSOFT_UNREGISTERED,) * 2),
        ("cluster-aws", "uni-aws"): pytest.approx((2.20,) * 2),
        ("cluster-azure", "uni-azure"): pytest.approx((MICROSOFT_REGISTERED,) * 2),
        ("cluster-gcp", "uni-gcp"): pytest.approx((GOOGLE,) * 2),
    }
