"""The same dbt project on Apache Spark gives the same marts as on DuckDB (README, Scaling out).

The small world every end-to-end test builds (conftest: generated landing, ingested and built
with DuckDB) is exported to the Parquet lake (warehouse/lake.py), and `dbt build --target
spark` (dbt-spark's session method: PySpark in local mode, dbt_project/profiles.yml) builds
every model from it, running the same unit and data tests. Then each mart Spark wrote (Parquet
under <lake>/spark/marts.db/) is read back by DuckDB and compared with the DuckDB build: row
counts and money totals to the cent, then every row (numbers to a billionth: the engines add
floats in different orders), for every mart, and the outcome of every data test. Two
engines computing the marts independently from the same raw rows is the invariant. Column
types may differ where the engines name them differently (DuckDB sums integers to HUGEINT,
Spark divides decimals to DECIMAL); values may not.

Needs Java (17) and the `spark` dependency group (`make install-spark`); without them the
module is skipped with the reason, unless PARTNER_METRICS_REQUIRE_SPARK is set (`make
test-spark`, CI), where a missing piece fails.

With PARTNER_METRICS_SPARK_EVERY_TEST set (`make test-spark`) Spark also runs the unit tests
(given rows, no data: the SQL of a model on Spark), dbt's own generic tests (`not_null`,
`unique`, `accepted_values`, `relationships`: dbt's SQL, nothing of ours) and the
`not_null_columns` tests of the staging and intermediate models (the marts' run: one SQL,
other column lists); `make test` leaves them out, since `make test` has 15 minutes: the unit
tests were a third of Spark's work here (about 370 of 1,080 thread-seconds), the 364 `not_null`
tests (before `not_null_columns` replaced most) 208 of the 371 thread-seconds of its data
tests, and the 101 others took 86 of the 439 thread-seconds that remained; the 80
`not_null_columns` tests added 33 s to Spark's build. Every test of our own macros and SQL runs
(`unique_combination`, `non_negative`, `finite`, `null_unless`, `expression_is_true`,
`not_null_columns` and the singular tests), and every mart is compared with DuckDB's.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import SMALL_WORLD, BuiltWarehouse
from warehouse.lake import export_sources
from warehouse.paths import DBT_PROJECT_DIR

REQUIRE_ENV = "PARTNER_METRICS_REQUIRE_SPARK"
EVERY_TEST_ENV = "PARTNER_METRICS_SPARK_EVERY_TEST"
EVERY_TEST = bool(os.environ.get(EVERY_TEST_ENV))
# Left out of `make test` (above): dbt's generic tests by name, and our `not_null_columns`
# except the marts' (its SQL is the same whatever the model; all 80 took 33 s on Spark).
LEFT_TO_MAKE_TEST_SPARK = ("not_null", "unique", "accepted_values", "relationships")
NOT_NULL_COLUMNS_LEFT = ("models/staging/", "models/intermediate/")


def _missing_piece() -> str | None:
    if shutil.which("java") is None:
        return (
            "no `java` on PATH: install Java 17 (Debian: apt-get install openjdk-17-jre-headless)"
        )
    for module in ("pyspark", "dbt.adapters.spark"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed: `make install-spark` (uv sync --group spark)"
    return None


_missing = _missing_piece()
if _missing and os.environ.get(REQUIRE_ENV):
    pytest.fail(f"Spark parity cannot run: {_missing}", pytrace=False)
if _missing:
    pytest.skip(f"Spark parity skipped: {_missing}", allow_module_level=True)

pytestmark = [
    pytest.mark.slow(
        230, reason="the small world's CLI build, then dbt build of every model on Spark"
    ),
    pytest.mark.spark,
    pytest.mark.e2e,
]

MARTS_DIR = DBT_PROJECT_DIR / "models" / "marts"
# Views read a source as it is (marts.metric_snapshots: published.metric_snapshots): Spark
# builds them too (run results), they hold no rows of their own to compare.
VIEWS = {"metric_snapshots"}
TABLE_MARTS = sorted(p.stem for p in MARTS_DIR.rglob("*.sql") if p.stem not in VIEWS)
# A money column: USD amounts (`*_usd`) and amounts in their own currency (`amount`).
HALF_A_CENT = 0.005


def is_money(column: str) -> bool:
    return column.endswith("_usd") or column == "amount"


@dataclass(frozen=True)
class SparkBuild:
    duckdb_warehouse: Path
    spark_tables: Path  # <lake>/spark: one folder per schema (<schema>.db), one per table
    run_results: dict
    log: Path


@pytest.fixture(scope="module")
def spark_build(
    built_warehouse: BuiltWarehouse, tmp_path_factory: pytest.TempPathFactory
) -> SparkBuild:
    work = tmp_path_factory.mktemp("spark")
    lake = work / "lake"
    exported = export_sources(built_warehouse.warehouse, lake)
    assert any(t.table == "prometheus_samples" and t.rows for t in exported), exported
    log = work / "dbt-spark.log"
    with log.open("w") as out:
        result = subprocess.run(
            [
                str(Path(sys.executable).with_name("dbt")),
                "build",
                "--target",
                "spark",
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
                "--target-path",
                str(work / "target"),
                "--log-path",
                str(work / "logs"),
                "--vars",
                json.dumps({"lake_path": str(lake), "as_of": SMALL_WORLD["as_of"].isoformat()}),
                *(
                    []
                    if EVERY_TEST
                    else [
                        "--exclude",
                        "resource_type:unit_test",
                        *(f"test_name:{name}" for name in LEFT_TO_MAKE_TEST_SPARK),
                        *(f"test_name:not_null_columns,path:{p}" for p in NOT_NULL_COLUMNS_LEFT),
                    ]
                ),
            ],
            cwd=DBT_PROJECT_DIR,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=900,
        )
    run_results = json.loads((work / "target" / "run_results.json").read_text())
    failed = [
        f"{r['unique_id']}: {r['status']}: {(r.get('message') or '')[:300]}"
        for r in run_results["results"]
        if r["status"] not in ("success", "pass", "warn")
    ]
    assert result.returncode == 0 and not failed, (
        f"dbt build --target spark failed (log: {log}):\n" + "\n".join(failed[:20])
    )
    return SparkBuild(built_warehouse.warehouse, lake / "spark", run_results, log)


@pytest.fixture(scope="module")
def both(spark_build: SparkBuild):
    """DuckDB with the DuckDB build attached as `duck` and Spark's tables readable by path."""
    con = duckdb.connect()
    con.execute(f"attach '{spark_build.duckdb_warehouse}' as duck (read_only)")
    yield con
    con.close()


