"""The metric snapshot: every marts table frozen as Parquet, the copy leadership reads."""

from datetime import date

from dagster import (
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
)
from dagster_duckdb import DuckDBResource

from orchestration.dbt import partner_metrics_dbt
from orchestration.resources import WarehouseLockResource
from orchestration.settings import Settings
from warehouse.snapshots import MARTS_SCHEMA, RECONCILIATION_SQL, export_snapshot

MART_KEYS = [key for key in partner_metrics_dbt.keys if key.path[0] == MARTS_SCHEMA]


@asset(
    deps=MART_KEYS,
    group_name="publish",
    kinds={"parquet"},
)
def metric_snapshot(
    context: AssetExecutionContext,
    warehouse: DuckDBResource,
    settings: Settings,
    warehouse_lock: WarehouseLockResource,  # held for the whole run
):
    """Every marts table as Parquet in `data/snapshots/<date>/`, the copy leadership reads."""
    with warehouse.get_connection() as con:
        snapshot = export_snapshot(con, settings.snapshots_root, date.today())
        reconciliation = con.execute(RECONCILIATION_SQL).fetchall()
    context.log.info(f"snapshot written to {snapshot.folder}")
    return MaterializeResult(
        metadata={
            "folder": str(snapshot.folder),
            "reconciliation": MetadataValue.md(reconciliation_markdown(reconciliation)),
            **{f"rows.{t}": n for t, n in snapshot.tables.items()},
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
