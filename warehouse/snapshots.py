"""Monthly snapshots: the numbers leadership was told, immutable and versioned.

`<root>/<YYYY-MM>/v<N>/` holds `metrics.parquet` (every headline metric with its value, unit,
definition, month, run id and git commit), `report.html`, `report.md` and `manifest.json`.
A published version is never rewritten. Publishing a month again writes nothing when its
numbers are the same as its latest version's, and version N+1 (with what changed since v1)
when a restatement moved them.

Every version's metrics are also appended to `published.metric_snapshots` in the warehouse
(the view `marts.metric_snapshots` reads it). dbt creates that table and never rebuilds it;
the folders are the record, and the table is brought in line with them at each publication,
so a version whose table rows were lost (a failed build's copy, a warehouse rebuilt from
scratch) comes back.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from reporting.report import Report, collect_sections, render_html, render_markdown
from warehouse.disk import out_of_space
from warehouse.paths import PROJECT_ROOT

MARTS_SCHEMA = "marts"
PUBLISHED_TABLE = "published.metric_snapshots"
# The reconciliation report as people read it: the CLI prints it, the UI shows it.
RECONCILIATION_SQL = (
    "select source, stage, relation_name, currency, row_count, amount "
    f"from {MARTS_SCHEMA}.fct_reconciliation order by source, stage_order, stage, currency"
)
METRIC_COLUMNS = [
    "month",
    "version",
    "published_at",
    "run_id",
    "git_commit",
    "sort_order",
    "metric",
    "value",
    "unit",
    "coverage",
    "definition",
]


class SnapshotError(RuntimeError):
    """The snapshot cannot be published as asked; the message says why and what to do."""


@dataclass(frozen=True)
class Publication:
    month: date
    version: int  # the month's current version
    folder: Path  # its folder
    written: bool  # False: the numbers equal the current version's, nothing was written


def month_folder(root: Path, month: date) -> Path:
    return root / f"{month:%Y-%m}"


def published_versions(root: Path, month: date) -> list[int]:
    """Versions of the month on disk, complete ones only (a folder appears whole or not)."""
    folder = month_folder(root, month)
    if not folder.is_dir():
        return []
    return sorted(
        int(path.name[1:])
        for path in folder.iterdir()
        if path.is_dir() and path.name[:1] == "v" and path.name[1:].isdigit()
    )


def headline_month(con: duckdb.DuckDBPyConnection) -> date:
    """The month the warehouse's headline metrics describe."""
    row = con.execute(f"select max(as_of) from {MARTS_SCHEMA}.fct_headline_metrics").fetchall()[0]
    if row is None or row[0] is None:
        raise SnapshotError("the warehouse has no headline metrics: build it first")
    return row[0]


def headline_metrics(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """fct_headline_metrics as published (coverage is null where the mart gives none)."""
    columns = {
        row[0]
        for row in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = 'fct_headline_metrics'",
            [MARTS_SCHEMA],
        ).fetchall()
    }
    coverage = "coverage" if "coverage" in columns else "cast(null as varchar) as coverage"
    return con.execute(
        f"select sort_order, metric, value, unit, {coverage}, definition "
        f"from {MARTS_SCHEMA}.fct_headline_metrics order by sort_order, metric"
    ).df()


def code_version() -> str:
    """The git commit of the code that computes the numbers, "-dirty" with local changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if changed else "")


def sync_published_table(con: duckdb.DuckDBPyConnection, root: Path) -> int:
    """Append to the table every version on disk that it lacks; return how many."""
    added = 0
    for path in sorted(root.glob("*/v*/metrics.parquet")):
        month = date.fromisoformat(path.parent.parent.name + "-01")
        version = int(path.parent.name[1:])
        known = con.execute(
            f"select count(*) from {PUBLISHED_TABLE} where month = ? and version = ?",
            [month, version],
        ).fetchall()[0][0]
        if not known:
            con.execute(
                f"insert into {PUBLISHED_TABLE} by name "
                f"select {', '.join(METRIC_COLUMNS)} from read_parquet(?)",
                [str(path)],
            )
            added += 1
    return added


def _same_numbers(
    metrics: pd.DataFrame, digests: dict[str, str], folder: Path, versioned: set[str]
) -> bool:
    """True when the metrics and the versioned sections' numbers equal a published version's."""
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if {k: digests[k] for k in versioned} != {k: manifest["sections"].get(k) for k in versioned}:
        return False
    earlier = pd.read_parquet(folder / "metrics.parquet")
    if sorted(earlier["metric"]) != sorted(metrics["metric"]):
        return False
    before = dict(
        zip(earlier["metric"], zip(earlier["unit"], earlier["value"], strict=True), strict=True)
    )
    return all(
        before[row.metric][0] == row.unit and _equal(before[row.metric][1], row.value)
        for row in metrics.itertuples()
    )


def _equal(a, b) -> bool:
    a_missing, b_missing = pd.isna(a), pd.isna(b)
    if a_missing or b_missing:
        return a_missing and b_missing
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


def _changes(v1: pd.DataFrame, previous: pd.DataFrame, now: pd.DataFrame) -> pd.DataFrame:
    """Metrics whose value differs from v1's (or that came or went), with v1, previous, now."""
    frames = {"v1": v1, "previous": previous, "now": now}
    values = {name: dict(zip(f["metric"], f["value"], strict=True)) for name, f in frames.items()}
    units = {
        **dict(zip(v1["metric"], v1["unit"], strict=True)),
        **dict(zip(now["metric"], now["unit"], strict=True)),
    }
    order = list(now["metric"]) + [m for m in v1["metric"] if m not in set(now["metric"])]
    rows = [
        {
            "metric": metric,
            "unit": units[metric],
            **{name: values[name].get(metric) for name in frames},
        }
        for metric in order
        if metric not in values["v1"]
        or metric not in values["now"]
        or not _equal(values["v1"][metric], values["now"][metric])
    ]
    return pd.DataFrame(rows, columns=["metric", "unit", "v1", "previous", "now"])


