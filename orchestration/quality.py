"""Great Expectations suites as blocking Dagster asset checks on the raw tables."""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetKey,
    MetadataValue,
    asset_check,
)
from dagster_duckdb import DuckDBResource

from ingest.framework import RAW_SCHEMA
from ingest.quality import MAX_ROW_DROP, SUITES, describe_suite, validate_loaded
from ingest.sources import SOURCES
from orchestration.resources import WarehouseLockResource


def latest_load(
    context: AssetCheckExecutionContext, key: AssetKey
) -> tuple[int | None, list | None]:
    """Rows the table held before its latest load, as that load measured them in the same
    warehouse (the Dagster instance may have built other warehouse files), and the files it
    wrote (None: not known, so every file is validated)."""
    records = context.instance.fetch_materializations(key, limit=1).records
    if not records:
        return None, None
    metadata = records[0].asset_materialization.metadata
    before, written = metadata.get("rows_before_load"), metadata.get("files_written")
    return (
        int(before.value) if before is not None else None,
        list(written.value) if written is not None else None,
    )


def build_suite_check(table: str) -> AssetChecksDefinition:
    key = AssetKey([RAW_SCHEMA, table])

    @asset_check(
        asset=key,
        name="great_expectations_suite",
        blocking=True,
        description=(
            f"GX suite for raw.{table} (ingest/quality.py): {describe_suite(table)}; and no "
            f"drop of more than {MAX_ROW_DROP:.0%} of rows since the previous load. Catches a "
            "wrong join, a half-empty export or a unit mistake where it enters. Row "
            "expectations run on the files the latest load wrote; keys and row count over "
            "the table, in SQL. Blocking: downstream models do not run when it fails."
        ),
    )
    def suite_check(
        context: AssetCheckExecutionContext,
        warehouse: DuckDBResource,
        warehouse_lock: WarehouseLockResource,  # held for the whole run
    ):
        rows_before, files = latest_load(context, key)
        with warehouse.get_connection() as con:
            result = validate_loaded(con, table, files, rows_before)
        return AssetCheckResult(
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

    return suite_check


RAW_TABLES_WITH_SUITES = [
    table.name for source in SOURCES for table in source.tables if table.name in SUITES
]
SUITE_CHECKS = [build_suite_check(table) for table in RAW_TABLES_WITH_SUITES]
