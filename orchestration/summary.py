"""The summary a build prints: one small function per section, each a few lines.

A section is `(con, as_of) -> list[str]`: it reads the warehouse through the read-only
connection `con` and describes `as_of`, the month the headline metrics are about. It returns
no lines when it has nothing to say. Add a section by writing one such function and listing
it in `SECTIONS`; keep it to a handful of lines (`make demo` prints at most ~40 in all).
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import duckdb

from warehouse.connection import connect_read_only
from warehouse.paths import warehouse_path

Section = Callable[[duckdb.DuckDBPyConnection, date | None], list[str]]
WIDTH = 96
TOP_PARTNERS = 3


def number(value: float | None) -> str:
    """Whole numbers from 100 up, two decimals below; '-' for a missing value."""
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.2f}"


def packed(items: Sequence[str], first: str = "  ", indent: str = "  ") -> list[str]:
    """`items` joined by ' · ' in lines of at most WIDTH characters, never split inside one."""
    lines, line, filled = [], first, False
    for item in items:
        if filled and len(line) + 3 + len(item) > WIDTH:
            lines.append(line)
            line, filled = indent, False
        line += f" · {item}" if filled else item
        filled = True
    return [*lines, line]


def fitted(prefix: str, items: Sequence[str]) -> str:
    """`prefix` and as many of `items` as fit in WIDTH, then how many more there are."""
    for shown in range(len(items), 0, -1):
        more = f" (+{len(items) - shown} more)" if shown < len(items) else ""
        line = prefix + " · ".join(items[:shown]) + more
        if len(line) <= WIDTH:
            return line
    return f"{prefix}{len(items)} items"


def source_notes(
    quarantined: int, stale: bool, cadence: float | None, none_found: bool, rows_kept: int
) -> list[str]:
    """What a person should look at for one source (nothing when all is well)."""
    notes = []
    if none_found:  # an empty folder keeps earlier rows: more likely a wrong path
        kept = f", {rows_kept:,} row{'' if rows_kept == 1 else 's'} from earlier loads kept"
        notes.append("no files found" + (kept if rows_kept else ""))
    if quarantined:
        notes.append(f"{quarantined:,} rows quarantined")
    if stale:
        notes.append(f"STALE: no new file in {cadence:.0f} h")
    return notes


def sources(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[str]:
    rows = con.execute(
        "select source, files, rows_loaded, rows_quarantined, is_stale, "
        "expected_cadence_hours, files_in_landing = 0 "
        "from marts.fct_source_loads order by source"
    ).fetchall()
    files = sum(r[1] for r in rows)
    loaded = sum(r[2] for r in rows)
    quarantined = sum(r[3] for r in rows)
    lines = [
        f"Sources: {len(rows)}, {files:,} files, {loaded:,} rows loaded, "
        f"{quarantined:,} quarantined (rows per stage: partner-metrics reconcile)"
    ]
    lines += packed([f"{name} {rows_loaded:,}" for name, _, rows_loaded, *_ in rows])
    for name, _, rows_loaded, rows_quarantined, stale, cadence, none_found in rows:
        notes = source_notes(rows_quarantined, stale, cadence, none_found, rows_loaded)
        if notes:
            lines.append(f"  {name}: {'; '.join(notes)}")
    return lines


SKIPPED_SHOWN = 5


def skipped_files(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[str]:
    """Files under a source's folder that no connector reads: never passed over in silence."""
    rows = con.execute(
        "select source_name, landing_file, reason from staging.stg_ingest__files "
        "where status = 'skipped' order by source_name, landing_file"
    ).fetchall()
    if not rows:
        return []
    lines = [f"Skipped files ({len(rows)}; not read, nothing of them is counted):"]
    lines += [f"  {name}: {file}: {reason}" for name, file, reason in rows[:SKIPPED_SHOWN]]
    if len(rows) > SKIPPED_SHOWN:
        lines.append(f"  ... and {len(rows) - SKIPPED_SHOWN} more (staging.stg_ingest__files)")
    return lines


