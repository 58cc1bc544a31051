"""The revenue marts built from the hand-made fixture landing (tests/fixtures/revenue).

One build per module: every connector loads the landing folder through the ingestion
framework (the code the Dagster ingest assets run), then `dbt build` runs every model, unit
test and data test with its own target folder and as-of date 2025-03-10. Expected values are
worked out by hand from the fixtures:

- contracts: 101 alpha 12000 USD 2024-01-01..2024-12-31 -> 1000/month; 102 beta 6000.50 EUR
  from 2024-03-01 at 1.20 (not January's 1.10 nor April's 1.30) -> 7200.60 / 12 = 600.05;
  108 beta 2400 USD 2024-04-01..2025-03-31 -> 200.
- the month spine runs 2024-01..2025-01 (contract starts and invoice service periods before
  the as-of month).
"""

from __future__ import annotations

import shutil
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.framework import load_source
from ingest.sources import SOURCES
from tests.conftest import run_dbt

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "revenue"
AS_OF = "2025-03-10"


def _dbt(args: list[str], warehouse: Path, work: Path) -> subprocess.CompletedProcess[str]:
    return run_dbt(args, warehouse, work, AS_OF)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("revenue_pipeline")
    landing = work / "landing"
    for folder in ("registry", "fx", "crm", "invoices"):
        shutil.copytree(FIXTURES / folder, landing / folder)
    warehouse = work / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    for source in SOURCES:
        load_source(con, source, landing)
    con.close()
    result = _dbt(["build"], warehouse, work)
    assert result.returncode == 0, result.stdout[-4000:]
    # Rejected deals and invoice lines warn; they do not fail the build.
    assert "WARN 3 assert_revenue_no_rejected_deals" in result.stdout
    assert "WARN 1 assert_revenue_no_rejected_invoice_lines" in result.stdout
    return warehouse


