"""What the warehouse's models were last built from, so a build with nothing new skips dbt.

dbt's inputs are the rows ingestion landed in the raw tables, the dbt project, and what a run
passes to dbt (the as-of day, the vars, the target, the dbt version). Each successful full
`dbt build` records a fingerprint of them in `audit.dbt_builds`, in the same warehouse file
it built; the next build compares and runs dbt only when one of them differs (as dbt's
`source_status:fresher+` and Dagster's "only when upstream changed" do).

The raw tables are fingerprinted source by source, by what ingestion keeps of each:
its rows of `raw._ingest_log` (each file's sha256, status, delivery, parser version and row
counts; not `loaded_at`, a wall-clock time, nor the file identity that spares hashing an
unchanged file again) and its row of `raw._sources`. Ingestion writes a source's raw and
quarantine rows only with a changed log row of that source (a file loaded, replaced or
removed: ingest/framework.py `load_source`), and an unchanged landing leaves both tables as
they were; so the sources whose fingerprint changed are the ones whose raw tables changed,
and a build rebuilds only what reads them (orchestration/dbt_selection.py).

The as-of day is kept apart from the rest of the invocation: a daily run leaves it unpinned
(today), so it changes every day, and only the models that use it need building again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import duckdb

BUILDS_TABLE = "audit.dbt_builds"
# How the dbt step's log line begins when it does not run dbt; the CLI shows that line as the
# dbt stage's (orchestration/console.py).
DBT_NOT_RUN = "nothing changed since run"
# The metadata entry of a model's output that a partial build did not rebuild (it yields one
# for each mart it kept, orchestration/dbt.py `not_rebuilt`): not counted as built.
NOT_REBUILT = "not rebuilt"
BUILDS_DDL = f"""
create table if not exists {BUILDS_TABLE} (
    run_id varchar not null,
    built_at timestamptz not null,
    full_refresh boolean not null,
    fingerprint varchar not null,
    inputs json not null
)"""
# Where ingestion keeps what it landed (ingest/framework.py), a source's rows first; ordered
# for a stable hash. Not `loaded_at`, nor the identity and sha256 that only spare hashing an
# unchanged file again (ingest/framework.py `landed_sha256`): a copied landing folder is the
# same data. By `columns(...)`, which also reads a log from before those columns.
RAW_STATE_QUERIES = (
    "select source, columns(lambda c: c not in ('loaded_at', 'file_identity', 'file_sha256')) "
    "from raw._ingest_log order by source, file",
    "select source, * from raw._sources order by source",
)
# What a record made before raw data was fingerprinted source by source holds in place of
# the sources' fingerprints: every source counts as changed.
EVERY_SOURCE = "every source"
AS_OF_VAR = "as_of"  # the dbt var that pins the as-of day (macros/as_of_date.sql)
# What changes at every parse without any change to the project: the manifest's `metadata`
# (parse time, invocation id) and each node's `created_at`.
PARSE_TIME_KEY = "created_at"


@dataclass(frozen=True)
class DbtInputs:
    """Fingerprints of each input of a dbt build; equal inputs build equal models."""

    # Ingest source -> fingerprint of what it landed; a plain string in older records.
    raw: Mapping[str, str] | str
    project: str
    # The vars but the as-of day, the target and the versions of dbt and its adapter.
    invocation: str
    as_of: str = ""  # the effective as-of day ("" in older records)

    @property
    def fingerprint(self) -> str:
        return _sha256(json.dumps(asdict(self), sort_keys=True))

    def changed_sources(self, earlier: DbtInputs) -> list[str]:
        """The ingest sources whose landed data differs, by name; every one of them when the
        earlier record does not tell sources apart."""
        if not isinstance(earlier.raw, Mapping) or not isinstance(self.raw, Mapping):
            return [EVERY_SOURCE]
        names = set(self.raw) | set(earlier.raw)
        return sorted(name for name in names if self.raw.get(name) != earlier.raw.get(name))

    def changed_since(self, earlier: DbtInputs) -> list[str]:
        """Which inputs differ, in words: 'raw data of aws, gcp', 'dbt project', 'as-of day',
        'settings'."""
        changed = []
        sources = self.changed_sources(earlier)
        if sources:
            changed.append(f"raw data of {', '.join(sources)}")
        if self.project != earlier.project:
            changed.append("dbt project")
        if self.as_of != earlier.as_of:
            changed.append("as-of day")
        if self.invocation != earlier.invocation:
            changed.append("settings")
        return changed


@dataclass(frozen=True)
class DbtBuild:
    """The last successful full dbt build recorded in a warehouse."""

    run_id: str
    built_at: datetime
    inputs: DbtInputs


def raw_state(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """What ingestion landed, source by source: a fingerprint of each source's rows of its
    log and its sources table (none before any load). The files no source owns are logged as
    the source `landing` (ingest/framework.py `log_unowned`)."""
    lines: dict[str, list[str]] = {}
    for part, query in enumerate(RAW_STATE_QUERIES):
        try:
            rows = con.execute(query).fetchall()
        except duckdb.CatalogException:  # not ingested yet
            rows = []
        for source, *row in rows:
            lines.setdefault(source, []).append(f"{part} {row!r}")
    return {source: _sha256("\n".join(lines[source])) for source in sorted(lines)}


def project_state(manifest: Mapping[str, Any]) -> str:
    """A fingerprint of the dbt project as parsed: every model's SQL and config, every test,
    seed, macro and source; not the parse's own time stamps and ids."""
    parsed = {key: value for key, value in manifest.items() if key != "metadata"}
    return _sha256(json.dumps(_without_parse_times(parsed), sort_keys=True, default=str))


