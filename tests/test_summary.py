"""The build summary on a small warehouse made by hand: what a person reads after `build`."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.summary import WIDTH, packed, summary
from warehouse.connection import connect


def make_warehouse(path: Path) -> None:
    with connect(path) as con:
        con.execute("create schema marts; create schema staging")
        con.execute("""create table staging.stg_ingest__files as select * from (values
            ('aws_cur', 'cloud_costs/aws/notes.txt', 'skipped', 'not a file aws_cur reads'),
            ('aws_cur', 'cloud_costs/aws/x/m-Manifest.json', 'manifest', null),
            ('fx', 'fx/rates.csv', 'loaded', null)
        ) as t(source_name, landing_file, status, reason)""")
        # invoices: the folder was empty this time, the rows of earlier loads were kept;
        # azure_costs: never had a file.
        con.execute("""create table marts.fct_source_loads as select * from (values
            ('azure_costs', 0, 0, 0, false, 840.0, 0),
            ('fx', 2, 216, 0, false, 840.0, 2),
            ('hubspot', 6, 128, 3, true, 48.0, 6),
            ('invoices', 3, 1105, 0, false, 840.0, 0)
        ) as t(source, files, rows_loaded, rows_quarantined, is_stale, expected_cadence_hours,
               files_in_landing)""")
        # Usage is not covered at all in October, cost only in part: their metrics are null.
        con.execute("""create table marts.fct_headline_metrics as select * from (values
            (10, 'partners running', 27.0, 'partners', date '2026-10-01', 'complete', null),
            (30, 'daily active users, last month', null, 'users/day', date '2026-10-01',
             'none', 'no Prometheus data for cluster(s) a, b'),
            (35, 'MRC', 420.5, 'USD', date '2026-10-01', 'partial',
             'no cloud bill for cluster(s) c'),
            (40, 'MRR', 37111.76, 'USD', date '2026-10-01', 'complete', null),
            (60, 'MRC/MRR ratio', null, 'ratio', date '2026-10-01', 'partial',
             'no cloud bill for cluster(s) c')
        ) as t(sort_order, metric, value, unit, as_of, coverage, coverage_note)""")
        con.execute("""create table marts.fct_cloud_costs_monthly as select * from (values
            (date '2026-10-01', 'aws', 100.0), (date '2026-10-01', 'aws', 20.5),
            (date '2026-10-01', 'gcp', 300.0), (date '2026-09-01', 'gcp', 999.0)
        ) as t(month, provider, effective_cost_usd)""")
        con.execute("""create table marts.fct_partner_sustainability_monthly as
            select * from (values
            (date '2026-10-01', 'ocean', 300.0, 300.0, 0.0, null),
            (date '2026-10-01', 'river', 120.5, 0.0, 1000.0, 0.1205)
        ) as t(month, partner_id, mrc_usd, paid_by_us_mrc_usd, mrr_usd, mrc_to_mrr_ratio)""")
        # The latest survey quarter had too few answers for a score; its CSAT row has none.
        con.execute("""create table marts.fct_nps_quarterly as select * from (values
            (date '2026-04-01', null, 12, 25.0, 5), (date '2026-07-01', null, 3, null, 5),
            (date '2026-07-01', 'ocean', 3, null, 5)
        ) as t(quarter, partner_id, responses, nps, min_responses)""")
        con.execute("""create table marts.fct_csat_quarterly as select * from (values
            (date '2026-04-01', null, 12, 0.75), (date '2026-07-01', 'ocean', 2, null)
        ) as t(quarter, partner_id, responses, csat)""")
        con.execute("""create table marts.fct_support_monthly as select * from (values
            (date '2026-09-01', null, 3.0, 5.0, 20.0, 30.0, 0.5, 4),
            (date '2026-10-01', null, 2.25, 6.08, 24.0, 43.1, 0.8, 10),
            (date '2026-10-01', 'ocean', 1.0, 1.0, 2.0, 2.0, 1.0, 1)
        ) as t(month, partner_id, first_response_hours_median, first_response_hours_p80,
               resolution_hours_median, resolution_hours_p80, support_csat, ratings)""")
        # Lead to first value: 52 and 40 days, median 46; the deal whose hub has not reached
        # it yet does not count. Lead to hub launch: 30 + 10 = 40, 50 + 20 = 70 and
        # 20 + 5 = 25 days, median 40; the renewal without a hub launch does not count.
        con.execute("""create table marts.fct_lead_lifecycle as select * from (values
            (30, 10, 52), (50, 20, null), (20, 5, 40), (100, null, null)
        ) as t(days_created_to_closed_won, days_closed_won_to_hub_launched,
               days_created_to_first_value)""")
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


def test_summary_shows_sources_staleness_metrics_costs_warnings_and_where_things_are(
    tmp_path: Path,
):
    warehouse = tmp_path / "w.duckdb"
    make_warehouse(warehouse)
    snapshot = tmp_path / "snapshots" / "2026-11-26"
    text = summary(
        warehouse,
        snapshot,
        ["check source_is_fresh on fct_source_loads warned"],
        tmp_path / "build.log",
        12.4,
    )
    # 0 + 2 + 6 + 3 files, 0 + 216 + 128 + 1,105 rows, 3 quarantined. invoices' folder was
    # empty this time (its earlier rows kept), azure_costs never had a file.
    assert text.startswith(
        "Sources: 4, 11 files, 1,449 rows loaded, 3 quarantined "
        "(rows per stage: partner-metrics reconcile)\n"
        "  azure_costs 0 · fx 216 · hubspot 128 · invoices 1,105\n"
        "  azure_costs: no files found\n"
        "  hubspot: 3 rows quarantined; STALE: no new file in 48 h\n"
        "  invoices: no files found, 1,105 rows from earlier loads kept\n\n"
    )
    # An unread file is listed with the reason; manifests and loaded files are not.
    assert (
        "Skipped files (1; not read, nothing of them is counted):\n"
        "  aws_cur: cloud_costs/aws/notes.txt: not a file aws_cur reads\n\n"
    ) in text
    assert "Manifest" not in text
    assert "Headline metrics, 2026-10:\n" in text
    # Two metrics a line, in sort order; a metric its sources do not cover reads '-'.
    assert (
        "  partners running                      27 partners   daily active users, last month "
        "        - users/day\n"
        "  MRC                                  420 USD        MRR                          "
        "     37,112 USD\n"
        "  MRC/MRR ratio                          - ratio\n"
    ) in text
    assert (
        "  Not covered in 2026-10 (shown as -, never as 0):\n"
        "    daily active users, last month: none coverage: no Prometheus data for cluster(s) "
        "a, b\n"
        "    MRC, MRC/MRR ratio: partial coverage: no cloud bill for cluster(s) c\n"
    ) in text
    # September is not the headline month; aws is 100 + 20.5, shown without cents from 100 up.
    assert "\n  MRC by provider (USD): gcp 300 · aws 120\n" in text
    assert (
        "Top 2 partners by MRC, USD        MRC  paid by us        MRR MRC/MRR\n"
        "  ocean                           300         300          0       -\n"
        "  river                           120           0      1,000    0.12\n"
    ) in text
    assert (
        "Community (all partners):\n"
        "  Survey 2026 Q3: NPS - (under 5 answers) from 3 answers; CSAT - from 0\n"
        "  Support 2026-10: first response 2.2 h (p80 6.1 h), resolution 24.0 h (p80 43.1 h); "
        "CSAT 80% of 10\n"
        "  Lead to first value: 46 days median (2 first won deals); to hub launch: 40 (3)\n\n"
    ) in text
    assert (
        "Warnings (1; the build went on):\n  check source_is_fresh on fct_source_loads warned\n\n"
    ) in text
    assert f"\nWarehouse  {warehouse} (" in text and "MB, built in 12 s); query it" in text
    # Not the default warehouse: the command to query it says which.
    assert (
        'query it: partner-metrics query "select * from marts.fct_headline_metrics" '
        f"--warehouse {warehouse}\n"
    ) in text
    assert f"\nLog        {tmp_path / 'build.log'}\n" in text
    assert text.endswith(f"\nReport     {snapshot}")


def test_summary_shows_billable_mau_the_fee_gap_and_cost_per_mau(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    make_warehouse(warehouse)
    text = summary(warehouse)
    # 1,200 + 300 billable; 'old' has no per-user data; uk has 27 of 31 days (87%).
    # Fees of the covered partners: expected 325 + 100, invoiced 300 + 100, gap 25 + 0.
    # Cost per MAU of the partners with MRR, most first: river, then lake (no MAU: -).
    assert (
        "Usage, 2026-10: 1,500 billable MAU (people with a server, once per cluster)\n"
        "  by cluster: aws-us 1,200 · uk 300\n"
        "  incomplete: uk 87% of days\n"
        "  usage fees (USD): expected 425, invoiced 400, gap 25; 1 of 2 partners under-invoiced\n"
        "  cost per MAU (USD), top 3 by MRR: river 2.50 · lake -\n"
    ) in text


def test_summary_says_when_no_hub_has_reached_first_value_yet(tmp_path: Path):
    warehouse = tmp_path / "w.duckdb"
    make_warehouse(warehouse)
    with connect(warehouse) as con:
        con.execute("update marts.fct_lead_lifecycle set days_created_to_first_value = null")
    # Lead to hub launch as above: 40, 70 and 25 days, median 40.
    assert (
        "\n  Lead to hub launch: 40 days median (3 first won deals); none at first value yet\n"
    ) in summary(warehouse)


def test_long_lists_wrap_between_items_within_the_width():
    items = [f"source_number_{i} {i * 1000:,}" for i in range(12)]
    lines = packed(items, first="Rows: ")
    assert len(lines) > 1
    assert all(len(line) <= WIDTH for line in lines)
    rejoined = " · ".join(line.removeprefix("Rows: ").strip() for line in lines)
    assert rejoined.split(" · ") == items


def test_the_query_hint_names_no_warehouse_when_it_is_the_default_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    warehouse = tmp_path / "w.duckdb"
    make_warehouse(warehouse)
    monkeypatch.setenv("PARTNER_METRICS_WAREHOUSE", str(warehouse))
    assert (
        'query it: partner-metrics query "select * from marts.fct_headline_metrics"\n'
    ) in summary(warehouse, log=tmp_path / "build.log")
