"""The Dagster definitions: they load, every asset is described and grouped, keys line up."""

from __future__ import annotations

import json

import pytest
import yaml
from dagster import AssetKey
from dagster_dbt.asset_utils import get_asset_check_key_for_test

from ingest.framework import RAW_SCHEMA
from ingest.quality import SUITES
from ingest.sources import SOURCES
from orchestration.dbt import DBT_PROJECT, TRANSLATOR, failing_rows_description
from orchestration.definitions import defs
from orchestration.instance import INSTANCE_TEMPLATE
from orchestration.partitions import MONTHS
from orchestration.settings import UNIT_TESTS_ENV, Settings
from warehouse.paths import DBT_PROJECT_DIR, PROJECT_ROOT

# Written by the ingestion framework itself for every source, read by dbt as sources.
FRAMEWORK_TABLES = {AssetKey([RAW_SCHEMA, t]) for t in ("_ingest_log", "_quarantine", "_sources")}


def test_every_asset_has_a_description_and_a_group():
    graph = defs.resolve_asset_graph()
    missing = [
        key.to_user_string()
        for key in graph.materializable_asset_keys
        if not graph.get(key).description or not graph.get(key).group_name
    ]
    assert missing == []


def test_every_raw_table_a_dbt_model_reads_is_an_ingest_asset():
    graph = defs.resolve_asset_graph()
    raw_tables = {
        AssetKey([RAW_SCHEMA, table.name]) for source in SOURCES for table in source.tables
    }
    read_by_dbt = {
        parent
        for key in graph.materializable_asset_keys
        for parent in graph.get(key).parent_keys
        if parent.path[0] == RAW_SCHEMA
    }
    assert read_by_dbt - raw_tables == FRAMEWORK_TABLES
    assert raw_tables <= graph.materializable_asset_keys
    assert {graph.get(key).group_name for key in raw_tables} >= {"registry", "reference", "usage"}


def test_dbt_tests_are_asset_checks_and_marts_live_in_the_marts_schema():
    graph = defs.resolve_asset_graph()
    assert len(graph.asset_check_keys) >= 50
    marts = {key.path[1] for key in graph.materializable_asset_keys if key.path[0] == "marts"}
    assert {"dim_partners", "dim_hubs", "fct_hub_usage_monthly", "fct_headline_metrics"} <= marts


def test_runs_execute_in_one_process_on_schedules_and_sensors_that_say_what_they_do():
    for job in ("partner_metrics_pipeline", "refresh_warehouse"):
        assert defs.resolve_job_def(job).executor_def.name == "in_process"
        assert defs.resolve_job_def(job).description
    assert defs.resolve_schedule_def("daily_refresh").cron_schedule == "0 5 * * *"
    assert defs.resolve_schedule_def("monthly_close").cron_schedule == "0 6 6 * *"
    assert defs.resolve_schedule_def("monthly_close").job_name == "partner_metrics_pipeline"
    assert defs.resolve_sensor_def("landing_changed").job_name == "refresh_warehouse"
    for name in ("daily_refresh", "monthly_close"):
        assert defs.resolve_schedule_def(name).description
    for name in ("landing_changed", "dead_runs"):
        assert defs.resolve_sensor_def(name).description


def test_every_dbt_test_is_an_asset_check_so_none_is_logged_as_an_observation():
    """dagster-dbt logs a dbt test it cannot map to a check of the dbt assets as an
    AssetObservation (with a warning), outside the UI's checks: here, none can be."""
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    graph = defs.resolve_asset_graph()
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    keys = {
        test["name"]: get_asset_check_key_for_test(manifest, TRANSLATOR, test["unique_id"], None)
        for test in tests
    }
    assert len(tests) > 250
    assert [name for name, key in keys.items() if key not in graph.asset_check_keys] == []
    # Each singular test is a check on the model it guards.
    singular = {
        test["name"]: keys[test["name"]].asset_key.to_user_string()
        for test in tests
        if not test.get("test_metadata")
    }
    assert singular == {
        "assert_month_spine_has_no_gaps": "intermediate/int_month_spine",
        "assert_month_spine_ends_at_the_as_of_month": "intermediate/int_month_spine",
        "assert_cloud_cost_attribution_conserves_cost": "marts/fct_cloud_costs_monthly",
        "assert_cloud_cost_sub_account_months_come_in_one_format": (
            "intermediate/int_cloud_costs__focus"
        ),
        "assert_revenue_mrr_movements_reconcile": "marts/fct_mrr_movements",
        "assert_revenue_deals_have_fx_rate": "intermediate/int_revenue__deals",
        "assert_revenue_invoice_lines_have_fx_rate": "intermediate/int_revenue__invoice_lines",
        "assert_revenue_no_rejected_deals": "intermediate/int_revenue__rejected_deals",
        "assert_usage_namespaces_are_registry_hubs": "marts/fct_hub_usage_daily",
        "assert_surveys_no_rejected_responses": "intermediate/int_surveys__rejected_responses",
        "assert_support_no_rejected_records": "intermediate/int_support__rejected_records",
        "assert_lifecycle_stage_history_in_order": (
            "intermediate/int_lifecycle__rejected_stage_history"
        ),
        "assert_revenue_no_rejected_invoice_lines": (
            "intermediate/int_revenue__rejected_invoice_lines"
        ),
    }


