"""`partner-metrics`: generate demo data, build the warehouse, print what it holds.

`build` materialises the same Dagster assets the UI shows, in-process, recorded in the same
Dagster instance. It builds into a copy of the warehouse and swaps the copy in only when
every step and every blocking check passed, so a failed build leaves the warehouse as it was.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from warehouse.paths import DATA_DIR, PROJECT_ROOT, snapshots_path

if TYPE_CHECKING:
    from orchestration.settings import Settings

QUIET_ENV = {
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}
DAGSTER_HOME = PROJECT_ROOT / ".dagster_home"


class BuildFailedError(RuntimeError):
    """A step or a blocking check failed; the message lists what, for a person to act on."""


def quiet_environment() -> None:
    """Telemetry off for every library, and a Dagster instance with telemetry disabled."""
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    os.environ.setdefault("DAGSTER_HOME", str(DAGSTER_HOME))


def ensure_dbt_manifest() -> None:
    """dagster-dbt reads target/manifest.json when the definitions load: parse it when it is
    missing or older than any model, macro, test or project file, as `make` does."""
    import subprocess

    from orchestration.resources import dbt_executable
    from warehouse.paths import DBT_PROJECT_DIR

    manifest = DBT_PROJECT_DIR / "target" / "manifest.json"
    inputs = [DBT_PROJECT_DIR / "dbt_project.yml"] + [
        path
        for folder in ("models", "macros", "tests")
        for path in (DBT_PROJECT_DIR / folder).rglob("*")
        if path.is_file()
    ]
    built = manifest.stat().st_mtime if manifest.exists() else 0.0
    if any(path.stat().st_mtime > built for path in inputs):
        subprocess.run(
            [dbt_executable(), "parse", "--profiles-dir", str(DBT_PROJECT_DIR), "--quiet"],
            cwd=DBT_PROJECT_DIR,
            check=True,
        )
        manifest.touch()


@dataclass
class BuildResult:
    warehouse: Path
    snapshots: Path
    seconds: float
    warnings: list[str]


def _remove_database(path: Path) -> None:
    for suffix in ("", ".wal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


def _copy_database(source: Path, target: Path) -> None:
    """Copy a DuckDB file with its write-ahead log, if any (nothing if it does not exist)."""
    _remove_database(target)
    for suffix in ("", ".wal"):
        source_file = Path(str(source) + suffix)
        if source_file.exists():
            shutil.copy2(source_file, Path(str(target) + suffix))


def build(
    landing: Path,
    warehouse: Path,
    snapshots: Path | None = None,
    verbose: bool = False,
    as_of: date | None = None,
) -> BuildResult:
    """Ingest every source under `landing`, run dbt and the checks, publish a snapshot."""
    from orchestration.settings import Settings
    from warehouse.connection import build_lock, connect

    quiet_environment()
    ensure_dbt_manifest()
    landing, warehouse = landing.resolve(), warehouse.resolve()
    snapshots = (snapshots or snapshots_path()).resolve()
    if not landing.is_dir():
        raise BuildFailedError(f"landing folder {landing} does not exist")
    started = time.monotonic()
    with build_lock(warehouse):
        staging = warehouse.with_name(warehouse.name + ".building")
        _copy_database(warehouse, staging)
        settings = Settings(
            landing=str(landing),
            warehouse=str(staging),
            snapshots=str(snapshots),
            as_of=as_of.isoformat() if as_of else None,
        )
        try:
            warnings = _materialize_all(settings, verbose)
            with connect(staging) as con:
                con.execute("checkpoint")
        except BaseException:
            _remove_database(staging)
            raise
        Path(str(warehouse) + ".wal").unlink(missing_ok=True)
        os.replace(staging, warehouse)
    return BuildResult(warehouse, snapshots, time.monotonic() - started, warnings)


def _materialize_all(settings: Settings, verbose: bool) -> list[str]:
    """Run every asset and check; return the failed warning-severity checks."""
    from dagster import DagsterInstance, materialize

    from orchestration.definitions import defs
    from orchestration.resources import build_resources

    result = materialize(
        [*defs.assets, *defs.asset_checks],
        resources=build_resources(settings),
        instance=DagsterInstance.get(),
        raise_on_error=False,
        run_config={
            "loggers": {"console": {"config": {"log_level": "DEBUG" if verbose else "WARNING"}}}
        },
    )
    if not result.success:
        raise BuildFailedError(_failure_report(result))
    return [
        _check_line(event.event_specific_data)
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
        and not event.event_specific_data.passed
        and event.event_specific_data.severity.value == "WARN"
    ]


def snapshot(warehouse: Path, snapshots: Path, month: date) -> str:
    """Publish the month's snapshot from `warehouse` as a Dagster run (shown in the UI); say
    which version is current and whether it was written."""
    from dagster import DagsterInstance, materialize

    from orchestration.resources import build_resources
    from orchestration.settings import Settings
    from orchestration.snapshots import metric_snapshot

    quiet_environment()
    ensure_dbt_manifest()
    defaults = Settings.from_environment()
    settings = Settings(
        landing=defaults.landing,
        warehouse=str(warehouse.resolve()),
        snapshots=str(snapshots.resolve()),
        as_of=defaults.as_of,
    )
    result = materialize(
        [metric_snapshot],
        resources=build_resources(settings),
        instance=DagsterInstance.get(),
        raise_on_error=False,
        run_config={
            "ops": {"metric_snapshot": {"config": {"month": f"{month:%Y-%m}"}}},
            # The failure report below says what went wrong, in one line.
            "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
        },
    )
    if not result.success:
        raise BuildFailedError(_failure_report(result).replace("build failed", "snapshot failed"))
    metadata = result.asset_materializations_for_node("metric_snapshot")[0].metadata
    version, report = metadata["version"].value, metadata["report"].value
    if metadata["written"].value:
        return f"published {month:%Y-%m} v{version}: {report}"
    return f"{month:%Y-%m} unchanged since v{version}, nothing written: {report}"


def _check_line(evaluation) -> str:
    asset = "/".join(evaluation.asset_key.path)
    reason = f": {evaluation.description}" if evaluation.description else ""
    return f"check {evaluation.check_name} on {asset} failed{reason}"


def _failure_report(result) -> str:
    """What failed, in words: failed steps with their reason, then failed blocking checks."""
    lines = []
    for event in result.all_events:
        if event.is_step_failure:
            data = event.event_specific_data
            failure = data.user_failure_data
            if failure is not None and failure.description:  # a Failure raised on purpose
                message = failure.description
            else:  # an exception: its root cause, not Dagster's wrappers
                error = data.error
                while error is not None and error.cause is not None:
                    error = error.cause
                message = error.message.strip() if error else "unknown error"
            lines.append(f"step {event.step_key} failed: {message}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed and evaluation.severity.value == "ERROR":
                lines.append(_check_line(evaluation))
    return "build failed; the warehouse was left as it was:\n  " + "\n  ".join(
        lines or ["a step failed (see the Dagster run log)"]
    )


def summary(
    warehouse: Path,
    snapshots: Path,
    seconds: float | None = None,
    warnings: Sequence[str] = (),
) -> str:
    """The short text `make demo` prints: sources, headline metrics, where things are."""
    from warehouse.connection import connect_read_only
    from warehouse.snapshots import latest_report

    with connect_read_only(warehouse) as con:
        sources = con.execute(
            "select source, files, rows_loaded, rows_quarantined, is_stale, "
            "expected_cadence_hours from marts.fct_source_loads order by source"
        ).fetchall()
        metrics = con.execute(
            "select metric, value, unit, as_of from marts.fct_headline_metrics order by sort_order"
        ).fetchall()
        as_of = metrics[0][3] if metrics else None
        by_provider = con.execute(
            "select provider, sum(effective_cost_usd) from marts.fct_cloud_costs_monthly "
            "where month = ? group by provider order by 2 desc",
            [as_of],
        ).fetchall()
        by_partner = con.execute(
            "select partner_id, mrc_usd, paid_by_us_mrc_usd, mrr_usd, mrc_to_mrr_ratio "
            "from marts.fct_partner_sustainability_monthly where month = ? "
            "order by mrc_usd desc, partner_id limit 8",
            [as_of],
        ).fetchall()
    lines = ["", "Sources (files, rows loaded, rows quarantined):"]
    lines += [
        f"  {name:<14} {files:>5} files {rows:>10,} rows {quarantined:>6,} quarantined"
        + (f"  STALE: no new file in {cadence:.0f} h" if stale else "")
        for name, files, rows, quarantined, stale, cadence in sources
    ]
    lines += ["", f"Headline metrics (as of {as_of or '-'}):"]
    lines += [f"  {m:<34} {_number(v):>14} {u}" for m, v, u, _ in metrics]
    lines += ["", f"MRC by provider, {as_of} (USD):"]
    lines += [
        f"  {provider or 'unknown':<14} {_number(cost):>12}" for provider, cost in by_provider
    ]
    lines += [
        "",
        f"Partners by MRC, {as_of} (USD; ratio = MRC / MRR):",
        f"  {'partner':<24} {'MRC':>10} {'paid by us':>11} {'MRR':>10} {'ratio':>7}",
    ]
    lines += [
        f"  {partner:<24} {_number(mrc):>10} {_number(paid):>11} {_number(mrr):>10} "
        f"{'-' if ratio is None else f'{ratio:.2f}':>7}"
        for partner, mrc, paid, mrr, ratio in by_partner
    ]
    size_mb = warehouse.stat().st_size / 1e6
    with connect_read_only(warehouse) as con:
        report = latest_report(con, snapshots)
    lines += [
        "",
        f"Warehouse: {warehouse} ({size_mb:.1f} MB); query it with "
        f'`partner-metrics query "select * from marts.fct_headline_metrics"`',
        "Reconciliation (rows and money of every source at each stage): "
        "`partner-metrics reconcile`",
    ]
    if warnings:
        lines += ["", f"Warnings ({len(warnings)}; the build went on):"]
        lines += [f"  {warning}" for warning in warnings]
    if seconds is not None:
        lines.append(f"Built in {seconds:.0f} s.")
    lines.append(
        f"Report of {as_of:%B %Y}: {report}"
        if report
        else f"No report of {as_of:%Y-%m} published yet in {snapshots}"
    )
    return "\n".join(lines)


def query(warehouse: Path, sql: str) -> str:
    """Run one read-only statement and format the result as a text table."""
    from warehouse.connection import connect_read_only

    with connect_read_only(warehouse) as con:
        cursor = con.execute(sql)
        header = [column[0] for column in cursor.description]
        rows = cursor.fetchall()
    cells = [header, *[["" if v is None else str(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines) + f"\n({len(rows)} rows)"


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if abs(value) >= 100 or float(value).is_integer() else f"{value:,.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="partner-metrics", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="generate the demo landing data and build it")
    demo.add_argument(
        "--out",
        type=Path,
        default=DATA_DIR,
        help="folder for landing/, warehouse.duckdb and snapshots/ (default data/)",
    )

    build_cmd = commands.add_parser("build", help="ingest a landing folder, run dbt and checks")
    build_cmd.add_argument("--landing", type=Path, required=True)
    build_cmd.add_argument("--warehouse", type=Path, required=True)
    build_cmd.add_argument(
        "--snapshots",
        type=Path,
        default=None,
        help="where to publish the snapshot (default data/snapshots)",
    )
    for command in (demo, build_cmd):
        command.add_argument("--verbose", action="store_true", help="show every Dagster event")
        command.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="the day the marts describe, YYYY-MM-DD (default today)",
        )

    query_cmd = commands.add_parser("query", help="run read-only SQL against the warehouse")
    query_cmd.add_argument("sql")
    reconcile_cmd = commands.add_parser(
        "reconcile", help="print rows and money of every source at each stage"
    )
    for command in (query_cmd, reconcile_cmd):
        command.add_argument("--warehouse", type=Path, default=DATA_DIR / "warehouse.duckdb")

    snapshot_cmd = commands.add_parser(
        "snapshot", help="publish the monthly snapshot (metrics, report) of the warehouse's month"
    )
    snapshot_cmd.add_argument(
        "--month",
        type=lambda text: date.fromisoformat(text + "-01"),
        required=True,
        help="YYYY-MM, the month the warehouse describes",
    )
    snapshot_cmd.add_argument("--warehouse", type=Path, default=DATA_DIR / "warehouse.duckdb")
    snapshot_cmd.add_argument("--snapshots", type=Path, default=None, help="default data/snapshots")

    generate = commands.add_parser("generate", help="write demo landing data only")
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--months", type=int, default=36)
    generate.add_argument("--partners", type=int, default=30)
    generate.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="the day the data ends (default today)",
    )

    args = parser.parse_args(argv)
    quiet_environment()
    import duckdb

    from warehouse.connection import WarehouseBusyError

    try:
        if args.command == "generate":
            from ingest.demo import generate as generate_landing

            world = generate_landing(
                args.out,
                seed=args.seed,
                months=args.months,
                partners=args.partners,
                as_of=args.as_of,
            )
            print(
                f"wrote {len(world.partners)} partners, {len(world.hubs)} hubs, "
                f"{len(world.months)} months to {args.out}"
            )
            return 0
        if args.command == "demo":
            from ingest.demo import generate as generate_landing

            landing = args.out / "landing"
            generate_landing(landing, as_of=args.as_of)
            result = build(
                landing,
                args.out / "warehouse.duckdb",
                args.out / "snapshots",
                verbose=args.verbose,
                as_of=args.as_of,
            )
        elif args.command == "query":
            print(query(args.warehouse, args.sql))
            return 0
        elif args.command == "snapshot":
            print(snapshot(args.warehouse, args.snapshots or snapshots_path(), args.month))
            return 0
        elif args.command == "reconcile":
            from warehouse.snapshots import RECONCILIATION_SQL

            print(query(args.warehouse, RECONCILIATION_SQL))
            return 0
        else:
            result = build(
                args.landing, args.warehouse, args.snapshots, verbose=args.verbose, as_of=args.as_of
            )
        print(summary(result.warehouse, result.snapshots, result.seconds, result.warnings))
        return 0
    except (BuildFailedError, WarehouseBusyError, duckdb.Error) as error:
        print(f"partner-metrics: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
