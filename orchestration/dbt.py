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

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from graphlib import TopologicalSorter
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetSpec,
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

from orchestration.dbt_selection import Selection, changed_selection, exclusion_args
from orchestration.formatting import markdown_table
from orchestration.resources import WarehouseLockResource
from orchestration.settings import Settings
from warehouse.build_state import (
    DBT_NOT_RUN,
    NOT_REBUILT,
    DbtBuild,
    DbtInputs,
    invocation_state,
    last_build,
    project_state,
    raw_state,
    record_build,
)
from warehouse.paths import DBT_PROJECT_DIR
from warehouse.snapshots import MARTS_SCHEMA, SnapshotError, latest_report

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
PREVIEW_SCHEMA = "marts"
PREVIEW_ROWS = 5

# What each generic test checks and the failure it catches, for tests without their own
# `description:`. Placeholders: {model}, {column} and the test's arguments.
GENERIC_TEST_DESCRIPTIONS = {
    "not_null": "{model}.{column} is never null; fails with the rows where it is.",
    "not_null_columns": (
        "None of {model}'s columns {columns} is ever null; fails with a row per column that "
        "is, and in how many rows."
    ),
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
    """The test's own description, else the generic test's, filled with its arguments; and
    whether a failure stops the models after it."""
    described = _what_it_checks(test)
    if described is None:
        return None
    severity = (test.get("config", {}).get("severity") or "error").lower()
    effect = (
        "Blocking: the models after it do not run when it fails."
        if severity == "error"
        else "A failure is a warning; the build goes on."
    )
    return f"{described} {effect}"


def _what_it_checks(test: Mapping[str, Any]) -> str | None:
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
SNAPSHOT_KEY = AssetKey(["metric_snapshot"])
# The mart of published versions: the snapshot feeds it, so does not depend on it.
PUBLISHED_VERSIONS = "metric_snapshots"
# Vars that say where a run builds (the CLI's working copy, the UI's file), not what: left out
# of the fingerprint of dbt's inputs.
WHERE_VARS = ("warehouse_path", "duckdb_temp_directory")
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's saved parse, in its target folder
# Why dbt runs, or passes the marts on, when nothing but the month's snapshot is missing.
UNPUBLISHED = "the month's snapshot is not published yet"
# The terminal's dbt line then (orchestration/console.py shows a DBT_NOT_RUN line).
MARTS_KEPT = "marts kept to publish"


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

    dbt runs only when its inputs changed since the last full build recorded in this
    warehouse (warehouse/build_state.py), for a selection of models, or with
    `Settings.full_refresh`; otherwise the step yields nothing and says why, or, when the
    run's month has no published snapshot yet, every mart as not rebuilt. When only raw
    data and/or the as-of day changed, it builds only the nodes downstream of them
    (orchestration/dbt_selection.py); the other models keep their tables (`not_rebuilt`).
    A changed project rebuilds from scratch (`rebuild_from_scratch`) and runs the unit tests
    (unless `Settings.unit_tests` is off); an unchanged one leaves them out (they passed on
    the same SQL).

    Once dbt has exited (it holds DuckDB's one writer until then), one connection adds to each
    model's materialisation its row count, column schema and (marts) a preview, and to each
    failed check its first failing rows (tests that keep them, `store_failures_as`), so the
    UI and the CLI say which file, line or month is wrong rather than only that something is.
    """
    manifest = json.loads(DBT_PROJECT.manifest_path.read_text(encoding="utf-8"))
    with warehouse.get_connection() as con:
        inputs = dbt_inputs(con, settings, dbt, manifest)
        last = last_build(con)
        unpublished = SNAPSHOT_KEY in context.job_def.asset_layer.selected_asset_keys and (
            _snapshot_missing(con, settings)
        )
    reason = why_build(inputs, last, settings.full_refresh, context.is_subset, unpublished)
    if reason is None and last is not None:
        # No output: Dagster records no materialisation and skips what depends on the models
        # (the snapshot of an unchanged month, already published).
        context.log.info(f"{DBT_NOT_RUN} {last.run_id[:8]} ({last.built_at:%b %d %H:%M}), skipped")
        return
    if reason == UNPUBLISHED:
        # Nothing changed: dbt has nothing to build. The marts stand as the last build left
        # them and are passed on, so that the snapshot, which depends on every mart, runs.
        context.log.info(f"{DBT_NOT_RUN} {last.run_id[:8]}, {MARTS_KEPT}")
        context.log.info(
            f"dbt not run: {UNPUBLISHED}; every mart is passed on as run {last.run_id[:8]} "
            f"({last.built_at:%b %d %H:%M}) built it"
        )
        yield from not_rebuilt(context, manifest, changed_nodes(inputs, last, manifest), last)
        return
    full_refresh = rebuild_from_scratch(inputs, last, settings.full_refresh)
    selection = (
        None
        if context.is_subset or settings.full_refresh
        else changed_nodes(inputs, last, manifest)
    )
    built = "" if selection is None else f": {len(selection)} of {selection.total} nodes"
    context.log.info(f"dbt build{' --full-refresh' if full_refresh else ''}: {reason}{built}")
    if selection is not None and (unpublished or _marts(manifest) & selection.built):
        # First: Dagster wants a step's outputs in the order of their dependencies, and no
        # kept mart depends on a rebuilt model.
        yield from not_rebuilt(context, manifest, selection, last)
    if selection is not None and not len(selection):  # nothing downstream of what changed
        return
    args = ["build", "--vars", json.dumps(settings.dbt_vars())]
    if full_refresh:
        args.append("--full-refresh")
    # Unit tests check the models' SQL on given rows, not the data: they passed in the build
    # that first recorded this project (a full refresh, see rebuild_from_scratch), unless the
    # settings leave them out.
    if not full_refresh:
        unit_tests_left_out = f"the project is unchanged since {last.run_id[:8]}"
    elif not settings.unit_tests:
        unit_tests_left_out = "left out by the settings (--no-unit-tests)"
    else:
        unit_tests_left_out = None
    if selection is not None:  # leaves the unit tests out too
        args += exclusion_args(manifest, selection)
    elif unit_tests_left_out:
        args += ["--exclude", "resource_type:unit_test"]
    if unit_tests_left_out:
        context.log.info(f"unit tests not run: {unit_tests_left_out}")
    # dbt's artifacts go to a folder of this invocation, removed when it ends (nothing reads
    # them after the events: they were some 25 MB a build, kept forever under target/), and
    # dbt writes no debug log file: its result lines reach the run's log through the events.
    # Only its parse is kept, in the warehouse's Dagster folder: the next build of the same
    # project with the same vars (the same warehouse and day) parses partially, 3.6 s
    # against 9.8 s for this project; dbt itself checks the saved state and parses in full
    # when anything differs. A changed project never starts from it.
    args += ["--log-level-file", "none"]
    kept_parse = Path(context.instance.root_directory) / "dbt" / PARTIAL_PARSE
    with tempfile.TemporaryDirectory(prefix="dbt-build-") as target:
        parse = Path(target) / PARTIAL_PARSE
        if not rebuild_from_scratch(inputs, last, asked=False) and kept_parse.exists():
            shutil.copyfile(kept_parse, parse)
        invocation = dbt.cli(args, context=context, raise_on_error=False, target_path=Path(target))
        events = list(invocation.stream())
        error = None if invocation.is_successful() else invocation.get_error()
        if parse.exists():
            _keep(parse, kept_parse)
        failing_sql = failing_tests_sql(Path(target) / "run_results.json")
    started = time.monotonic()
    with warehouse.get_connection() as con:
        events = list(described_events(con, events, invocation.manifest, failing_sql))
        if error is None and not context.is_subset:
            record_build(con, context.run_id, inputs, full_refresh)
    context.log.info(f"row counts, columns and previews read in {time.monotonic() - started:.2f} s")
    yield from events
    if error is not None:
        raise error


def changed_nodes(
    inputs: DbtInputs, last: DbtBuild | None, manifest: Mapping[str, Any]
) -> Selection | None:
    """The nodes to build when only raw data and/or the as-of day changed since the last
    build; None (every node) when anything else did or no build is recorded."""
    if last is None or (inputs.project, inputs.invocation) != (
        last.inputs.project,
        last.inputs.invocation,
    ):
        return None
    changed = inputs.changed_sources(last.inputs)
    return changed_selection(manifest, changed, inputs.as_of != last.inputs.as_of)


def not_rebuilt(
    context: AssetExecutionContext,
    manifest: Mapping[str, Any],
    selection: Selection,
    last: DbtBuild,
) -> Iterator[Output]:
    """An output, saying plainly that it was not rebuilt, for each mart a partial build keeps,
    in the order of their dependencies.

    The snapshot depends on every mart, and Dagster skips a step when an output it depends
    on was not yielded: without these, a month whose marts partly changed would never be
    published. They are yielded only when the snapshot has something to publish (a mart was
    rebuilt, or the month is not published yet), so a build with no new mart still skips it.
    They carry no data version: the marts dbt builds carry none either, and a kept mart's
    rows are those of the run named."""
    kept = _marts(manifest) - selection.built
    parents = {
        unique_id: set(manifest["nodes"][unique_id]["depends_on"]["nodes"]) & kept
        for unique_id in kept
    }
    for unique_id in TopologicalSorter(parents).static_order():
        key = TRANSLATOR.get_asset_key(manifest["nodes"][unique_id])
        if key in context.selected_asset_keys:
            yield Output(
                None,
                output_name=context.assets_def.get_output_name_for_asset_key(key),
                metadata={
                    NOT_REBUILT: f"its inputs are unchanged since run {last.run_id[:8]}",
                    "unique_id": unique_id,
                },
            )


def _marts(manifest: Mapping[str, Any]) -> set[str]:
    """The marts the snapshot depends on (orchestration/snapshots.py MART_KEYS), by unique
    id."""
    return {
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and node["config"].get("schema") == MARTS_SCHEMA
        and node["name"] != PUBLISHED_VERSIONS
    }


def _keep(parse: Path, kept: Path) -> None:
    """Replace the kept parse at once: a build killed meanwhile leaves the previous one."""
    kept.parent.mkdir(parents=True, exist_ok=True)
    partial = kept.with_name(kept.name + ".partial")
    shutil.copyfile(parse, partial)
    os.replace(partial, kept)


def dbt_inputs(
    con: duckdb.DuckDBPyConnection,
    settings: Settings,
    dbt: DbtCliResource,
    manifest: Mapping[str, Any],
) -> DbtInputs:
    """The fingerprints of what a dbt build of this run would read."""
    dbt_vars = {key: value for key, value in settings.dbt_vars().items() if key not in WHERE_VARS}
    profiles = (DBT_PROJECT_DIR / "profiles.yml").read_bytes()
    target = f"{dbt.target or 'default'} of profiles.yml {hashlib.sha256(profiles).hexdigest()}"
    versions = f"dbt-core {version('dbt-core')}, dbt-duckdb {version('dbt-duckdb')}"
    return DbtInputs(
        raw=raw_state(con),
        project=project_state(manifest),
        invocation=invocation_state(dbt_vars, target, versions),
        as_of=settings.as_of_day,
    )


def why_build(
    inputs: DbtInputs,
    last: DbtBuild | None,
    full_refresh: bool,
    subset: bool,
    snapshot_missing: bool,
) -> str | None:
    """Why dbt must run, in words; None when the last build's models stand as they are."""
    if full_refresh:
        return "--full-refresh asked for"
    if subset:
        return "a selection of models asked for"
    if last is None:
        return "no earlier build recorded in this warehouse"
    changed = inputs.changed_since(last.inputs)
    if changed:
        return f"{', '.join(changed)} changed since run {last.run_id[:8]}"
    if snapshot_missing:
        return UNPUBLISHED
    return None


def rebuild_from_scratch(inputs: DbtInputs, last: DbtBuild | None, asked: bool) -> bool:
    """Whether dbt rebuilds its incremental models from scratch (`--full-refresh`): when
    asked, and whenever the project differs from the one that built the warehouse's tables
    (or none is recorded), since an incremental model's rows kept from a build by other SQL
    would not be what the new SQL computes."""
    return asked or last is None or inputs.project != last.inputs.project


def _snapshot_missing(con: duckdb.DuckDBPyConnection, settings: Settings) -> bool:
    try:
        return latest_report(con, settings.snapshots_root) is None
    except (SnapshotError, duckdb.CatalogException):  # no marts to describe a month
        return True


def failing_tests_sql(run_results: Path) -> dict[str, str]:
    """The SQL of each test that failed or warned, by unique id, from dbt's run results (none
    when dbt wrote none): the query of its failing rows, which a test that keeps no rows can
    be asked again once dbt has exited."""
    if not run_results.exists():
        return {}
    results = json.loads(run_results.read_text(encoding="utf-8"))["results"]
    return {
        result["unique_id"]: result["compiled_code"]
        for result in results
        if result["status"] in ("fail", "warn") and result.get("compiled_code")
    }


def described_events(
    con: duckdb.DuckDBPyConnection,
    events: Iterable[Any],
    manifest: Mapping[str, Any],
    failing_sql: Mapping[str, str],
) -> Iterator[Any]:
    """`events` in order: each model's materialisation with its row count, column schema and
    (marts) preview added; each failed check with a description naming its failing rows."""
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
        if isinstance(event, AssetCheckResult) and not event.passed:
            event = with_failing_rows(con, event, manifest, failing_sql)
        elif isinstance(event, Output | AssetMaterialization) and "unique_id" in event.metadata:
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


def with_failing_rows(
    con: duckdb.DuckDBPyConnection,
    result: AssetCheckResult,
    manifest: Mapping[str, Any],
    failing_sql: Mapping[str, str],
) -> AssetCheckResult:
    """A failed check result with a description naming its failing rows: those the test kept
    (`store_failures_as`), else those its query gives again (`failing_sql`)."""
    metadata = result.metadata or {}
    unique_id = _plain(metadata.get("unique_id"))
    count = _plain(metadata.get("dagster_dbt/failed_row_count"))
    test = manifest["nodes"].get(unique_id, {})
    rows: list[dict[str, Any]] = []
    if test.get("config", {}).get("store_failures_as") in ("view", "table"):
        rows = _first_rows(con, f'"{test["schema"]}"."{test["alias"]}"')
    elif unique_id in failing_sql:
        # On lines of their own: the test's SQL may end in a comment.
        rows = _first_rows(con, f"(\n{failing_sql[unique_id]}\n) as failing_rows")
    return result._replace(description=failing_rows_description(count, rows))


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
