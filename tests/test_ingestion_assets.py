"""The ingest assets: a live pull runs before the load, and its failure names the request."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from dagster import Failure, materialize

from ingest.framework import PullError
from ingest.fx import SOURCE as FX
from orchestration.ingestion import build_ingest_asset
from orchestration.resources import build_resources
from orchestration.settings import Settings
from warehouse.connection import connect_read_only


def resources(tmp_path: Path, landing: Path) -> dict:
    settings = Settings(
        landing=str(landing),
        warehouse=str(tmp_path / "w.duckdb"),
        snapshots=str(tmp_path / "snapshots"),
    )
    return build_resources(settings)


def test_the_pull_writes_landing_files_that_the_same_run_loads(tmp_path: Path):
    landing = tmp_path / "landing"

    def pull(root: Path) -> None:
        (root / "fx").mkdir(parents=True)
        (root / "fx" / "rates.csv").write_text("date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n")

    asset = build_ingest_asset("fx", [dataclasses.replace(FX, pull=pull)])
    result = materialize([asset], resources=resources(tmp_path, landing))
    assert result.success
    with connect_read_only(tmp_path / "w.duckdb") as con:
        assert con.execute("select currency, usd_per_unit from raw.fx_rates").fetchall() == [
            ("EUR", 1.1)
        ]


def test_a_failed_pull_fails_the_asset_with_request_and_status(tmp_path: Path):
    def pull(root: Path) -> None:
        raise PullError("answered 503 after 4 attempts", "GET http://127.0.0.1/rates", 503)

    asset = build_ingest_asset("fx", [dataclasses.replace(FX, pull=pull)])
    with pytest.raises(Failure) as failure:
        materialize([asset], resources=resources(tmp_path, tmp_path / "landing"))
    assert failure.value.description == "fx: answered 503 after 4 attempts"
    assert failure.value.metadata["request"].value == "GET http://127.0.0.1/rates"
    assert failure.value.metadata["status"].value == 503
    assert not (tmp_path / "w.duckdb").exists(), "nothing was written"
