"""Warehouse access: analysts read only, one build at a time; each warehouse its own reports."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from warehouse.connection import (
    WarehouseBusyError,
    WarehouseMissingError,
    build_lock,
    connect,
    connect_read_only,
)
from warehouse.paths import PROJECT_ROOT, snapshots_path


def test_the_analyst_connection_refuses_writes(tmp_path: Path):
    path = tmp_path / "w.duckdb"
    with connect(path) as con:
        con.execute("create table t as select 1 as x")
    with connect_read_only(path) as con:
        assert con.execute("select x from t").fetchall() == [(1,)]
        with pytest.raises(duckdb.InvalidInputException, match="read-only"):
            con.execute("insert into t values (2)")


def test_the_analyst_connection_to_a_missing_file_names_it_and_creates_nothing(tmp_path: Path):
    """The notebooks open the warehouse with it: a mistyped path said only 'database does not
    exist', naming no way to build one."""
    missing = tmp_path / "typo" / "w.duckdb"
    with pytest.raises(WarehouseMissingError) as raised:
        connect_read_only(missing)
    assert str(raised.value) == (
        f"no warehouse at {missing}; build it first: make demo (for data/warehouse.duckdb), "
        f"or partner-metrics build --landing DIR --warehouse {missing}"
    )
    assert list(tmp_path.iterdir()) == []


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


def test_a_warehouse_publishes_its_reports_beside_it_unless_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """`build --warehouse /srv/real.duckdb` without `--snapshots` once published into the
    demo's data/snapshots: its report became v2 of the demo's month, and the demo's v1 went
    into its own history (a publication puts back the versions a folder holds)."""
    monkeypatch.delenv("PARTNER_METRICS_SNAPSHOTS", raising=False)
    monkeypatch.delenv("PARTNER_METRICS_WAREHOUSE", raising=False)
    assert snapshots_path() == PROJECT_ROOT / "data" / "snapshots"
    real = tmp_path / "real" / "warehouse.duckdb"
    assert snapshots_path(real) == tmp_path / "real" / "snapshots"
    # `dagster dev` (make ui) knows the warehouse from the environment only.
    monkeypatch.setenv("PARTNER_METRICS_WAREHOUSE", str(tmp_path / "ui" / "w.duckdb"))
    assert snapshots_path() == tmp_path / "ui" / "snapshots"
    monkeypatch.setenv("PARTNER_METRICS_SNAPSHOTS", str(tmp_path / "reports"))
    assert snapshots_path(real) == tmp_path / "reports"
    assert snapshots_path() == tmp_path / "reports"
