"""One Dagster multi-asset per connector; each materialises the source's raw tables."""

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from dagster_duckdb import DuckDBResource

from ingest.framework import RAW_SCHEMA, PullError, PullReport, Source, SourceError, load_source
from ingest.sources import SOURCES
from orchestration.resources import WarehouseLockResource
from orchestration.settings import Settings


def raw_asset_key(table: str) -> AssetKey:
    """Raw tables are dbt sources; the dbt translator maps sources to the same keys."""
    return AssetKey([RAW_SCHEMA, table])


def build_ingest_asset(source: Source) -> AssetsDefinition:
    specs = [
        AssetSpec(
            raw_asset_key(table.name),
            description=table.description,
            group_name=source.group,
            kinds={"python", "duckdb"},
            metadata={"landing_patterns": ", ".join(source.patterns)},
        )
        for table in source.tables
    ]

    @multi_asset(
        name=f"ingest_{source.name}",
        specs=specs,
        description=source.description,
    )
    def ingest(
        context: AssetExecutionContext,
        warehouse: DuckDBResource,
        settings: Settings,
        warehouse_lock: WarehouseLockResource,  # held for the whole run
    ):
        pulled = None
        if source.pull is not None:
            try:
                pulled = source.pull(settings.landing_root)
            except PullError as error:
                raise Failure(
                    description=f"{source.name}: {error}",
                    metadata={
                        "source": source.name,
                        "request": error.request,
                        "status": error.status or 0,
                    },
                ) from error
        with warehouse.get_connection() as con:
            try:
                report = load_source(con, source, settings.landing_root)
            except SourceError as error:
                raise Failure(
                    description=str(error),
                    metadata={
                        "source": error.source,
                        "file": error.file,
                        "where": error.where or "",
                        "problem": error.problem,
                    },
                ) from error
        # A pull that went on past some failures (a cluster it could not query) lists them.
        pull_notes = pulled.problems + pulled.warnings if isinstance(pulled, PullReport) else []
        for note in pull_notes:
            context.log.warning(f"{source.name} pull: {note}")
        statuses = [
            f"{f.status}: {f.file}" + (f" ({f.reason})" if f.reason else "") for f in report.files
        ]
        context.log.info(f"{source.name}: " + "; ".join(filter(None, [report.note, *statuses])))
        for table in source.tables:
            yield MaterializeResult(
                asset_key=raw_asset_key(table.name),
                metadata={
                    "rows_in_table": report.rows_after[table.name],
                    "rows_before_load": report.rows_before[table.name],
                    "files_seen": len(report.files),
                    "files_in_landing": report.files_in_landing,
                    **({"note": report.note} if report.note else {}),
                    "files_loaded": sum(f.status in ("loaded", "replaced") for f in report.files),
                    "rows_loaded_this_run": report.rows_loaded,
                    "rows_quarantined_this_run": report.rows_quarantined,
                    "files": MetadataValue.md("\n".join(f"- {s}" for s in statuses) or "none"),
                    **(
                        {"pull_problems": MetadataValue.md("\n".join(f"- {n}" for n in pull_notes))}
                        if pull_notes
                        else {}
                    ),
                },
            )

    return ingest


INGEST_ASSETS = [build_ingest_asset(source) for source in SOURCES]