def _latest_of_previous_month(con: duckdb.DuckDBPyConnection, month: date) -> pd.DataFrame | None:
    previous = date(month.year - (month.month == 1), (month.month - 2) % 12 + 1, 1)
    frame = con.execute(
        f"select metric, value, version from {PUBLISHED_TABLE} where month = ? and version = "
        f"(select max(version) from {PUBLISHED_TABLE} where month = ?)",
        [previous, previous],
    ).df()
    return None if frame.empty else frame


def publish(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    run_id: str,
    month: date | None = None,
    git_commit: str | None = None,
    now: datetime | None = None,
) -> Publication:
    """Publish the warehouse's headline month (which `month`, when given, must be).

    Writes `<root>/<YYYY-MM>/v<N>/` under a temporary name and renames it whole, then
    appends its metrics to published.metric_snapshots (one statement).
    """
    described = headline_month(con)
    if month is not None and month != described:
        raise SnapshotError(
            f"the warehouse describes {described:%Y-%m}, not {month:%Y-%m}: a month is "
            f"published from a warehouse built as of it (build --as-of "
            f"{_last_day(month).isoformat()} into another --warehouse, then snapshot that)"
        )
    month = described
    sync_published_table(con, root)
    metrics = headline_metrics(con)
    sections = collect_sections(con, month)
    digests = {result.section.key: result.digest for result in sections}
    versioned = {result.section.key for result in sections if result.section.versioned}
    on_disk = published_versions(root, month)
    if on_disk and _same_numbers(
        metrics, digests, month_folder(root, month) / f"v{on_disk[-1]}", versioned
    ):
        return Publication(month, on_disk[-1], month_folder(root, month) / f"v{on_disk[-1]}", False)

    in_table = con.execute(
        f"select coalesce(max(version), 0) from {PUBLISHED_TABLE} where month = ?", [month]
    ).fetchall()[0][0]
    version = max([in_table, *on_disk]) + 1
    published_at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None, microsecond=0)
    git_commit = git_commit or code_version()
    rows = metrics.assign(
        month=month,
        version=version,
        published_at=published_at,
        run_id=run_id,
        git_commit=git_commit,
    )[METRIC_COLUMNS]

    changes, changed_sections = None, []
    if on_disk:
        first = month_folder(root, month) / f"v{on_disk[0]}"
        latest = month_folder(root, month) / f"v{on_disk[-1]}"
        changes = _changes(
            pd.read_parquet(first / "metrics.parquet"),
            pd.read_parquet(latest / "metrics.parquet"),
            metrics,
        )
        first_digests = json.loads((first / "manifest.json").read_text(encoding="utf-8"))
        changed_sections = [
            result.section.title
            for result in sections
            if result.section.key in versioned
            and first_digests["sections"].get(result.section.key) != digests[result.section.key]
        ]
    report = Report(
        month=month,
        version=version,
        published_at=published_at,
        run_id=run_id,
        git_commit=git_commit,
        metrics=metrics,
        previous_month=_latest_of_previous_month(con, month),
        changes=changes,
        changed_sections=changed_sections,
        sections=sections,
    )

    final = month_folder(root, month) / f"v{version}"
    partial = month_folder(root, month) / f".v{version}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    try:
        con.register("snapshot_rows", rows)
        target = str(partial / "metrics.parquet").replace("'", "''")
        con.execute(f"copy (select * from snapshot_rows) to '{target}' (format parquet)")
        con.unregister("snapshot_rows")
        (partial / "report.html").write_text(render_html(report), encoding="utf-8")
        (partial / "report.md").write_text(render_markdown(report), encoding="utf-8")
        (partial / "manifest.json").write_text(
            json.dumps(
                {
                    "month": f"{month:%Y-%m}",
                    "version": version,
                    "published_at": published_at.isoformat(),
                    "run_id": run_id,
                    "git_commit": git_commit,
                    "sections": digests,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        partial.rename(final)
    except BaseException as error:  # nothing half written stays (a full disk, most likely)
        shutil.rmtree(partial, ignore_errors=True)
        with suppress(OSError):  # the month's folder, when this made it
            partial.parent.rmdir()
        space = out_of_space(error)
        if space is None:
            raise
        raise SnapshotError(
            f"{space.what} writing {final}; nothing was published: make room and run again"
        ) from error
    sync_published_table(con, root)
    return Publication(month, version, final, True)


def latest_report(con: duckdb.DuckDBPyConnection, root: Path) -> Path | None:
    """The report of the warehouse's headline month, latest version, if published."""
    month = headline_month(con)
    versions = published_versions(root, month)
    return month_folder(root, month) / f"v{versions[-1]}" / "report.html" if versions else None


def _last_day(month: date) -> date:
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)
