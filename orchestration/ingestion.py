"""The ingest steps: Dagster multi-assets that materialise the sources' raw tables.

The sources partitioned by month load side by side in one step, the others a step each, and
one step logs the files outside every source's folders (`INGEST_ASSETS`). A `by_month`
source (cloud costs, usage) is partitioned by month: a run's months are what its live pull
fetches, and the load is always the whole landing folder of the source
(orchestration/partitions.py says why). Every message and metadata value that can carry text
from outside (an API's error body) passes through `ingest.secrets.redact`.
"""

import traceback
from collections.abc import Iterator, Sequence
from functools import partial

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
    LANDING,
    RAW_SCHEMA,
    LoadReport,
    PullError,
    PullReport,
    RawTable,
    Source,
    SourceError,
    load_source,
    log_unowned,
    side_by_side,
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


def failure_of(source: Source, error: BaseException) -> Failure:
    """An error of a pull or a load as a Dagster Failure naming the source, its text
    redacted. The original exception is not chained: Dagster would store its unredacted
    message in the event log."""
    if isinstance(error, PullError):
        description = redact(f"{source.name}: {error}")
        metadata = {
            "source": source.name,
            "request": redact(error.request),
            "status": error.status or 0,
        }
    elif isinstance(error, SourceError):
        description = redact(str(error))
        metadata = {
            "source": error.source,
            "file": error.file,
            "where": error.where or "",
            "problem": redact(error.problem),
        }
    else:  # a client library's own error: its text may quote a server
        description = redact(f"{source.name}: {type(error).__name__}: {error}")
        metadata = {
            "source": source.name,
            "traceback": MetadataValue.text(redact("".join(traceback.format_exception(error)))),
        }
    return Failure(description=description, metadata=metadata)


def failure_of_all(failures: Sequence[Failure]) -> Failure:
    """One Failure for a step whose sources failed: the only one, or all of them named."""
    if len(failures) == 1:
        return failures[0]
    return Failure(
        description=f"{len(failures)} sources failed: "
        + "; ".join(str(failure.description) for failure in failures),
        metadata={"sources": ", ".join(str(f.metadata["source"].value) for f in failures)},
    )


def pull_source(source: Source, settings: Settings, months: list) -> object:
    """A source's live pull into its landing folder (None: the source has none)."""
    if source.pull is None:
        return None
    if source.by_month:
        return source.pull(settings.landing_root, months)
    return source.pull(settings.landing_root)


def load_and_describe(
    con: duckdb.DuckDBPyConnection, source: Source, settings: Settings
) -> tuple[LoadReport, dict[str, dict[str, object]]]:
    """Load a source's landing folder on a connection of its own (its own transaction)."""
    with con.cursor() as own:
        report = load_source(own, source, settings.landing_root)
        return report, {table.name: describe_table(own, table) for table in source.tables}


def build_ingest_asset(name: str, sources: Sequence[Source]) -> AssetsDefinition:
    """One step that pulls and loads `sources`, side by side when there are several
    (ingest.framework.side_by_side): every pull first, then the loads of the sources whose
    pull did not fail, so a failed pull writes nothing. A step of several sources can be
    subset in the UI: selecting any table of a source runs that source."""
    (by_month,) = {source.by_month for source in sources}  # one partitioning per step
    specs = [
        AssetSpec(
            raw_asset_key(table.name),
            description=table.description,
            group_name=source.group,
            kinds={"python", "duckdb"},
            metadata={"landing_patterns": ", ".join(source.patterns)},
        )
        for source in sources
        for table in source.tables
    ]

    @multi_asset(
        name=f"ingest_{name}",
        specs=specs,
        description=" ".join(source.description for source in sources)
        if len(sources) == 1
        else "Loaded side by side, each in a transaction of its own: "
        + "; ".join(f"{source.name}: {source.description}" for source in sources),
        partitions_def=MONTHS if by_month else None,
        backfill_policy=BackfillPolicy.single_run() if by_month else None,
        can_subset=len(sources) > 1,
    )
    def ingest(
        context: AssetExecutionContext,
        warehouse: DuckDBResource,
        settings: Settings,
        warehouse_lock: WarehouseLockResource,  # held for the whole run
    ):
        months = window_months(context.partition_key_range) if by_month else []
        selected = context.selected_asset_keys
        chosen = [s for s in sources if any(raw_asset_key(t.name) in selected for t in s.tables)]
        failures: list[Failure] = []

        def failed(source: Source, error: BaseException) -> None:
            failures.append(failure_of(source, error))
            context.log.error(failures[-1].description)

        pulled = {}
        for source, outcome in side_by_side(
            chosen, partial(pull_source, settings=settings, months=months)
        ):
            if isinstance(outcome, BaseException):
                failed(source, outcome)
            else:
                pulled[source.name] = outcome
        loadable = [source for source in chosen if source.name in pulled]
        if loadable:
            with warehouse.get_connection() as con:
                work = partial(load_and_describe, con, settings=settings)
                for source, outcome in side_by_side(loadable, work):
                    if isinstance(outcome, BaseException):
                        failed(source, outcome)
                        continue
                    report, described = outcome
                    yield from materializations(
                        context, source, pulled[source.name], report, described, months
                    )
        if failures:
            raise failure_of_all(failures)

    return ingest


