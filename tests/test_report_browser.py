"""The report in a real browser (headless Chromium, no network): no console error, and every
chart drew its data; a section without its mart shows a "not available yet" note instead."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from reporting.report import Report, collect_sections, render_html
from tests.browser import CHARTS_DRAWN, Page, open_page, require_chromium
from tests.conftest import BuiltWarehouse
from tests.report_marts import MONTH, make_report_marts

# Per section: its chart's size and the SVG paths its traces drew (a bar, a line, a funnel
# stage), or the note that replaces it.
SECTIONS_AS_DRAWN = """
[...document.querySelectorAll('section[id]')].map(section => {
  const plot = section.querySelector('figure.chart .js-plotly-plot');
  const box = plot ? plot.getBoundingClientRect() : null;
  return {
    id: section.id,
    width: box ? Math.round(box.width) : 0,
    height: box ? Math.round(box.height) : 0,
    traces: plot ? plot.querySelectorAll('g.trace').length : 0,
    drawn: plot ? [...plot.querySelectorAll('g.trace path')]
      .filter(p => (p.getAttribute('d') || '').length > 2).length : 0,
    unavailable: section.querySelector('.unavailable') !== null,
    table: section.querySelector('table') !== null,
  };
})
"""


@pytest.fixture(scope="module", autouse=True)
def chromium() -> None:
    require_chromium()


# What a reader sees as values: chart labels, tables, headline cards.
SHOWN_TEXT = """
[...document.querySelectorAll('svg text, table, .card')].map(e => e.textContent).join(' | ')
"""


def assert_no_missing_shown_as_a_value(page: Page) -> None:
    shown = page.evaluate(SHOWN_TEXT)
    assert len(shown) > 500
    for word in ("NaN", "None", "null", "undefined", "Infinity"):
        assert word not in shown, word


def sections_as_drawn(page: Page) -> dict[str, dict]:
    page.wait_until(CHARTS_DRAWN)
    return {section["id"]: section for section in page.evaluate(SECTIONS_AS_DRAWN)}


def test_the_built_report_draws_every_chart_offline(built_warehouse: BuiltWarehouse, tmp_path):
    report = built_warehouse.snapshots / "2026-10" / "v1" / "report.html"
    with open_page(report.as_uri()) as page:
        sections = sections_as_drawn(page)
        assert_no_missing_shown_as_a_value(page)
        page.screenshot(tmp_path / "report.png")
        errors = page.errors
    assert errors == []
    assert {"headline", "mrc-mrr", "mrr-movements", "retention", "cost-recovery"} <= set(sections)
    for key, section in sections.items():
        if key in ("headline", "coverage"):
            continue
        if section["unavailable"]:  # its mart is not in this warehouse (yet)
            assert section["traces"] == 0
            continue
        assert section["width"] > 400 and section["height"] > 200, section
        assert section["traces"] >= 1 and section["drawn"] >= 1, section
    # On this warehouse cost, revenue and retention are there: their charts drew.
    assert all(
        not sections[key]["unavailable"] and sections[key]["drawn"]
        for key in ("mrc-mrr", "mrr-movements", "retention", "cost-recovery")
    )
    assert sections["coverage"]["table"]
    assert (tmp_path / "report.png").stat().st_size > 50_000


def test_every_section_draws_when_its_mart_exists(tmp_path: Path):
    """The usage and community sections, on hand-made marts of the columns issues 10 and 11
    name, in the browser too."""
    with duckdb.connect(str(tmp_path / "report.duckdb")) as con:
        make_report_marts(con)
        report = Report(
            month=MONTH,
            version=1,
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
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    with open_page(path.as_uri()) as page:
        sections = sections_as_drawn(page)
        assert_no_missing_shown_as_a_value(page)  # lake has no MAU: "no usage data"
        errors = page.errors
    assert errors == []
    charted = [key for key, s in sections.items() if s["drawn"]]
    assert charted == [
        "mrc-mrr",
        "mrr-movements",
        "retention",
        "cost-recovery",
        "mau",
        "usage-fees",
        "satisfaction",
        "funnel",
    ]
    assert not any(section["unavailable"] for section in sections.values())
