"""Resources: the warehouse (DuckDB), its build lock and dbt, all made from one `Settings`."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from importlib.metadata import version
from pathlib import Path

from dagster import ConfigurableResource, InitResourceContext
from dagster_dbt import DbtCliResource
from dagster_duckdb import DuckDBResource
from packaging.version import Version

from ingest.quality import start_validation_workers
from orchestration.instance import PROCESS_TAG, this_process
from orchestration.settings import Settings
from warehouse.connection import build_lock
from warehouse.paths import DBT_PROJECT_DIR


class WarehouseLockResource(ConfigurableResource):
    """Holds the warehouse's build lock for a whole run (UI, schedule, sensor or CLI).

    A run fails at once with 'warehouse is busy' while another build holds it, instead of
    two writers interleaving between DuckDB connections. Every asset requires it. Holding
    it, the run records its process, so a run whose process was killed can be told from a
    run still working (orchestration/instance.py).
    """

    database: str

    @contextmanager
    def yield_for_execution(self, context: InitResourceContext) -> Iterator[WarehouseLockResource]:
        with build_lock(Path(self.database)):
            if context.instance is not None and context.run is not None:
                context.instance.add_run_tags(context.run.run_id, {PROCESS_TAG: this_process()})
            yield self


class ValidationWorkersResource(ConfigurableResource):
    """Starts, as a run that validates raw tables starts, the server that the GX suites'
    worker processes fork from (ingest.quality `start_validation_workers`): its imports,
    GX's 4 s among them, run beside the loads instead of before the suites."""

    def setup_for_execution(self, context: InitResourceContext) -> None:
        start_validation_workers()


def dbt_executable() -> str:
    """The venv's `partner-metrics-dbt`: dbt that dies with the run that started it
    (orchestration/dbt_process.py); found beside Python, so no activated venv is needed."""
    name = "partner-metrics-dbt"
    beside_python = Path(sys.executable).with_name(name)
    return str(beside_python) if beside_python.exists() else shutil.which(name) or name


class ProjectDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt resource, told the version of dbt it runs instead of asking: it ran
    `dbt --version` in a subprocess before every invocation (2 to 4 s of a build). The
    executable is this venv's `partner-metrics-dbt`, which runs the installed dbt-core.

    Nor does it open a dbt adapter in the Dagster process before each invocation: dagster-dbt
    uses that adapter only for `fetch_row_counts()` and `fetch_column_metadata()`, which this
    project does not call (orchestration/dbt.py reads both with one DuckDB connection).
    Loading the profile and the adapter took 1.3 s a build."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


def build_resources(settings: Settings) -> dict[str, object]:
    """Every resource of a run, from its settings (the dbt asset passes them as `--vars`)."""
    return {
        "settings": settings,
        "warehouse": DuckDBResource(
            database=settings.warehouse, connection_config=settings.duckdb_config()
        ),
        "warehouse_lock": WarehouseLockResource(database=settings.warehouse),
        "validation_workers": ValidationWorkersResource(),
        "dbt": ProjectDbtCliResource(
            project_dir=str(DBT_PROJECT_DIR),
            profiles_dir=str(DBT_PROJECT_DIR),
            dbt_executable=dbt_executable(),
        ),
    }
