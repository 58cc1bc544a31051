"""The monthly leadership snapshot asset (the monthly close schedule publishes it:
orchestration/schedules.py)."""

from datetime import date
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource
from pydantic import Field

from orchestration.dbt import PUBLISHED_VERSIONS, partner_metrics_dbt
from orchestration.resources import WarehouseLockResource
from orchestration.settings import Settings
from warehouse.connection import WarehouseMissingError, require_warehouse
from warehouse.snapshots import MARTS_SCHEMA, RECONCILIATION_SQL, SnapshotError, publish

# Every mart but the view of published versions, which this asset itself feeds.
MART_KEYS = [
    key
    for key in partner_metrics_dbt.keys
    if key.path[0] == MARTS_SCHEMA and key.path[-1] != PUBLISHED_VERSIONS
]


class SnapshotConfig(Config):
    month: str | None = Field(
        default=None,
        description="YYYY-MM; must be the month the warehouse describes (default: that month, "
        "the last closed month as of the run's as-of day).",
    )


@asset(
    deps=MART_KEYS,
    group_name="publish",
    kinds={"parquet", "html"},
)
def metric_snapshot(
    context: AssetExecutionContext,
    config: SnapshotConfig,
    warehouse: DuckDBResource,
    settings: Settings,
    warehouse_lock: WarehouseLockResource,  # held for the whole run
):
    """The monthly leadership snapshot of the month the warehouse describes:
    `<snapshots>/<YYYY-MM>/v<N>/` (metrics.parquet, report.html, report.md), immutable. A
    re-run with the same numbers writes nothing; a restatement writes the next version.
    Run alone (the UI, over a warehouse not built yet), it fails naming the missing warehouse
    and how to build it, rather than open (so create) an empty one."""
    try:
        require_warehouse(Path(warehouse.database))
    except WarehouseMissingError as error:
        raise Failure(description=str(error)) from None
    month = date.fromisoformat(config.month + "-01") if config.month else None
    with warehouse.get_connection() as con:
        try:
            publication = publish(con, settings.snapshots_root, context.run_id, month=month)
        except SnapshotError as error:
            raise Failure(description=str(error)) from None
        reconciliation = con.execute(RECONCILIATION_SQL).fetchall()
    verb = "published" if publication.written else "unchanged, nothing written:"
    context.log.info(
        f"{publication.month:%Y-%m} v{publication.version} {verb} {publication.folder}"
    )
    return MaterializeResult(
        metadata={
            "month": f"{publication.month:%Y-%m}",
            "version": publication.version,
            "written": publication.written,
            "report": MetadataValue.path(str(publication.folder / "report.html")),
            "reconciliation": MetadataValue.md(reconciliation_markdown(reconciliation)),
        }
    )


def reconciliation_markdown(rows: list[tuple]) -> str:
    """marts.fct_reconciliation as a Markdown table for the asset's page in the UI."""
    lines = [
        "| source | stage | relation | currency | rows | amount |",
        "|---|---|---|---|---:|---:|",
    ]
    for source, stage, relation, currency, row_count, amount in rows:
        money = "" if amount is None else f"{amount:,.2f}"
        lines.append(
            f"| {source} | {stage} | {relation} | {currency or ''} | {row_count:,} | {money} |"
        )
    return "\n".join(lines)
