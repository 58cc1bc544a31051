"""Where the project keeps its files; every path can be moved with an environment variable.

These are the defaults a run starts from (`orchestration.settings.Settings.from_environment`)
and where readers such as notebooks find the warehouse; a run itself gets its paths passed in.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
DATA_DIR = PROJECT_ROOT / "data"

WAREHOUSE_ENV = "PARTNER_METRICS_WAREHOUSE"
LANDING_ENV = "PARTNER_METRICS_LANDING"
SNAPSHOTS_ENV = "PARTNER_METRICS_SNAPSHOTS"
AS_OF_ENV = "PARTNER_METRICS_AS_OF"
LAKE_ENV = "PARTNER_METRICS_LAKE"


def _from_env(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def warehouse_path() -> Path:
    """The DuckDB file analysts query (default ``data/warehouse.duckdb``)."""
    return _from_env(WAREHOUSE_ENV, DATA_DIR / "warehouse.duckdb")


def restricted_path(warehouse: Path) -> Path:
    """The restricted database beside a warehouse (`data/warehouse.duckdb` ->
    `data/warehouse.restricted.duckdb`): free text that may name people (survey comments,
    support feedback) lives there, outside the file analysts open. A build's working copy
    (`<warehouse>.building`, see orchestration.cli.build) shares its warehouse's."""
    name = warehouse.name.removesuffix(".building")
    stem = name.removesuffix(".duckdb")
    return warehouse.with_name(f"{stem}.restricted.duckdb")


def landing_path() -> Path:
    """The landing folder every connector reads (default ``data/landing``)."""
    return _from_env(LANDING_ENV, DATA_DIR / "landing")


def snapshots_path(warehouse: Path | None = None) -> Path:
    """Where a warehouse's monthly reports are published: ``PARTNER_METRICS_SNAPSHOTS``, else
    ``snapshots/`` beside the warehouse (`warehouse`, else ``warehouse_path()``: default
    ``data/snapshots``). Beside it, so a build of another warehouse never publishes a version
    into this one's folder, nor takes this one's versions into its own history."""
    return _from_env(SNAPSHOTS_ENV, (warehouse or warehouse_path()).parent / "snapshots")


def lake_path() -> Path:
    """The Parquet copy of the warehouse's sources other engines read (default ``data/lake``;
    warehouse/lake.py, the dbt `spark` target)."""
    return _from_env(LAKE_ENV, DATA_DIR / "lake")


def as_of_from_env() -> date | None:
    """The day the marts describe when pinned (YYYY-MM-DD); None means today."""
    value = os.environ.get(AS_OF_ENV)
    return date.fromisoformat(value) if value else None
