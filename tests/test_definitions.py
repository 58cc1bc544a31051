"""The Dagster definitions: they load, every asset is described and grouped, keys line up."""

from __future__ import annotations

import yaml
from dagster import AssetKey

from ingest.framework import RAW_SCHEMA
from ingest.sources import SOURCES
from orchestration.definitions import defs
from orchestration.instance import INSTANCE_TEMPLATE
from orchestration.partitions import MONTHS
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


def test_every_check_has_a_description():
    graph = defs.resolve_asset_graph()
    undescribed = [
        key.to_user_string()
        for key in graph.asset_check_keys
        if not (graph.get_check_spec(key).description or "").strip()
    ]
    assert undescribed == []


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
