"""The sections of the monthly report, each a small declared unit: the marts it reads, one
query, one chart, a few words. A section whose mart is not in the warehouse yet is shown as
"not available yet" instead of failing the report.

Queries only select and filter the marts; every metric is defined once, in its dbt model.
Each takes `month` (the report's month, its first day) and `first_month` (11 months earlier:
charts show the 12 months ending with the report's month).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from reporting.charts import by_month, style
from reporting.format import money, number

TREND_MONTHS = 12


@dataclass(frozen=True)
class Shown:
    """What a section shows: a table of its numbers, a chart, notes. The table and the chart's
    `series` (when the chart draws more than the table lists) are what a restatement is
    detected on."""

    table: pd.DataFrame
    figure: go.Figure | None = None
    notes: tuple[str, ...] = ()
    series: pd.DataFrame | None = None


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    needs: tuple[str, ...]  # relations read, schema.table
    about: str
    show: Callable[[Reader, date], Shown]
    # Its numbers decide whether a month is restated (not for state of the build itself).
    versioned: bool = True


@dataclass
class SectionResult:
    section: Section
    shown: Shown | None
    missing: tuple[str, ...] = field(default_factory=tuple)

    @property
    def digest(self) -> str:
        """Fingerprint of the numbers: equal when a re-run shows the same (floats to 9 digits)."""
        if self.shown is None:
            return "missing:" + ",".join(self.missing)
        digest = hashlib.sha256()
        for frame in (self.shown.table, self.shown.series):
            if frame is not None:
                frame = frame.copy()
                for column in frame.select_dtypes("float").columns:
                    frame[column] = frame[column].map(lambda v: f"{v:.9g}")
                digest.update(frame.to_csv(index=False).encode())
        return digest.hexdigest()


class Reader:
    """Read-only access to the marts for the sections."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def has(self, relation: str) -> bool:
        schema, name = relation.split(".")
        return bool(
            self.con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()[0][0]
        )

    def columns(self, relation: str) -> set[str]:
        schema, name = relation.split(".")
        return {
            row[0]
            for row in self.con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [schema, name],
            ).fetchall()
        }

    def frame(self, sql: str, month: date, **params) -> pd.DataFrame:
        """Run a query with the parameters it names: `$month`, `$first_month`, `**params`."""
        values = {"month": month, "first_month": first_month(month), **params}
        return self.con.execute(sql, {k: v for k, v in values.items() if f"${k}" in sql}).df()


