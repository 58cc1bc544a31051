"""The build summary on a small warehouse made by hand: what a person reads after `build`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from orchestration.cli import summary
from warehouse.connection import connect


def make_warehouse(path: Path) -> None:
    with connect(path) as con:
        con.execute("create schema marts")
        con.execute("""create table marts.fct_source_loads as select * from (values
            ('fx', 2, 216, 0, false, 840.0),
            ('hubspot', 6, 128, 3, true, 48.0)
        ) as t(source, files, rows_loaded, rows_quarantined, is_stale, expected_cadence_hours)""")
        con.execute("""create table marts.fct_headline_metrics as select * from (values
            (10, 'partners running', 27.0, 'partners', date '2026-10-01'),
            (40, 'MRR', 37111.76, 'USD', date '2026-10-01'),
            (60, 'MRC/MRR ratio', 0.3533, 'ratio', date '2026-10-01')
        ) as t(sort_order, metric, value, unit, as_of)""")
        con.execute("""create table marts.fct_cloud_costs_monthly as select * from (values
            (date '2026-10-01', 'aws', 100.0), (date '2026-10-01', 'aws', 20.5),
            (date '2026-10-01', 'gcp', 300.0), (date '2026-09-01', 'gcp', 999.0)
        ) as t(month, provider, effective_cost_usd)""")
        con.execute("""create table marts.fct_partner_sustainability_monthly as
            select * from (values
            (date '2026-10-01', 'ocean', 300.0, 300.0, 0.0, null),
            (date '2026-10-01', 'river', 120.5, 0.0, 1000.0, 0.1205)
        ) as t(month, partner_id, mrc_usd, paid_by_us_mrc_usd, mrr_usd, mrc_to_mrr_ratio)""")
        make_usage_marts(con)


def make_usage_marts(con) -> None:
    """October: cluster uk has a 4-day gap; two partners were covered, one under-invoiced."""
    con.execute("""create table marts.fct_cluster_mau_monthly as select * from (values
        (date '2026-10-01', 'aws-us', 1200, true, 1.0),
        (date '2026-10-01', 'uk', 300, true, 0.8709677419354839),
        (date '2026-10-01', 'old', null, false, 0.0),
        (date '2026-09-01', 'aws-us', 999, true, 1.0)
    ) as t(month, cluster, billable_users, has_data, coverage)""")
    con.execute("""create table marts.fct_usage_fee_recovery_monthly as select * from (values
        (date '2026-10-01', 'ocean', 40, 325.0, 300.0, 25.0),
        (date '2026-10-01', 'river', 10, 100.0, 100.0, 0.0),
        (date '2026-10-01', 'lake', null, null, 50.0, null)
    ) as t(month, partner_id, billable_mau, expected_usage_fee_usd, invoiced_4223_usd,
           gap_usd)""")
    con.execute("""create table marts.fct_partner_unit_economics_monthly as select * from (values
        (date '2026-10-01', 'river', 1000.0, 2.5),
        (date '2026-10-01', 'ocean', 0.0, 7.5),
        (date '2026-10-01', 'lake', 200.0, null)
    ) as t(month, partner_id, mrr_usd, cost_per_mau_usd)""")


def test_summary_shows_sources_staleness_metrics_costs_and_warnings(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    make_warehouse(warehouse)
    text = summary(
        warehouse,
        tmp_path / "snapshots",
        12.4,
        ["check source_is_fresh on marts/fct_source_loads failed"],
    )
    assert "  fx                 2 files        216 rows      0 quarantined\n" in text
    assert (
        "  hubspot            6 files        128 rows      3 quarantined"
        "  STALE: no new file in 48 h\n"
    ) in text
    assert f"Headline metrics (as of {date(2026, 10, 1)}):" in text
    assert "  MRR                                        37,112 USD" in text
    assert "  MRC/MRR ratio                                0.35 ratio" in text
    # September is not last month; aws is 100 + 20.5, shown without cents from 100 up.
    assert "  gcp                     300\n  aws                     120\n" in text
    assert "  ocean                           300         300          0       -" in text
    assert "  river                           120           0      1,000    0.12" in text
    assert (
        "Warnings (1; the build went on):\n  check source_is_fresh on marts/fct_source_loads failed"
    ) in text
    assert text.endswith("Built in 12 s.")


def test_summary_shows_billable_mau_the_fee_gap_and_cost_per_mau(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    make_warehouse(warehouse)
    text = summary(warehouse, tmp_path / "snapshots")
    # 1,200 + 300 billable; 'old' has no per-user data; uk has 27 of 31 days (87%).
    # Fees of the covered partners: expected 325 + 100, invoiced 300 + 100, gap 25 + 0.
    # Cost per MAU of the partners with MRR, most first: river, then lake (no MAU: -).
    assert (
        "Usage, 2026-10: 1,500 billable MAU (people with a server, once per cluster)\n"
        "  by cluster: aws-us 1,200, uk 300\n"
        "  incomplete: uk 87% of days\n"
        "  usage fees (USD): expected 425, invoiced 400, gap 25; 1 of 2 partners under-invoiced\n"
        "  cost per MAU (USD) of the 5 partners with most MRR: river 2.50, lake -\n"
    ) in text
