"""Metric snapshots: every marts table frozen as Parquet under a dated folder for leadership."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

MARTS_SCHEMA = "marts"
# The reconciliation report as people read it: the CLI prints it, the UI shows it.
RECONCILIATION_SQL = (
    "select source, stage, relation_name, currency, row_count, amount "
    f"from {MARTS_SCHEMA}.fct_reconciliation order by source, stage_order, stage, currency"
)


@dataclass(frozen=True)
class Snapshot:
    folder: Path
    tables: dict[str, int]  # table -> rows


def marts_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = ? order by table_name",
            [MARTS_SCHEMA],
        ).fetchall()
    ]


def export_snapshot(con: duckdb.DuckDBPyConnection, root: Path, as_of: date) -> Snapshot:
    """Write `<root>/<as_of>/<table>.parquet` for every marts table, replacing that day's set.

    The folder is written under a temporary name and renamed at the end, so a reader never
    sees half a snapshot.
    """
    final = root / as_of.isoformat()
    partial = root / f".{as_of.isoformat()}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    tables = {}
    for table in marts_tables(con):
        target = partial / f"{table}.parquet"
        con.execute(f"copy {MARTS_SCHEMA}.{table} to '{target}' (format parquet)")
        tables[table] = con.execute(f"select count(*) from {MARTS_SCHEMA}.{table}").fetchall()[0][0]
    (partial / "manifest.json").write_text(
        json.dumps({"as_of": as_of.isoformat(), "tables": tables}, indent=2), encoding="utf-8"
    )
    shutil.rmtree(final, ignore_errors=True)
    partial.rename(final)
    return Snapshot(final, tables)
