"""Which dbt nodes a build runs when only raw data and/or the as-of day changed.

A model's table depends on its SQL (the project), the run's settings, the raw tables it
reads through its ancestors and, for a model whose SQL calls the as-of macros
(macros/as_of_date.sql), the as-of day. When the project and the settings are those of the
last build, a model none of whose inputs changed would be built again into the same rows: it
keeps its table. So a build runs the models, seeds and snapshots downstream of the dbt
sources over changed raw tables and of the models that use the as-of day, and every data test
with at least one parent among them (a relationships test from a rebuilt child to a parent
kept as it was still runs) or that itself uses the as-of day.

dagster-dbt runs `dbt build --select fqn:*` outside a Dagster subset, and dbt unions every
`--select`; so the selection is what `fqn:*` selects minus explicit exclusions, with
`--indirect-selection empty`: dbt's default (eager) would also drop every test with one
excluded parent, and the relationships test above with it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ingest.framework import RAW_SCHEMA
from ingest.sources import SOURCES
from warehouse.build_state import EVERY_SOURCE

BUILT_TYPES = ("model", "seed", "snapshot")
AS_OF_MACROS = ("as_of_date", "as_of_month", "as_of_timestamp")
# The framework's own tables: every load of a source writes them (ingest/framework.py).
FRAMEWORK_TABLES = frozenset(
    (RAW_SCHEMA, name) for name in ("_ingest_log", "_sources", "_quarantine")
)
UNIT_TESTS = "resource_type:unit_test"


@dataclass(frozen=True)
class Selection:
    """The nodes a build runs (unique ids), of the project's `total` models and data tests."""

    built: frozenset[str]  # models, seeds, snapshots
    tests: frozenset[str]  # data tests
    total: int

    def __len__(self) -> int:
        return len(self.built) + len(self.tests)


def changed_dbt_sources(
    manifest: Mapping[str, Any],
    changed: Collection[str],
    tables: Mapping[str, Collection[tuple[str, str]]] | None = None,
) -> frozenset[str]:
    """The dbt sources (unique ids) over what ingestion wrote for the `changed` ingest
    sources: each one's raw tables (`tables`, default the registry's) and the framework's own
    tables, which hold rows of every source. Every dbt source for a record that does not
    tell sources apart (`EVERY_SOURCE`). A name that is no ingest source (the files no source
    owns, logged as `landing`) changed only the framework's tables."""
    tables = SOURCE_TABLES if tables is None else tables
    every = EVERY_SOURCE in changed
    written = {table for source in changed for table in tables.get(source, ())}
    if changed:
        written |= FRAMEWORK_TABLES
    return frozenset(
        unique_id
        for unique_id, source in manifest["sources"].items()
        if every or (source["schema"], source["identifier"]) in written
    )


def _per_source_rows(manifest: Mapping[str, Any], unique_id: str) -> bool:
    """Whether `unique_id` holds rows of every ingest source told apart by source: one of the
    framework's tables, or a model over them that says so (`meta: ingest_rows_by_source`, as
    `stg_ingest__files`, one row per log row)."""
    source = manifest["sources"].get(unique_id)
    if source is not None:
        return (source["schema"], source["identifier"]) in FRAMEWORK_TABLES
    node = manifest["nodes"].get(unique_id, {})
    return bool(node.get("config", {}).get("meta", {}).get("ingest_rows_by_source"))


def _reads_changed_rows(
    manifest: Mapping[str, Any], parent: str, node: Mapping[str, Any], changed: Collection[str]
) -> bool:
    """Whether `node` reads what changed in `parent`: a model that reads the framework's
    tables, or a model over them, for some ingest sources only (`meta: ingest_rows_of`) reads
    changed rows there only when one of those changed."""
    rows_of = node.get("config", {}).get("meta", {}).get("ingest_rows_of")
    if rows_of is None or not _per_source_rows(manifest, parent):
        return True
    return EVERY_SOURCE in changed or bool(set(rows_of) & set(changed))


def as_of_dependent(manifest: Mapping[str, Any]) -> frozenset[str]:
    """The nodes whose SQL calls an as-of macro, directly or through other macros."""
    macros = manifest["macros"]
    using = {unique_id for unique_id, macro in macros.items() if macro["name"] in AS_OF_MACROS}
    while True:  # macros that call one that uses the day, to a fixed point
        callers = {
            unique_id
            for unique_id, macro in macros.items()
            if unique_id not in using and using & set(macro["depends_on"]["macros"])
        }
        if not callers:
            break
        using |= callers
    return frozenset(
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if using & set(node["depends_on"].get("macros", ()))
    )


def changed_selection(
    manifest: Mapping[str, Any],
    changed: Collection[str],
    as_of_changed: bool,
    tables: Mapping[str, Collection[tuple[str, str]]] | None = None,
) -> Selection:
    """What a build runs when the data of the ingest sources `changed` and, if
    `as_of_changed`, the as-of day are all that changed since the last build (`tables`: each
    ingest source's raw tables, default the registry's)."""
    nodes = manifest["nodes"]
    sources = changed_dbt_sources(manifest, changed, tables)
    uses_day = as_of_dependent(manifest) if as_of_changed else frozenset()
    built = {
        unique_id
        for unique_id, node in nodes.items()
        if node["resource_type"] in BUILT_TYPES
        and (
            unique_id in uses_day
            or any(
                parent in sources and _reads_changed_rows(manifest, parent, node, changed)
                for parent in node["depends_on"].get("nodes", ())
            )
        )
    }
    children: dict[str, list[str]] = {}
    for unique_id, node in nodes.items():
        for parent in node["depends_on"].get("nodes", ()):
            children.setdefault(parent, []).append(unique_id)
    reached = list(built)
    while reached:  # and everything downstream of those
        parent = reached.pop()
        for child in children.get(parent, ()):
            if (
                nodes[child]["resource_type"] in BUILT_TYPES
                and child not in built
                and _reads_changed_rows(manifest, parent, nodes[child], changed)
            ):
                built.add(child)
                reached.append(child)
    tests = {
        unique_id
        for unique_id, node in nodes.items()
        if node["resource_type"] == "test"
        and (unique_id in uses_day or (built | sources) & set(node["depends_on"].get("nodes", ())))
    }
    total = sum(node["resource_type"] in (*BUILT_TYPES, "test") for node in nodes.values())
    return Selection(frozenset(built), frozenset(tests), total)


def exclusion_args(manifest: Mapping[str, Any], selection: Selection) -> list[str]:
    """dbt arguments that, after dagster-dbt's `--select fqn:*`, leave exactly `selection`
    (and no unit test: they check SQL, and the project is unchanged)."""
    left_out = [
        "fqn:" + ".".join(node["fqn"])
        for unique_id, node in sorted(manifest["nodes"].items())
        if node["resource_type"] in (*BUILT_TYPES, "test")
        and unique_id not in selection.built | selection.tests
    ]
    return ["--indirect-selection", "empty", "--exclude", " ".join([UNIT_TESTS, *left_out])]


SOURCE_TABLES: Mapping[str, frozenset[tuple[str, str]]] = {
    source.name: frozenset((RAW_SCHEMA, table.name) for table in source.tables)
    for source in SOURCES
}
