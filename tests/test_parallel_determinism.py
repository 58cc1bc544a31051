"""The models give the same rows, bit for bit, whatever threads DuckDB runs them on.

DuckDB splits each scan into morsels that its threads take in turn, so rows reach an
aggregate in an order that changes from run to run; a plain sum of doubles then differs in
its last bits between two builds of the same data. The models sum doubles exactly
(macros/exact_sum.sql) and let DuckDB use every core. Here the small world's warehouse is
copied and every model rebuilt on four threads with morsels of 2,048 rows (DuckDB's
`verify_parallelism`, set on each dbt cursor by tests/dbt_plugins/small_morsels.py), so that
even its small tables are read in parallel; every table must equal the shared build's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from tests.conftest import BUILD_TIME_COLUMN, SMALL_WORLD, BuiltWarehouse, run_dbt
from warehouse.paths import DBT_PROJECT_DIR

pytestmark = pytest.mark.slow(20, reason="a dbt build of the small world on four threads")

PLUGINS = Path(__file__).parent / "dbt_plugins"
MODEL_SCHEMAS = ("staging", "intermediate", "marts")


def parallel_profiles(folder: Path) -> Path:
    """The project's profiles.yml with four DuckDB threads and the small-morsels plugin."""
    profiles = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text())
    dev = profiles["partner_metrics"]["outputs"]["dev"]
    dev["settings"] = {"threads": 4}
    dev["module_paths"] = [str(PLUGINS)]
    dev["plugins"] = [{"module": "small_morsels"}]
    folder.mkdir()
    (folder / "profiles.yml").write_text(yaml.safe_dump(profiles))
    return folder


def model_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, list[str]]]:
    """(schema, table, columns but the build time) of every table the models wrote."""
    rows = con.execute(
        "select table_schema, table_name, list(column_name order by ordinal_position) "
        "from information_schema.columns join information_schema.tables "
        "using (table_catalog, table_schema, table_name) "
        "where table_type = 'BASE TABLE' and table_schema in ? group by all order by all",
        [list(MODEL_SCHEMAS)],
    ).fetchall()
    return [(s, t, [c for c in cols if c != BUILD_TIME_COLUMN]) for s, t, cols in rows]


@pytest.fixture(scope="module")
def rebuilt_in_parallel(built_warehouse: BuiltWarehouse, tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("parallel")
    warehouse = work / "warehouse.duckdb"
    shutil.copy(built_warehouse.warehouse, warehouse)
    result = run_dbt(
        ["run", "--full-refresh"],
        warehouse,
        work,
        SMALL_WORLD["as_of"].isoformat(),
        profiles=parallel_profiles(work / "profiles"),
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return warehouse


def test_every_model_table_is_the_same_when_built_on_four_threads_in_small_morsels(
    built_warehouse: BuiltWarehouse, rebuilt_in_parallel: Path
):
    with duckdb.connect(str(rebuilt_in_parallel), read_only=True) as con:
        con.execute(f"attach '{built_warehouse.warehouse}' as shared (read_only)")
        tables = model_tables(con)
        assert len(tables) > 40  # the models' tables: the query found them
        differing = {}
        for schema, table, columns in tables:
            select = ", ".join(f'"{c}"' for c in columns)
            here, there = f"{schema}.{table}", f"shared.{schema}.{table}"
            [(only_here, only_there)] = con.execute(
                f"select (select count(*) from (select {select} from {here} except all "
                f"select {select} from {there})), (select count(*) from (select {select} "
                f"from {there} except all select {select} from {here}))"
            ).fetchall()
            if only_here or only_there:
                differing[here] = (only_here, only_there)
    assert differing == {}
