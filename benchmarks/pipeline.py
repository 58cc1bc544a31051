"""`make bench`: the pipeline at scale, beside DuckDB's own speed on the same files.

On a landing folder of `--months` months, `--hubs` hubs and about `--rows` cloud line items
(benchmarks/landing.py), in one run and side by side:

1. raw DuckDB reading the cloud-bill files into tables (`create table as select * from
   read_parquet/read_csv/read_json`): the floor;
2. the project's ingestion of the same files (`load_source` of the four cloud sources, side
   by side as the build's monthly step loads them);
   steps 1 and 2 alternate twice, and each reports its faster run;
3. the full build (`partner-metrics build`: every source, the GX suites, `dbt build`, the
   snapshot) into an empty warehouse;
4. the same build again with nothing new;
5. the build after one more day of every provider's month-to-date bill;
6. peak resident memory of each step's whole process tree (dbt runs in a child process);
7. the warehouse's size after each build.

Every step runs in a fresh child process. The table prints at the end and the numbers go to
`bench/results.json`. Never part of `make test` (tests/test_bench.py runs a tiny size once to
check the code path and the file, not the times).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import psutil

from benchmarks import landing as scaled
from warehouse.paths import DATA_DIR, PROJECT_ROOT

AS_OF = date(2026, 11, 26)
RESULTS = PROJECT_ROOT / "bench" / "results.json"
STAGE = re.compile(r"^\s+(prepare|ingest|dbt|snapshot)\s+.*?\s([\d.]+) s$")
CLOUD_SOURCES = ("aws_cur", "gcp_billing", "azure_costs", "focus")
# Runs of the floor and of the ingestion; each reports its best.
READS = 2


class PeakMemory:
    """Samples the resident memory of a process and all its descendants, summed."""

    def __init__(self, pid: int, every: float = 0.1):
        self.root, self.every, self.peak = psutil.Process(pid), every, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.is_set():
            try:
                tree = [self.root, *self.root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            total = 0
            for process in tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += process.memory_info().rss
            self.peak = max(self.peak, total)
            self._done.wait(self.every)

    def stop(self) -> float:
        self._done.set()
        self._thread.join()
        return self.peak / 1e6


def run_child(args: Sequence[str]) -> dict:
    """Wall seconds, peak RSS of the process tree (MB) and standard output of one child."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    memory = PeakMemory(process.pid)
    out, err = process.communicate()
    peak = memory.stop()
    seconds = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"benchmark step {' '.join(args[:3])} failed:\n{out[-2000:]}{err[-3000:]}")
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(peak), "stdout": out}


def floor(landing: Path, database: Path) -> dict:
    """Step 1 in a child: DuckDB alone reading each provider's files into a table."""
    code = f"""
import duckdb, sys
from benchmarks.landing import cost_files
from pathlib import Path
con = duckdb.connect({str(database)!r})
con.execute("set timezone = 'UTC'")
groups = {{}}
for provider in ("aws", "gcp", "azure", "focus"):
    for path in cost_files(Path({str(landing)!r}), provider):
        name = path.name.lower()
        kind = "parquet" if name.endswith(".parquet") else "json" if ".json" in name else "csv"
        groups.setdefault((provider, kind), []).append(str(path))
for (provider, kind), files in groups.items():
    reader = {{
        "parquet": "read_parquet(?, union_by_name = true)",
        "json": "read_json(?, format = 'newline_delimited', union_by_name = true)",
        "csv": "read_csv(?, union_by_name = true, all_varchar = true)",
    }}[kind]
    con.execute(f"create table {{provider}}_{{kind}} as select * from {{reader}}", [files])
"""
    database.unlink(missing_ok=True)
    result = run_child(["-c", code])
    database.unlink(missing_ok=True)
    return result