def first_month(month: date) -> date:
    index = month.year * 12 + month.month - 1 - (TREND_MONTHS - 1)
    return date(index // 12, index % 12 + 1, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def last_complete_quarter(month: date) -> date:
    """The first day of the last quarter that has ended by the end of `month`: a quarter's
    answers are final only then (a report for October shows July-September, not October)."""
    following = next_month(month)
    index = following.year * 4 + (following.month - 1) // 3 - 1
    return date(index // 4, index % 4 * 3 + 1, 1)


def run(section: Section, reader: Reader, month: date) -> SectionResult:
    missing = tuple(relation for relation in section.needs if not reader.has(relation))
    if missing:
        return SectionResult(section, None, missing)
    return SectionResult(section, section.show(reader, month))


# --- MRC against MRR ---------------------------------------------------------------------


def _sustainability(reader: Reader, month: date) -> Shown:
    table = reader.frame(
        """
        select month, mrc_usd, mrr_usd, mrc_to_mrr_ratio
        from marts.fct_sustainability_monthly
        where month between $first_month and $month
        order by month
        """,
        month,
    )
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_bar(x=table["month"], y=table["mrc_usd"], name="MRC (cloud cost)")
    figure.add_bar(x=table["month"], y=table["mrr_usd"], name="MRR (revenue)")
    figure.add_scatter(
        x=table["month"],
        y=table["mrc_to_mrr_ratio"],
        name="MRC / MRR",
        mode="lines+markers",
        secondary_y=True,
    )
    figure.update_yaxes(title_text="USD per month", tickformat=",.0f", secondary_y=False)
    figure.update_yaxes(
        title_text="MRC / MRR",
        tickformat=".2f",
        rangemode="tozero",
        secondary_y=True,
        showgrid=False,
    )
    return Shown(table, style(by_month(figure), "Monthly recurring cost and revenue"))


SUSTAINABILITY = Section(
    key="mrc-mrr",
    title="Cloud cost against revenue",
    needs=("marts.fct_sustainability_monthly",),
    about="Monthly recurring cloud cost (MRC: cloud bills allocated to partners, effective "
    "cost) against monthly recurring revenue (MRR: active contracts), and their ratio; "
    "below 1 the contracts pay for the cloud. A month no bill covers has no MRC (a gap, "
    "not zero). Definitions: fct_mrc_monthly, fct_mrr_monthly, fct_sustainability_monthly.",
    show=_sustainability,
)


# --- MRR movements ------------------------------------------------------------------------

MOVEMENTS = [
    ("start_mrr_usd", "MRR at start", "absolute", 1),
    ("new_mrr_usd", "new", "relative", 1),
    ("expansion_mrr_usd", "expansion", "relative", 1),
    ("reactivation_mrr_usd", "reactivation", "relative", 1),
    ("contraction_mrr_usd", "contraction", "relative", -1),
    ("churned_mrr_usd", "churn", "relative", -1),
    ("end_mrr_usd", "MRR at end", "total", 1),
]


def _mrr_movements(reader: Reader, month: date) -> Shown:
    row = reader.frame(
        f"""
        select {", ".join(column for column, *_ in MOVEMENTS)}
        from marts.fct_retention_monthly
        where month = $month
        """,
        month,
    )
    if row.empty:
        return Shown(pd.DataFrame({"movement": [], "mrr_usd": []}), notes=("No MRR this month.",))
    values = row.iloc[0]
    table = pd.DataFrame(
        {
            "movement": [label for _, label, *_ in MOVEMENTS],
            # + 0.0: a movement of nothing is 0, not -0
            "mrr_usd": [sign * values[column] + 0.0 for column, _, _, sign in MOVEMENTS],
        }
    )
    figure = go.Figure(
        go.Waterfall(
            x=table["movement"],
            y=table["mrr_usd"],
            measure=[measure for *_, measure, _ in MOVEMENTS],
            connector={"line": {"color": "#999"}},
            increasing={"marker": {"color": "#3c9d5d"}},
            decreasing={"marker": {"color": "#b5435a"}},
            totals={"marker": {"color": "#1f5f8b"}},
            texttemplate="%{y:,.0f}",
            textposition="outside",
        )
    )
    # Movements are small beside the MRR they move: show the band the levels lie in.
    levels = table["mrr_usd"].iloc[:-1].cumsum()
    low, high = min(levels.min(), table["mrr_usd"].iloc[-1]), levels.max()
    if low > 0.5 * high:
        figure.update_yaxes(range=[0.9 * low, 1.04 * high])
    figure.update_yaxes(title_text="USD per month", tickformat=",.0f")
    figure.update_layout(hovermode="closest", showlegend=False)
    return Shown(table, style(figure, f"MRR movements in {month:%B %Y}"))


MRR_MOVEMENTS = Section(
    key="mrr-movements",
    title="MRR movements",
    needs=("marts.fct_retention_monthly",),
    about="How MRR went from the start to the end of the month: new partners, expansion, "
    "returning partners, contraction and churn (ChartMogul's movement types; "
    "fct_mrr_movements, fct_retention_monthly).",
    show=_mrr_movements,
)


# --- Retention --------------------------------------------------------------------------


def _retention(reader: Reader, month: date) -> Shown:
    table = reader.frame(
        """
        select month, grr_12m, nrr_12m, logo_churn_rate
        from marts.fct_retention_monthly
        where month between $first_month and $month
        order by month
        """,
        month,
    )
    figure = go.Figure()
    for column, name in [
        ("grr_12m", "GRR, 12 months"),
        ("nrr_12m", "NRR, 12 months"),
        ("logo_churn_rate", "logo churn in the month"),
    ]:
        figure.add_scatter(x=table["month"], y=table[column], name=name, mode="lines+markers")
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    return Shown(table, style(by_month(figure), "Revenue retention"))


RETENTION = Section(
    key="retention",
    title="Gross and net revenue retention",
    needs=("marts.fct_retention_monthly",),
    about="GRR: of the MRR of partners paying 12 months ago, the share kept (each capped "
    "at its level then); NRR: the same with expansion (above 100% the existing partners "
    "grow). Logo churn: partners lost in the month / partners at its start. Definitions: "
    "fct_retention_monthly.",
    show=_retention,
)


# --- Cost recovery ----------------------------------------------------------------------


def _cost_recovery(reader: Reader, month: date) -> Shown:
    trend = reader.frame(
        """
        select month, recoverable_cost_usd, invoiced_recovery_usd, recovery_gap_usd
        from marts.fct_sustainability_monthly
        where month between $first_month and $month
        order by month
        """,
        month,
    )
    table = reader.frame(
        """
        select partner_id, recoverable_cost_usd, invoiced_recovery_usd, recovery_gap_usd,
            recovery_ratio
        from marts.fct_cost_recovery_monthly
        where month = $month and recovery_gap_usd <> 0
        order by abs(recovery_gap_usd) desc, partner_id
        """,
        month,
    )
    figure = go.Figure()
    figure.add_bar(x=trend["month"], y=trend["recoverable_cost_usd"], name="recoverable cost")
    figure.add_bar(x=trend["month"], y=trend["invoiced_recovery_usd"], name="invoiced (GL 4222)")
    figure.add_scatter(
        x=trend["month"], y=trend["recovery_gap_usd"], name="gap", mode="lines+markers"
    )
    figure.update_yaxes(title_text="USD per month", tickformat=",.0f")
    gap = trend.loc[trend["month"] == pd.Timestamp(month), "recovery_gap_usd"]
    notes = (
        () if gap.empty else (f"Gap of all partners in {month:%B %Y}: {money(gap.iloc[0])} USD.",)
    )
    return Shown(
        table,
        style(by_month(figure), "Cloud cost recovery: recoverable against invoiced"),
        notes,
        trend,
    )


COST_RECOVERY = Section(
    key="cost-recovery",
    title="Cost recovery gap",
    needs=("marts.fct_sustainability_monthly", "marts.fct_cost_recovery_monthly"),
    about="Cloud cost that partners' contracts say we recover, against what was invoiced "
    "for it (GL 4222, spread over the service period); a positive gap is not invoiced yet. "
    "The table lists the partners with a gap this month. Definition: "
    "fct_cost_recovery_monthly.",
    show=_cost_recovery,
)


# --- Usage: MAU per partner (issue 10) -----------------------------------------------------


def _mau_per_partner(reader: Reader, month: date) -> Shown:
    table = reader.frame(
        """
        select partner_id, mau, cost_usd, mrr_usd, cost_per_mau_usd, revenue_per_mau_usd
        from marts.fct_partner_unit_economics_monthly
        where month = $month
        order by mau desc nulls last, partner_id
        """,
        month,
    )
    shown = table.sort_values(["mau", "partner_id"], ascending=[True, False], na_position="first")
    figure = go.Figure(
        go.Bar(
            x=shown["mau"],
            y=shown["partner_id"],
            orientation="h",
            text=["no usage data" if pd.isna(mau) else number(mau) for mau in shown["mau"]],
            textposition="outside",
            name="MAU",
        )
    )
    figure.update_xaxes(title_text="monthly active users", tickformat=",.0f")
    figure.update_layout(hovermode="closest", showlegend=False)
    height = max(260, 26 * len(table) + 110)
    return Shown(table, style(figure, f"Monthly active users in {month:%B %Y}", height))


MAU_PER_PARTNER = Section(
    key="mau",
    title="Monthly active users per partner",
    needs=("marts.fct_partner_unit_economics_monthly",),
    about="People who started a server in the month, counted once per cluster across its "
    "hubs, without health checks and staff (the operator's billing MAU), per partner; with "
    "the partner's cloud cost and MRR per active user. A side without data is a dash, "
    "not zero. Definitions: fct_cluster_mau_monthly, fct_partner_unit_economics_monthly.",
    show=_mau_per_partner,
)


# --- Usage fees (issue 10) ----------------------------------------------------------------


def _usage_fee_recovery(reader: Reader, month: date) -> Shown:
    trend = reader.frame(
        """
        select month, sum(expected_usage_fee_usd) as expected_usage_fee_usd,
            sum(invoiced_4223_usd) as invoiced_4223_usd, sum(gap_usd) as gap_usd
        from marts.fct_usage_fee_recovery_monthly
        where month between $first_month and $month
        group by month
        order by month
        """,
        month,
    )
    table = reader.frame(
        """
        select partner_id, billable_mau, expected_usage_fee_usd, invoiced_4223_usd, gap_usd
        from marts.fct_usage_fee_recovery_monthly
        where month = $month
        order by gap_usd desc nulls last, partner_id
        """,
        month,
    )
    figure = go.Figure()
    figure.add_bar(x=trend["month"], y=trend["expected_usage_fee_usd"], name="expected fee")
    figure.add_bar(x=trend["month"], y=trend["invoiced_4223_usd"], name="invoiced (GL 4223)")
    figure.add_scatter(x=trend["month"], y=trend["gap_usd"], name="gap", mode="lines+markers")
    figure.update_yaxes(title_text="USD per month", tickformat=",.0f")
    gap = trend.loc[trend["month"] == pd.Timestamp(month), "gap_usd"]
    notes = (
        () if gap.empty else (f"Gap of all partners in {month:%B %Y}: {money(gap.iloc[0])} USD.",)
    )
    return Shown(
        table,
        style(by_month(figure), "Usage fees: expected from billable MAU against invoiced"),
        notes,
        trend,
    )


USAGE_FEES = Section(
    key="usage-fees",
    title="Usage-fee recovery",
    needs=("marts.fct_usage_fee_recovery_monthly",),
    about="The usage fee each partner owes for its billable monthly active users at the "
    "tiered price per user, against usage fees invoiced for the month (GL 4223); a "
    "positive gap is not invoiced yet. Definition: fct_usage_fee_recovery_monthly.",
    show=_usage_fee_recovery,
)


# --- Satisfaction (issue 11) -------------------------------------------------------------


def _satisfaction(reader: Reader, month: date) -> Shown:
    table = reader.frame(
        """
        select
            coalesce(nps.quarter, csat.quarter) as quarter,
            nps.responses as nps_responses,
            nps.promoters,
            nps.passives,
            nps.detractors,
            nps.nps,
            csat.responses as csat_responses,
            csat.csat
        from (select * from marts.fct_nps_quarterly where partner_id is null) as nps
        full outer join (select * from marts.fct_csat_quarterly where partner_id is null) as csat
            on nps.quarter = csat.quarter
        where coalesce(nps.quarter, csat.quarter) <= $last_quarter
        order by quarter desc
        limit 8
        """,
        month,
        last_quarter=last_complete_quarter(month),
    ).sort_values("quarter", ignore_index=True)
    labels = [f"{q.year} Q{(q.month - 1) // 3 + 1}" for q in pd.to_datetime(table["quarter"])]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_scatter(x=labels, y=table["nps"], name="NPS", mode="lines+markers")
    figure.add_scatter(
        x=labels, y=table["csat"], name="CSAT", mode="lines+markers", secondary_y=True
    )
    figure.update_yaxes(title_text="NPS", range=[-100, 100], secondary_y=False)
    figure.update_yaxes(
        title_text="CSAT", range=[0, 1], tickformat=".0%", secondary_y=True, showgrid=False
    )
    below = [label for label, nps in zip(labels, table["nps"], strict=True) if pd.isna(nps)]
    notes = (
        (f"No score where too few answered ({', '.join(below)}); the counts are shown.",)
        if below
        else ()
    )
    return Shown(table, style(figure, "Partner satisfaction by quarter"), notes)


SATISFACTION = Section(
    key="satisfaction",
    title="NPS and CSAT",
    needs=("marts.fct_nps_quarterly", "marts.fct_csat_quarterly"),
    about="Net Promoter Score (% promoters 9-10 minus % detractors 0-6, from -100 to 100) "
    "and CSAT (share of satisfied answers, 4-5 of 5) from the partner surveys, all partners, "
    "for the last eight quarters ended by the month's end; a respondent counts once a "
    "quarter. Below the minimum number of answers the score is not given. Definitions: "
    "fct_nps_quarterly, fct_csat_quarterly.",
    show=_satisfaction,
)


# --- Lead-to-partner funnel (issue 11) -----------------------------------------------------

# (stage, the milestone column, the days column measuring the step into it, measured from)
FUNNEL = [
    ("created", "created_at", None, None),
    ("qualified", "qualified_at", "days_created_to_qualified", "created"),
    ("proposal", "proposal_at", None, None),
    ("closed won", "closed_won_at", "days_created_to_closed_won", "created"),
    ("hub launched", "hub_launched_on", "days_closed_won_to_hub_launched", "closed won"),
    ("first value", "first_value_on", "days_hub_launched_to_first_value", "hub launched"),
]


def _funnel(reader: Reader, month: date) -> Shown:
    available = reader.columns("marts.fct_lead_lifecycle")
    stages = [stage for stage in FUNNEL if stage[1] in available]
    selects = []
    for index, (_, milestone, days, _) in enumerate(stages):
        reached = f"{milestone} < $period_end"
        selects.append(f"count(case when {reached} then 1 end) as reached_{index}")
        median = (
            f"percentile_cont(0.5) within group (order by case when {reached} then {days} end)"
            if days
            else "null"
        )
        selects.append(f"{median} as median_days_{index}")
    totals = reader.frame(
        f"""
        select {", ".join(selects)}
        from marts.fct_lead_lifecycle
        where not is_renewal and created_at >= $first_month and created_at < $period_end
        """,
        month,
        period_end=next_month(month),
    ).iloc[0]
    created = totals["reached_0"]
    table = pd.DataFrame(
        {
            "stage": [stage for stage, *_ in stages],
            "deals": [int(totals[f"reached_{i}"]) for i in range(len(stages))],
            "share_of_created": [
                totals[f"reached_{i}"] / created if created else None for i in range(len(stages))
            ],
            "median_days": [totals[f"median_days_{i}"] for i in range(len(stages))],
            "days_measured_from": [since for *_, since in stages],
        }
    )
    notes = []
    figure = None
    if created:
        figure = go.Figure(
            go.Funnel(
                y=table["stage"], x=table["deals"], textinfo="value+percent initial", name="deals"
            )
        )
        figure.update_layout(hovermode="closest", showlegend=False)
        figure = style(figure, f"New-partner deals created in the 12 months to {month:%B %Y}")
    else:
        notes.append(f"No new-partner deal was created in the 12 months to {month:%B %Y}.")
    if "days_created_to_first_value" in available:
        to_value = reader.frame(
            """
            select percentile_cont(0.5) within group (order by days_created_to_first_value)
            from marts.fct_lead_lifecycle
            where not is_renewal and created_at >= $first_month
                and first_value_on < $period_end
            """,
            month,
            period_end=next_month(month),
        ).iloc[0, 0]
        if not pd.isna(to_value):
            notes.append(f"Median days from lead to first value: {to_value:,.0f}.")
    absent = [stage for stage, milestone, *_ in FUNNEL if milestone not in available]
    if absent:
        notes.append(f"Not available yet: {', '.join(absent)} (fct_lead_lifecycle lacks it).")
    return Shown(table, figure, tuple(notes))


FUNNEL_SECTION = Section(
    key="funnel",
    title="Lead-to-partner funnel",
    needs=("marts.fct_lead_lifecycle",),
    about="New-partner deals created in the 12 months ending this month (renewals are their "
    "own cohort and left out), and how many reached each milestone by the month's end: "
    "qualified (left the first stage), proposal, closed won, a hub launched, first value "
    "(5 monthly active users). Median whole days of each step over the deals that made it. "
    "Definitions: fct_lead_lifecycle.",
    show=_funnel,
)


# --- Data coverage and checks ----------------------------------------------------------------


def _coverage(reader: Reader, month: date) -> Shown:
    table = reader.frame(
        """
        select source, files, rows_loaded, rows_quarantined, is_stale
        from marts.fct_source_loads
        order by source
        """,
        month,
    )
    notes = []
    if reader.has("audit.dbt_test_results"):
        warned = reader.frame(
            """
            select test_name, model_name, failures
            from audit.dbt_test_results
            where status = 'warn'
            order by model_name, test_name
            """,
            month,
        )
        notes += [
            f"Check {row.test_name} on {row.model_name} warned: {row.failures:,} "
            f"row{'' if row.failures == 1 else 's'}."
            for row in warned.itertuples()
        ] or ["No check warned in the build."]
    stale = table.loc[table["is_stale"], "source"].tolist()
    if stale:
        notes.append(f"Stale (no new file within its cadence): {', '.join(stale)}.")
    return Shown(table, notes=tuple(notes))


COVERAGE = Section(
    key="coverage",
    title="Data coverage and checks",
    needs=("marts.fct_source_loads",),
    about="What the numbers rest on: files and rows loaded per source, records quarantined "
    "(refused with a reason, see staging.stg_ingest__quarantine), sources that missed their "
    "delivery cadence, and the data checks that warned in the build that made the warehouse. "
    "A metric whose source does not cover the month says so in the headline table.",
    show=_coverage,
    versioned=False,
)


SECTIONS: tuple[Section, ...] = (
    SUSTAINABILITY,
    MRR_MOVEMENTS,
    RETENTION,
    COST_RECOVERY,
    MAU_PER_PARTNER,
    USAGE_FEES,
    SATISFACTION,
    FUNNEL_SECTION,
    COVERAGE,
)
