"""Small marts made by hand for the report's sections, with the columns issues 10 and 11 name
for the marts that are being built elsewhere. The report is for October 2026: its charts show
November 2025 to October 2026. The expected values are worked out in tests/test_report_sections.py.
"""

from __future__ import annotations

from datetime import date

import duckdb

MONTH = date(2026, 10, 1)


def make_report_marts(con: duckdb.DuckDBPyConnection, with_first_value: bool = True) -> None:
    con.execute("create schema if not exists marts")
    con.execute("create schema if not exists audit")
    con.execute("""create table marts.fct_headline_metrics as select * from (values
        (35, 'MRC', 400.0, 'USD', date '2026-10-01', 'Monthly recurring cost.'),
        (40, 'MRR', 1120.0, 'USD', date '2026-10-01', 'Monthly recurring revenue.'),
        (60, 'MRC/MRR ratio', 0.357, 'ratio', date '2026-10-01', 'MRC / MRR.')
    ) as t(sort_order, metric, value, unit, as_of, definition)""")
    con.execute("""create table marts.fct_sustainability_monthly as select * from (values
        (date '2025-10-01', 999.0, 999.0, 1.0, 0.0, 0.0, 0.0),
        (date '2026-09-01', 380.0, 1000.0, 0.38, 350.0, 300.0, 50.0),
        (date '2026-10-01', 400.0, 1120.0, 0.357, 450.0, 430.0, 20.0)
    ) as t(month, mrc_usd, mrr_usd, mrc_to_mrr_ratio, recoverable_cost_usd,
           invoiced_recovery_usd, recovery_gap_usd)""")
    con.execute("""create table marts.fct_retention_monthly as select * from (values
        (date '2026-09-01', 900.0, 100.0, 0.0, 0.0, 0.0, 0.0, 1000.0, 0.9, 1.1, 0.0),
        (date '2026-10-01', 1000.0, 200.0, 50.0, 0.0, 30.0, 100.0, 1120.0, 0.85, 1.05, 0.1)
    ) as t(month, start_mrr_usd, new_mrr_usd, expansion_mrr_usd, reactivation_mrr_usd,
           contraction_mrr_usd, churned_mrr_usd, end_mrr_usd, grr_12m, nrr_12m,
           logo_churn_rate)""")
    con.execute("""create table marts.fct_cost_recovery_monthly as select * from (values
        (date '2026-10-01', 'ocean', 300.0, 250.0, 50.0, 0.8333),
        (date '2026-10-01', 'river', 100.0, 100.0, 0.0, 1.0),
        (date '2026-10-01', 'lake', 50.0, 80.0, -30.0, 1.6),
        (date '2026-09-01', 'ocean', 350.0, 300.0, 50.0, 0.857)
    ) as t(month, partner_id, recoverable_cost_usd, invoiced_recovery_usd, recovery_gap_usd,
           recovery_ratio)""")
    # Issue 10: fct_partner_unit_economics_monthly and fct_usage_fee_recovery_monthly.
    con.execute("""create table marts.fct_partner_unit_economics_monthly as select * from (values
        (date '2026-10-01', 'ocean', 1000.0, 200.0, 800.0, 40, 5.0, 25.0, 0.2),
        (date '2026-10-01', 'river', 0.0, 50.0, -50.0, 10, 5.0, 0.0, null),
        (date '2026-10-01', 'lake', 500.0, 80.0, 420.0, null, null, null, 0.16),
        (date '2026-09-01', 'ocean', 1000.0, 190.0, 810.0, 35, 5.43, 28.57, 0.19)
    ) as t(month, partner_id, mrr_usd, cost_usd, margin_usd, mau, cost_per_mau_usd,
           revenue_per_mau_usd, cost_share_of_revenue)""")
    con.execute("""create table marts.fct_usage_fee_recovery_monthly as select * from (values
        (date '2026-10-01', 'ocean', 40, 300.0, 250.0, 50.0),
        (date '2026-10-01', 'river', 10, 100.0, 100.0, 0.0),
        (date '2026-09-01', 'ocean', 35, 275.0, 275.0, 0.0),
        (date '2025-10-01', 'ocean', 10, 100.0, 0.0, 100.0)
    ) as t(month, partner_id, billable_mau, expected_usage_fee_usd, invoiced_4223_usd,
           gap_usd)""")
    # Issue 11: NPS and CSAT per quarter (overall: partner_id null), the lead lifecycle.
    quarters = [date(2024, 10, 1)] + [date(y, m, 1) for y in (2025, 2026) for m in (1, 4, 7, 10)]
    nps_rows, csat_rows = [], []
    for quarter in [*quarters, date(2027, 1, 1)]:
        few = quarter == date(2025, 4, 1)  # below the minimum of 5 answers
        nps_rows.append(
            f"(date '{quarter}', null, {3 if few else 10}, {1 if few else 5}, 1, "
            f"{1 if few else 2}, {'null' if few else 30.0}, {not few}, 5)"
        )
        csat_rows.append(
            f"(date '{quarter}', null, {3 if few else 10}, {2 if few else 8}, 1, "
            f"{0 if few else 1}, {'null' if few else 0.8}, {not few}, 5)"
        )
    nps_rows.append("(date '2026-10-01', 'ocean', 10, 0, 0, 10, -100.0, true, 5)")
    con.execute(f"""create table marts.fct_nps_quarterly as select * from (values
        {", ".join(nps_rows)}
    ) as t(quarter, partner_id, responses, promoters, passives, detractors, nps,
           meets_min_responses, min_responses)""")
    con.execute(f"""create table marts.fct_csat_quarterly as select * from (values
        {", ".join(csat_rows)}
    ) as t(quarter, partner_id, responses, satisfied, neutral, dissatisfied, csat,
           meets_min_responses, min_responses)""")
    con.execute("""create table marts.fct_lead_lifecycle as select
        deal_id, partner_id, is_renewal,
        cast(created_at as timestamp) as created_at,
        cast(qualified_at as timestamp) as qualified_at,
        cast(proposal_at as timestamp) as proposal_at,
        cast(closed_won_at as timestamp) as closed_won_at,
        cast(closed_lost_at as timestamp) as closed_lost_at,
        cast(hub_launched_on as date) as hub_launched_on,
        cast(first_value_on as date) as first_value_on,
        cast(null as date) as sustained_use_on,
        days_created_to_qualified, days_created_to_closed_won,
        days_closed_won_to_hub_launched, days_hub_launched_to_first_value,
        days_created_to_first_value
    from (values
        ('d1', 'ocean', false, '2026-01-10 09:00', '2026-01-20 10:00', '2026-02-01 10:00',
         '2026-03-01 12:00', null, '2026-03-15', '2026-04-14', 10, 50, 14, 30, 94),
        ('d2', 'river', false, '2026-02-01 09:00', '2026-02-21 09:00', '2026-03-01 09:00',
         '2026-05-02 09:00', null, '2026-05-12', '2026-11-20', 20, 90, 10, 192, 292),
        ('d3', null, false, '2026-06-01 09:00', '2026-06-04 09:00', null,
         null, '2026-07-01 09:00', null, null, 3, null, null, null, null),
        ('d4', 'lake', false, '2026-09-01 09:00', '2026-09-11 09:00', '2026-10-15 09:00',
         '2026-11-05 09:00', null, null, null, 10, 65, null, null, null),
        ('d5', null, false, '2026-10-20 09:00', null, null, null, null, null, null,
         null, null, null, null, null),
        ('d6', 'ocean', true, '2026-03-01 09:00', '2026-03-02 09:00', '2026-03-03 09:00',
         '2026-03-04 09:00', null, null, null, 1, 3, null, null, null),
        ('d7', 'sea', false, '2025-06-01 09:00', '2025-06-11 09:00', '2025-07-01 09:00',
         '2025-08-01 09:00', null, '2025-08-15', null, 10, 61, 14, null, null)
    ) as t(deal_id, partner_id, is_renewal, created_at, qualified_at, proposal_at,
           closed_won_at, closed_lost_at, hub_launched_on, first_value_on,
           days_created_to_qualified, days_created_to_closed_won,
           days_closed_won_to_hub_launched, days_hub_launched_to_first_value,
           days_created_to_first_value)""")
    if not with_first_value:
        con.execute(
            "create or replace table marts.fct_lead_lifecycle as select * exclude "
            "(first_value_on, sustained_use_on, days_hub_launched_to_first_value, "
            "days_created_to_first_value) from marts.fct_lead_lifecycle"
        )
    con.execute("""create table marts.fct_source_loads as select * from (values
        ('fx', 2, 216, 0, false), ('hubspot', 6, 128, 3, true)
    ) as t(source, files, rows_loaded, rows_quarantined, is_stale)""")
    con.execute("""create table audit.dbt_test_results as select * from (values
        ('assert_revenue_no_rejected_deals', 'int_revenue__rejected_deals', 'warn', 'warn', 2,
         'Got 2 results, configured to warn if != 0'),
        ('not_null_dim_partners_partner_id', 'dim_partners', 'error', 'pass', 0, '')
    ) as t(test_name, model_name, severity, status, failures, message)""")
