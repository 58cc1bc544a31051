"""No username reaches the warehouse or a snapshot: every name the landing files hold is
searched for in every column of raw, staging, intermediate and marts, in every snapshot
Parquet file, and in the bytes of the warehouse and snapshot files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from ingest.prometheus import USERNAME_LABEL
from tests.conftest import BuiltWarehouse
from warehouse.connection import connect_read_only


def landed_usernames(landing: Path) -> set[str]:
    """Every username in the landing folder: the per-user series and the staff list."""
    names = set(
        yaml.safe_load((landing / "registry" / "usage.yaml").read_text())["excluded_usernames"]
    )
    for path in landing.glob("usage/*/user_servers.json"):
        for series in json.loads(path.read_text())["data"]["result"]:
            names.add(series["metric"][USERNAME_LABEL])
    return names


def test_no_username_reaches_a_table_a_snapshot_or_a_file(built_warehouse: BuiltWarehouse):
    names = landed_usernames(built_warehouse.landing)
    assert "deployment-service-check" in names and len(names) > 100, "the demo has users"
    pattern = "|".join(re.escape(name) for name in sorted(names))
    literal = "'" + pattern.replace("'", "''") + "'"  # a constant: compiled once
    found: list[str] = []
    with connect_read_only(built_warehouse.warehouse) as con:
        tables = con.execute(
            "select table_schema, table_name, list(column_name order by ordinal_position) "
            "from information_schema.columns "
            "where table_schema in ('raw', 'staging', 'intermediate', 'marts') "
            "group by table_schema, table_name"
        ).fetchall()
        assert {"raw", "staging", "intermediate", "marts"} <= {schema for schema, *_ in tables}
        for schema, table, columns in tables:
            row = ", ".join(f"coalesce(cast(\"{c}\" as varchar), '')" for c in columns)
            [(hits,)] = con.execute(
                f'select count(*) from "{schema}"."{table}" '
                f"where regexp_matches(concat_ws(chr(31), {row}), {literal})"
            ).fetchall()
            if hits:
                found.append(f"{schema}.{table}: {hits} rows")
        snapshots = sorted(built_warehouse.snapshots.rglob("*.parquet"))
        assert snapshots, "the build wrote a snapshot"
        for path in snapshots:
            columns = [
                c[0] for c in con.execute(f"describe from read_parquet('{path}')").fetchall()
            ]
            row = ", ".join(f"coalesce(cast(\"{c}\" as varchar), '')" for c in columns)
            [(hits,)] = con.execute(
                f"select count(*) from read_parquet('{path}') "
                f"where regexp_matches(concat_ws(chr(31), {row}), {literal})"
            ).fetchall()
            if hits:
                found.append(f"{path.name}: {hits} rows")
    # Compressed storage could hide a string from the queries above only if it were also
    # absent from the bytes; search those too.
    as_bytes = re.compile(pattern.encode())
    for path in [built_warehouse.warehouse, *snapshots]:
        if as_bytes.search(path.read_bytes()):
            found.append(f"bytes of {path.name}")
    assert found == []
