"""Which nodes a build runs when only raw data and/or the as-of day changed
(orchestration/dbt_selection.py): on small graphs made by hand, and, with `dbt ls`, that the
arguments the dbt step passes select exactly those nodes of the real project."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from orchestration.dbt_selection import changed_selection, exclusion_args
from tests.conftest import run_dbt
from warehouse.build_state import EVERY_SOURCE
from warehouse.paths import DBT_PROJECT_DIR

# Two ingest sources, `a` and `b`, each with one raw table.
TABLES = {"a": {("raw", "a_rows")}, "b": {("raw", "b_rows")}}


def source(name: str, identifier: str) -> tuple[str, dict]:
    return f"source.p.{name}", {"schema": "raw", "identifier": identifier}


def node(kind: str, name: str, parents=(), macros=(), meta=None) -> tuple[str, dict]:
    return f"{kind}.p.{name}", {
        "name": name,
        "resource_type": kind,
        "fqn": ["p", name],
        "depends_on": {"nodes": [f"{p}" for p in parents], "macros": list(macros)},
        "config": {"meta": meta or {}},
    }


def macro(name: str, calls=()) -> tuple[str, dict]:
    return f"macro.p.{name}", {"name": name, "depends_on": {"macros": list(calls)}}


#   a_rows -> stg_a -> mart_a ----------------------.
#          \                                        rel_mart_a_to_mart_b (test)
#   b_rows -> stg_b -> mart_b ----------------------'   \
#                  \                                      mart_all <- spine (as-of month)
#   _ingest_log -> stg_files; stg_a_log reads a_rows and the log's rows of `a` only
GRAPH = {
    "sources": dict([source("a", "a_rows"), source("b", "b_rows"), source("log", "_ingest_log")]),
    "macros": dict(
        [
            macro("as_of_date"),
            macro("as_of_month", ["macro.p.as_of_date"]),
            macro("month_window", ["macro.p.as_of_month"]),
            macro("unrelated"),
        ]
    ),
    "nodes": dict(
        [
            node("model", "stg_a", ["source.p.a"], ["macro.p.unrelated"]),
            node("model", "stg_b", ["source.p.b"]),
            node("model", "stg_files", ["source.p.log"]),
            node(
                "model", "stg_a_log", ["source.p.a", "source.p.log"], meta={"ingest_rows_of": ["a"]}
            ),
            node("model", "spine", ["model.p.stg_a"], ["macro.p.month_window"]),
            node("model", "mart_a", ["model.p.stg_a"]),
            node("model", "mart_b", ["model.p.stg_b"]),
            node("model", "mart_all", ["model.p.spine", "model.p.mart_b"]),
            node("test", "unique_stg_a", ["model.p.stg_a"]),
            node("test", "not_null_stg_b", ["model.p.stg_b"]),
            node("test", "rel_mart_a_to_mart_b", ["model.p.mart_a", "model.p.mart_b"]),
            node("test", "spine_ends_at_as_of", ["model.p.mart_a"], ["macro.p.as_of_date"]),
            node("operation", "on_run_end"),
        ]
    ),
}


def names(ids) -> set[str]:
    return {unique_id.rsplit(".", 1)[-1] for unique_id in ids}


def test_a_changed_source_rebuilds_what_reads_it_and_runs_each_test_with_a_rebuilt_parent():
    selection = changed_selection(GRAPH, ["b"], False, TABLES)
    # b's table, and the log every load writes (but stg_a_log reads only a's rows of it).
    assert names(selection.built) == {"stg_b", "mart_b", "mart_all", "stg_files"}
    # The relationships test runs: mart_b was rebuilt, mart_a was not.
    assert names(selection.tests) == {"not_null_stg_b", "rel_mart_a_to_mart_b"}
    assert selection.total == 12 and len(selection) == 6

    selection = changed_selection(GRAPH, ["a"], False, TABLES)
    assert names(selection.built) == {
        "stg_a",
        "stg_a_log",
        "stg_files",
        "spine",
        "mart_a",
        "mart_all",
    }
    assert names(selection.tests) == {
        "unique_stg_a",
        "rel_mart_a_to_mart_b",
        "spine_ends_at_as_of",
    }


def test_the_files_no_source_owns_change_only_what_reads_the_whole_log():
    selection = changed_selection(GRAPH, ["landing"], False, TABLES)
    assert names(selection.built) == {"stg_files"}
    assert selection.tests == frozenset()


def with_log_readers(stg_files_meta: dict) -> dict:
    """GRAPH with two models over stg_files: stg_b_files reads b's rows of it only
    (`ingest_rows_of`), log_summary reads all of it."""
    graph = copy.deepcopy(GRAPH)
    graph["nodes"]["model.p.stg_files"]["config"]["meta"] = stg_files_meta
    graph["nodes"].update(
        [
            node("model", "stg_b_files", ["model.p.stg_files"], meta={"ingest_rows_of": ["b"]}),
            node("model", "log_summary", ["model.p.stg_files"]),
        ]
    )
    return graph


def test_a_model_over_the_log_reading_one_sources_rows_is_rebuilt_only_when_they_changed():
    graph = with_log_readers({"ingest_rows_by_source": True})
    assert names(changed_selection(graph, ["a"], False, TABLES).built) >= {"log_summary"}
    assert "stg_b_files" not in names(changed_selection(graph, ["a"], False, TABLES).built)
    assert "stg_b_files" in names(changed_selection(graph, ["b"], False, TABLES).built)
    assert "stg_b_files" in names(changed_selection(graph, [EVERY_SOURCE], False, TABLES).built)
    # A model over the log that does not say it tells sources apart passes every change on.
    untold = with_log_readers({})
    assert "stg_b_files" in names(changed_selection(untold, ["a"], False, TABLES).built)


def test_an_older_record_rebuilds_everything():
    selection = changed_selection(GRAPH, [EVERY_SOURCE], False, TABLES)
    assert len(selection) == selection.total


def test_a_new_as_of_day_rebuilds_what_uses_it_through_other_macros_and_what_follows():
    selection = changed_selection(GRAPH, [], True, TABLES)
    assert names(selection.built) == {"spine", "mart_all"}
    assert names(selection.tests) == {"spine_ends_at_as_of"}  # its own SQL uses the day
    both = changed_selection(GRAPH, ["b"], True, TABLES)
    assert names(both.built) == {"stg_b", "mart_b", "mart_all", "stg_files", "spine"}


def test_nothing_changed_selects_nothing():
    selection = changed_selection(GRAPH, [], False, TABLES)
    assert len(selection) == 0


def test_the_exclusions_name_every_node_left_out_and_every_unit_test():
    selection = changed_selection(GRAPH, ["b"], False, TABLES)
    args = exclusion_args(GRAPH, selection)
    assert args[:3] == ["--indirect-selection", "empty", "--exclude"]
    assert set(args[3].split()) == {
        "resource_type:unit_test",
        "fqn:p.stg_a",
        "fqn:p.stg_a_log",
        "fqn:p.spine",
        "fqn:p.mart_a",
        "fqn:p.unique_stg_a",
        "fqn:p.spine_ends_at_as_of",
    }


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())


def dbt_ls(args: list[str], tmp_path: Path) -> set[str]:
    """The unique ids of the nodes `dbt ls` selects after dagster-dbt's `--select fqn:*`."""
    result = run_dbt(
        ["ls", "--select", "fqn:*", *args, "--output", "json", "--output-keys", "unique_id"],
        tmp_path / "w.duckdb",
        tmp_path,
        "2026-11-15",
    )
    assert result.returncode == 0, result.stdout[-2000:]
    return {json.loads(line)["unique_id"] for line in result.stdout.splitlines() if line[:1] == "{"}


