"""Each report section on small marts made by hand (tests/report_marts.py), including the
sections whose marts other issues are building: the expected numbers are worked out here."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from reporting.format import MISSING as DASH
from reporting.report import Report, collect_sections, render_html, render_markdown
from reporting.sections import (
    COST_RECOVERY,
    COVERAGE,
    FUNNEL_SECTION,
    MAU_PER_PARTNER,
    MRR_MOVEMENTS,
    SATISFACTION,
    SECTIONS,
    SUSTAINABILITY,
    USAGE_FEES,
    Reader,
    last_complete_quarter,
    run,
)
from tests.report_marts import MONTH, make_report_marts


@pytest.fixture
def con(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "report.duckdb")) as connection:
        make_report_marts(connection)
        yield connection


def shown(section, con):
    result = run(section, Reader(con), MONTH)
    assert result.missing == ()
    return result.shown


def records(frame: pd.DataFrame) -> list[dict]:
    return [
        {k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")
    ]


def test_sustainability_shows_the_12_months_ending_with_the_report_month(con):
    table = shown(SUSTAINABILITY, con).table
    # October 2025 is 12 months before October 2026: outside November 2025 - October 2026.
    assert [m.date().isoformat() for m in table["month"]] == ["2026-09-01", "2026-10-01"]


def test_mrr_waterfall_goes_from_start_to_end_of_the_month(con):
    result = shown(MRR_MOVEMENTS, con)
    # 1000 + 200 new + 50 expansion + 0 reactivation - 30 contraction - 100 churn = 1120
    assert list(result.table["mrr_usd"]) == [1000, 200, 50, 0, -30, -100, 1120]
    assert sum(result.table["mrr_usd"][:-1]) == result.table["mrr_usd"].iloc[-1]
    assert list(result.figure.data[0].measure) == ["absolute", *["relative"] * 5, "total"]


def test_cost_recovery_lists_partners_with_a_gap_largest_first(con):
    result = shown(COST_RECOVERY, con)
    # river's gap is 0: not listed; |50| before |-30|.
    assert list(result.table["partner_id"]) == ["ocean", "lake"]
    assert list(result.table["recovery_gap_usd"]) == [50.0, -30.0]
    assert result.notes == ("Gap of all partners in October 2026: 20.00 USD.",)


def test_mau_per_partner_for_the_month_with_no_usage_as_a_dash(con):
    result = shown(MAU_PER_PARTNER, con)
    assert records(result.table) == [
        {"partner_id": "ocean", "mau": 40, "cost_usd": 200.0, "mrr_usd": 1000.0,
         "cost_per_mau_usd": 5.0, "revenue_per_mau_usd": 25.0},
        {"partner_id": "river", "mau": 10, "cost_usd": 50.0, "mrr_usd": 0.0,
         "cost_per_mau_usd": 5.0, "revenue_per_mau_usd": 0.0},
        {"partner_id": "lake", "mau": None, "cost_usd": 80.0, "mrr_usd": 500.0,
         "cost_per_mau_usd": None, "revenue_per_mau_usd": None},
    ]  # fmt: skip
    html = render_html(report_of(con))
    assert "NaN" not in html.split('<section id="mau">')[1].split("</section>")[0]


def test_usage_fee_recovery_sums_partners_per_month(con):
    result = shown(USAGE_FEES, con)
    # September: ocean only, 275 expected and invoiced. October: 300 + 100 = 400 expected,
    # 250 + 100 = 350 invoiced, gap 50 + 0 = 50. October 2025 is outside the 12 months.
    assert records(result.series) == [
        {"month": pd.Timestamp("2026-09-01"), "expected_usage_fee_usd": 275.0,
         "invoiced_4223_usd": 275.0, "gap_usd": 0.0},
        {"month": pd.Timestamp("2026-10-01"), "expected_usage_fee_usd": 400.0,
         "invoiced_4223_usd": 350.0, "gap_usd": 50.0},
    ]  # fmt: skip
    assert list(result.table["partner_id"]) == ["ocean", "river"]
    assert result.notes == ("Gap of all partners in October 2026: 50.00 USD.",)


def test_satisfaction_shows_the_last_8_complete_quarters_and_no_score_below_the_minimum(con):
    result = shown(SATISFACTION, con)
    # By the end of October 2026 the last quarter that has ended is Q3 2026 (July): Q4 2026
    # (from October) is still collecting answers, and January 2027 is later. Eight quarters
    # back from Q3 2026: Q4 2024 to Q3 2026. The partner row (ocean) is not overall.
    assert [q.date().isoformat() for q in result.table["quarter"]] == [
        "2024-10-01", "2025-01-01", "2025-04-01", "2025-07-01",
        "2025-10-01", "2026-01-01", "2026-04-01", "2026-07-01",
    ]  # fmt: skip
    few = result.table.iloc[2]  # Q2 2025: 3 answers, below the minimum of 5
    assert pd.isna(few["nps"]) and pd.isna(few["csat"]) and few["nps_responses"] == 3
    assert set(result.table["nps"].dropna()) == {30.0}
    assert result.notes == ("No score where too few answered (2025 Q2); the counts are shown.",)


@pytest.mark.parametrize(
    ("month", "quarter"),
    [
        (date(2026, 10, 1), date(2026, 7, 1)),  # October: Q3 has ended, Q4 has not
        (date(2026, 12, 1), date(2026, 10, 1)),  # December ends Q4
        (date(2026, 9, 1), date(2026, 7, 1)),  # September ends Q3
        (date(2027, 2, 1), date(2026, 10, 1)),  # February: Q4 of the year before
    ],
)
def test_last_complete_quarter(month, quarter):
    assert last_complete_quarter(month) == quarter


def test_funnel_counts_new_partner_deals_reaching_each_milestone_by_the_month_end(con):
    result = shown(FUNNEL_SECTION, con)
    # Deals created Nov 2025 - Oct 2026, renewals left out: d1..d5 (d6 is a renewal, d7 is
    # older). Qualified by 31 Oct: d1, d2, d3, d4. Proposal: d1, d2, d4 (15 Oct). Won by
    # 31 Oct: d1, d2 (d4 won on 5 Nov). Hub launched: d1, d2. First value: d1 (d2's is 20 Nov).
    # Median days created -> qualified over 10, 20, 3, 10: (10 + 10) / 2 = 10; created -> won
    # over 50 and 90: 70; won -> hub launched over 14 and 10: 12; hub -> first value: 30.
    assert records(result.table) == [
        {"stage": "created", "deals": 5, "share_of_created": 1.0, "median_days": None,
         "days_measured_from": None},
        {"stage": "qualified", "deals": 4, "share_of_created": 0.8, "median_days": 10.0,
         "days_measured_from": "created"},
        {"stage": "proposal", "deals": 3, "share_of_created": 0.6, "median_days": None,
         "days_measured_from": None},
        {"stage": "closed won", "deals": 2, "share_of_created": 0.4, "median_days": 70.0,
         "days_measured_from": "created"},
        {"stage": "hub launched", "deals": 2, "share_of_created": 0.4, "median_days": 12.0,
         "days_measured_from": "closed won"},
        {"stage": "first value", "deals": 1, "share_of_created": 0.2, "median_days": 30.0,
         "days_measured_from": "hub launched"},
    ]  # fmt: skip
    # Lead to first value: d1 only, 94 days.
    assert result.notes == ("Median days from lead to first value: 94.",)


def test_funnel_without_new_deals_in_the_window_says_so_instead_of_an_empty_chart(con):
    # The report for April 2025 looks at deals created May 2024 - April 2025; the oldest deal,
    # d7, was created in June 2025, so no new-partner deal is counted.
    result = run(FUNNEL_SECTION, Reader(con), date(2025, 4, 1)).shown
    assert result.figure is None
    assert list(result.table["deals"]) == [0, 0, 0, 0, 0, 0]
    assert result.notes == ("No new-partner deal was created in the 12 months to April 2025.",)


def test_funnel_without_first_value_columns_says_that_stage_is_not_available(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "m.duckdb")) as con:
        make_report_marts(con, with_first_value=False)
        result = shown(FUNNEL_SECTION, con)
    assert list(result.table["stage"]) == [
        "created",
        "qualified",
        "proposal",
        "closed won",
        "hub launched",
    ]
    assert result.notes == ("Not available yet: first value (fct_lead_lifecycle lacks it).",)


def test_coverage_lists_the_checks_that_warned_and_stale_sources(con):
    result = shown(COVERAGE, con)
    assert result.notes == (
        "Check assert_revenue_no_rejected_deals on int_revenue__rejected_deals warned: 2 rows.",
        "Stale (no new file within its cadence): hubspot.",
    )


def report_of(con, version: int = 1) -> Report:
    return Report(
        month=MONTH,
        version=version,
        published_at=datetime(2026, 11, 6, 6, 0, tzinfo=UTC),
        run_id="run-1",
        git_commit="abc123",
        metrics=con.execute(
            "select sort_order, metric, value, unit, null as coverage, definition "
            "from marts.fct_headline_metrics order by sort_order"
        ).df(),
        previous_month=None,
        changes=None,
        changed_sections=[],
        sections=collect_sections(con, MONTH),
    )


def test_a_warehouse_without_the_marts_shows_each_section_as_not_available(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "empty.duckdb")) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.fct_headline_metrics as select 10 as sort_order, "
            "'MRR' as metric, 5.0 as value, 'USD' as unit, date '2026-10-01' as as_of, "
            "'d' as definition"
        )
        report = report_of(con)
    html, markdown = render_html(report), render_markdown(report)
    assert all(result.shown is None for result in report.sections)
    assert html.count("Not available yet: this warehouse has no marts.") == len(SECTIONS)
    assert (
        "Not available yet: this warehouse has no marts.fct_nps_quarterly, "
        "marts.fct_csat_quarterly." in markdown
    )


def test_the_markdown_report_rounds_and_shows_missing_as_a_dash(con):
    markdown = render_markdown(report_of(con))
    assert f"| MRR | 1,120 USD | {DASH} | {DASH} |" in markdown
    assert f"| MRC/MRR ratio | 0.36 | {DASH} | {DASH} |" in markdown
    assert (
        f"| lake | {DASH} | 80.00 | 500 | {DASH} | {DASH} |" in markdown
    )  # MAU not covered: a dash
    assert "NaN" not in markdown and "None" not in markdown
