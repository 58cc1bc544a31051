"""Great Expectations suites as blocking Dagster asset checks on the raw tables.

One step runs the suites of every raw table the run selected (a `multi_asset_check`, each
table's check still its own in the UI): the tables whose latest load wrote files are
validated in worker processes (ingest.quality `validate_side_by_side`; one per batch of rows
written, at most one per core), forked from a server the run started with GX imported
(`ValidationWorkersResource`); the others, which cost two SQL aggregates each, in the step
itself, which never imports GX.
"""

import math
import os
from collections.abc import Iterator

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckKey,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetKey,
    Failure,
    MetadataValue,
    multi_asset_check,
)
from dagster_duckdb import DuckDBResource

from ingest.framework import RAW_SCHEMA
from ingest.quality import (
    MAX_ROW_DROP,
    ROWS_PER_BATCH,
    SUITES,
    Loaded,
    SuiteResult,
    describe_suite,
    validate_loaded,
    validate_side_by_side,
)
from ingest.sources import SOURCES
from orchestration.resources import ValidationWorkersResource, WarehouseLockResource

CHECK_NAME = "great_expectations_suite"
RAW_TABLES_WITH_SUITES = [
    table.name for source in SOURCES for table in source.tables if table.name in SUITES
]


def suite_spec(table: str) -> AssetCheckSpec:
    return AssetCheckSpec(
        CHECK_NAME,
        asset=AssetKey([RAW_SCHEMA, table]),
        blocking=True,
        description=(
            f"GX suite for raw.{table} (ingest/quality.py): {describe_suite(table)}; and no "
            f"drop of more than {MAX_ROW_DROP:.0%} of rows since the previous load. Catches a "
            "wrong join, a half-empty export or a unit mistake where it enters. Row "
            "expectations run on the files the latest load wrote; keys and row count over "
            "the table, in SQL. Blocking: downstream models do not run when it fails."
        ),
    )


def latest_load(context: AssetCheckExecutionContext, table: str) -> tuple[Loaded, int]:
    """The table's latest load in this warehouse (the Dagster instance may have built other
    warehouse files), as its materialisation recorded it, and the rows it loaded."""
    records = context.instance.fetch_materializations(AssetKey([RAW_SCHEMA, table]), limit=1)
    if not records.records:
        return Loaded(table, None, None), 0
    metadata = records.records[0].asset_materialization.metadata
    before, written = metadata.get("rows_before_load"), metadata.get("files_written")
    loaded = metadata.get("rows_loaded_this_run")
    return (
        Loaded(
            table,
            list(written.value) if written is not None else None,
            int(before.value) if before is not None else None,
        ),
        int(loaded.value) if loaded is not None else 0,
    )


@multi_asset_check(
    specs=[suite_spec(table) for table in RAW_TABLES_WITH_SUITES],
    can_subset=True,
    name="great_expectations_suites",
)
def great_expectations_suites(
    context: AssetCheckExecutionContext,
    warehouse: DuckDBResource,
    warehouse_lock: WarehouseLockResource,  # held for the whole run
    validation_workers: ValidationWorkersResource,  # started with the run
) -> Iterator[AssetCheckResult]:
    """The suite of each selected raw table, on the files its latest load wrote."""
    selected = [
        latest_load(context, table)
        for table in RAW_TABLES_WITH_SUITES
        if AssetCheckKey(AssetKey([RAW_SCHEMA, table]), CHECK_NAME)
        in context.selected_asset_check_keys
    ]
    unchanged = [load for load, _ in selected if load.files == []]
    # Largest load first: it balances the workers.
    in_workers = [load for load, rows in sorted(selected, key=lambda s: -s[1]) if load.files != []]
    # A worker per batch of rows written, at most one per core.
    rows_written = sum(rows for load, rows in selected if load.files != [])
    workers = min(os.cpu_count() or 1, max(1, math.ceil(rows_written / ROWS_PER_BATCH)))
    with warehouse.get_connection() as con:
        for load in unchanged:
            yield check_result(validate_loaded(con, load.table, load.files, load.previous_rows))
    # Every connection of this process is closed now: the workers open the file read-only.
    if in_workers:
        context.log.info(
            f"{len(in_workers)} suites ({rows_written} rows written) in {workers} worker "
            "process(es): " + ", ".join(load.table for load in in_workers)
        )
    errors = []
    for load, outcome in validate_side_by_side(
        warehouse.database, warehouse.connection_config, in_workers, workers
    ):
        if isinstance(outcome, BaseException):
            errors.append(f"raw.{load.table}: {type(outcome).__name__}: {outcome}")
        else:
            yield check_result(outcome)
    if errors:
        raise Failure(f"{len(errors)} GX suite(s) could not run: " + "; ".join(errors))


def check_result(result: SuiteResult) -> AssetCheckResult:
    return AssetCheckResult(
        asset_key=AssetKey([RAW_SCHEMA, result.table]),
        check_name=CHECK_NAME,
        passed=result.passed,
        severity=AssetCheckSeverity.ERROR,
        description=result.describe(),
        metadata={
            "rows": result.rows,
            "expectations_evaluated": result.evaluated,
            "failing_expectations": MetadataValue.json(
                [
                    {
                        "expectation": f.expectation,
                        "column": f.column,
                        "detail": f.detail,
                        "unexpected_sample": f.unexpected_sample[:10],
                    }
                    for f in result.failures
                ]
            ),
        },
    )
