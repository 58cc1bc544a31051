"""Every staff notebook runs top to bottom against a freshly built warehouse."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from tests.conftest import BuiltWarehouse
from warehouse.connection import connect_read_only
from warehouse.paths import PROJECT_ROOT, WAREHOUSE_ENV

NOTEBOOKS = sorted((PROJECT_ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_against_the_warehouse(
    path: Path, built_warehouse: BuiltWarehouse, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv(WAREHOUSE_ENV, str(built_warehouse.warehouse))
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join([str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")])
    )
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(PROJECT_ROOT)}},
    ).execute()
    errors = [
        output
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
    )
    assert f"warehouse: {built_warehouse.warehouse}" in printed
    shown = "".join(
        output.get("data", {}).get("text/plain", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "execute_result"
    )
    assert "partners running" in shown
    if path.name == "partner_overview.ipynb":
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


def test_notebooks_are_committed_without_outputs():
    for path in NOTEBOOKS:
        notebook = nbformat.read(path, as_version=4)
        assert all(not cell.get("outputs") for cell in notebook.cells if cell.cell_type == "code")
