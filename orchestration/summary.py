"""The summary a build prints: one small function per section, each a few lines.

A section is `(con, as_of) -> list[str]`: it reads the warehouse through the read-only
connection `con` and describes `as_of`, the month the headline metrics are about. It returns
no lines when it has nothing to say. Add a section by writing one such function and listing
it in `SECTIONS`; keep it to a handful of lines (`make demo` prints at most ~40 in all).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

import duckdb

from warehouse.connection import connect_read_only

Section = Callable[[duckdb.DuckDBPyConnection, date | None], list[str]]
WIDTH = 96
TOP_PARTNERS = 5


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


def source_notes(quarantined: int, stale: bool, cadence: float | None) -> list[str]:
    """What a person should look at for one source (nothing when all is well)."""
    notes = []
    if quarantined:
        notes.append(f"{quarantined:,} rows quarantined")
    if stale:
        notes.append(f"STALE: no new file in {cadence:.0f} h")
    return notes


def sources(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[str]:
    rows = con.execute(
        "select source, files, rows_loaded, rows_quarantined, is_stale, "
        "expected_cadence_hours from marts.fct_source_loads order by source"
    ).fetchall()
    files = sum(r[1] for r in rows)
    loaded = sum(r[2] for r in rows)
    quarantined = sum(r[3] for r in rows)
    lines = [
        f"Sources: {len(rows)}, {files:,} files, {loaded:,} rows loaded, "
        f"{quarantined:,} quarantined (rows per stage: partner-metrics reconcile)"
    ]
    lines += packed([f"{name} {rows_loaded:,}" for name, _, rows_loaded, *_ in rows])
    for name, _, _, rows_quarantined, stale, cadence in rows:
        notes = source_notes(rows_quarantined, stale, cadence)
        if notes:
            lines.append(f"  {name}: {'; '.join(notes)}")
    return lines


def headline_metrics(con: duckdb.DuckDBPyConnection, as_of: date | None) -> list[str]:
    """The headline metrics, then MRC by provider on one line."""
    metrics = con.execute(
        "select metric, value, unit from marts.fct_headline_metrics order by sort_order"
    ).fetchall()
    month = f"{as_of:%Y-%m}" if as_of else "-"
    lines = [f"Headline metrics, {month}:"]
    lines += [f"  {metric:<34} {number(value):>14} {unit}" for metric, value, unit in metrics]
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
        f"Top {len(rows)} partners by MRC (USD; ratio = MRC / MRR):",
        f"  {'partner':<24} {'MRC':>10} {'paid by us':>11} {'MRR':>10} {'ratio':>7}",
    ]
    lines += [
        f"  {partner:<24} {number(mrc):>10} {number(paid):>11} {number(mrr):>10} "
        f"{'-' if ratio is None else f'{ratio:.2f}':>7}"
        for partner, mrc, paid, mrr, ratio in rows
    ]
    return lines


SECTIONS: list[Section] = [sources, headline_metrics, partners_by_mrc]


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
    where = [
        f"Warehouse  {warehouse} ({warehouse.stat().st_size / 1e6:.1f} MB{built}); "
        'query it: partner-metrics query "select * from marts.fct_headline_metrics"'
    ]
    if log is not None:
        where.append(f"Log        {log}")
    if snapshot is not None:
        where.append(f"Snapshot   {snapshot}")
    sections.append(where)
    return "\n\n".join("\n".join(lines) for lines in sections)
