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
    assert text.endswith(
        f"Built in 12 s.\nNo report of 2026-10 published yet in {tmp_path / 'snapshots'}"
    )
