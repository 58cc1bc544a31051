"""Warehouse access: analysts read only, one build at a time."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from warehouse.connection import WarehouseBusyError, build_lock, connect, connect_read_only


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
