"""dbt models, seeds and tests as Dagster assets and asset checks (dagster-dbt)."""

import json
from collections.abc import Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetKey
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from orchestration.resources import WarehouseLockResource
from orchestration.settings import Settings
from warehouse.paths import DBT_PROJECT_DIR

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class PartnerMetricsTranslator(DagsterDbtTranslator):
    """Asset keys are `[schema, table]` as analysts see them; groups are dbt layers."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["schema"], dbt_resource_props["identifier"]])
        return AssetKey([dbt_resource_props["config"]["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"


TRANSLATOR = PartnerMetricsTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    dagster_dbt_translator=TRANSLATOR,
)
def partner_metrics_dbt(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    settings: Settings,
    warehouse_lock: WarehouseLockResource,  # held for the whole run
):
    """`dbt build`: models, unit tests and data tests; a failing test stops its dependants."""
    dbt_vars = json.dumps(settings.dbt_vars())
    yield from dbt.cli(["build", "--vars", dbt_vars], context=context).stream()
