"""Every staff notebook runs top to bottom against a freshly built warehouse, read-only, and
its static HTML export (nbconvert, as staff share it) draws every chart in a browser with
rounded numbers and no NaN shown as a value."""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from tests.browser import CHARTS_DRAWN, open_page, require_chromium
from tests.conftest import BuiltWarehouse
from warehouse.connection import connect_read_only
from warehouse.paths import PROJECT_ROOT, WAREHOUSE_ENV

pytestmark = pytest.mark.slow(15, reason="the notebooks run, their HTML exports drawn in Chromium")

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))
PLOTLY_JSON = "application/vnd.plotly.v1+json"
# What the notebook shows as values, without the scripts that draw the charts.
OUTPUT_TEXT = (
    "[...document.querySelectorAll('.jp-OutputArea-output')].map(e => e.innerText).join('\\n')"
)
# Charts that drew marks: a path with a shape in a trace, or a heatmap's image.
DRAWN_CHARTS = (
    "[...document.querySelectorAll('.js-plotly-plot')].filter(p => "
    "[...p.querySelectorAll('g.trace path')].some(d => (d.getAttribute('d') || '').length > 2)"
    " || p.querySelector('g.hm image')).length"
)


def outputs(notebook, kind: str | None = None):
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if kind is None or output.get("output_type") == kind:
                    yield output


@pytest.fixture(scope="module")
def executed(built_warehouse: BuiltWarehouse) -> dict[str, nbformat.NotebookNode]:
    """Each notebook executed once against the built warehouse; the file must not change."""
    before = hashlib.sha256(built_warehouse.warehouse.read_bytes()).hexdigest()
    environment = {
        WAREHOUSE_ENV: str(built_warehouse.warehouse),
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    saved = {name: os.environ.get(name) for name in environment}
    os.environ.update(environment)
    try:
        notebooks = {}
        for path in NOTEBOOKS:
            notebook = nbformat.read(path, as_version=4)
            NotebookClient(
                notebook,
                timeout=300,
                kernel_name="python3",
                resources={"metadata": {"path": str(PROJECT_ROOT)}},
            ).execute()
            notebooks[path.name] = notebook
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    assert hashlib.sha256(built_warehouse.warehouse.read_bytes()).hexdigest() == before
    return notebooks


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_against_the_warehouse(path: Path, executed, built_warehouse: BuiltWarehouse):
    notebook = executed[path.name]
    assert list(outputs(notebook, "error")) == []
    printed = "".join(output.get("text", "") for output in outputs(notebook, "stream"))
    assert f"warehouse: {built_warehouse.warehouse}" in printed
    if path.name == "partner_overview.ipynb":
        shown = "".join(
            output.get("data", {}).get("text/plain", "")
            for output in outputs(notebook, "execute_result")
        )
        assert "partners running" in shown
        assert_cost_chart_shows_uncovered_months_as_gaps(notebook, built_warehouse.warehouse)


def plotted_values(trace_y) -> np.ndarray:
    """Plotly writes a numeric series as base64 of its bytes ('bdata') or as a list."""
    if isinstance(trace_y, dict):
        return np.frombuffer(base64.b64decode(trace_y["bdata"]), dtype=trace_y["dtype"])
    return np.array([np.nan if v is None else v for v in trace_y], dtype=float)


def assert_cost_chart_shows_uncovered_months_as_gaps(notebook, warehouse: Path) -> None:
    """The cost line has a gap (NaN) in exactly the months no cloud bill covers, not a 0."""
    traces = [
        trace
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        for trace in output.get("data", {})
        .get("application/vnd.plotly.v1+json", {})
        .get("data", [])
        if trace.get("name") == "mrc_usd"
    ]
    assert len(traces) == 1
    plotted = plotted_values(traces[0]["y"])
    with connect_read_only(warehouse) as con:
        coverage = [
            row[0]
            for row in con.execute(
                "select mrc_coverage from marts.fct_sustainability_monthly order by month"
            ).fetchall()
        ]
    assert "none" in coverage and "complete" in coverage  # the small world has both
    assert list(np.isnan(plotted)) == [c == "none" for c in coverage]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_html_export_draws_every_chart_offline(path: Path, executed, tmp_path: Path):
    require_chromium()
    notebook = executed[path.name]
    charts = sum(1 for output in outputs(notebook) if PLOTLY_JSON in output.get("data", {}))
    assert charts >= 1
    exporter = HTMLExporter()
    body, _ = exporter.from_notebook_node(notebook)
    export = tmp_path / f"{path.stem}.html"
    export.write_text(body, encoding="utf-8")
    # nbconvert's own page loads require.js, MathJax and Mermaid from a CDN, which fail
    # offline; the charts must not need them, nor anything else from the network.
    template_urls = {
        exporter.require_js_url,
        exporter.mathjax_url.split("?")[0],
        exporter.mermaid_js_url,
        exporter.mermaid_layout_elk_js_url,
    }
    with open_page(export.as_uri()) as page:
        page.wait_until(CHARTS_DRAWN)
        drawn = page.evaluate(DRAWN_CHARTS)
        text = page.evaluate(OUTPUT_TEXT)
        errors = [e for e in page.errors if not any(url in e for url in template_urls)]
    assert errors == []
    assert drawn == charts
    assert "NaN" not in text and "None" not in text
    assert not re.findall(r"\d\.\d{5,}", text), "numbers are rounded"


def test_notebooks_are_committed_without_outputs():
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