def headline_metrics(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[str]:
    """The headline metrics, what of them the sources do not cover, then MRC by provider."""
    metrics = con.execute(
        "select metric, value, unit, coverage, coverage_note "
        "from marts.fct_headline_metrics order by sort_order"
    ).fetchall()
    month = f"{as_of:%Y-%m}" if as_of else "-"
    lines = [f"Headline metrics, {month}:"]
    cells = [f"{metric:<30} {number(value):>9} {unit:<9}" for metric, value, unit, *_ in metrics]
    lines += ["  " + "  ".join(cells[i : i + 2]).rstrip() for i in range(0, len(cells), 2)]
    gaps: dict[str, list[str]] = {}
    for metric, _, _, coverage, note in metrics:
        if coverage not in (None, "complete"):
            gaps.setdefault(f"{coverage} coverage: {note}", []).append(metric)
    if gaps:
        lines.append(f"  Not covered in {month} (shown as -, never as 0):")
        lines += [f"    {', '.join(names)}: {gap}" for gap, names in gaps.items()]
    return lines + mrc_by_provider(con, as_of)


def mrc_by_provider(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[str]:
    rows = con.execute(
        "select provider, sum(effective_cost_usd) from marts.fct_cloud_costs_monthly "
        "where month = ? group by provider order by 2 desc",
        [as_of],
    ).fetchall()
    if not rows:
        return []
    items = [f"{provider or 'unknown'} {number(cost)}" for provider, cost in rows]
    return packed(items, first="  MRC by provider (USD): ", indent="    ")


def partners_by_mrc(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[str]:
    rows = con.execute(
        "select partner_id, mrc_usd, paid_by_us_mrc_usd, mrr_usd, mrc_to_mrr_ratio "
        "from marts.fct_partner_sustainability_monthly where month = ? "
        f"order by mrc_usd desc nulls last, partner_id limit {TOP_PARTNERS}",
        [as_of],
    ).fetchall()
    if not rows:
        return []
    lines = [
        f"{f'Top {len(rows)} partners by MRC, USD':<26} {'MRC':>10} {'paid by us':>11} "
        f"{'MRR':>10} {'MRC/MRR':>7}",
    ]
    lines += [
        f"  {partner:<24} {number(mrc):>10} {number(paid):>11} {number(mrr):>10} "
        f"{'-' if ratio is None else f'{ratio:.2f}':>7}"
        for partner, mrc, paid, mrr, ratio in rows
    ]
    return lines


def usage(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[str]:
    """Billable MAU by cluster (and its gaps), the usage-fee gap, and cost per MAU of the
    partners with the most MRR."""
    clusters = con.execute(
        "select cluster, billable_users, coverage from marts.fct_cluster_mau_monthly "
        "where month = ? and has_data order by billable_users desc, cluster",
        [as_of],
    ).fetchall()
    if not clusters:
        return [f"Usage, {as_of:%Y-%m}: no per-user data"] if as_of else []
    expected, invoiced, gap, under, partners = con.execute(
        "select sum(expected_usage_fee_usd), sum(invoiced_4223_usd), sum(gap_usd), "
        "count(*) filter (where gap_usd > 0), count(*) "
        "from marts.fct_usage_fee_recovery_monthly where month = ? and billable_mau is not null",
        [as_of],
    ).fetchone()
    top = con.execute(
        "select partner_id, cost_per_mau_usd from marts.fct_partner_unit_economics_monthly "
        f"where month = ? and mrr_usd > 0 order by mrr_usd desc, partner_id limit {TOP_PARTNERS}",
        [as_of],
    ).fetchall()
    total = sum(users for _, users, _ in clusters)
    lines = [
        f"Usage, {as_of:%Y-%m}: {total:,} billable MAU (people with a server, once per cluster)"
    ]
    lines.append(fitted("  by cluster: ", [f"{name} {users:,}" for name, users, _ in clusters]))
    gaps = [f"{name} {coverage:.0%} of days" for name, _, coverage in clusters if coverage < 1]
    if gaps:
        lines += packed(gaps, first="  incomplete: ", indent="    ")
    lines.append(
        f"  usage fees (USD): expected {number(expected)}, invoiced {number(invoiced)}, "
        f"gap {number(gap)}; {under} of {partners} partners under-invoiced"
    )
    lines.append(
        fitted(
            f"  cost per MAU (USD), top {TOP_PARTNERS} by MRR: ",
            [f"{partner} {number(cost)}" for partner, cost in top],
        )
    )
    return lines


def community(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[str]:
    """The latest quarter's NPS and CSAT, the latest month's support times and CSAT, and the
    median days from lead to first value (and to a running hub)."""
    survey = con.execute(
        "select n.quarter, n.nps, n.responses, c.csat, c.responses, n.min_responses "
        "from marts.fct_nps_quarterly as n left join marts.fct_csat_quarterly as c "
        "on n.quarter = c.quarter and c.partner_id is null "
        "where n.partner_id is null order by n.quarter desc limit 1"
    ).fetchone()
    support = con.execute(
        "select month, first_response_hours_median, first_response_hours_p80, "
        "resolution_hours_median, resolution_hours_p80, support_csat, ratings "
        "from marts.fct_support_monthly where partner_id is null order by month desc limit 1"
    ).fetchone()
    [(value_days, valued, launch_days, launched)] = con.execute(
        "select median(days_created_to_first_value), count(days_created_to_first_value), "
        "median(days_created_to_closed_won + days_closed_won_to_hub_launched), "
        "count(days_closed_won_to_hub_launched) from marts.fct_lead_lifecycle"
    ).fetchall()

    def hours(value: float | None) -> str:
        return "-" if value is None else f"{value:.1f} h"

    def share(value: float | None) -> str:
        return "-" if value is None else f"{value:.0%}"

    lines = ["Community (all partners):"]
    if survey:
        quarter, nps, answers, csat, csat_answers, minimum = survey
        score = f"{nps:.0f}" if nps is not None else f"- (under {minimum} answers)"
        lines.append(
            f"  Survey {quarter.year} Q{(quarter.month - 1) // 3 + 1}: NPS {score} from "
            f"{answers} answers; CSAT {share(csat)} from {csat_answers or 0}"
        )
    if support:
        month, fr, fr80, res, res80, csat, ratings = support
        lines.append(
            f"  Support {month:%Y-%m}: first response {hours(fr)} (p80 {hours(fr80)}), "
            f"resolution {hours(res)} (p80 {hours(res80)}); CSAT {share(csat)} of {ratings}"
        )
    if valued:
        lines.append(
            f"  Lead to first value: {value_days:.0f} days median ({valued} first won deals); "
            f"to hub launch: {launch_days:.0f} ({launched})"
        )
    elif launched:
        lines.append(
            f"  Lead to hub launch: {launch_days:.0f} days median ({launched} first won deals); "
            "none at first value yet"
        )
    return lines if len(lines) > 1 else []


SECTIONS: list[Section] = [
    sources,
    skipped_files,
    headline_metrics,
    partners_by_mrc,
    usage,
    community,
]


def summary(
    warehouse: Path,
    snapshot: Path | None = None,
    warnings: Sequence[str] = (),
    log: Path | None = None,
    seconds: float | None = None,
) -> str:
    """The text a build ends with: every section, the warnings, then where things are (the
    snapshot last)."""
    with connect_read_only(warehouse) as con:
        found = con.execute("select max(as_of) from marts.fct_headline_metrics").fetchall()
        as_of = found[0][0] if found else None
        sections = [lines for section in SECTIONS if (lines := section(con, as_of))]
    if warnings:
        sections.append(
            [f"Warnings ({len(warnings)}; the build went on):", *(f"  {w}" for w in warnings)]
        )
    built = f", built in {seconds:.0f} s" if seconds is not None else ""
    query = 'partner-metrics query "select * from marts.fct_headline_metrics"'
    if warehouse.resolve() != warehouse_path():  # else `query` would read another warehouse
        query += f" --warehouse {shlex.quote(str(warehouse))}"
    where = [
        f"Warehouse  {warehouse} ({warehouse.stat().st_size / 1e6:.1f} MB{built}); "
        f"query it: {query}"
    ]
    if log is not None:
        where.append(f"Log        {log}")
    if snapshot is not None:
        where.append(f"Report     {snapshot}")
    sections.append(where)
    return "\n\n".join("\n".join(lines) for lines in sections)
