"""audit.dbt_test_results (dbt's on-run-end hook) records every data test of the build, and
what warned there is what the build's Dagster run reported as warnings."""

from __future__ import annotations

import json
import re
from pathlib import Path

from orchestration.cli import _last_dbt_warnings
from tests.conftest import BuiltWarehouse
from warehouse.connection import connect, connect_read_only
from warehouse.paths import DBT_PROJECT_DIR


def test_the_warehouse_records_each_data_test_and_what_warned(built_warehouse: BuiltWarehouse):
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    data_tests = {
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"
    }
    with connect_read_only(built_warehouse.warehouse) as con:
        recorded = con.execute(
            "select test_name, model_name, status from audit.dbt_test_results"
        ).fetchall()
    assert {name for name, _, _ in recorded} == data_tests
    assert len(recorded) == len(data_tests)
    # The CLI lists warning checks from Dagster's events, "check <name> on <model> warned",
    # naming the model as the record does (a build that skips dbt words it from the record).
    printed = set(re.findall(r"^  check (\w+) on (\w+) warned: ", built_warehouse.stdout, re.M))
    assert printed, "the small world has a deliberate warning"
    assert {(name, model) for name, model, status in recorded if status == "warn"} == printed
    assert {status for _, _, status in recorded} <= {"pass", "warn"}


def test_a_build_that_skips_dbt_repeats_the_last_builds_warnings_in_words(tmp_path: Path):
    """`make demo` a second time printed '1 failing rows'."""
    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as con:
        con.execute("create schema audit")
        con.execute("""create table audit.dbt_test_results as select * from (values
            ('assert_b', 'int_b', 'warn', 3, timestamp '2026-11-29 14:20:31'),
            ('assert_a', 'int_a', 'warn', 1, timestamp '2026-11-29 14:20:31'),
            ('assert_c', 'int_c', 'pass', 0, timestamp '2026-11-29 14:20:31')
        ) as t(test_name, model_name, status, failures, recorded_at)""")
    assert _last_dbt_warnings(warehouse) == [
        "check assert_a on int_a warned in the dbt build of Nov 29 14:20: 1 failing row",
        "check assert_b on int_b warned in the dbt build of Nov 29 14:20: 3 failing rows",
    ]


def test_a_build_that_ran_some_tests_repeats_the_warnings_of_the_others(tmp_path: Path):
    """A partial build reports what warned among its tests from its own run; the tests it
    did not run still warn as recorded, saying when: the build that last ran them, not this
    one."""
    warehouse = tmp_path / "w.duckdb"
    with connect(warehouse) as con:
        con.execute("create schema audit")
        con.execute("""create table audit.dbt_test_results as select * from (values
            ('assert_b', 'int_b', 'warn', 3, timestamp '2026-11-02 08:05:59'),
            ('assert_a', 'int_a', 'warn', 1, timestamp '2026-11-29 14:20:31')
        ) as t(test_name, model_name, status, failures, recorded_at)""")
    assert _last_dbt_warnings(warehouse, {"assert_a", "assert_z"}) == [
        "check assert_b on int_b warned in the dbt build of Nov 02 08:05: 3 failing rows",
    ]