def _rows(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_mrr_per_partner_and_month(built):
    rows = _rows(
        built,
        "select partner_id, month, mrr_usd, arr_usd from marts.fct_mrr_monthly "
        "order by partner_id, month",
    )
    alpha = [(m, mrr) for p, m, mrr, _ in rows if p == "alpha"]
    beta = [(m, mrr) for p, m, mrr, _ in rows if p == "beta"]
    assert alpha == [(date(2024, m, 1), 1000.0) for m in range(1, 13)] + [(date(2025, 1, 1), 0.0)]
    assert beta == [(date(2024, 3, 1), 600.05)] + [
        (date(2024, m, 1), 800.05) for m in range(4, 13)
    ] + [(date(2025, 1, 1), 800.05)]
    assert {p for p, *_ in rows} == {"alpha", "beta"}
    arr = {(p, m): a for p, m, _, a in rows}
    assert arr[("beta", date(2024, 4, 1))] == 9600.6


def test_mrr_movements(built):
    assert _rows(
        built,
        "select month, partner_id, movement, mrr_delta_usd "
        "from marts.fct_mrr_movements order by month, partner_id",
    ) == [
        (date(2024, 1, 1), "alpha", "new", 1000.0),
        (date(2024, 3, 1), "beta", "new", 600.05),
        (date(2024, 4, 1), "beta", "expansion", 200.0),
        (date(2025, 1, 1), "alpha", "churn", -1000.0),
    ]


def test_retention_in_the_month_alpha_churns(built):
    [row] = _rows(
        built,
        """
        select start_mrr_usd, end_mrr_usd, customers_start, customers_churned, logo_churn_rate,
               round(gross_mrr_churn_rate, 6), grr_12m, nrr_12m, renewal_6m
        from marts.fct_retention_monthly where month = '2025-01-01'""",
    )
    # Start 1000 + 800.05; alpha (1000) churns: 1000 / 1800.05 = 0.555540.
    # The 12-month cohort is alpha alone (January 2024, 1000), now 0: GRR = NRR = 0.
    # Paying in July 2024: alpha and beta; alpha has churned: renewal_6m = 0.5.
    assert row == (1800.05, 800.05, 2, 1, 0.5, 0.55554, 0.0, 0.0, 0.5)


def test_renewals_as_of_2025_03_10(built):
    # 101 ended 2024-12-31, is not renewed (109 is still open) and alpha runs a hub: overdue.
    # 102 ended 2025-02-28, not renewed, but beta's hub retired 2025-03-01: not listed.
    # 108 ends 2025-03-31, 21 days after the as-of date.
    assert _rows(
        built,
        "select deal_id, renewal_bucket, days_to_end, is_due_in_90_days "
        "from marts.fct_renewals order by deal_id",
    ) == [
        ("101", "overdue", -69, False),
        ("108", "0-30", 21, True),
    ]


def test_forecast_weights_open_renewal_by_stage_probability(built):
    # 109: 13200 USD over 2025 = 1100/month; no hs_forecast_probability, stage 1001 is 0.5.
    assert _rows(
        built,
        "select deal_id, partner_id, deal_mrr_usd, probability, "
        "weighted_mrr_usd from marts.fct_pipeline_forecast",
    ) == [
        ("109", "alpha", 1100.0, 0.5, 550.0),
    ]


def test_cost_recovery_spreads_invoiced_4222_by_service_period(built):
    # No cloud-cost data in this landing: recoverable is 0 and the gap is minus the invoiced.
    # Alpha's 910 for Q1 2024 (91 days) -> 310, 290, 310; its 920 for Q4 2024 (92 days)
    # -> 310, 300, 310. Beta's 250 EUR at 1.20 for March 2024 -> 300.
    assert _rows(
        built,
        "select month, partner_id, invoiced_recovery_usd, recovery_gap_usd "
        "from marts.fct_cost_recovery_monthly order by month, partner_id",
    ) == [
        (date(2024, 1, 1), "alpha", 310.0, -310.0),
        (date(2024, 2, 1), "alpha", 290.0, -290.0),
        (date(2024, 3, 1), "alpha", 310.0, -310.0),
        (date(2024, 3, 1), "beta", 300.0, -300.0),
        (date(2024, 10, 1), "alpha", 310.0, -310.0),
        (date(2024, 11, 1), "alpha", 300.0, -300.0),
        (date(2024, 12, 1), "alpha", 310.0, -310.0),
    ]


def test_sustainability_month(built):
    [row] = _rows(
        built,
        "select mrc_usd, mrr_usd, mrc_to_mrr_ratio, invoiced_recovery_usd "
        "from marts.fct_sustainability_monthly where month = '2024-03-01'",
    )
    assert row == (0.0, 1600.05, 0.0, 610.0)


def test_dim_partners_revenue_columns(built):
    assert _rows(
        built,
        "select partner_id, first_contract_start, current_mrr_usd, is_customer "
        "from marts.dim_partners order by partner_id",
    ) == [
        ("alpha", date(2024, 1, 1), 0.0, False),
        ("beta", date(2024, 3, 1), 200.0, True),
        ("gamma", None, 0.0, False),
    ]


def test_bad_deals_and_invoice_lines_are_visible_with_reasons(built):
    assert _rows(
        built,
        "select deal_id, rejection_reason "
        "from intermediate.int_revenue__rejected_deals order by deal_id",
    ) == [
        ("103", "deal has no associated company"),
        ("106", "company 9999 is not a partner in the registry"),
        ("107", "stage mystery is not in the pipelines file"),
    ]
    assert _rows(
        built,
        "select invoice_number, rejection_reason "
        "from intermediate.int_revenue__rejected_invoice_lines",
    ) == [
        ("INV-005", "invoice for deal 888 which does not exist in HubSpot"),
    ]
    assert _rows(
        built,
        "select source, record, reason from raw._quarantine "
        "where source = 'hubspot' order by file, record",
    ) == [
        ("hubspot", "page file, results[0]", "amount is not a double: lots"),
        (
            "hubspot",
            "page file, results[1]",
            "contract_end_date 2024-05-31 is before contract_start_date 2024-06-01",
        ),
    ]


def test_non_usd_deal_without_rate_fails_missing_fx_rate_test(built, tmp_path):
    warehouse = tmp_path / "copy.duckdb"
    shutil.copy(built, warehouse)
    con = duckdb.connect(str(warehouse))
    # A CHF deal: fx/rates.csv has no CHF rate at all.
    con.execute("""
        insert into raw.hubspot_deals by name
        select '110' as deal_id, '5001' as company_id, ['5001'] as company_ids,
               'Alpha CHF' as deal_name, 'default' as pipeline_id, 'closedwon' as stage_id,
               1200.0 as amount, 'CHF' as currency, date '2024-05-01' as contract_start_date,
               date '2025-04-30' as contract_end_date, false as archived,
               'page file, results[0]' as _record, 'crm/deals/page-9.json' as _file,
               now() as _loaded_at""")
    con.close()
    result = _dbt(
        ["build", "--select", "int_revenue__deals", "assert_revenue_missing_fx_rate"],
        warehouse,
        tmp_path,
    )
    assert result.returncode == 1
    assert "FAIL 1 assert_revenue_missing_fx_rate" in result.stdout
