"""The settings of one pipeline run, made once at the edge and handed to everything else.

The CLI makes them from its arguments; `dagster dev` from the environment
(`PARTNER_METRICS_LANDING`, `_WAREHOUSE`, `_SNAPSHOTS`, `_AS_OF`, `_UNIT_TESTS`). The
resources and the dbt invocation receive them explicitly, so a build into one warehouse never
changes where another part of the process reads or writes, and nothing writes `os.environ` at
run time.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import field_validator

from warehouse.paths import as_of_from_env, landing_path, snapshots_path, warehouse_path

UNIT_TESTS_ENV = "PARTNER_METRICS_UNIT_TESTS"  # 0: dbt's unit tests left out (Settings)


class Settings(ConfigurableResource):
    """Where a run reads and writes, and the day its marts describe."""

    landing: str
    warehouse: str
    snapshots: str
    # The day the marts describe (YYYY-MM-DD); None: today. `build --as-of` pins it.
    as_of: str | None = None
    # DuckDB's memory for the build's queries (ingest and dbt alike); beyond it, joins,
    # sorts and aggregates spill to `temp_directory` (None: `<warehouse>.tmp` beside it), so
    # a build larger than memory is slower, not failed.
    memory_limit: str = "2GB"
    temp_directory: str | None = None
    # Run dbt even when its inputs are unchanged since the last build, with `--full-refresh`
    # (incremental models rebuilt from scratch). `build --full-refresh` sets it.
    full_refresh: bool = False
    # Run dbt's unit tests in a build that rebuilds from scratch (a changed project, a first or
    # forced build). They check the models' SQL on given rows, not the data: a deployment
    # whose project passed `make test` may leave them out (`build --no-unit-tests`,
    # PARTNER_METRICS_UNIT_TESTS=0), as dbt advises for production runs.
    unit_tests: bool = True

    @field_validator("as_of")
    @classmethod
    def _iso_date(cls, value: str | None) -> str | None:
        return None if value is None else date.fromisoformat(value).isoformat()

    @classmethod
    def from_environment(cls) -> Settings:
        as_of = as_of_from_env()
        unit_tests = os.environ.get(UNIT_TESTS_ENV, "1")
        if unit_tests not in ("0", "1"):
            raise ValueError(
                f"{UNIT_TESTS_ENV} is {unit_tests!r}: 1 runs dbt's unit tests, 0 leaves them out"
            )
        return cls(
            landing=str(landing_path()),
            warehouse=str(warehouse_path()),
            snapshots=str(snapshots_path()),
            as_of=as_of.isoformat() if as_of else None,
            unit_tests=unit_tests == "1",
        )

    @property
    def landing_root(self) -> Path:
        return Path(self.landing)

    @property
    def warehouse_file(self) -> Path:
        return Path(self.warehouse)

    @property
    def snapshots_root(self) -> Path:
        return Path(self.snapshots)

    def duckdb_config(self) -> dict[str, str]:
        """DuckDB settings of every connection of the build that writes the warehouse."""
        spill = self.temp_directory or f"{self.warehouse}.tmp"
        return {"memory_limit": self.memory_limit, "temp_directory": spill}

    @property
    def as_of_day(self) -> str:
        """The day the marts describe, as dbt sees it (macro as_of_date): today when not
        pinned."""
        return self.as_of or date.today().isoformat()

    def dbt_vars(self) -> dict[str, str]:
        """The `--vars` of every dbt invocation: the profile reads the warehouse path and the
        DuckDB settings from them (dbt_project/profiles.yml) and the marts their as-of day."""
        duckdb = self.duckdb_config()
        return {
            "warehouse_path": self.warehouse,
            "duckdb_memory_limit": duckdb["memory_limit"],
            "duckdb_temp_directory": duckdb["temp_directory"],
            **({"as_of": self.as_of} if self.as_of else {}),
        }
