"""Great Expectations suites as blocking Dagster asset checks on the raw tables."""

from collections.abc import Mapping
from typing import Any

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
from ingest.quality import MAX_ROW_DROP, SUITES, validate_table
from ingest.sources import SOURCES
from orchestration.resources import WarehouseLockResource


def rows_before_load(context: AssetCheckExecutionContext, key: AssetKey) -> int | None:
    """Rows the table held before its latest load, as that load measured them in the same
    warehouse (the Dagster instance may have built other warehouse files)."""
    records = context.instance.fetch_materializations(key, limit=1).records
    if not records:
        return None
    value = records[0].asset_materialization.metadata.get("rows_before_load")
    return int(value.value) if value is not None else None


def expectation_text(name: str, arguments: Mapping[str, Any]) -> str:
    """One expectation of a suite in words."""
    column = arguments.get("column")
    if name == "ExpectColumnValuesToNotBeNull":
        return f"{column} not null"
    if name == "ExpectColumnValuesToBeUnique":
        return f"{column} unique"
    if name == "ExpectCompoundColumnsToBeUnique":
        return f"({', '.join(arguments['column_list'])}) unique"
    if name == "ExpectColumnValuesToBeInSet":
        return f"{column} in {{{', '.join(map(str, arguments['value_set']))}}}"
    if name == "ExpectColumnValuesToMatchRegex":
        return f"{column} matches {arguments['regex']}"
    if name == "ExpectColumnValuesToBeBetween":
        low, high = arguments.get("min_value"), arguments.get("max_value")
        if low is None or high is None:
            return f"{column} at least {low}" if high is None else f"{column} at most {high}"
        return f"{column} between {low:g} and {high:g}"
    shown = ", ".join(f"{k}={v}" for k, v in arguments.items())
    return f"{name}({shown})"


def suite_description(table: str) -> str:
    """What the suite of `table` checks, expectation by expectation."""
    checks = "; ".join(expectation_text(name, args) for name, args in SUITES[table])
    return (
        f"Great Expectations suite for raw.{table} (ingest/quality.py): {checks}; and no drop "
        f"of more than {MAX_ROW_DROP:.0%} of rows since the previous load. Blocking: the "
        "models downstream do not run when it fails."
    )


def build_suite_check(table: str) -> AssetChecksDefinition:
    key = AssetKey([RAW_SCHEMA, table])

    @asset_check(
        asset=key,
        name="great_expectations_suite",
        blocking=True,
        description=suite_description(table),
    )
    def suite_check(
        context: AssetCheckExecutionContext,
        warehouse: DuckDBResource,
        warehouse_lock: WarehouseLockResource,  # held for the whole run
    ):
        with warehouse.get_connection() as con:
            frame = con.execute(f"select * from {RAW_SCHEMA}.{table}").df()
        result = validate_table(table, frame, rows_before_load(context, key))
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
