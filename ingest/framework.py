"""Landing source files in raw tables: logged, idempotent, one transaction per source.

Every connector describes itself as a `Source`: the files it reads (globs under the landing
folder), the raw tables it fills, and a pure `parse` function from one file to rows. This
module does the rest the same way for all of them:

- each file is recorded in ``raw._ingest_log`` (path, sha256, size, loaded_at, counts);
- a file already loaded with the same sha256 is skipped; a changed file replaces its rows;
- rows that fail validation go to ``raw._quarantine`` with the reason and the raw record;
- a file that cannot be parsed at all raises `SourceError` naming source, file and line,
  before anything is written;
- all writes of one source happen in one DuckDB transaction, so a failure leaves the
  warehouse as it was.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

RAW_SCHEMA = "raw"
RECORD_COLUMN = "_record"
REJECTED_SCHEMA = pa.schema(
    [("record", pa.string()), ("reason", pa.string()), ("raw", pa.string())]
)

INGEST_LOG_DDL = f"""
create table if not exists {RAW_SCHEMA}._ingest_log (
    source varchar not null,
    file varchar not null,
    sha256 varchar not null,
    size_bytes bigint not null,
    loaded_at timestamptz not null,
    rows_loaded bigint not null,
    rows_quarantined bigint not null,
    primary key (source, file)
)"""

SOURCES_DDL = f"""
create table if not exists {RAW_SCHEMA}._sources (
    source varchar primary key,
    source_group varchar not null,
    description varchar not null,
    expected_cadence_hours double
)"""

QUARANTINE_DDL = f"""
create table if not exists {RAW_SCHEMA}._quarantine (
    source varchar not null,
    file varchar not null,
    record varchar not null,
    reason varchar not null,
    raw_record json,
    quarantined_at timestamptz not null
)"""


class ParseError(ValueError):
    """A file that cannot be read at all; `where` is a line or record reference."""

    def __init__(self, problem: str, where: str | None = None):
        super().__init__(problem)
        self.problem = problem
        self.where = where


class SourceError(RuntimeError):
    """A load that failed; the message names the source, the file and where in it."""

    def __init__(self, source: str, file: str, problem: str, where: str | None = None):
        location = f"{file}, {where}" if where else file
        super().__init__(f"{source}: {location}: {problem}")
        self.source = source
        self.file = file
        self.where = where
        self.problem = problem


class PullError(RuntimeError):
    """A live API pull that failed: names the request and the HTTP status, never a secret.

    The pull writes into the landing folder only once it has every page, so a failed pull
    leaves the files (and so the warehouse) as they were.
    """

    def __init__(self, message: str, request: str, status: int | None = None):
        super().__init__(message)
        self.request = request
        self.status = status


@dataclass(frozen=True)
class RawTable:
    """A raw table a source fills: its columns (name -> DuckDB type) and what it holds."""

    name: str
    columns: Mapping[str, str]
    description: str
    # For the Dagster UI: SQL over the raw columns giving the money a row carries, and the
    # column naming its currency; each load shows the table's total per currency.
    amount: str | None = None
    currency: str | None = None


@dataclass
class Parsed:
    """What one file yields: valid rows per raw table (plus `_record`) and rejected records."""

    tables: dict[str, pa.Table]
    rejected: pa.Table = field(default_factory=lambda: REJECTED_SCHEMA.empty_table())


@dataclass(frozen=True)
class Source:
    """A connector: which landing files it reads, what it fills, and how it parses a file."""

    name: str
    group: str
    description: str
    patterns: tuple[str, ...]
    tables: tuple[RawTable, ...]
    parse: Callable[[Path], Parsed]
    # How often new files are expected; a source quiet for longer is stale (None: never).
    cadence: timedelta | None = None
    # Fetches fresh files from a live API into the landing folder before the load, when the
    # source's credentials are configured; does nothing otherwise. Raises PullError.
    # Called as `pull(landing)`, or for a `by_month` source `pull(landing, months)` with the
    # first day of each month the run refreshes.
    pull: Callable[..., object] | None = None
    # Its facts belong to calendar months (bills, usage): the Dagster asset is partitioned by
    # month, so a month can be fetched again and reloaded (orchestration/partitions.py).
    by_month: bool = False

    def files(self, landing: Path) -> list[Path]:
        found = {p for pattern in self.patterns for p in landing.glob(pattern) if p.is_file()}
        return sorted(found)


@dataclass
class FileReport:
    file: str
    status: str  # loaded | replaced | unchanged | removed | missing, rows kept
    rows_loaded: int
    rows_quarantined: int


@dataclass
class LoadReport:
    source: str
    files: list[FileReport]
    # Rows in each raw table before and after this load, in the same warehouse.
    rows_before: dict[str, int] = field(default_factory=dict)
    rows_after: dict[str, int] = field(default_factory=dict)

    @property
    def rows_loaded(self) -> int:
        return sum(f.rows_loaded for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)


def rejections(records: Iterable[tuple[str, str, Mapping[str, Any]]]) -> pa.Table:
    """Rejected records built in Python (record reference, reason, raw record)."""
    rows = [
        {"record": where, "reason": reason, "raw": json.dumps(raw, default=str)}
        for where, reason, raw in records
    ]
    return pa.Table.from_pylist(rows, schema=REJECTED_SCHEMA)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_tables(con: duckdb.DuckDBPyConnection, source: Source) -> None:
    """Create the raw schema, the log, the quarantine and the source's tables if missing."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    con.execute(INGEST_LOG_DDL)
    con.execute(QUARANTINE_DDL)
    con.execute(SOURCES_DDL)
    cadence_hours = source.cadence.total_seconds() / 3600 if source.cadence else None
    con.execute(
        f"insert or replace into {RAW_SCHEMA}._sources values (?, ?, ?, ?)",
        [source.name, source.group, source.description, cadence_hours],
    )
    for table in source.tables:
        columns = {
            **table.columns,
            RECORD_COLUMN: "varchar",
            "_file": "varchar",
            "_loaded_at": "timestamptz",
        }
        ddl = ", ".join(f'"{name}" {type_}' for name, type_ in columns.items())
        con.execute(f"create table if not exists {RAW_SCHEMA}.{table.name} ({ddl})")
        existing = {
            row[0]
            for row in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ?",
                [RAW_SCHEMA, table.name],
            ).fetchall()
        }
        for name, type_ in columns.items():
            if name not in existing:
                con.execute(f'alter table {RAW_SCHEMA}.{table.name} add column "{name}" {type_}')