def test_every_check_says_what_it_guards():
    graph = defs.resolve_asset_graph()
    undescribed = [
        key.to_user_string()
        for key in graph.asset_check_keys
        if not graph.get_check_spec(key).description
    ]
    assert undescribed == []
    described = {key.name: graph.get_check_spec(key).description for key in graph.asset_check_keys}
    # A generic test's description is filled from its arguments.
    assert described["relationships_fct_mrr_monthly_month__month_start__ref_int_month_spine_"] == (
        "Every fct_mrr_monthly.month exists in int_month_spine.month_start; fails with the "
        "values that do not (an orphan that a join would drop or leave unattributed). "
        "Blocking: the models after it do not run when it fails."
    )


def test_readme_data_quality_lists_every_check():
    """Each singular test, each kind of generic test, each named test and each GX suite is
    in README's "Data quality" section, with the failure it catches."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("## Data quality") : readme.index("## Querying the warehouse")]
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    tests = [node for node in manifest["nodes"].values() if node["resource_type"] == "test"]
    # Singular tests, and generic tests given a name of their own (not '<kind>_<model>_...').
    named = {
        f"`{test['name']}`"
        for test in tests
        if not test["name"].startswith(f"{(test.get('test_metadata') or {}).get('name')}_")
    }
    kinds = {f"`{test['test_metadata']['name']}`" for test in tests if test.get("test_metadata")}
    suites = {f"`{table}`" for table in SUITES}
    assert [name for name in sorted(named | kinds | suites) if name not in section] == []


def test_cost_and_usage_assets_are_partitioned_by_month_and_the_rest_is_not():
    graph = defs.resolve_asset_graph()
    by_month = {
        AssetKey([RAW_SCHEMA, table.name])
        for source in SOURCES
        if source.by_month
        for table in source.tables
    }
    assert {key.path[1] for key in by_month} >= {
        "gcp_billing_export",
        "aws_cur",
        "azure_costs",
        "focus_costs",
        "prometheus_samples",
    }
    for key in graph.materializable_asset_keys:
        partitions = graph.get(key).partitions_def
        if key in by_month:
            assert partitions == MONTHS, key
        else:
            assert partitions is None, key


def test_telemetry_is_off_in_the_projects_own_settings():
    dagster_yaml = yaml.safe_load(INSTANCE_TEMPLATE.read_text())
    assert dagster_yaml["telemetry"] == {"enabled": False}
    assert dagster_yaml["concurrency"]["runs"]["max_concurrent_runs"] == 1
    dbt_yaml = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert dbt_yaml["flags"]["send_anonymous_usage_stats"] is False
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    for setting in (
        "DAGSTER_DISABLE_TELEMETRY := 1",
        "DBT_SEND_ANONYMOUS_USAGE_STATS := False",
        "GX_ANALYTICS_ENABLED := false",
        "DO_NOT_TRACK := 1",
    ):
        assert setting in makefile


def test_a_failed_check_names_its_first_failing_rows_by_their_problem():
    assert failing_rows_description(
        5,
        [
            {"landed_file": "invoices/a.csv", "problem": "invoices/a.csv, line 2: no rate"},
            {"landed_file": "invoices/a.csv", "problem": "invoices/a.csv, line 3: no rate"},
        ],
    ) == ("5 failing rows, e.g. invoices/a.csv, line 2: no rate; invoices/a.csv, line 3: no rate")
    # Rows without a `problem` column are shown by their columns; no rows: the count.
    assert failing_rows_description(1, [{"month": "2024-03-01", "occurrences": 0}]) == (
        "1 failing row, e.g. month=2024-03-01, occurrences=0"
    )
    assert failing_rows_description(3, []) == "3 failing rows"


@pytest.mark.parametrize(("value", "runs_them"), [(None, True), ("1", True), ("0", False)])
def test_the_ui_and_schedules_take_the_unit_test_setting_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, value: str | None, runs_them: bool
):
    if value is None:
        monkeypatch.delenv(UNIT_TESTS_ENV, raising=False)
    else:
        monkeypatch.setenv(UNIT_TESTS_ENV, value)
    assert Settings.from_environment().unit_tests is runs_them


def test_an_unreadable_unit_test_setting_is_refused_naming_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(UNIT_TESTS_ENV, "sometimes")
    with pytest.raises(ValueError, match=f"{UNIT_TESTS_ENV} is 'sometimes': 1 runs"):
        Settings.from_environment()