def spark_table(build: SparkBuild, schema: str, table: str) -> str:
    folder = build.spark_tables / f"{schema}.db" / table
    assert folder.is_dir(), f"Spark wrote no table {schema}.{table} ({folder})"
    return f"read_parquet('{folder}/*.parquet')"


def columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [row[0] for row in con.execute(f"describe select * from {relation}").fetchall()]


@pytest.fixture(scope="module")
def spark_manifest(spark_build: SparkBuild) -> dict:
    """The manifest of the Spark build (its target folder beside its log)."""
    return json.loads((spark_build.log.parent / "target" / "manifest.json").read_text())


def left_out(node: dict) -> bool:
    """A test `make test` leaves to `make test-spark`."""
    if EVERY_TEST:
        return False
    generic = (node.get("test_metadata") or {}).get("name")
    if generic == "not_null_columns":
        return node["original_file_path"].startswith(NOT_NULL_COLUMNS_LEFT)
    return node["resource_type"] == "unit_test" or generic in LEFT_TO_MAKE_TEST_SPARK


def test_every_model_and_test_ran_on_spark_but_those_left_to_make_test_spark(
    spark_build: SparkBuild, spark_manifest: dict
):
    nodes = [*spark_manifest["nodes"].items(), *spark_manifest["unit_tests"].items()]
    expected = {
        unique_id
        for unique_id, node in nodes
        if node["resource_type"] in ("model", "test", "unit_test") and not left_out(node)
    }
    ran = {result["unique_id"] for result in spark_build.run_results["results"]}
    assert len(expected) > 150
    assert expected <= ran, sorted(expected - ran)[:10]
    assert not any(left_out(node) for unique_id, node in nodes if unique_id in ran)
    assert any(node.startswith("unit_test.") for node in ran) is EVERY_TEST


