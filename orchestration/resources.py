"""Resources: the warehouse (DuckDB), the landing folder and dbt, all from one set of paths."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource

from warehouse.connection import build_lock
from warehouse.paths import DBT_PROJECT_DIR, WAREHOUSE_ENV, landing_path, warehouse_path


class LandingResource(ConfigurableResource):
    """The folder the connectors read; see README 'Landing layout'."""

    path: str

    @property
    def root(self) -> Path:
        return Path(self.path)


class WarehouseLockResource(ConfigurableResource):
    """Holds the warehouse's build lock for a whole run (UI, schedule, sensor or CLI).

    A run fails at once with 'warehouse is busy' while another build holds it, instead of
    two writers interleaving between DuckDB connections. Every asset requires it.
    """

    database: str

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[WarehouseLockResource]:
        with build_lock(Path(self.database)):
            yield self


def dbt_executable() -> str:
    """The venv's dbt, so runs work without an activated venv (dagster-dbt looks on PATH)."""
    beside_python = Path(sys.executable).with_name("dbt")
    return str(beside_python) if beside_python.exists() else shutil.which("dbt") or "dbt"


def build_resources() -> dict[str, object]:
    """Resources for the paths in the environment (see warehouse.paths)."""
    database = warehouse_path()
    # dbt reads the warehouse path from the same variable (dbt_project/profiles.yml).
    os.environ[WAREHOUSE_ENV] = str(database)
    return {
        "warehouse": DuckDBResource(database=str(database)),
        "warehouse_lock": WarehouseLockResource(database=str(database)),
        "landing": LandingResource(path=str(landing_path())),
        "dbt": DbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=dbt_executable(),
        ),
    }