def materializations(
    context: AssetExecutionContext,
    source: Source,
    pulled: object,
    report: LoadReport,
    described: dict[str, dict[str, object]],
    months: list,
) -> Iterator[MaterializeResult]:
    """The logged summary of a source's pull and load, and a materialisation of each selected
    table with what the UI shows of it (`described`)."""
    # A pull that went on past some failures (a cluster it could not query) lists them.
    pull_notes = pulled.problems + pulled.warnings if isinstance(pulled, PullReport) else []
    for note in pull_notes:
        context.log.warning(redact(f"{source.name} pull: {note}"))
    context.log.info(redact(f"{source.name}: {summary_of(report)}"))
    window = f"{months[0]:%Y-%m} to {months[-1]:%Y-%m}" if months else None
    for table in source.tables:
        key = raw_asset_key(table.name)
        if key not in context.selected_asset_keys:
            continue
        yield MaterializeResult(
            asset_key=key,
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


# The log of the files every source looked at, as dbt reads it (a dbt source): this step
# materialises it with the files outside every source's folders, so dbt runs after it.
INGEST_LOG = raw_asset_key("_ingest_log")


@multi_asset(
    name=f"ingest_{LANDING}",
    specs=[
        AssetSpec(
            INGEST_LOG,
            description=(
                "The ingest log: every file each source looked at, loaded or not, with why "
                "(each source's step logs its folders). This step logs the files no source "
                "owns, at the landing root or in a folder that is no source's (a misspelt "
                "Invoices/, costs/aws/): skipped, with where each goes, or ignored (the "
                "operating system's metadata, hidden files); listed by the build summary."
            ),
            group_name=LANDING,
            kinds={"python", "duckdb"},
        )
    ],
)
def ingest_landing(
    context: AssetExecutionContext,
    warehouse: DuckDBResource,
    settings: Settings,
    warehouse_lock: WarehouseLockResource,  # held for the whole run
) -> MaterializeResult:
    with warehouse.get_connection() as con:
        report = log_unowned(con, settings.landing_root, SOURCES)
    skipped = len(report.skipped)
    context.log.info(
        redact(
            f"{LANDING}: {len(report.files)} file(s) outside every source's folders, "
            f"{skipped} skipped"
        )
    )
    return MaterializeResult(
        asset_key=INGEST_LOG,
        metadata={
            "files_outside_source_folders": len(report.files),
            "files_skipped": skipped,
            "files": MetadataValue.md(
                files_markdown(report) if report.files else "every file is in a source's folder"
            ),
        },
    )


# The sources partitioned by month (the cloud bills and the usage samples, the large ones)
# load side by side in one step; the others, small, a step each. (Restricted tables are
# written through an attached database, one at a time: none of the monthly sources has one.)
MONTHLY_SOURCES = [source for source in SOURCES if source.by_month]
INGEST_ASSETS = [
    ingest_landing,
    build_ingest_asset("monthly_sources", MONTHLY_SOURCES),
    *(build_ingest_asset(source.name, [source]) for source in SOURCES if not source.by_month),
]
