"""What the warehouse's models were last built from, so a build with nothing new skips dbt.

dbt's inputs are the rows ingestion landed in the raw tables, the dbt project, and what a run
passes to dbt (the as-of day, the vars, the target, the dbt version). Each successful full
`dbt build` records a fingerprint of them in `audit.dbt_builds`, in the same warehouse file
it built; the next build compares and runs dbt only when one of them differs (as dbt's
`source_status:fresher+` and Dagster's "only when upstream changed" do).

The raw tables are fingerprinted by what ingestion keeps of them: `raw._ingest_log` (each
file's sha256, status, delivery, parser version and row counts; not `loaded_at`, a wall-clock
time) and `raw._sources`. Ingestion writes a raw row only with a changed log row, and an
unchanged landing leaves both tables as they were.
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
BUILDS_DDL = f"""
create table if not exists {BUILDS_TABLE} (
    run_id varchar not null,
    built_at timestamptz not null,
    full_refresh boolean not null,
    fingerprint varchar not null,
    inputs json not null
)"""
# Where ingestion keeps what it landed (ingest/framework.py); ordered for a stable hash.
RAW_STATE_QUERIES = (
    "select * exclude (loaded_at) from raw._ingest_log order by source, file",
    "select * from raw._sources order by source",
)
# What changes at every parse without any change to the project: the manifest's `metadata`
# (parse time, invocation id) and each node's `created_at`.
PARSE_TIME_KEY = "created_at"


@dataclass(frozen=True)
class DbtInputs:
    """Fingerprints of each input of a dbt build; equal inputs build equal models."""

    raw: str
    project: str
    invocation: str

    @property
    def fingerprint(self) -> str:
        return _sha256(json.dumps(asdict(self), sort_keys=True))

    def changed_since(self, earlier: DbtInputs) -> list[str]:
        """Which inputs differ, in words: 'raw data', 'dbt project', 'as-of day or settings'."""
        names = {"raw": "raw data", "project": "dbt project", "invocation": "as-of day or settings"}
        return [names[key] for key, value in asdict(self).items() if asdict(earlier)[key] != value]


@dataclass(frozen=True)
class DbtBuild:
    """The last successful full dbt build recorded in a warehouse."""

    run_id: str
    built_at: datetime
    inputs: DbtInputs


def raw_state(con: duckdb.DuckDBPyConnection) -> str:
    """A fingerprint of what ingestion landed: its log and its sources table ("" before any)."""
    digest = hashlib.sha256()
    for query in RAW_STATE_QUERIES:
        try:
            rows = con.execute(query).fetchall()
        except duckdb.CatalogException:  # not ingested yet
            rows = []
        for row in rows:
            digest.update(repr(row).encode())
            digest.update(b"\n")
        digest.update(b"\x00")
    return digest.hexdigest()


def project_state(manifest: Mapping[str, Any]) -> str:
    """A fingerprint of the dbt project as parsed: every model's SQL and config, every test,
    seed, macro and source; not the parse's own time stamps and ids."""
    parsed = {key: value for key, value in manifest.items() if key != "metadata"}
    return _sha256(json.dumps(_without_parse_times(parsed), sort_keys=True, default=str))


def invocation_state(dbt_vars: Mapping[str, Any], as_of: str, target: str, versions: str) -> str:
    """A fingerprint of what a run passes to dbt: its vars, the effective as-of day (today's
    date when not pinned), the target and the versions of dbt and its adapter."""
    return _sha256(
        json.dumps(
            {"vars": dict(dbt_vars), "as_of": as_of, "target": target, "versions": versions},
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


def warehouse_state(con: duckdb.DuckDBPyConnection) -> tuple[str, str | None, int]:
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
