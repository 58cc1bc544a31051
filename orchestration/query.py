"""`partner-metrics query`: read-only SQL, at most `limit` rows, as a table, CSV or JSON.

Money is rounded to the cent and other numbers lose their binary noise
(orchestration/formatting.py); the row limit says how many rows it left out.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from orchestration.formatting import rounded, shown
from warehouse.connection import connect_read_only

FORMATS = ("table", "csv", "json")
DEFAULT_LIMIT = 50
_CHUNK = 10_000


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple]
    left_out: int  # rows beyond the limit


def run_query(warehouse: Path, sql: str, limit: int = DEFAULT_LIMIT) -> QueryResult:
    """Run one read-only statement; keep the first `limit` rows (0: all) and count the rest."""
    with connect_read_only(warehouse) as con:
        cursor = con.execute(sql)
        if cursor.description is None:
            return QueryResult([], [], 0)
        columns = [column[0] for column in cursor.description]
        rows = cursor.fetchall() if limit <= 0 else cursor.fetchmany(limit)
        left_out = 0
        while limit > 0 and (chunk := cursor.fetchmany(_CHUNK)):
            left_out += len(chunk)
    return QueryResult(columns, rows, left_out)


def _is_number_column(values: Sequence[Any]) -> bool:
    """Right-aligned: every value is a number (or null) and one is not null."""
    present = [v for v in values if v is not None]
    return bool(present) and all(
        isinstance(v, int | float | Decimal) and not isinstance(v, bool) for v in present
    )


def as_table(result: QueryResult) -> str:
    cells = [[shown(c, v) for c, v in zip(result.columns, row, strict=True)] for row in result.rows]
    widths = [
        max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(result.columns)
    ]
    numeric = [
        _is_number_column([row[i] for row in result.rows]) for i, name in enumerate(result.columns)
    ]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if right else v.ljust(w)
            for v, w, right in zip(values, widths, numeric, strict=True)
        ).rstrip()

    lines = [line(result.columns), line(["-" * w for w in widths])]
    lines += [line(row) for row in cells]
    shown_rows = f"{len(result.rows):,} rows"
    if result.left_out:
        shown_rows = (
            f"{len(result.rows):,} of {len(result.rows) + result.left_out:,} rows; "
            f"{result.left_out:,} more (--limit 0 shows all)"
        )
    return "\n".join(lines) + f"\n({shown_rows})"


def as_csv(result: QueryResult) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([shown(c, v) for c, v in zip(result.columns, row, strict=True)])
    return out.getvalue().rstrip("\n")


def _json_value(column: str, value: Any) -> Any:
    value = rounded(column, value)
    if isinstance(value, Decimal):
        return float(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return shown(column, value)  # dates, times, lists: as text


def as_json(result: QueryResult) -> str:
    """One JSON array of objects (column -> value)."""
    records = [
        {c: _json_value(c, v) for c, v in zip(result.columns, row, strict=True)}
        for row in result.rows
    ]
    return json.dumps(records, indent=1, ensure_ascii=False)


def formatted(result: QueryResult, output_format: str) -> str:
    return {"table": as_table, "csv": as_csv, "json": as_json}[output_format](result)


def left_out_note(result: QueryResult) -> str | None:
    """For CSV and JSON, where the data must stay clean: the note for standard error."""
    if not result.left_out:
        return None
    return (
        f"partner-metrics: {len(result.rows):,} rows shown, {result.left_out:,} more "
        "(--limit 0 shows all)"
    )
