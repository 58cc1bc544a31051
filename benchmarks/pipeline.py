"""Time and peak memory of each stage of the pipeline on demo worlds of growing size.

Each build runs the real CLI in a child process, so its peak resident memory is measured on
its own. Results print as a table and are written to `data/bench/pipeline.json`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from ingest.demo import generate
from warehouse.paths import DATA_DIR, PROJECT_ROOT

AS_OF = date(2026, 11, 26)


def _child(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one CLI run in a fresh child process."""
    started = time.perf_counter()
    code = (
        "import resource, sys; from orchestration.cli import main; rc = main(sys.argv[1:]); "
        "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
        "sys.exit(rc)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=False,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"benchmark build failed:\n{done.stderr[-3000:]}")
    rss_kb = next(
        int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("MAXRSS")
    )
    return seconds, rss_kb / 1024


def measure(partners: int, months: int, workdir: Path) -> dict[str, float]:
    landing, warehouse = workdir / "landing", workdir / "warehouse.duckdb"
    started = time.perf_counter()
    generate(landing, seed=42, months=months, partners=partners, as_of=AS_OF)
    generate_seconds = time.perf_counter() - started
    landing_mb = sum(p.stat().st_size for p in landing.rglob("*") if p.is_file()) / 1e6
    build_args = [
        "build",
        "--landing",
        str(landing),
        "--warehouse",
        str(warehouse),
        "--snapshots",
        str(workdir / "snapshots"),
    ]
    first_seconds, first_rss = _child(build_args)
    rerun_seconds, rerun_rss = _child(build_args)
    return {
        "partners": partners,
        "months": months,
        "generate_s": round(generate_seconds, 2),
        "landing_mb": round(landing_mb, 1),
        "first_build_s": round(first_seconds, 1),
        "first_build_peak_rss_mb": round(first_rss),
        "rerun_build_s": round(rerun_seconds, 1),
        "rerun_build_peak_rss_mb": round(rerun_rss),
        "warehouse_mb": round(warehouse.stat().st_size / 1e6, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="30,120", help="partner counts to measure")
    parser.add_argument("--months", type=int, default=36)
    args = parser.parse_args()
    results = []
    for partners in (int(size) for size in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            results.append(measure(partners, args.months, Path(folder)))
        print(json.dumps(results[-1]), flush=True)
    out = DATA_DIR / "bench" / "pipeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"measured_on": date.today().isoformat(), "results": results}, indent=2)
    )
    print(f"written to {out}")


if __name__ == "__main__":
    main()