def invocation_state(dbt_vars: Mapping[str, Any], target: str, versions: str) -> str:
    """A fingerprint of what a run passes to dbt but the as-of day: its vars (whether the
    day is pinned among them, not which: a pinned day is in the models' SQL, an unpinned one
    is `current_date`), the target and the versions of dbt and its adapter."""
    settings = {key: value for key, value in dbt_vars.items() if key != AS_OF_VAR}
    pinned = AS_OF_VAR in dbt_vars
    return _sha256(
        json.dumps(
            {"vars": settings, "as_of_pinned": pinned, "target": target, "versions": versions},
            sort_keys=True,
        )
    )


def last_build(con: duckdb.DuckDBPyConnection) -> DbtBuild | None:
    """The latest recorded dbt build of this warehouse, None when there is none."""
    try:
        row = con.execute(
            f"select run_id, built_at, inputs from {BUILDS_TABLE} order by built_at desc limit 1"
        ).fetchone()
    except duckdb.CatalogException:
        return None
    if row is None:
        return None
    run_id, built_at, inputs = row
    return DbtBuild(run_id, built_at, DbtInputs(**json.loads(inputs)))


def record_build(
    con: duckdb.DuckDBPyConnection, run_id: str, inputs: DbtInputs, full_refresh: bool
) -> None:
    """Record a successful full dbt build (in the warehouse file it built)."""
    con.execute("create schema if not exists audit")
    con.execute(BUILDS_DDL)
    con.execute(
        f"insert into {BUILDS_TABLE} values (?, current_timestamp, ?, ?, ?)",
        [run_id, full_refresh, inputs.fingerprint, json.dumps(asdict(inputs))],
    )


def warehouse_state(
    con: duckdb.DuckDBPyConnection,
) -> tuple[dict[str, str], str | None, int]:
    """What a build can change in the warehouse: the raw tables (through ingestion's log),
    the models (through the dbt build it records) and the published snapshots. Equal before
    and after a build: the build changed nothing."""
    build = last_build(con)
    try:
        [(published,)] = con.execute("select count(*) from published.metric_snapshots").fetchall()
    except duckdb.CatalogException:
        published = 0
    return raw_state(con), build.run_id if build else None, published


def _without_parse_times(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: _without_parse_times(item) for key, item in value.items() if key != PARSE_TIME_KEY
        }
    if isinstance(value, list):
        return [_without_parse_times(item) for item in value]
    return value


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