def test_data_tests_have_the_same_outcome_on_both_engines(
    spark_build: SparkBuild, spark_manifest: dict, both
):
    """audit.dbt_test_results (macro record_test_results) of each build: same tests (those
    Spark ran), same status, same number of failing rows (a warning on one engine is a
    warning on the other)."""
    not_run = {n["name"] for n in spark_manifest["nodes"].values() if left_out(n)}
    spark = spark_table(spark_build, "audit", "dbt_test_results")
    query = "select test_name, status, failures from {} order by test_name"
    duck_rows = [
        row
        for row in both.execute(query.format("duck.audit.dbt_test_results")).fetchall()
        if row[0] not in not_run
    ]
    spark_rows = both.execute(query.format(spark)).fetchall()
    assert len(duck_rows) > 100
    assert spark_rows == duck_rows


def test_spark_built_every_mart(spark_build: SparkBuild):
    built = {p.name for p in (spark_build.spark_tables / "marts.db").iterdir()}
    assert set(TABLE_MARTS) <= built, set(TABLE_MARTS) - built


@pytest.mark.parametrize("mart", TABLE_MARTS)
def test_mart_row_count_and_money_totals_match(mart: str, spark_build: SparkBuild, both):
    duck, spark = f"duck.marts.{mart}", spark_table(spark_build, "marts", mart)
    assert columns(both, spark) == columns(both, duck)
    assert (
        both.execute(f"select count(*) from {spark}").fetchone()
        == both.execute(f"select count(*) from {duck}").fetchone()
    )
    for column in filter(is_money, columns(both, duck)):
        query = f'select cast(sum("{column}") as double) from {{}}'
        duck_total = both.execute(query.format(duck)).fetchone()[0]
        spark_total = both.execute(query.format(spark)).fetchone()[0]
        assert (duck_total is None) == (spark_total is None), column
        if duck_total is not None:
            assert abs(duck_total - spark_total) < HALF_A_CENT, (column, duck_total, spark_total)


def same_value(left: object, right: object) -> bool:
    """Equal; numbers to within a billionth (two engines add floats in different orders)."""
    if isinstance(left, float) or isinstance(right, float):
        if left is None or right is None:
            return left is right
        return math.isclose(float(left), float(right), rel_tol=1e-9, abs_tol=1e-9)
    return left == right


@pytest.mark.parametrize("mart", TABLE_MARTS)
def test_mart_matches_row_by_row(mart: str, spark_build: SparkBuild, both):
    """Every mart, the MRR and MRC marts (fct_mrr_monthly, fct_mrc_monthly) among them."""
    duck, spark = f"duck.marts.{mart}", spark_table(spark_build, "marts", mart)
    names = columns(both, duck)
    order = ", ".join(f'"{name}"' for name in names)
    duck_rows = both.execute(f"select {order} from {duck} order by {order}").fetchall()
    spark_rows = both.execute(f"select {order} from {spark} order by {order}").fetchall()
    assert len(spark_rows) == len(duck_rows)
    differing = []
    for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True):
        cells = zip(names, duck_row, spark_row, strict=True)
        if wrong := [(name, d, s) for name, d, s in cells if not same_value(d, s)]:
            differing.append((duck_row, wrong))
    assert not differing, (mart, len(differing), differing[:3])


def test_the_mrr_and_mrc_marts_have_rows_to_compare(spark_build: SparkBuild, both):
    for mart in ("fct_mrr_monthly", "fct_mrc_monthly"):
        count = both.execute(f"select count(*) from duck.marts.{mart}").fetchone()[0]
        assert count > 10, f"{mart} has {count} rows: too few to prove anything"
