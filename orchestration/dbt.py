"""dbt models, seeds and tests as Dagster assets and asset checks (dagster-dbt).

Each materialised model carries its row count, its column schema (types from the warehouse,
descriptions from the model's YAML) and, for marts, a preview of its first rows. dagster-dbt's
own `fetch_row_counts()` / `fetch_column_metadata()` do not work here: they query the relation
names baked into the manifest at parse time (`"warehouse"."marts"...`), while DuckDB names the
database after the file a run builds (`warehouse.duckdb.building` for the CLI), so every query
fails, and the 43 failing attempts cost 36 s and 75 s on the demo. One DuckDB connection
opened after dbt exits (DuckDB has one writer, and dbt holds it until then) describes every
model in well under a second.
"""

import json
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import duckdb
from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    MetadataValue,
    Output,
    TableColumn,
    TableSchema,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_duckdb import DuckDBResource

from orchestration.formatting import markdown_table
from orchestration.resources import WarehouseLockResource
from orchestration.settings import Settings
from warehouse.paths import DBT_PROJECT_DIR

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
PREVIEW_SCHEMA = "marts"
PREVIEW_ROWS = 5


def test_description(test: Mapping[str, Any]) -> str:
    """What a dbt test checks, in words: its own `description:` when it has one, else one
    made from the generic test and its arguments; and whether a failure stops the models."""
    described = test.get("description") or test.get("meta", {}).get("description")
    if not described:
        generic = test.get("test_metadata") or {}
        kwargs = generic.get("kwargs", {})
        column = kwargs.get("column_name")
        name = generic.get("name")
        if name == "not_null":
            described = f"`{column}` is never null."
        elif name == "unique":
            described = f"`{column}` is unique: no two rows share a value."
        elif name == "accepted_values":
            described = f"`{column}` is one of: {', '.join(map(str, kwargs.get('values', [])))}."
        elif name == "relationships":
            target = str(kwargs.get("to", "")).replace("ref('", "").replace("')", "")
            described = f"Every `{column}` exists as `{kwargs.get('field')}` in {target}."
        elif name:
            arguments = ", ".join(
                f"{k}={v}" for k, v in kwargs.items() if k not in ("model", "column_name")
            )
            on = f" on `{column}`" if column else ""
            described = f"Generic test `{name}`{on}" + (f" ({arguments})" if arguments else ".")
        else:
            described = f"Singular test {test.get('original_file_path', test['name'])}."
    severity = (test.get("config", {}).get("severity") or "error").lower()
    effect = (
        " Blocking: the models after it do not run when it fails."
        if severity == "error"
        else " A failure is a warning; the build goes on."
    )
    return described.rstrip() + effect


class PartnerMetricsTranslator(DagsterDbtTranslator):
    """Asset keys are `[schema, table]` as analysts see them; groups are dbt layers; every
    check has a description."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["schema"], dbt_resource_props["identifier"]])
        return AssetKey([dbt_resource_props["config"]["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "dbt"

    def get_asset_check_spec(
        self,
        asset_spec: Any,
        manifest: Mapping[str, Any],
        unique_id: str,
        project: DbtProject | None,
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        return spec._replace(description=test_description(manifest["nodes"][unique_id]))


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
    warehouse: DuckDBResource,
    warehouse_lock: WarehouseLockResource,  # held for the whole run
):
    """`dbt build`: models, unit tests and data tests; a failing test stops its dependants."""
    dbt_vars = json.dumps(settings.dbt_vars())
    invocation = dbt.cli(["build", "--vars", dbt_vars], context=context, raise_on_error=False)
    events = list(invocation.stream())  # dbt has exited: the warehouse is free to read
    started = time.monotonic()
    with warehouse.get_connection() as con:
        events = list(described_events(con, events, invocation.manifest))
    context.log.info(f"row counts, columns and previews read in {time.monotonic() - started:.2f} s")
    yield from events
    error = invocation.get_error()
    if error is not None:
        raise error


def described_events(
    con: duckdb.DuckDBPyConnection, events: Iterable[Any], manifest: Mapping[str, Any]
) -> Iterator[Any]:
    """`events` in order, each model's materialisation with its row count, column schema
    and (marts) preview added."""
    events = list(events)
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in con.execute(
        "select table_schema, table_name, column_name, data_type "
        "from information_schema.columns order by table_schema, table_name, ordinal_position"
    ).fetchall():
        columns.setdefault((schema, table), []).append((column, data_type))
    tables = set(
        con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE'"
        ).fetchall()
    )
    for event in events:
        if isinstance(event, Output | AssetMaterialization) and "unique_id" in event.metadata:
            node = manifest["nodes"].get(str(event.metadata["unique_id"].value))
            if node is not None:
                key = (node["schema"], node.get("alias") or node["name"])
                extra = describe_model(con, key, columns.get(key, []), key in tables, node)
                event = event.with_metadata({**event.metadata, **extra})
        yield event


def describe_model(
    con: duckdb.DuckDBPyConnection,
    key: tuple[str, str],
    columns: list[tuple[str, str]],
    is_table: bool,
    node: Mapping[str, Any],
) -> dict[str, Any]:
    schema, table = key
    documented = node.get("columns", {})
    described: dict[str, Any] = {
        "dagster/column_schema": TableSchema(
            columns=[
                TableColumn(
                    name,
                    data_type,
                    description=documented.get(name, {}).get("description") or None,
                )
                for name, data_type in columns
            ]
        )
    }
    if is_table:  # a view's count would run its query; tables know theirs
        relation = f'"{schema}"."{table}"'
        count = con.execute(f"select count(*) from {relation}").fetchall()[0][0]
        described["dagster/row_count"] = count
        if schema == PREVIEW_SCHEMA:
            cursor = con.execute(f"select * from {relation} limit {PREVIEW_ROWS}")
            described["preview"] = MetadataValue.md(
                markdown_table([c[0] for c in cursor.description], cursor.fetchall())
            )
    return described
