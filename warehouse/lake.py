"""The lake: the warehouse's source tables as Parquet files that any engine reads.

The dbt models read two schemas they never build: `raw` (what the connectors landed) and
`published` (the snapshot versions). `export_sources` writes each of their tables to
`<lake>/<schema>/<table>/part-0.parquet`; the dbt `spark` target (dbt_project/profiles.yml)
declares one external table per dbt source over those folders (macro
`declare_lake_sources`) and builds every model from them. The files are a copy of the
warehouse at one moment; the DuckDB file stays the system of record.

`python -m warehouse.lake [--warehouse W] [--lake L]` exports by hand (defaults: the
warehouse and lake of warehouse/paths.py).
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from warehouse.connection import connect_read_only
from warehouse.paths import lake_path, warehouse_path

SOURCE_SCHEMAS = ("raw", "published")


@dataclass(frozen=True)
class ExportedTable:
    schema: str
    table: str
    rows: int
    path: Path


def _column_expression(name: str, data_type: str) -> str:
    """JSON columns travel as text: Parquet's JSON annotation is not read by every engine
    (Spark reads the string and parses it where a model asks, macro json_field)."""
    quoted = '"' + name.replace('"', '""') + '"'
    if data_type == "JSON":
        return f"cast({quoted} as varchar) as {quoted}"
    return quoted


def export_sources(warehouse: Path, lake: Path) -> list[ExportedTable]:
    """Write every table of the source schemas to Parquet under `lake`, replacing what an
    earlier export wrote there; returns the tables with their row counts."""
    exported: list[ExportedTable] = []
    with connect_read_only(warehouse) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables"
            " where table_type = 'BASE TABLE' and table_schema in (?, ?)"
            " order by table_schema, table_name",
            list(SOURCE_SCHEMAS),
        ).fetchall()
        for schema in SOURCE_SCHEMAS:
            shutil.rmtree(lake / schema, ignore_errors=True)
        for schema, table in tables:
            columns = con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_schema = ? and table_name = ? order by ordinal_position",
                [schema, table],
            ).fetchall()
            folder = lake / schema / table
            folder.mkdir(parents=True)
            target = folder / "part-0.parquet"
            literal = "'" + str(target).replace("'", "''") + "'"
            select = ", ".join(_column_expression(name, kind) for name, kind in columns)
            con.execute(
                f'copy (select {select} from "{schema}"."{table}") to {literal}'
                " (format parquet, compression zstd)"
            )
            rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
            exported.append(ExportedTable(schema, table, rows, target))
    return exported


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Export the warehouse's sources to Parquet.")
    parser.add_argument("--warehouse", type=Path, default=warehouse_path())
    parser.add_argument("--lake", type=Path, default=lake_path())
    args = parser.parse_args(argv)
    exported = export_sources(args.warehouse, args.lake)
    rows = sum(table.rows for table in exported)
    print(f"{len(exported)} tables, {rows:,} rows written to {args.lake}")


if __name__ == "__main__":
    main()
