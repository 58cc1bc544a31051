"""The revenue marts built from the hand-made fixture landing (tests/fixtures/revenue).

One build per module: every connector loads the landing folder through the ingestion
framework (the code the Dagster ingest assets run), then `dbt build` runs every model, unit
test and data test with its own target folder and as-of date 2025-03-10. Expected values are
worked out by hand from the fixtures:

- contracts: 101 alpha 12000 USD 2024-01-01..2024-12-31 -> 1000/month; 102 beta 6000.50 EUR
  from 2024-03-01 at 1.20 (not January's 1.10 nor April's 1.30) -> 7200.60 / 12 = 600.05;
  108 beta 2400 USD 2024-04-01..2025-03-31 -> 200.
- the month spine runs 2024-01 (the first contract start) to 2025-02, the as-of month: the
  last month complete at the end of 2025-03-10.
- the landing has no cloud bill: every month's cloud cost is unknown (coverage 'none'), so
  MRC, recoverable cost and their ratios are null, never 0.

A second build of the same landing as of 2025-08-10 (as-of month July 2025) is the fixture
whose last data row (invoices of 2025-01-05, a service period to 2025-02-28) is months
before the as-of date: contracts still count up to their end and churn after it.
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
from tests.conftest import WITHOUT_UNIT_TESTS, run_dbt

pytestmark = pytest.mark.slow(60, reason="dbt builds of the revenue fixtures")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "revenue"
AS_OF = "2025-03-10"


def _dbt(
    args: list[str], warehouse: Path, work: Path, as_of: str = AS_OF
) -> subprocess.CompletedProcess[str]:
    return run_dbt(args, warehouse, work, as_of)


def _build(work: Path, as_of: str) -> Path:
    landing = work / "landing"
    for folder in ("registry", "fx", "crm", "invoices"):
        shutil.copytree(FIXTURES / folder, landing / folder)
    warehouse = work / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    for source in SOURCES:
        load_source(con, source, landing)
    con.close()
    result = _dbt(["build", *WITHOUT_UNIT_TESTS], warehouse, work, as_of)
    assert result.returncode == 0, result.stdout[-4000:]
    # Rejected deals and invoice lines warn; they do not fail the build.
    assert "WARN 3 assert_revenue_no_rejected_deals" in result.stdout
    assert "WARN 1 assert_revenue_no_rejected_invoice_lines" in result.stdout
    return warehouse


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("revenue_pipeline"), AS_OF)


@pytest.fixture(scope="module")
def built_months_later(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build(tmp_path_factory.mktemp("revenue_pipeline_later"), "2025-08-10")


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
    # The spine ends at February 2025, the as-of month: 102 (600.05) ends 2025-02-28, the
    # month's last day, so beta still has 600.05 + 200 in February.
    assert alpha == [(date(2024, m, 1), 1000.0) for m in range(1, 13)] + [
        (date(2025, 1, 1), 0.0),
        (date(2025, 2, 1), 0.0),
    ]
    assert beta == [(date(2024, 3, 1), 600.05)] + [
        (date(2024, m, 1), 800.05) for m in range(4, 13)
    ] + [(date(2025, 1, 1), 800.05), (date(2025, 2, 1), 800.05)]
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
    # No cloud bill in this landing: the recoverable cost is unknown (null, coverage none),
    # so is the gap, never minus the invoiced amount. The invoice ledger covers 2024-01..
    # 2025-02. Alpha's 910 for Q1 2024 (91 days) -> 310, 290, 310; its 920 for Q4 2024
    # (92 days) -> 310, 300, 310. Beta's 250 EUR at 1.20 for March 2024 -> 300.
    assert _rows(
        built,
        "select month, partner_id, cost_coverage, recoverable_cost_usd, invoice_coverage, "
        "invoiced_recovery_usd, recovery_gap_usd "
        "from marts.fct_cost_recovery_monthly order by month, partner_id",
    ) == [
        (date(2024, 1, 1), "alpha", "none", None, "complete", 310.0, None),
        (date(2024, 2, 1), "alpha", "none", None, "complete", 290.0, None),
        (date(2024, 3, 1), "alpha", "none", None, "complete", 310.0, None),
        (date(2024, 3, 1), "beta", "none", None, "complete", 300.0, None),
        (date(2024, 10, 1), "alpha", "none", None, "complete", 310.0, None),
        (date(2024, 11, 1), "alpha", "none", None, "complete", 300.0, None),
        (date(2024, 12, 1), "alpha", "none", None, "complete", 310.0, None),
    ]


def test_sustainability_month_without_a_cloud_bill_shows_cost_as_unknown(built):
    [row] = _rows(
        built,
        "select mrc_coverage, mrc_usd, mrr_usd, mrc_to_mrr_ratio, invoiced_recovery_usd "
        "from marts.fct_sustainability_monthly where month = '2024-03-01'",
    )
    # MRR 1000 (alpha) + 600.05 (beta); no bill covers March: MRC and the ratio are null.
    assert row == ("none", None, 1600.05, None, 610.0)
    # Per partner too: every row has MRC null (no bill), none shows 0.
    assert _rows(
        built,
        "select count(*) > 0, count(mrc_usd), count(mrc_to_mrr_ratio) "
        "from marts.fct_partner_sustainability_monthly",
    ) == [(True, 0, 0)]
    assert _rows(
        built,
        "select metric, value, coverage, coverage_note from marts.fct_headline_metrics "
        "where metric in ('MRC', 'MRC/MRR ratio', 'MRR') order by sort_order",
    ) == [
        ("MRC", None, "none", "no cloud bill covers the month"),
        ("MRR", 800.05, "complete", None),
        ("MRC/MRR ratio", None, "none", "no cloud bill covers the month"),
    ]


def test_contracted_months_after_the_as_of_month_are_forward_mrr_not_actuals(built):
    # As of 2025-03-10 the actuals end with February 2025. 108 (beta, 200/month) runs to
    # 2025-03-31: March is contracted forward MRR. 109 is an open deal: not contracted.
    assert _rows(
        built,
        "select month, partner_id, contracted_mrr_usd, contracts_active "
        "from marts.fct_mrr_contracted_forward order by month",
    ) == [(date(2025, 3, 1), "beta", 200.0, 1)]
    assert _rows(built, "select max(month) from marts.fct_mrr_monthly") == [(date(2025, 2, 1),)]


def test_months_after_the_last_data_row_still_count_contracts_and_their_churn(
    built_months_later,
):
    # As of 2025-08-10 the as-of month is July 2025, five months after the last data row.
    assert _rows(
        built_months_later,
        "select min(month_start), max(month_start), count(*) from intermediate.int_month_spine",
    ) == [(date(2024, 1, 1), date(2025, 7, 1), 19)]
    # 102 ends 2025-02-28: beta drops from 800.05 to 200 in March (contraction); 108 ends
    # 2025-03-31: beta churns in April, a month no file speaks of.
    assert _rows(
        built_months_later,
        "select month, partner_id, movement, mrr_delta_usd from marts.fct_mrr_movements "
        "where month >= '2025-01-01' order by month",
    ) == [
        (date(2025, 1, 1), "alpha", "churn", -1000.0),
        (date(2025, 3, 1), "beta", "contraction", -600.05),
        (date(2025, 4, 1), "beta", "churn", -200.0),
    ]
    assert _rows(
        built_months_later,
        "select month, end_mrr_usd, customers_end from marts.fct_retention_monthly "
        "where month >= '2025-03-01' order by month",
    ) == [
        (date(2025, 3, 1), 200.0, 1),
        *[(date(2025, m, 1), 0.0, 0) for m in range(4, 8)],
    ]
    # The headline describes July 2025, not the month of the last data row.
    assert _rows(
        built_months_later,
        "select distinct as_of from marts.fct_headline_metrics",
    ) == [(date(2025, 7, 1),)]
    # Nothing is contracted after July 2025.
    assert _rows(built_months_later, "select count(*) from marts.fct_mrr_contracted_forward") == [
        (0,)
    ]


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
        ["build", "--select", "int_revenue__deals", "assert_revenue_deals_have_fx_rate"],
        warehouse,
        tmp_path,
    )
    assert result.returncode == 1
    assert "FAIL 1 assert_revenue_deals_have_fx_rate" in result.stdout
