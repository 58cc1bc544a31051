"""What decides whether a build runs dbt: the fingerprints of dbt's inputs.

The end-to-end side (a second build skips dbt and leaves the file untouched, --full-refresh
forces it) is in test_cli_build.py; these tests take each input apart.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import duckdb
import pytest

from ingest import fx, usage_settings
from ingest.framework import load_source
from orchestration.dbt import rebuild_from_scratch, why_build
from warehouse.build_state import (
    EVERY_SOURCE,
    DbtBuild,
    DbtInputs,
    invocation_state,
    last_build,
    project_state,
    raw_state,
    record_build,
    warehouse_state,
)
from warehouse.paths import DBT_PROJECT_DIR

RATES = "date,currency,usd_per_unit\n2026-10-01,EUR,1.08\n2026-10-01,GBP,1.27\n"
USAGE = "first_value_mau: 3\n"


@pytest.fixture
def manifest() -> dict:
    return json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())


def test_raw_state_follows_what_ingestion_landed_not_a_load_that_found_nothing_new(
    tmp_path: Path,
):
    landing = tmp_path / "landing"
    (landing / "fx").mkdir(parents=True)
    (landing / "fx" / "rates.csv").write_text(RATES)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        empty = raw_state(con)
        load_source(con, fx.SOURCE, landing)
        loaded = raw_state(con)
        # The same landing again: the load writes its bookkeeping, but lands nothing new.
        load_source(con, fx.SOURCE, landing)
        again = raw_state(con)
        (landing / "fx" / "rates.csv").write_text(RATES.replace("1.08", "1.09"))
        load_source(con, fx.SOURCE, landing)
        changed = raw_state(con)
        rows = con.execute("select usd_per_unit from raw.fx_rates order by 1").fetchall()
    assert rows == [(1.09,), (1.27,)], "the changed file was loaded"
    assert empty == {}
    assert list(loaded) == ["fx"]
    assert again == loaded
    assert changed["fx"] != loaded["fx"]


def test_raw_state_tells_which_source_landed_something_new(tmp_path: Path):
    landing = tmp_path / "landing"
    (landing / "fx").mkdir(parents=True)
    (landing / "registry").mkdir()
    (landing / "fx" / "rates.csv").write_text(RATES)
    (landing / "registry" / "usage.yaml").write_text(USAGE)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        for source in (fx.SOURCE, usage_settings.SOURCE):
            load_source(con, source, landing)
        before = raw_state(con)
        (landing / "registry" / "usage.yaml").write_text(USAGE.replace("3", "4"))
        for source in (fx.SOURCE, usage_settings.SOURCE):
            load_source(con, source, landing)
        after = raw_state(con)
    assert set(before) == {"fx", "usage_settings"}
    assert after["fx"] == before["fx"]
    assert after["usage_settings"] != before["usage_settings"]
    earlier, now = DbtInputs(before, "p", "i", "d"), DbtInputs(after, "p", "i", "d")
    assert now.changed_sources(earlier) == ["usage_settings"]
    assert now.changed_since(earlier) == ["raw data of usage_settings"]


def test_a_record_of_raw_data_as_one_fingerprint_counts_as_every_source_changed():
    older = DbtInputs("0" * 64, "p", "i")
    now = DbtInputs({"fx": "a"}, "p", "i", "2026-11-15")
    assert now.changed_sources(older) == [EVERY_SOURCE]
    assert not rebuild_from_scratch(now, DbtBuild("abcdef0123", None, older), asked=False)


def test_project_state_ignores_parse_times_but_not_a_changed_model(manifest: dict):
    reparsed = copy.deepcopy(manifest)
    reparsed["metadata"]["invocation_id"] = "another-parse"
    for node in reparsed["nodes"].values():
        node["created_at"] = node.get("created_at", 0) + 60
    assert project_state(reparsed) == project_state(manifest)

    edited = copy.deepcopy(manifest)
    model = next(n for n in edited["nodes"].values() if n["name"] == "fct_headline_metrics")
    model["raw_code"] += "\n-- an edit"
    model["checksum"]["checksum"] = "0" * 64
    assert project_state(edited) != project_state(manifest)


def inputs(
    as_of: str = "2026-11-15", raw: str = "r", project: str = "p", target: str = "dev"
) -> DbtInputs:
    versions = "dbt-core 1, dbt-duckdb 1"
    invocation = invocation_state({"as_of": as_of}, target, versions)
    return DbtInputs({"fx": raw, "registry": "r"}, project, invocation, as_of)


def test_dbt_runs_unless_every_input_is_the_last_builds():
    last = DbtBuild("abcdef0123", None, inputs())
    assert why_build(inputs(), last, False, False, False) is None
    assert why_build(inputs(raw="r2"), last, False, False, False) == (
        "raw data of fx changed since run abcdef01"
    )
    assert why_build(inputs(as_of="2026-11-16"), last, False, False, False) == (
        "as-of day changed since run abcdef01"
    )
    assert why_build(inputs(target="prod"), last, False, False, False) == (
        "settings changed since run abcdef01"
    )
    assert why_build(inputs(project="p2", raw="r2"), last, False, False, False) == (
        "raw data of fx, dbt project changed since run abcdef01"
    )
    assert why_build(inputs(), last, True, False, False) == "--full-refresh asked for"
    assert why_build(inputs(), last, False, True, False) == "a selection of models asked for"
    assert why_build(inputs(), last, False, False, True) == (
        "the month's snapshot is not published yet"
    )
    assert why_build(inputs(), None, False, False, False) == (
        "no earlier build recorded in this warehouse"
    )


def test_incremental_models_start_over_when_the_project_changed_or_is_unknown():
    last = DbtBuild("abcdef0123", None, inputs())
    assert not rebuild_from_scratch(inputs(raw="r2"), last, asked=False)  # new data: increments
    assert not rebuild_from_scratch(inputs(as_of="2026-11-16"), last, asked=False)
    assert rebuild_from_scratch(inputs(project="p2"), last, asked=False)  # other SQL
    assert rebuild_from_scratch(inputs(), None, asked=False)  # built by an older version
    assert rebuild_from_scratch(inputs(), last, asked=True)


def test_the_latest_recorded_build_is_compared_and_counts_as_a_change(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert last_build(con) is None
        state = warehouse_state(con)
        record_build(con, "run-1", inputs(), full_refresh=False)
        record_build(con, "run-2", inputs(raw="r2"), full_refresh=True)
        latest = last_build(con)
        assert warehouse_state(con) != state
    assert latest is not None
    assert (latest.run_id, latest.inputs) == ("run-2", inputs(raw="r2"))