def ingest(landing: Path, database: Path) -> dict:
    """Step 2 in a child: the project's ingestion of the four cloud sources."""
    code = f"""
from pathlib import Path
from ingest.framework import load_source, side_by_side
from ingest.sources import SOURCES
from orchestration.settings import Settings
import duckdb
settings = Settings(landing={str(landing)!r}, warehouse={str(database)!r}, snapshots="")
with duckdb.connect({str(database)!r}, config=settings.duckdb_config()) as con:
    def load(source):
        with con.cursor() as own:
            return load_source(own, source, Path({str(landing)!r}))
    bills = [source for source in SOURCES if source.name in {CLOUD_SOURCES!r}]
    for source, report in side_by_side(bills, load):
        if isinstance(report, BaseException):
            raise report
        print("loaded", source.name, report.rows_loaded, report.rows_quarantined)
"""
    database.unlink(missing_ok=True)
    result = run_child(["-c", code])
    loaded = {}
    for line in result["stdout"].splitlines():
        if line.startswith("loaded "):
            _, name, rows, quarantined = line.split()
            loaded[name] = {"rows": int(rows), "quarantined": int(quarantined)}
    result["loaded"] = loaded
    database.unlink(missing_ok=True)
    return result


def build(landing: Path, workdir: Path) -> dict:
    """Steps 3-5: one `partner-metrics build` in a child; its stage times from its output."""
    warehouse = workdir / "warehouse.duckdb"
    result = run_child(
        [
            "-m",
            "orchestration.cli",
            "build",
            "--landing",
            str(landing),
            "--warehouse",
            str(warehouse),
            "--snapshots",
            str(workdir / "snapshots"),
            "--as-of",
            AS_OF.isoformat(),
        ]
    )
    stages = {}
    for line in result["stdout"].splitlines():
        match = STAGE.match(line)
        if match:
            stages[match.group(1)] = float(match.group(2))
    result["stages"] = stages
    result["warehouse_mb"] = round(warehouse.stat().st_size / 1e6, 1)
    return result


def prepared_landing(months: int, hubs: int, rows: int, root: Path) -> tuple[Path, dict]:
    """The scaled landing folder, generated once per size and kept under `root` (with the
    seconds its generation took)."""
    folder = root / f"landing-{months}m-{hubs}h-{rows}r"
    marker = folder / "bench.json"
    if marker.exists():
        return folder / "landing", json.loads(marker.read_text())
    started = time.perf_counter()
    shutil.rmtree(folder, ignore_errors=True)
    described = scaled.build_landing(folder / "landing", months, hubs, rows, AS_OF)
    described["generate_s"] = round(time.perf_counter() - started, 1)
    marker.write_text(json.dumps(described))
    return folder / "landing", described


def machine() -> dict:
    memory = psutil.virtual_memory().total / 2**30
    return {
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory, 1),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def ratio(a: float, b: float) -> float | None:
    return round(a / b, 3) if b else None


