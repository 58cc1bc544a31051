"""The monthly leadership report: headline numbers, what changed, and the declared sections,
written as one self-contained HTML file (plotly.js embedded once; no network) and as Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from reporting.charts import chart_div
from reporting.format import MISSING, is_missing, metric_value, readable
from reporting.sections import SECTIONS, Reader, SectionResult, run

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Report:
    month: date
    version: int
    published_at: datetime
    run_id: str
    git_commit: str
    # fct_headline_metrics: sort_order, metric, value, unit, coverage, definition
    metrics: pd.DataFrame
    # The previous month's latest published version: metric, value, version (or None)
    previous_month: pd.DataFrame | None
    # Since v1: metric, unit, v1, previous, now (None for v1)
    changes: pd.DataFrame | None
    changed_sections: list[str]
    sections: list[SectionResult]


def collect_sections(con: duckdb.DuckDBPyConnection, month: date) -> list[SectionResult]:
    reader = Reader(con)
    return [run(section, reader, month) for section in SECTIONS]


def headline_rows(report: Report) -> list[dict]:
    """Each headline metric with its month-over-month change against last month's report."""
    previous = (
        {}
        if report.previous_month is None
        else dict(zip(report.previous_month["metric"], report.previous_month["value"], strict=True))
    )
    rows = []
    for metric in report.metrics.itertuples():
        before = previous.get(metric.metric)
        rows.append(
            {
                "metric": metric.metric,
                "value": metric_value(metric.unit, metric.value),
                "unit": "" if metric.unit in ("USD", "ratio") else metric.unit,
                "currency": "USD" if metric.unit == "USD" else "",
                "change": change_text(metric.unit, before, metric.value),
                "direction": direction(before, metric.value),
                "coverage": getattr(metric, "coverage", None) or "",
                "definition": metric.definition,
            }
        )
    return rows


def change_text(unit: str, before, now) -> str:
    if is_missing(before) or is_missing(now):
        return MISSING
    if unit == "ratio" or before == 0:  # a ratio, or no base for a percentage: the difference
        return signed(unit, now - before)
    return f"{(now - before) / abs(before) * 100:+.1f}%"


def direction(before, now) -> str:
    if is_missing(before) or is_missing(now) or now == before:
        return "flat"
    return "up" if now > before else "down"


def changes_table(report: Report) -> pd.DataFrame | None:
    """The metrics that moved since v1, as shown: v1, the previous version, now, change."""
    if report.changes is None:
        return None
    changes = report.changes
    labels = {"v1": "v1", "previous": f"v{report.version - 1}", "now": f"v{report.version}"}
    shown = ["v1", "previous", "now"] if report.version > 2 else ["v1", "now"]
    table = pd.DataFrame({"metric": changes["metric"]})
    for column in shown:
        table[labels[column]] = [
            metric_value(unit, value)
            for unit, value in zip(changes["unit"], changes[column], strict=True)
        ]
    table["change since v1"] = [
        MISSING if is_missing(v1) or is_missing(now) else signed(unit, now - v1)
        for unit, v1, now in zip(changes["unit"], changes["v1"], changes["now"], strict=True)
    ]
    return table


def signed(unit: str, delta: float) -> str:
    text = metric_value(unit, abs(delta))
    return text if delta == 0 else ("+" if delta > 0 else "-") + text


def render_html(report: Report) -> str:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html", "j2"])
    )
    sections = []
    for result in report.sections:
        shown = result.shown
        sections.append(
            {
                "key": result.section.key,
                "title": result.section.title,
                "about": result.section.about,
                "missing": result.missing,
                "chart": Markup(chart_div(shown.figure, f"chart-{result.section.key}"))
                if shown is not None and shown.figure is not None
                else None,
                "table": _html_table(shown.table) if shown is not None else None,
                "notes": shown.notes if shown is not None else (),
            }
        )
    changes = changes_table(report)
    return environment.get_template("report.html.j2").render(
        report=report,
        headline=headline_rows(report),
        changes=_html_table(changes) if changes is not None else None,
        sections=sections,
        plotlyjs=Markup(get_plotlyjs()),
    )


def _html_table(frame: pd.DataFrame) -> Markup:
    shown = readable(frame)
    shown.columns = [column.replace("_", " ") for column in shown.columns]
    return Markup(shown.to_html(index=False, border=0, classes="numbers", escape=True))


def render_markdown(report: Report) -> str:
    lines = [
        f"# Partner Metrics: {report.month:%B %Y}, version {report.version}",
        "",
        f"Published {report.published_at:%Y-%m-%d %H:%M} UTC by run `{report.run_id}` "
        f"from commit `{report.git_commit}`. Charts: `report.html` beside this file.",
        "",
        "## Headline numbers",
        "",
        _markdown_table(
            pd.DataFrame(
                [
                    {
                        "metric": row["metric"],
                        "value": f"{row['value']} {row['currency'] or row['unit']}".strip(),
                        "change vs last month": row["change"],
                        "coverage": row["coverage"] or MISSING,
                    }
                    for row in headline_rows(report)
                ]
            )
        ),
    ]
    changes = changes_table(report)
    if changes is not None:
        lines += ["", "## What changed since v1", "", _markdown_table(changes)]
        if report.changed_sections:
            lines += ["", f"Sections whose numbers moved: {', '.join(report.changed_sections)}."]
    for result in report.sections:
        lines += ["", f"## {result.section.title}", "", result.section.about, ""]
        if result.shown is None:
            lines.append(f"Not available yet: this warehouse has no {', '.join(result.missing)}.")
            continue
        if not result.shown.table.empty:
            lines.append(_markdown_table(readable(result.shown.table)))
        lines += [f"\n{note}" for note in result.shown.notes]
    return "\n".join(lines) + "\n"


def _markdown_table(frame: pd.DataFrame) -> str:
    header = [str(column).replace("_", " ") for column in frame.columns]
    rows = [[str(value).replace("|", "\\|") for value in row] for row in frame.to_numpy()]
    return "\n".join(
        [
            "| " + " | ".join(header) + " |",
            "|" + "|".join("---" for _ in header) + "|",
            *["| " + " | ".join(row) + " |" for row in rows],
        ]
    )
