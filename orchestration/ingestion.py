"""One Dagster multi-asset per connector; each materialises the source's raw tables.

A `by_month` source (cloud costs, usage) is partitioned by month: a run's months are what its
live pull fetches, and the load is always the whole landing folder of the source
(orchestration/partitions.py says why). Every message and metadata value that can carry text
from outside (an API's error body) passes through `ingest.secrets.redact`.
"""

import traceback
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    multi_asset,
)
from dagster_duckdb import DuckDBResource

from ingest.framework import (
    RAW_SCHEMA,
    LoadReport,
    PullError,
    PullReport,
    RawTable,
    Source,
    SourceError,
    load_source,
)
from ingest.secrets import redact
from ingest.sources import SOURCES
from orchestration.formatting import markdown_table, money
from orchestration.partitions import MONTHS, window_months
from orchestration.resources import WarehouseLockResource
from orchestration.settings import Settings

PREVIEW_ROWS = 5
LISTED_FILES = 20
BOOKKEEPING_COLUMNS = ("_record", "_loaded_at")


def raw_asset_key(table: str) -> AssetKey:
    """Raw tables are dbt sources; the dbt translator maps sources to the same keys."""
    return AssetKey([RAW_SCHEMA, table])


@contextmanager
def failures_named(source: Source) -> Iterator[None]:
    """Any error of a pull or a load as a Dagster Failure naming the source, its text
    redacted. The original exception is not chained: Dagster would store its unredacted
    message in the event log."""
    try:
        yield
    except PullError as error:
        description = redact(f"{source.name}: {error}")
        metadata = {
            "source": source.name,
            "request": redact(error.request),
            "status": error.status or 0,
        }
    except SourceError as error:
        description = redact(str(error))
        metadata = {
            "source": error.source,
            "file": error.file,
            "where": error.where or "",
            "problem": redact(error.problem),
        }
    except Exception as error:  # a client library's own error: its text may quote a server
        description = redact(f"{source.name}: {type(error).__name__}: {error}")
        metadata = {
            "source": source.name,
            "traceback": MetadataValue.text(redact(traceback.format_exc())),
        }
    else:
        return
    raise Failure(description=description, metadata=metadata) from None


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
        partitions_def=MONTHS if source.by_month else None,
        backfill_policy=BackfillPolicy.single_run() if source.by_month else None,
    )
    def ingest(
        context: AssetExecutionContext,
        warehouse: DuckDBResource,
        settings: Settings,
        warehouse_lock: WarehouseLockResource,  # held for the whole run
    ):
        months = window_months(context.partition_key_range) if source.by_month else []
        pulled = None
        with failures_named(source):
            if source.pull is not None:
                if source.by_month:
                    pulled = source.pull(settings.landing_root, months)
                else:
                    pulled = source.pull(settings.landing_root)
            with warehouse.get_connection() as con:
                report = load_source(con, source, settings.landing_root)
                described = {table.name: describe_table(con, table) for table in source.tables}
        # A pull that went on past some failures (a cluster it could not query) lists them.
        pull_notes = pulled.problems + pulled.warnings if isinstance(pulled, PullReport) else []
        for note in pull_notes:
            context.log.warning(redact(f"{source.name} pull: {note}"))
        context.log.info(redact(f"{source.name}: {summary_of(report)}"))
        window = f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}" if months else None
        for table in source.tables:
            yield MaterializeResult(
                asset_key=raw_asset_key(table.name),
                metadata={
                    "dagster/row_count": report.rows_after[table.name],
                    "rows_before_load": report.rows_before[table.name],
                    "files_seen": len(report.files),
                    "files_loaded": sum(f.status in ("loaded", "replaced") for f in report.files),
                    # The files whose rows this load wrote: the suite validates their rows.
                    "files_written": MetadataValue.json(
                        [f.file for f in report.files if f.status in ("loaded", "replaced")]
                    ),
                    "rows_loaded_this_run": report.rows_loaded,
                    "rows_quarantined_this_run": report.rows_quarantined,
                    "files": MetadataValue.md(files_markdown(report)),
                    **({"months_fetched": window} if window else {}),
                    **(
                        {"pull_problems": MetadataValue.md(redact(_bullets(pull_notes)))}
                        if pull_notes
                        else {}
                    ),
                    **described[table.name],
                },
            )

    return ingest


def summary_of(report: LoadReport) -> str:
    counts: dict[str, int] = {}
    for file in report.files:
        counts[file.status] = counts.get(file.status, 0) + 1
    files = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    note = f" ({report.note})" if report.note else ""
    return (
        f"{files or 'no files in landing'}{note}; {report.rows_loaded} rows loaded, "
        f"{report.rows_quarantined} quarantined"
    )


def files_markdown(report: LoadReport) -> str:
    """The files of this load, changed ones first, at most LISTED_FILES of them."""
    ordered = sorted(report.files, key=lambda f: (f.status == "unchanged", f.file))
    lines = [
        f"- {f.status}: {f.file}" + (f" ({f.reason})" if f.reason else "")
        for f in ordered[:LISTED_FILES]
    ]
    if len(ordered) > LISTED_FILES:
        lines.append(f"- ... and {len(ordered) - LISTED_FILES} more")
    return "\n".join(lines) or "no files in landing"


def _bullets(notes: list[str]) -> str:
    return "\n".join(f"- {note}" for note in notes)


def describe_table(con: duckdb.DuckDBPyConnection, table: RawTable) -> dict[str, object]:
    """What the UI shows of a raw table: its latest rows and its money per currency."""
    relation = f"{RAW_SCHEMA}.{table.name}"
    cursor = con.execute(
        f"select * from {relation} order by _loaded_at desc, _file limit ?", [PREVIEW_ROWS]
    )
    columns = [c[0] for c in cursor.description]
    rows = cursor.fetchall()
    keep = [i for i, c in enumerate(columns) if c not in BOOKKEEPING_COLUMNS]
    described: dict[str, object] = {
        "preview": MetadataValue.md(
            markdown_table([columns[i] for i in keep], [[row[i] for i in keep] for row in rows])
        )
    }
    if table.amount and table.currency:
        totals = con.execute(
            f"select {table.currency} as currency, count(*), "
            f"sum(cast({table.amount} as decimal(38, 6))) from {relation} group by 1 order by 1"
        ).fetchall()
        described["money_total"] = MetadataValue.md(
            "| currency | rows | total |\n|---|---:|---:|\n"
            + "\n".join(f"| {c or ''} | {n:,} | {money(t)} |" for c, n, t in totals)
        )
    return described


INGEST_ASSETS = [build_ingest_asset(source) for source in SOURCES]
