"""Every Dagster run holds the warehouse's build lock from its first step to its last."""

from __future__ import annotations

from pathlib import Path

import pytest
from dagster import DagsterResourceFunctionError, asset, materialize

from orchestration.resources import WarehouseLockResource
from warehouse.connection import WarehouseBusyError, build_lock


def probe_asset(database: Path, seen: list[str]):
    @asset(required_resource_keys={"warehouse_lock"})
    def probe() -> None:
        try:
            with build_lock(database):
                seen.append("lock was free during the run")
        except WarehouseBusyError:
            seen.append("busy")

    return probe


def test_a_run_holds_the_lock_so_a_build_cannot_interleave(tmp_path: Path):
    database, seen = tmp_path / "w.duckdb", []
    result = materialize(
        [probe_asset(database, seen)],
        resources={"warehouse_lock": WarehouseLockResource(database=str(database))},
    )
    assert result.success
    assert seen == ["busy"]
    with build_lock(database):  # released when the run ended
        pass


def test_a_run_does_not_start_while_a_build_holds_the_lock(tmp_path: Path):
    database, seen = tmp_path / "w.duckdb", []
    with build_lock(database), pytest.raises(DagsterResourceFunctionError) as failure:
        materialize(
            [probe_asset(database, seen)],
            resources={"warehouse_lock": WarehouseLockResource(database=str(database))},
        )
    assert isinstance(failure.value.__cause__, WarehouseBusyError)
    assert "warehouse is busy" in str(failure.value.__cause__)
    assert seen == []
