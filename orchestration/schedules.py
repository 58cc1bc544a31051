"""How the pipeline runs by itself: the jobs, the daily refresh, the monthly close, the
landing-folder sensor, and the sensor that fails runs a killed process left in progress.

Schedules and the landing sensor are off until someone turns them on in the UI; the
dead-run sensor is on, because a run stuck in progress blocks every later run.
"""

import hashlib
from datetime import date, timedelta

from dagster import (
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)

from ingest.framework import never_data
from orchestration.instance import fail_dead_runs
from orchestration.partitions import month_key, recent_window, window_tags
from orchestration.settings import Settings
from orchestration.snapshots import metric_snapshot

PIPELINE_JOB = "partner_metrics_pipeline"

pipeline_job = define_asset_job(
    PIPELINE_JOB,
    selection=AssetSelection.all(),
    description=(
        "Everything: pull the live sources (for the months of the run's partitions), load "
        "every landing folder, run the quality gates and dbt, publish the metric snapshot. "
        "`partner-metrics build` runs this job."
    ),
)

refresh_job = define_asset_job(
    "refresh_warehouse",
    selection=AssetSelection.all() - AssetSelection.assets(metric_snapshot),
    description=(
        "Pull the live sources, load the landing folder, run the quality gates and dbt; "
        "no snapshot is published (that is the monthly close's job)."
    ),
)


@schedule(
    job=refresh_job,
    cron_schedule="0 5 * * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description=(
        "Every day at 05:00 UTC: fetch the previous and the current month again from the live "
        "sources (providers restate the last days: late usage records, credits, adjusted "
        "deals) and rebuild the warehouse."
    ),
)
def daily_refresh(context: ScheduleEvaluationContext):
    day = context.scheduled_execution_time.date()
    return RunRequest(run_key=day.isoformat(), tags=window_tags(recent_window(day)))


def closing_month(day: date) -> str:
    """The month a close on `day` publishes: the one before."""
    return month_key(day.replace(day=1) - timedelta(days=1))


@schedule(
    job=pipeline_job,
    cron_schedule="0 6 6 * *",
    execution_timezone="UTC",
    default_status=DefaultScheduleStatus.STOPPED,
    description=(
        "Monthly close, on the 6th at 06:00 UTC: cloud providers finalise last month's bill "
        "within its first days, so after the 5th the month is fetched once more, the "
        "warehouse rebuilt and the metric snapshot published."
    ),
)
def monthly_close(context: ScheduleEvaluationContext):
    month = closing_month(context.scheduled_execution_time.date())
    return RunRequest(run_key=month, partition_key=month)


def landing_fingerprint(settings: Settings) -> str | None:
    """A digest of every file's path, size and modification time under the landing folder,
    but for files that are never data (`never_data`): the Finder rewrites a folder's
    `.DS_Store` as someone on a Mac browses it on the share."""
    landing = settings.landing_root
    if not landing.exists():
        return None
    fingerprint = hashlib.sha256()
    files = (p for p in landing.rglob("*") if p.is_file())
    for path in sorted(p for p in files if not never_data(p.relative_to(landing))):
        stat = path.stat()
        fingerprint.update(
            f"{path.relative_to(landing)}:{stat.st_size}:{stat.st_mtime_ns}\n".encode()
        )
    return fingerprint.hexdigest()


@sensor(
    job=refresh_job,
    minimum_interval_seconds=300,
    default_status=DefaultSensorStatus.STOPPED,
    description=(
        "Every 5 minutes: when a file under the landing folder was added, changed or removed, "
        "refresh the warehouse (the recent months' partitions)."
    ),
)
def landing_changed(context: SensorEvaluationContext, settings: Settings):
    digest = landing_fingerprint(settings)
    if digest is None:
        return SkipReason(f"landing folder {settings.landing_root} does not exist")
    if digest == context.cursor:
        return SkipReason("landing folder unchanged")
    context.update_cursor(digest)
    return RunRequest(run_key=digest, tags=window_tags(recent_window(date.today())))


@sensor(
    minimum_interval_seconds=60,
    default_status=DefaultSensorStatus.RUNNING,
    description=(
        "Every minute: a run left in progress by a process that was killed (it recorded its "
        "process when it took the warehouse lock) is marked failed, so runs queued behind it "
        "can start."
    ),
)
def dead_runs(context: SensorEvaluationContext):
    failed = fail_dead_runs(context.instance, holding_lock=False)
    return SkipReason("; ".join(map(str, failed)) or "no run left behind by a killed process")


SCHEDULES = [daily_refresh, monthly_close]
SENSORS = [landing_changed, dead_runs]
JOBS = [pipeline_job, refresh_job]
