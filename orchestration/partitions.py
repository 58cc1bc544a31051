"""Monthly partitions of the cost and usage assets: what a partition means, and which months
a run refreshes.

A partition of a monthly source (`Source.by_month`) is a *window of the pull*, not a slice of
the load. A run for months M1..M2 asks the source's live API for exactly those months (a
BigQuery invoice month, a Prometheus range) and lands them as files; then it loads the
source's whole landing folder, as every run does. So:

- the load stays what the ingest framework guarantees: one transaction per source, files
  skipped by sha256 when unchanged, a changed file replacing exactly its own rows. Loading
  "only March's files" would not be well defined (a CUR or FOCUS file can hold several
  months, a Prometheus file the whole range) and would break the rule that raw tables mirror
  the landing folder: other months' rows would look vanished;
- a backfill of any range of months is one run (`BackfillPolicy.single_run`) and as atomic as
  any other run; backfilling a month twice changes nothing the second time;
- a source without credentials has nothing to fetch: a run re-reads its landing folder, which
  picks up a re-delivered file of that month.

A run that names no months refreshes the recent window: the previous and the current month of
its as-of day, because providers still restate a closed month for a few days (late usage
records, credits) and the current month changes every day.
"""

from __future__ import annotations

from datetime import date, timedelta

from dagster import MonthlyPartitionsDefinition, PartitionKeyRange

# The first month a backfill can name. Rows of earlier months load all the same.
FIRST_MONTH = "2020-01"
MONTHS = MonthlyPartitionsDefinition(
    start_date=FIRST_MONTH,
    fmt="%Y-%m",
    end_offset=1,  # the current, still open month is a partition too
    timezone="UTC",
)
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def month_key(day: date) -> str:
    return day.strftime("%Y-%m")


def month_start(key: str) -> date:
    return date.fromisoformat(f"{key}-01")


def recent_window(as_of: date) -> PartitionKeyRange:
    """The previous and the current month of `as_of`, within the partitions that exist."""
    previous = as_of.replace(day=1) - timedelta(days=1)
    return clamp(PartitionKeyRange(month_key(previous), month_key(as_of)))


def clamp(window: PartitionKeyRange) -> PartitionKeyRange:
    """`window` cut to the months that are partitions (from FIRST_MONTH to this month)."""
    keys = MONTHS.get_partition_keys()
    first, last = keys[0], keys[-1]
    start = min(max(window.start, first), last)
    end = min(max(window.end, first), last)
    return PartitionKeyRange(start, max(start, end))


def parse_window(text: str) -> PartitionKeyRange:
    """`YYYY-MM` or `YYYY-MM:YYYY-MM` (as `build --months` takes it)."""
    start, _, end = text.partition(":")
    end = end or start
    for key in (start, end):
        month_start(key)  # ValueError on anything but YYYY-MM
    if end < start:
        raise ValueError(f"{text}: the last month is before the first")
    return PartitionKeyRange(start, end)


def window_tags(window: PartitionKeyRange) -> dict[str, str]:
    """The run tags that make a run cover `window` (one run for the whole range)."""
    return {RANGE_START_TAG: window.start, RANGE_END_TAG: window.end}


def window_months(window: PartitionKeyRange) -> list[date]:
    """The first day of every month in `window`."""
    return [month_start(key) for key in MONTHS.get_partition_keys_in_range(window)]
