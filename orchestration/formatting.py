"""Values as people read them: money to the cent, no binary noise, tables in Markdown."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# Money columns by the project's naming: `*_usd`, amounts, costs, MRR/MRC/ARR, revenue; not the
# ratios, rates (usd_per_unit), shares and probabilities computed from them.
_MONEY = re.compile(r"(^|_)(usd|amount|cost|mrr|mrc|arr|revenue)($|_)", re.IGNORECASE)
_NOT_MONEY = re.compile(
    r"ratio|rate|share|probability|pct|percent|quantity|usd_per_", re.IGNORECASE
)
CENT = Decimal("0.01")


def is_money(column: str) -> bool:
    return bool(_MONEY.search(column)) and not _NOT_MONEY.search(column)


def rounded(column: str, value: Any) -> Any:
    """Money to the cent; any other float to six decimals, which drops binary noise
    (37111.75999999999 -> 37111.76) and keeps ratios and rates exact enough."""
    if isinstance(value, float):
        if not math.isfinite(value):
            return value
        return round(value, 2 if is_money(column) else 6)
    if isinstance(value, Decimal) and is_money(column) and value.is_finite():
        return value.quantize(CENT)
    return value


def shown(column: str, value: Any) -> str:
    """A cell as text: empty for null, ISO dates, money with two decimals, other numbers
    rounded as `rounded` does and without trailing zeros or exponent."""
    value = rounded(column, value)
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and math.isfinite(value):
        if is_money(column):
            return f"{value:.2f}"
        return f"{value:.6f}".rstrip("0").rstrip(".")
    return str(value)


def money(value: float | Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def markdown_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table of `rows` (values rounded as above), for Dagster metadata."""

    def cell(column: str, value: Any) -> str:
        return shown(column, value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += [
        "| " + " | ".join(cell(c, v) for c, v in zip(columns, row, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(lines)
