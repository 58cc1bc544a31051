"""Warehouse access: analysts read only, one build at a time, snapshots published whole."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from warehouse.connection import WarehouseBusyError, build_lock, connect, connect_read_only
from warehouse.snapshots import export_snapshot


def test_the_analyst_connection_refuses_writes(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        con.execute("create table t as select 1 as x")
    with connect_read_only(path) as con:
        assert con.execute("select x from t").fetchall() == [(1,)]
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            con.execute("insert into t values (2)")


def test_a_second_build_is_refused_while_one_holds_the_lock(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    with (
        build_lock(path),
        pytest.raises(WarehouseBusyError, match="warehouse is busy"),
        build_lock(path),
    ):
        pass
    with build_lock(path):  # released once the first build ends
        pass


def test_snapshot_exports_every_marts_table_with_a_manifest(tmp_path: Path):
    with connect(tmp_path / "w.duckdb") as con:
        con.execute("create schema marts")
        con.execute("create table marts.fct_a as select * from range(3) as r(n)")
        con.execute("create table marts.dim_b as select 'x' as id")
        con.execute("create table main.not_a_mart as select 1 as n")
        snapshot = export_snapshot(con, tmp_path / "snapshots", date(2026, 11, 2))
    assert snapshot.folder == tmp_path / "snapshots" / "2026-11-02"
    assert snapshot.tables == {"dim_b": 1, "fct_a": 3}
    assert sorted(p.name for p in snapshot.folder.iterdir()) == [
        "dim_b.parquet",
        "fct_a.parquet",
        "manifest.json",
    ]
    assert pq.read_table(snapshot.folder / "fct_a.parquet").column("n").to_pylist() == [0, 1, 2]
    manifest = json.loads((snapshot.folder / "manifest.json").read_text())
    assert manifest == {"as_of": "2026-11-02", "tables": {"dim_b": 1, "fct_a": 3}}
    assert not list((tmp_path / "snapshots").glob(".*partial")), "no half-written folder left"
