"""The one Definitions object: `dagster dev` and the CLI load this module."""

from __future__ import annotations

from collections.abc import Mapping

from dagster import Definitions, LoggerDefinition, in_process_executor

from orchestration.dbt import partner_metrics_dbt
from orchestration.ingestion import INGEST_ASSETS
from orchestration.quality import great_expectations_suites
from orchestration.resources import build_resources
from orchestration.schedules import JOBS, SCHEDULES, SENSORS
from orchestration.settings import Settings
from orchestration.snapshots import metric_snapshot


def make_definitions(
    settings: Settings, loggers: Mapping[str, LoggerDefinition] | None = None
) -> Definitions:
    """Every asset, check, job, schedule and sensor, with resources made from `settings`
    (the UI's come from the environment, a CLI run's from its arguments)."""
    return Definitions(
        assets=[*INGEST_ASSETS, partner_metrics_dbt, metric_snapshot],
        asset_checks=[great_expectations_suites],
        jobs=JOBS,
        schedules=SCHEDULES,
        sensors=SENSORS,
        resources=build_resources(settings),
        loggers=loggers,
        # One process writes the DuckDB file: steps run one after another in it (the monthly
        # sources load side by side within their step, orchestration/ingestion.py).
        executor=in_process_executor,
    )


defs = make_definitions(Settings.from_environment())
