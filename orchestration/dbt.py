"""dbt models, seeds and tests as Dagster assets and asset checks (dagster-dbt)."""

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import duckdb
from dagster import AssetCheckResult, AssetCheckSpec, AssetExecutionContext, AssetKey, AssetSpec
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_duckdb import DuckDBResource

from orchestration.resources import WarehouseLockResource
from orchestration.settings import Settings
from warehouse.paths import DBT_PROJECT_DIR

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)

# What each generic test checks and the failure it catches, for tests without their own
# `description:`. Placeholders: {model}, {column} and the test's arguments.
GENERIC_TEST_DESCRIPTIONS = {
    "not_null": "{model}.{column} is never null; fails with the rows where it is.",
    "unique": "{model}.{column} is unique; fails with every value found more than once.",
    "accepted_values": (
        "{model}.{column} is one of {values}; fails with any other value (a new code or a "
        "typo the models do not handle)."
    ),
    "relationships": (
        "Every {model}.{column} exists in {to}.{field}; fails with the values that do not "
        "(an orphan that a join would drop or leave unattributed)."
    ),
    "unique_combination": (
        "{model} has one row per ({columns}), its grain; fails with each key found more "
        "than once (a fan-out join, a delivery counted twice)."
    ),
    "non_negative": "{model}.{column} is never below zero; fails with the negative rows.",
    "finite": (
        "{model}.{column} is a number or null, never Infinity or NaN; fails with the rows "
        "where a division or an overflow escaped."
    ),
    "expression_is_true": (
        "{expression} holds on every row of {model}; fails with the rows where it does not "
        "(a count that does not add up)."
    ),
    "null_unless": (
        "{model}.{column} is null unless {condition}; fails with rows that show a number "
        "for data the sources do not cover (missing must never read as 0)."
    ),
}


def check_description(test: Mapping[str, Any]) -> str | None:
    """The test's own description, else the generic test's, filled with its arguments."""
    if test.get("description"):
        return " ".join(test["description"].split())
    metadata = test.get("test_metadata") or {}
    template = GENERIC_TEST_DESCRIPTIONS.get(metadata.get("name"))
    if template is None:
        return None
    arguments = {
        key: _readable(value) for key, value in metadata.get("kwargs", {}).items() if key != "model"
    }
    model = test.get("attached_node", "").rsplit(".", 1)[-1]
    return template.format(model=model, column=test.get("column_name"), **arguments)


def _readable(value: Any) -> str:
    """ref('x') -> x, lists -> a, b, c."""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    text = str(value)
    if text.startswith("ref(") and text.endswith(")"):
        return text[4:-1].strip("'\"")
    return text


class PartnerMetricsTranslator(DagsterDbtTranslator):
    """Asset keys are `[schema, table]` as analysts see them; groups are dbt layers; every
    check says what it guards."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["schema"], dbt_resource_props["identifier"]])
        return AssetKey([dbt_resource_props["config"]["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"

    def get_asset_check_spec(
        self,
        asset_spec: AssetSpec,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        return spec._replace(description=check_description(manifest["nodes"][unique_id]))


TRANSLATOR = PartnerMetricsTranslator(
    settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
)
# Failing rows shown in a failed check's description.
FAILING_ROWS_SHOWN = 3


@dbt_assets(
    manifest=DBT_PROJECT.manifest_path,
    dagster_dbt_translator=TRANSLATOR,
)
def partner_metrics_dbt(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: DuckDBResource,
    settings: Settings,
    warehouse_lock: WarehouseLockResource,  # held for the whole run
):
    """`dbt build`: models, unit tests and data tests; a failing test stops its dependants.

    A failed test's check result waits until dbt has closed the warehouse, then names its
    first failing rows (tests that keep them, `store_failures_as`), so the UI and the CLI
    say which file, line or month is wrong rather than only that something is.
    """
    dbt_vars = json.dumps(settings.dbt_vars())
    invocation = dbt.cli(["build", "--vars", dbt_vars], context=context, raise_on_error=False)
    failed: list[AssetCheckResult] = []
    for event in invocation.stream():
        if isinstance(event, AssetCheckResult) and not event.passed:
            failed.append(event)
        else:
            yield event
    yield from with_failing_rows(failed, invocation.manifest, warehouse)
    if not invocation.is_successful():
        raise invocation.get_error()


def with_failing_rows(
    results: Sequence[AssetCheckResult], manifest: Mapping[str, Any], warehouse: DuckDBResource
) -> Iterator[AssetCheckResult]:
    """Each failed check result with a description naming its failing rows."""
    if not results:
        return
    with warehouse.get_connection() as con:
        for result in results:
            metadata = result.metadata or {}
            unique_id = _plain(metadata.get("unique_id"))
            count = _plain(metadata.get("dagster_dbt/failed_row_count"))
            test = manifest["nodes"].get(unique_id, {})
            rows: list[dict[str, Any]] = []
            if test.get("config", {}).get("store_failures_as") in ("view", "table"):
                rows = _first_rows(con, f'"{test["schema"]}"."{test["alias"]}"')
            yield result._replace(description=failing_rows_description(count, rows))


def _first_rows(con: duckdb.DuckDBPyConnection, relation: str) -> list[dict[str, Any]]:
    """The first failing rows a test kept; none when they cannot be read (the count, in the
    check's metadata, still tells)."""
    try:
        cursor = con.execute(f"select * from {relation} limit {FAILING_ROWS_SHOWN}")
    except duckdb.Error:
        return []
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def failing_rows_description(count: int | None, rows: Sequence[Mapping[str, Any]]) -> str:
    """'2 failing rows, e.g. <problem>; <problem>' (a row's `problem`, else its columns)."""
    described = [
        str(row["problem"])
        if row.get("problem")
        else ", ".join(f"{key}={value}" for key, value in row.items())
        for row in rows
    ]
    total = count if count is not None else len(rows)
    head = f"{total} failing row{'' if total == 1 else 's'}"
    return f"{head}, e.g. {'; '.join(described)}" if described else head


def _plain(value: Any) -> Any:
    """A metadata entry's value (metadata holds MetadataValue objects or plain values)."""
    return getattr(value, "value", value)
