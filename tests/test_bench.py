"""The benchmark's code path at a tiny size: every step runs and the results file holds what
the README's Performance section reads. Times are not asserted (speed is measured by
`make bench`, never in a test); only relations that hold whatever the machine."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from benchmarks import landing as scaled
from benchmarks.pipeline import run

pytestmark = pytest.mark.slow(
    150, reason="the benchmark's tiny run: its landing, two ingestions and three CLI builds"
)


def test_multiplied_bill_keeps_its_total_and_makes_ids_unique(tmp_path: Path):
    # 3 line items of 1.5, 2.0 and -0.5 (total 3.0) repeated 4 times: 12 line items, each a
    # quarter of its original, so the total is still 3.0; ids x-0 .. x-3 are all distinct.
    path = tmp_path / "part.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"copy (select * from (values ('a', 1.5), ('b', 2.0), ('c', -0.5)) "
            f"as t(identity_line_item_id, line_item_unblended_cost)) to '{path}'"
        )
        mtime = path.stat().st_mtime
        assert scaled.multiply(con, path, 4) == 12
        [(rows, ids, total)] = con.execute(
            f"select count(*), count(distinct identity_line_item_id), "
            f"sum(line_item_unblended_cost) from '{path}'"
        ).fetchall()
    assert (rows, ids) == (12, 12)
    assert abs(total - 3.0) < 1e-9
    assert path.stat().st_mtime == mtime  # the delivery's order is kept


def test_bench_runs_end_to_end_and_writes_its_results(tmp_path: Path):
    out = tmp_path / "results.json"
    results = run(months=3, hubs=5, rows=3000, workdir=tmp_path / "bench", out=out)
    written = json.loads(out.read_text())
    assert written == results
    for field in (
        "ingest_to_raw_ratio",
        "incremental_to_full_ratio",
        "unchanged_to_full_ratio",
        "peak_rss_mb",
        "rows",
        "machine",
    ):
        assert written[field] is not None, field
    # The project loaded every generated line item (the demo's bills have no bad rows).
    loaded = sum(source["rows"] for source in written["rows_loaded_by_source"].values())
    assert loaded >= written["rows"]  # GCP credits are rows of their own raw table
    assert written["appended_day_line_items"] > 0
    # The floor and the ingestion ran twice each; each reports its faster run.
    assert len(written["raw_duckdb_runs_s"]) == len(written["ingest_runs_s"]) == 2
    assert written["raw_duckdb_s"] == min(written["raw_duckdb_runs_s"])
    assert written["ingest_s"] == min(written["ingest_runs_s"])
    # Ratios are the measured times divided, and every step took some time and memory.
    assert written["unchanged_to_full_ratio"] == round(
        written["unchanged_rebuild_s"] / written["full_build_s"], 3
    )
    assert all(mb > 0 for mb in written["peak_rss_mb_by_step"].values())
    assert len(written["warehouse_mb_after_builds"]) == 3
    assert written["machine"]["cores"] >= 1
    # The copies and warehouses are removed; the three builds' logs are kept.
    run_dir = tmp_path / "bench" / "run"
    assert [path.name for path in run_dir.iterdir()] == ["warehouse.dagster"]
    assert len(list((run_dir / "warehouse.dagster" / "logs").glob("build-*.log"))) == 3
