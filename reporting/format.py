"""Numbers as people read them: money rounded, ratios as percentages, missing as a dash.

The marts name their columns by what they hold (`*_usd` money; `*_rate`, `grr_*`, `nrr_*`,
`csat`, `*share*` fractions shown as percentages; `*_ratio` two decimals; `month`, `quarter`
first days), so a column's name says how to show it.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd

MISSING = "\u2013"  # an en dash
PERCENT_MARKERS = ("_rate", "grr_", "nrr_", "csat", "share", "renewal_6m", "recovery_ratio")


def is_money(column: str) -> bool:
    return column.endswith("_usd") or column == "USD"


def is_percent(column: str) -> bool:
    """Shares of a whole (rates, retention, CSAT) read best as percentages."""
    return any(marker in column for marker in PERCENT_MARKERS)


def is_missing(value) -> bool:
    if value is None or value is pd.NaT or value is pd.NA:
        return True
    return isinstance(value, float) and math.isnan(value)


def money(value) -> str:
    """USD: whole dollars from 100 up (and for 0), cents below."""
    if is_missing(value):
        return MISSING
    if value == 0:
        return "0"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}"


def percent(value) -> str:
    if is_missing(value):
        return MISSING
    return f"{value * 100:.1f}%"


def number(value) -> str:
    """Counts without decimals; other numbers to two decimals at most."""
    if is_missing(value):
        return MISSING
    if isinstance(value, int) or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:,.2f}"


def cell(column: str, value) -> str:
    """One value of a mart column, shown by what the column holds."""
    if is_missing(value):
        return MISSING
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, date):
        return moment(column, value)
    if isinstance(value, str):
        return value
    if is_money(column):
        return money(value)
    if is_percent(column):
        return percent(value)
    if column.endswith("_ratio"):
        return f"{value:.2f}"
    return number(value)


def moment(column: str, value: date) -> str:
    """A month as 2026-10, a quarter as 2026 Q4, a day as 2026-10-31, a time to the minute."""
    if isinstance(value, datetime) and (value.hour, value.minute, value.second) != (0, 0, 0):
        return value.strftime("%Y-%m-%d %H:%M")
    if column == "month":
        return value.strftime("%Y-%m")
    if column == "quarter":
        return f"{value.year} Q{(value.month - 1) // 3 + 1}"
    return value.strftime("%Y-%m-%d")


def metric_value(unit: str, value) -> str:
    """A headline metric by its unit (fct_headline_metrics.unit)."""
    if unit == "USD":
        return money(value)
    if is_missing(value):
        return MISSING
    if unit == "ratio":
        return f"{value:.2f}"
    return number(value)


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as text: rounded by its column's kind, missing values as a dash (never
    NaN or None). For tables in the report and in notebooks."""
    return pd.DataFrame(
        {column: [cell(column, value) for value in frame[column]] for column in frame.columns},
        index=range(len(frame)),
    )


def show_tables_readably() -> None:
    """In a notebook: every DataFrame a cell shows is shown as `readable` makes it (rounded,
    a dash for missing), in the HTML and the plain-text output."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    formatters["text/html"].for_type(
        pd.DataFrame, lambda frame: readable(frame).to_html(index=False, border=0)
    )
    formatters["text/plain"].for_type(
        pd.DataFrame, lambda frame, printer, cycle: printer.text(readable(frame).to_string())
    )
