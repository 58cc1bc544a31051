"""Charts of the report and the notebooks: Plotly figures in one style, drawn offline.

The report embeds plotly.js once and each chart as a `<div>` with its data; the notebooks use
`use_offline_charts()`, which embeds plotly.js once in the notebook, so an HTML export (nbconvert)
or a viewer without JupyterLab still draws every chart, with no network.
"""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio
from plotly.io._base_renderers import NotebookRenderer

PALETTE = ["#1f5f8b", "#e07b39", "#3c9d5d", "#b5435a", "#7a5ea8", "#8c7a4f", "#4aa3a1"]
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
CONFIG = {"displaylogo": False, "responsive": True}
# The report is read, not explored: no toolbar over its charts (hover still shows values).
REPORT_CONFIG = {**CONFIG, "displayModeBar": False}
OFFLINE_RENDERER = "offline_notebook"


def style(figure: go.Figure, title: str, height: int = 360) -> go.Figure:
    """The house style: one font and palette, a title, the legend above the plot."""
    figure.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 15}},
        font={"family": FONT, "size": 12, "color": "#222"},
        colorway=PALETTE,
        height=height,
        margin={"l": 60, "r": 30, "t": 60, "b": 40},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        plot_bgcolor="white",
        paper_bgcolor="white",
        hovermode="x unified",
    )
    figure.update_xaxes(showgrid=False, linecolor="#999")
    figure.update_yaxes(gridcolor="#e5e5e5", zerolinecolor="#999", automargin=True)
    return figure


def by_month(figure: go.Figure) -> go.Figure:
    """An x axis of months: one tick per month, named, not the days Plotly would pick."""
    figure.update_xaxes(dtick="M1", tickformat="%b\n%Y")
    return figure


def chart_div(figure: go.Figure, div_id: str) -> str:
    """A figure as an HTML `<div>` and the script that draws it; plotly.js comes separately."""
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        config=REPORT_CONFIG,
        default_width="100%",
    )


class _OfflineNotebookRenderer(NotebookRenderer):
    """Plotly's notebook renderer (plotly.js embedded once, when activated) without its
    per-chart MathJax script from a CDN, which fails offline."""

    def to_mimebundle(self, fig_dict):
        html = pio.to_html(
            fig_dict,
            config=CONFIG,
            include_plotlyjs=False,
            include_mathjax=False,
            full_html=False,
            default_width="100%",
            validate=False,
        )
        return {"text/html": html}


def use_offline_charts() -> None:
    """Notebooks: every chart as HTML that draws anywhere (plotly.js embedded once, in the
    cell that calls this) and as Plotly's own JSON for JupyterLab."""
    pio.renderers[OFFLINE_RENDERER] = _OfflineNotebookRenderer(config=CONFIG)
    pio.renderers.default = f"plotly_mimetype+{OFFLINE_RENDERER}"
