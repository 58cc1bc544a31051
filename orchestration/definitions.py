"""The one Definitions object: `dagster dev` and the CLI load this module."""

from dagster import Definitions, in_process_executor

from orchestration.dbt import partner_metrics_dbt
from orchestration.ingestion import INGEST_ASSETS
from orchestration.quality import SUITE_CHECKS
from orchestration.resources import build_resources
from orchestration.settings import Settings
from orchestration.snapshots import landing_changed, metric_snapshot, monthly_pipeline, pipeline_job

defs = Definitions(
    assets=[*INGEST_ASSETS, partner_metrics_dbt, metric_snapshot],
    asset_checks=SUITE_CHECKS,
    jobs=[pipeline_job],
    schedules=[monthly_pipeline],
    sensors=[landing_changed],
    resources=build_resources(Settings.from_environment()),
    # DuckDB has one writer at a time: steps run one after another in one process.
    executor=in_process_executor,
)