def run(months: int, hubs: int, rows: int, workdir: Path, out: Path) -> dict:
    started = time.perf_counter()
    machine_at_start = machine()  # its load average before the bench's own work
    landing, described = prepared_landing(months, hubs, rows, workdir)
    run_dir = workdir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    # The landing is changed by step 5: work on a copy.
    work_landing = run_dir / "landing"
    shutil.copytree(landing, work_landing, copy_function=shutil.copy2)
    print(f"landing: {described}", flush=True)
    # The floor and the ingestion, alternated, each its best of READS runs: one run of the
    # floor alone varied by a fifth on this machine, and their ratio with it.
    floors, ingestions = [], []
    for _ in range(READS):
        floors.append(floor(work_landing, run_dir / "floor.duckdb"))
        print(f"raw DuckDB floor {floors[-1]['seconds']} s", flush=True)
        ingestions.append(ingest(work_landing, run_dir / "ingest.duckdb"))
        print(f"ingestion {ingestions[-1]['seconds']} s", flush=True)
    raw = min(floors, key=lambda result: result["seconds"])
    ingested = min(ingestions, key=lambda result: result["seconds"])
    full = build(work_landing, run_dir)
    print(f"full build {full['seconds']} s", flush=True)
    unchanged = build(work_landing, run_dir)
    print(f"unchanged rebuild {unchanged['seconds']} s", flush=True)
    added = scaled.append_day(work_landing)
    day = build(work_landing, run_dir)
    print(f"one appended day ({added} line items) {day['seconds']} s", flush=True)
    cost_rows = sum(described["cost_line_items"].values())
    results = {
        "measured_on": date.today().isoformat(),
        "machine": machine_at_start,
        "size": {"months": months, "hubs": described["hubs"], "partners": described["partners"]},
        "rows": cost_rows,
        "rows_by_provider": described["cost_line_items"],
        "rows_loaded_by_source": ingested["loaded"],
        "generate_s": described["generate_s"],
        "raw_duckdb_s": raw["seconds"],
        "raw_duckdb_runs_s": [result["seconds"] for result in floors],
        "ingest_s": ingested["seconds"],
        "ingest_runs_s": [result["seconds"] for result in ingestions],
        "full_build_s": full["seconds"],
        "full_build_stages_s": full["stages"],
        "unchanged_rebuild_s": unchanged["seconds"],
        "unchanged_rebuild_stages_s": unchanged["stages"],
        "appended_day_s": day["seconds"],
        "appended_day_stages_s": day["stages"],
        "appended_day_line_items": added,
        "peak_rss_mb": max(full["peak_rss_mb"], unchanged["peak_rss_mb"], day["peak_rss_mb"]),
        "peak_rss_mb_by_step": {
            "raw_duckdb": raw["peak_rss_mb"],
            "ingest": ingested["peak_rss_mb"],
            "full_build": full["peak_rss_mb"],
            "unchanged_rebuild": unchanged["peak_rss_mb"],
            "appended_day": day["peak_rss_mb"],
        },
        "warehouse_mb_after_builds": [
            full["warehouse_mb"],
            unchanged["warehouse_mb"],
            day["warehouse_mb"],
        ],
        "ingest_to_raw_ratio": ratio(ingested["seconds"], raw["seconds"]),
        "incremental_to_full_ratio": ratio(day["seconds"], full["seconds"]),
        "unchanged_to_full_ratio": ratio(unchanged["seconds"], full["seconds"]),
        "bench_s": round(time.perf_counter() - started, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    # The copies and warehouses are gigabytes; the builds' instance, whose logs give each dbt
    # model's and test's time (where the time goes), is kept until the next bench.
    for path in run_dir.iterdir():
        if path != run_dir / "warehouse.dagster":
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return results


def table(results: dict) -> str:
    rows = [
        ("cost line items", f"{results['rows']:,}"),
        ("raw DuckDB (floor), best of", f"{_runs(results['raw_duckdb_runs_s'])}"),
        (
            "ingestion of the same files, best of",
            f"{_runs(results['ingest_runs_s'])} ({results['ingest_to_raw_ratio']}x the floor)",
        ),
        ("full build", f"{results['full_build_s']} s {results['full_build_stages_s']}"),
        (
            "rebuild, nothing new",
            f"{results['unchanged_rebuild_s']} s ({results['unchanged_to_full_ratio']:.0%})",
        ),
        (
            "one appended day",
            f"{results['appended_day_s']} s ({results['incremental_to_full_ratio']:.0%})",
        ),
        ("peak RSS, process tree", f"{results['peak_rss_mb']:,} MB"),
        (
            "warehouse after builds",
            " / ".join(f"{m} MB" for m in results["warehouse_mb_after_builds"]),
        ),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def _runs(seconds: Sequence[float]) -> str:
    return " / ".join(f"{s} s" for s in seconds) + f": {min(seconds)} s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="partner-metrics bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--months", type=int, default=36)
    parser.add_argument("--hubs", type=int, default=300)
    parser.add_argument("--rows", type=int, default=10_000_000, help="cloud line items in all")
    parser.add_argument("--workdir", type=Path, default=DATA_DIR / "bench")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    results = run(args.months, args.hubs, args.rows, args.workdir.resolve(), args.out.resolve())
    print(table(results))
    print(f"written to {args.out}")
    print(f"the builds' logs: {args.workdir.resolve() / 'run' / 'warehouse.dagster' / 'logs'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