def test_dbt_selects_exactly_the_changed_nodes_of_the_project(manifest: dict, tmp_path: Path):
    selection = changed_selection(manifest, ["aws_cur"], False)
    nodes = manifest["nodes"]
    # What the selection must hold, worked out apart: stg_aws__cur reads the CUR, and a test
    # over it and a mart left as it was (a relationships test, say) must still run.
    assert "model.partner_metrics.stg_aws__cur" in selection.built
    assert "model.partner_metrics.stg_prometheus__samples" not in selection.built
    assert "model.partner_metrics.fct_hub_usage_daily" not in selection.built
    mixed = {
        test
        for test in selection.tests
        if set(nodes[test]["depends_on"]["nodes"]) - selection.built - set(manifest["sources"])
    }
    assert mixed, "a test over a rebuilt and a kept model"

    listed = dbt_ls(exclusion_args(manifest, selection), tmp_path)
    assert {n for n in listed if n in nodes or n in manifest["unit_tests"]} == (
        selection.built | selection.tests
    )
    # dbt's default (eager) indirect selection would drop those tests with their kept parent.
    excluded = exclusion_args(manifest, selection)[2:]
    eager = dbt_ls(excluded, tmp_path)
    assert mixed.isdisjoint(eager)


def test_a_survey_alone_leaves_the_bills_and_usage_as_they_are(manifest: dict):
    # Worked out from the SQL: the bills' staging reads only its own source's rows of the
    # ingest log (where source_name = ...), the usage staging its own; the surveys' models,
    # and what reads every source's loads (reconciliation, source loads), are rebuilt.
    built = names(changed_selection(manifest, ["surveys"], False).built)
    assert {"stg_surveys__responses", "fct_nps_quarterly", "fct_reconciliation"} <= built
    assert built.isdisjoint(
        {
            "stg_aws__cur",
            "stg_gcp__deliveries",
            "int_cloud_costs__delivery_scopes",
            "int_cloud_costs__focus",
            "int_cloud_costs__allocated",
            "stg_prometheus__samples",
            "fct_hub_usage_monthly",
        }
    )