def _parse_file(source: Source, path: Path, relative: str) -> Parsed:
    try:
        parsed = source.parse(path)
    except ParseError as error:
        raise SourceError(source.name, relative, error.problem, error.where) from error
    except (duckdb.Error, UnicodeDecodeError, OSError) as error:
        raise SourceError(source.name, relative, f"cannot be read: {error}") from error
    expected = {table.name: {*table.columns, RECORD_COLUMN} for table in source.tables}
    for name, rows in parsed.tables.items():
        if name not in expected or set(rows.column_names) != expected[name]:
            raise SourceError(
                source.name,
                relative,
                f"parser returned columns {sorted(rows.column_names)} for table {name!r}; "
                f"expected {sorted(expected.get(name, []))}",
            )
    return parsed


def load_source(
    con: duckdb.DuckDBPyConnection, source: Source, landing: Path, now: datetime | None = None
) -> LoadReport:
    """Load every new or changed file of `source` under `landing` in one transaction."""
    now = now or datetime.now(UTC)
    ensure_tables(con, source)
    known = dict(
        con.execute(
            f"select file, sha256 from {RAW_SCHEMA}._ingest_log where source = ?", [source.name]
        ).fetchall()
    )
    reports: list[FileReport] = []
    pending: list[tuple[str, str, int, Parsed, FileReport]] = []
    for path in source.files(landing):
        relative = path.relative_to(landing).as_posix()
        sha = file_sha256(path)
        if known.get(relative) == sha:
            reports.append(FileReport(relative, "unchanged", 0, 0))
            continue
        parsed = _parse_file(source, path, relative)
        report = FileReport(
            relative,
            "replaced" if relative in known else "loaded",
            sum(t.num_rows for t in parsed.tables.values()),
            parsed.rejected.num_rows,
        )
        reports.append(report)
        pending.append((relative, sha, path.stat().st_size, parsed, report))

    # The raw tables mirror the landing folder: rows of a file that left it go too (a pull
    # that now returns fewer pages, a corrected export saved under a new name). When every
    # file of a source is gone, the landing folder is more likely wrong than emptied on
    # purpose: the rows stay and the report says so.
    seen = {report.file for report in reports}
    vanished = sorted(set(known) - seen)
    removed = vanished if seen else []
    reports += [FileReport(f, "removed" if seen else "missing, rows kept", 0, 0) for f in vanished]

    rows_before = _row_counts(con, source)
    if pending or removed:
        _write(con, source, pending, removed, now)
    return LoadReport(source.name, reports, rows_before, _row_counts(con, source))


def _row_counts(con: duckdb.DuckDBPyConnection, source: Source) -> dict[str, int]:
    return {
        table.name: con.execute(f"select count(*) from {RAW_SCHEMA}.{table.name}").fetchall()[0][0]
        for table in source.tables
    }


def _write(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    pending: Sequence[tuple[str, str, int, Parsed, FileReport]],
    removed: Sequence[str],
    now: datetime,
) -> None:
    con.execute("begin transaction")
    try:
        for relative in removed:
            for table in source.tables:
                con.execute(f"delete from {RAW_SCHEMA}.{table.name} where _file = ?", [relative])
            for bookkeeping in ("_quarantine", "_ingest_log"):
                con.execute(
                    f"delete from {RAW_SCHEMA}.{bookkeeping} where source = ? and file = ?",
                    [source.name, relative],
                )
        for relative, sha, size, parsed, report in pending:
            for table in source.tables:
                con.execute(f"delete from {RAW_SCHEMA}.{table.name} where _file = ?", [relative])
                rows = parsed.tables.get(table.name)
                if rows is not None and rows.num_rows:
                    con.register("_incoming", rows)
                    con.execute(
                        f"insert into {RAW_SCHEMA}.{table.name} by name "
                        "select *, ? as _file, ? as _loaded_at from _incoming",
                        [relative, now],
                    )
                    con.unregister("_incoming")
            con.execute(
                f"delete from {RAW_SCHEMA}._quarantine where source = ? and file = ?",
                [source.name, relative],
            )
            if parsed.rejected.num_rows:
                con.register("_rejected", parsed.rejected)
                con.execute(
                    f"insert into {RAW_SCHEMA}._quarantine "
                    "select ?, ?, record, reason, raw::json, ? from _rejected",
                    [source.name, relative, now],
                )
                con.unregister("_rejected")
            con.execute(
                f"insert or replace into {RAW_SCHEMA}._ingest_log values (?, ?, ?, ?, ?, ?, ?)",
                [
                    source.name,
                    relative,
                    sha,
                    size,
                    now,
                    report.rows_loaded,
                    report.rows_quarantined,
                ],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
