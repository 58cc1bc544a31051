"""Great Expectations suites for the raw tables: what every loaded table must satisfy.

A suite is code: a list of (GX expectation class, arguments) per raw table. The connectors
already quarantine bad records; these suites guard the table as a whole (keys, allowed
values, sane ranges, row count not collapsing between loads), so a wrong join, a half-empty
export or a unit mix-up stops at the stage where it enters. Great Expectations is imported
only when a suite runs: it takes seconds to import.

In a build the cost of a suite follows what changed (`validate_loaded`): expectations on
single rows run in GX on the rows of the files the load just wrote (rows of unchanged files
passed them when they were loaded), ROWS_PER_BATCH rows at a time and only the columns they
name; expectations on the table as a whole (keys unique, row count) run as SQL aggregates in
DuckDB. An unchanged source costs two aggregates over its table. The tables a build loaded
are validated side by side in worker processes (`validate_side_by_side`): GX holds Python's
lock, so threads would run one suite at a time. The workers fork from a server that imported
GX once, started as the run starts (`start_validation_workers`), so that import runs beside
the loads.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import multiprocessing
import os
import re
import select
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import duckdb
import pandas as pd

from ingest.cloud_costs.aws import LINE_ITEM_TYPES
from ingest.cloud_costs.focus import CHARGE_CATEGORIES
from ingest.cloud_costs.gcp import COST_TYPES
from ingest.freshdesk import RATINGS
from ingest.fx import USD_PER_UNIT_RANGE
from ingest.invoices import GL_ACCOUNTS
from ingest.prometheus import PERIODS, SERIES
from ingest.tabular import EARLIEST_PLAUSIBLE, LONGEST_TERM_YEARS

Expectation = tuple[str, Mapping[str, Any]]

# Largest share of a table's rows that may disappear between two loads before it is flagged.
MAX_ROW_DROP = 0.2
# No single line of a monthly cloud bill reaches a million: beyond it is a unit error.
LARGEST_COST_LINE = 1e6


def _not_null(*columns: str) -> list[Expectation]:
    return [("ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns]


def _in_set(column: str, values: Sequence[str]) -> Expectation:
    return ("ExpectColumnValuesToBeInSet", {"column": column, "value_set": sorted(values)})


def _sane_cost(column: str, max_value: float = LARGEST_COST_LINE) -> Expectation:
    return (
        "ExpectColumnValuesToBeBetween",
        {"column": column, "min_value": -LARGEST_COST_LINE, "max_value": max_value},
    )


def _plausible_time(column: str, years_ahead: int = 1) -> Expectation:
    """The connectors' plausibility window (tabular.plausible_time) for the table as a whole:
    no event time before 2000 or over a year after today (a promise: `years_ahead`)."""
    today = date.today()
    latest = today.replace(year=today.year + years_ahead, day=min(today.day, 28))
    return (
        "ExpectColumnValuesToBeBetween",
        {
            "column": column,
            "min_value": datetime.fromisoformat(EARLIEST_PLAUSIBLE),
            "max_value": datetime.combine(latest, datetime.max.time()),
        },
    )


def _unique_together(*columns: str) -> Expectation:
    return ("ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)})


SUITES: dict[str, list[Expectation]] = {
    "registry_partners": [
        *_not_null("partner_id", "name"),
        ("ExpectColumnValuesToBeUnique", {"column": "partner_id"}),
        ("ExpectColumnValuesToMatchRegex", {"column": "partner_id", "regex": r"^[a-z0-9-]+$"}),
    ],
    "registry_freshdesk_companies": [
        *_not_null("partner_id", "helpdesk", "company_id"),
        _unique_together("helpdesk", "company_id"),
    ],
    "registry_clusters": [
        *_not_null("cluster", "provider", "account", "paid_by_us"),
        ("ExpectColumnValuesToBeUnique", {"column": "cluster"}),
        (
            "ExpectColumnValuesToBeInSet",
            {"column": "provider", "value_set": ["gcp", "aws", "azure"]},
        ),
    ],
    "registry_hubs": [
        *_not_null("cluster", "hub", "partner_id", "launched_on"),
        _unique_together("cluster", "hub"),
    ],
    "fx_rates": [
        *_not_null("rate_date", "currency", "usd_per_unit"),
        ("ExpectColumnValuesToMatchRegex", {"column": "currency", "regex": r"^[A-Z]{3}$"}),
        # No currency is worth less than a thousandth of a cent or more than 10,000 USD.
        (
            "ExpectColumnValuesToBeBetween",
            {
                "column": "usd_per_unit",
                "min_value": USD_PER_UNIT_RANGE[0],
                "max_value": USD_PER_UNIT_RANGE[1],
            },
        ),
        _unique_together("rate_date", "currency", "_file"),
        _plausible_time("rate_date"),
    ],
    "prometheus_samples": [
        *_not_null("cluster", "series", "sampled_at", "value"),
        _in_set("series", SERIES),
        # Users and bytes are never negative; a petabyte of memory requests is a unit error.
        ("ExpectColumnValuesToBeBetween", {"column": "value", "min_value": 0, "max_value": 1e15}),
        _plausible_time("sampled_at"),
        _in_set("period", PERIODS),
        # Per-user series: one per namespace and user, several per namespace.
        _unique_together(
            "cluster", "series", "namespace", "period", "user_hash", "sampled_at", "_file"
        ),
    ],
    "usage_fee_tiers": [
        *_not_null("tier", "usd_per_user"),
        ("ExpectColumnValuesToBeBetween", {"column": "usd_per_user", "min_value": 0}),
    ],
    "usage_settings": [*_not_null("excluded_usernames")],
    "hubspot_deals": [
        # A deal's stage is its id on a page and its label in a UI export, never both: the
        # parsers quarantine a deal with neither.
        *_not_null("deal_id"),
        _unique_together("deal_id", "_file"),
        ("ExpectColumnValuesToMatchRegex", {"column": "currency", "regex": r"^[A-Z]{3}$"}),
        # A membership deal is dollars to millions; ten million is a typo or a unit error.
        ("ExpectColumnValuesToBeBetween", {"column": "amount", "min_value": 0, "max_value": 1e7}),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "forecast_probability", "min_value": 0, "max_value": 1},
        ),
        *(
            _plausible_time(c)
            for c in (
                "close_date",
                "create_date",
                "contract_start_date",
                "created_at",
                "updated_at",
            )
        ),
        _plausible_time("contract_end_date", LONGEST_TERM_YEARS),
    ],
    "hubspot_pipeline_stages": [
        *_not_null("pipeline_id", "stage_id", "is_closed"),
        _unique_together("pipeline_id", "stage_id", "_file"),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "probability", "min_value": 0, "max_value": 1},
        ),
    ],
    "survey_settings": [
        *_not_null("locale", "timezone", "min_responses"),
        ("ExpectColumnValuesToBeBetween", {"column": "min_responses", "min_value": 1}),
    ],
    "survey_responses": [
        *_not_null("response_id", "submitted_at", "community"),
        _unique_together("response_id", "_file"),
        ("ExpectColumnValuesToBeBetween", {"column": "recommend", "min_value": 0, "max_value": 10}),
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "satisfaction", "min_value": 1, "max_value": 5},
        ),
        # A keyed hash, never an address: 64 hex digits.
        (
            "ExpectColumnValuesToMatchRegex",
            {"column": "respondent_key", "regex": r"^[0-9a-f]{64}$"},
        ),
    ],
    "freshdesk_tickets": [
        *_not_null("ticket_id", "created_at"),
        _unique_together("ticket_id", "_file"),
    ],
    "freshdesk_satisfaction_ratings": [
        *_not_null("rating_id", "ticket_id", "rating", "created_at"),
        _unique_together("rating_id", "_file"),
        _in_set("rating", RATINGS),
    ],
    "invoice_lines": [
        *_not_null("invoice_number", "invoice_date", "gl_account", "amount", "currency"),
        _in_set("gl_account", GL_ACCOUNTS),
        ("ExpectColumnValuesToMatchRegex", {"column": "currency", "regex": r"^[A-Z]{3}$"}),
        # Credit notes are negative; a line beyond ten million either way is a unit error.
        (
            "ExpectColumnValuesToBeBetween",
            {"column": "amount", "min_value": -1e7, "max_value": 1e7},
        ),
        *(
            _plausible_time(c)
            for c in ("invoice_date", "due_date", "paid_date", "service_period_start")
        ),
        _plausible_time("service_period_end", LONGEST_TERM_YEARS),
    ],
    "gcp_billing_export": [
        *_not_null(
            "billing_account_id",
            "cost",
            "credits_amount",
            "currency",
            "usage_start_time",
            "usage_end_time",
            "invoice_month",
            "cost_type",
        ),
        _in_set("cost_type", COST_TYPES),
        ("ExpectColumnValuesToMatchRegex", {"column": "invoice_month", "regex": r"^\d{6}$"}),
        _sane_cost("cost"),
        # Credits are negative (GCP billing export schema), never a charge.
        _sane_cost("credits_amount", max_value=0),
        _plausible_time("usage_start_time"),
    ],
    "gcp_billing_credits": [
        *_not_null("credit_position", "amount"),
        _unique_together("_file", "_record", "credit_position"),
        _sane_cost("amount"),
    ],
    "aws_cur": [
        *_not_null(
            "line_item_usage_account_id",
            "line_item_line_item_type",
            "line_item_unblended_cost",
            "line_item_usage_start_date",
            "bill_billing_period_start_date",
            "line_item_currency_code",
        ),
        _in_set("line_item_line_item_type", LINE_ITEM_TYPES),
        _sane_cost("line_item_unblended_cost"),
        _plausible_time("line_item_usage_start_date"),
    ],
    "azure_costs": [
        *_not_null(
            "subscription_id",
            "date",
            "cost_in_billing_currency",
            "billing_currency",
            "charge_type",
            "dataset",
        ),
        _in_set("dataset", ("actual", "amortized")),
        _sane_cost("cost_in_billing_currency"),
        _plausible_time("date"),
    ],
    "focus_costs": [
        *_not_null(
            "billed_cost",
            "effective_cost",
            "list_cost",
            "billing_currency",
            "billing_account_id",
            "billing_period_start",
            "charge_category",
            "charge_period_start",
            "charge_period_end",
        ),
        _in_set("charge_category", CHARGE_CATEGORIES),
        _sane_cost("billed_cost"),
        _sane_cost("effective_cost"),
        _plausible_time("charge_period_start"),
    ],
}


def describe_expectation(expectation: Expectation) -> str:
    """One expectation in words, for the check's description and the README."""
    kind, kwargs = expectation
    column = kwargs.get("column")
    if kind == "ExpectColumnValuesToNotBeNull":
        return f"{column} not null"
    if kind == "ExpectColumnValuesToBeUnique":
        return f"{column} unique"
    if kind == "ExpectCompoundColumnsToBeUnique":
        return f"({', '.join(kwargs['column_list'])}) unique"
    if kind == "ExpectColumnValuesToBeInSet":
        return f"{column} in {{{', '.join(map(str, kwargs['value_set']))}}}"
    if kind == "ExpectColumnValuesToMatchRegex":
        return f"{column} matches {kwargs['regex']}"
    if kind == "ExpectColumnValuesToBeBetween":
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        if isinstance(low, datetime):
            years = high.year - date.today().year
            ahead = "a year" if years == 1 else f"{years} years"
            return f"{column} from {low:%Y-%m-%d} to {ahead} after today"
        if high is None:
            return f"{column} at least {low:g}"
        if low is None:
            return f"{column} at most {high:g}"
        return f"{column} between {low:g} and {high:g}"
    raise ValueError(f"no words for expectation {kind}")


def describe_suite(table: str) -> str:
    return "; ".join(describe_expectation(e) for e in SUITES[table])


@dataclass
class Failure:
    expectation: str
    column: str | None
    detail: str
    unexpected_sample: list[Any]
    unexpected_count: int | None = None


@dataclass
class SuiteResult:
    table: str
    rows: int
    evaluated: int
    failures: list[Failure] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        if self.passed:
            return f"{self.table}: {self.evaluated} expectations passed on {self.rows} rows"
        return f"{self.table}: " + "; ".join(
            f"{f.expectation}({f.column or ''}): {f.detail}" for f in self.failures
        )


def row_count_expectation(previous_rows: int | None) -> list[Expectation]:
    """The table may not shrink by more than MAX_ROW_DROP since the previous load."""
    if not previous_rows:
        return []
    minimum = math.ceil(previous_rows * (1 - MAX_ROW_DROP))
    return [("ExpectTableRowCountToBeBetween", {"min_value": minimum})]


_RUNS = itertools.count()


@cache
def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate_table(
    table: str,
    frame: pd.DataFrame,
    previous_rows: int | None = None,
    expectations: Sequence[Expectation] | None = None,
) -> SuiteResult:
    """Run the table's suite (plus the row-count guard) on `frame` with GX Core."""
    import great_expectations as gx

    context = _context()
    chosen = [
        *(SUITES[table] if expectations is None else expectations),
        *row_count_expectation(previous_rows),
    ]
    frame = _time_bounded(frame, chosen)
    configured = [_in_time_zone_of(frame, expectation) for expectation in chosen]
    name = f"{table}_{next(_RUNS)}"
    batch_definition = (
        context.data_sources.add_pandas(name)
        .add_dataframe_asset(table)
        .add_batch_definition_whole_dataframe("whole_table")
    )
    suite = gx.ExpectationSuite(
        name=name,
        expectations=[getattr(gx.expectations, kind)(**kwargs) for kind, kwargs in configured],
    )
    try:
        batch = batch_definition.get_batch(batch_parameters={"dataframe": frame})
        # Nearly every batch passes: validated for success alone, without counting and
        # sampling what is unexpected (a quarter of GX's time on a bill); a batch that
        # fails is validated again for its counts and samples.
        outcome = batch.validate(suite, result_format="BOOLEAN_ONLY")
        if not outcome.success:
            outcome = batch.validate(suite, result_format="SUMMARY")
    finally:
        # The context keeps each data source's batches, frames included: a build's batches
        # stayed resident (1.1 GB at 1 M line items) beside dbt's process.
        context.data_sources.delete(name)
    result = SuiteResult(table, len(frame), len(configured))
    for item in outcome.results:
        if not item.success:
            kwargs = item.expectation_config.kwargs
            sample = [_plain(v) for v in item.result.get("partial_unexpected_list", [])]
            count = item.result.get("unexpected_count")
            if count is not None:
                detail = f"{count} unexpected rows, e.g. {sample[:3]}"
            else:
                bounds = {k: kwargs[k] for k in ("min_value", "max_value") if k in kwargs}
                detail = f"observed {item.result.get('observed_value')}, expected {bounds}"
            result.failures.append(
                Failure(
                    expectation=item.expectation_config.type,
                    column=kwargs.get("column") or ",".join(kwargs.get("column_list", [])) or None,
                    detail=detail,
                    unexpected_sample=sample,
                    unexpected_count=count,
                )
            )
    return result


# Expectations on the table as a whole, run as SQL aggregates; the others hold row by row.
TABLE_WIDE = ("ExpectCompoundColumnsToBeUnique", "ExpectColumnValuesToBeUnique")
# Rows handed to GX at once: bounds the memory of a first load of a large table.
ROWS_PER_BATCH = 250_000


def validate_loaded(
    con: duckdb.DuckDBPyConnection,
    table: str,
    files: Sequence[str] | None,
    previous_rows: int | None = None,
    schema: str = "raw",
) -> SuiteResult:
    """The table's suite on `schema.table`, after a load that wrote `files` (None: unknown,
    so every file): row expectations in GX on those files' rows, in batches of whole files
    of about ROWS_PER_BATCH rows; keys and the row count as SQL over the table (a key that
    includes `_file` is unique within a file, so only the files written are grouped)."""
    relation = f"{schema}.{table}"
    [(rows,)] = con.execute(f"select count(*) from {relation}").fetchall()
    suite = SUITES[table]
    row_wise = [e for e in suite if e[0] not in TABLE_WIDE]
    failures: dict[tuple[str, str | None], Failure] = {}
    counts = con.execute(
        f"select _file, count(*) from {relation} group by _file order by _file"
    ).fetchall()
    written = [(f, n) for f, n in counts if files is None or f in set(files)]
    columns = sorted({e[1]["column"] for e in row_wise})
    for batch in _batches(written):
        frame = con.execute(
            f"select {', '.join(_quote(c) for c in columns)} from {relation} "
            "where _file in (select unnest(?))",
            [batch],
        ).df()
        for failure in validate_table(table, frame, expectations=row_wise).failures:
            _merge(failures, failure)
    for kind, kwargs in suite:
        if kind in TABLE_WIDE:
            key = kwargs.get("column_list") or [kwargs["column"]]
            scope = [f for f, _ in written] if "_file" in key else None
            if scope is None or scope:
                failure = _duplicates(con, relation, kind, key, scope)
                if failure:
                    _merge(failures, failure)
    for kind, kwargs in row_count_expectation(previous_rows):
        if rows < kwargs["min_value"]:
            detail = f"observed {rows}, expected {{'min_value': {kwargs['min_value']}}}"
            _merge(failures, Failure(_snake(kind), None, detail, []))
    evaluated = len(suite) + len(row_count_expectation(previous_rows))
    return SuiteResult(table, rows, evaluated, list(failures.values()))


@dataclass(frozen=True)
class Loaded:
    """A raw table's latest load, as the suite needs it: the files it wrote (None: not known,
    so every file) and the rows the table held before it (None: no earlier load)."""

    table: str
    files: Sequence[str] | None
    previous_rows: int | None


# What the validation workers' server imports before it forks them: the program's main
# module (which each worker would import again), GX and this module.
WORKER_PRELOAD = ["__main__", "great_expectations", "ingest.quality"]


@cache
def _workers_context() -> multiprocessing.context.ForkServerContext:
    """Workers forked from a server process, not spawned: a spawned worker imported GX
    itself (4 s, 6 CPU-seconds with this module), and plain fork is unsafe in a process that
    runs threads, as a build does."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_PRELOAD)
    return context


def start_validation_workers() -> None:
    """Start the server the validation workers fork from, unless it runs: its imports then
    overlap the loads instead of delaying the suites. It stops when the suites have run
    (`validate_side_by_side`), or with this process."""
    _workers_context()
    from multiprocessing import forkserver

    with _short_enough_for_a_socket():
        forkserver.ensure_running()


# The server listens on a Unix socket, `<temporary folder>/pymp-XXXXXXXX/listener-XXXXXXXX`,
# whose path holds 104 bytes at most (108 on Linux, 104 on macOS).
_SOCKET_PATH_BYTES = 104
_SOCKET_BELOW_TEMP = len("/pymp-xxxxxxxx/listener-xxxxxxxx")
SYSTEM_TEMP = "/tmp"


@contextlib.contextmanager
def _short_enough_for_a_socket() -> Iterator[None]:
    """While the server starts, the temporary folder is the system's when the one TMPDIR names
    is too long for the socket under it (a CI runner's, a test's): the build failed with
    `OSError: AF_UNIX path too long`. multiprocessing keeps the folder it made for the process
    (and removes it at exit), so the server's later restarts use it too."""
    current = tempfile.gettempdir()
    if len(os.fsencode(current)) + _SOCKET_BELOW_TEMP < _SOCKET_PATH_BYTES:
        yield
        return
    tempfile.tempdir = SYSTEM_TEMP
    try:
        yield
    finally:
        tempfile.tempdir = current


def _stop_validation_workers() -> None:
    """Stop the server once its workers are done: it holds some 300 MB (GX imported) that
    dbt's stage can use. multiprocessing has no public call for it; `_stop` is the one its
    own tests use, and it waits for the server to exit."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()


def validation_pool(workers: int) -> ProcessPoolExecutor:
    """Worker processes forked from the server, each of which exits as soon as this process
    does: a worker left behind by a killed build would wait for work for ever, and the
    server with it (each worker holds the server's liveness pipe open)."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=_workers_context(),
        initializer=_exit_with,
        initargs=(os.getpid(),),
    )


def _exit_with(pid: int) -> None:
    """In a worker: a thread that waits for process `pid` to end, then ends this process."""
    if not hasattr(os, "pidfd_open"):  # not Linux: a killed build may leave its workers
        return
    try:
        ended = os.pidfd_open(pid)
    except ProcessLookupError:  # gone already
        os._exit(1)
    except OSError:  # pidfds refused (a sandbox): validate, as without them
        return

    def wait() -> None:
        select.select([ended], [], [])
        os._exit(1)

    threading.Thread(target=wait, name="exit-with-build", daemon=True).start()


def validate_side_by_side(
    database: str, config: Mapping[str, str], loads: Sequence[Loaded], workers: int | None = None
) -> Iterator[tuple[Loaded, SuiteResult | BaseException]]:
    """`validate_loaded` for each load, in worker processes that each open the warehouse
    read-only (so no connection may write it meanwhile); yields each load with its result,
    or the error it raised, as it ends. Loads are started in the order given (largest first
    balances the workers). GX holds Python's lock: two suites in threads took 13.8 s, one
    after the other 14.5 s. The workers fork from the server of `start_validation_workers`
    (started here if the run did not). `workers` defaults to one per core."""
    if not loads:
        return
    pool = validation_pool(min(len(loads), workers or os.cpu_count() or 1))
    try:
        running = {
            pool.submit(_validate_read_only, database, dict(config), load): load for load in loads
        }
        for future in as_completed(running):
            error = future.exception()
            yield running[future], future.result() if error is None else error
    finally:  # interrupted: the loads not started are not validated
        pool.shutdown(wait=True, cancel_futures=True)
        _stop_validation_workers()


def _validate_read_only(database: str, config: dict[str, str], load: Loaded) -> SuiteResult:
    with duckdb.connect(database, read_only=True, config=config) as con:
        return validate_loaded(con, load.table, load.files, load.previous_rows)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _batches(files: Sequence[tuple[str, int]]) -> list[list[str]]:
    """Whole files grouped into batches of about ROWS_PER_BATCH rows."""
    batches: list[list[str]] = []
    size = ROWS_PER_BATCH
    for file, rows in files:
        if size + rows > ROWS_PER_BATCH and size:
            batches.append([])
            size = 0
        batches[-1].append(file)
        size += rows
    return batches


def _duplicates(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    kind: str,
    key: Sequence[str],
    files: Sequence[str] | None,
) -> Failure | None:
    """A key repeated in the table (within `files` when given): GX's unique expectations
    as one SQL aggregate. Like GX, a row whose key is all null is left out."""
    columns = ", ".join(_quote(c) for c in key)
    present = " or ".join(f"{_quote(c)} is not null" for c in key)
    where = f"({present}) and _file in (select unnest(?))" if files else f"({present})"
    repeated = (
        f"select {columns}, count(*) as n from {relation} where {where} "
        f"group by {columns} having count(*) > 1"
    )
    parameters = [list(files)] if files else []
    [(keys, rows)] = con.execute(
        f"select count(*), sum(n) from ({repeated})", parameters
    ).fetchall()
    if not keys:
        return None
    sample = [
        _plain(values[0] if len(values) == 1 else dict(zip(key, values, strict=True)))
        for values in con.execute(
            f"select {columns} from ({repeated}) order by n desc limit 3", parameters
        ).fetchall()
    ]
    detail = f"{rows} unexpected rows ({keys} repeated keys), e.g. {sample}"
    column = ",".join(key) if kind == "ExpectCompoundColumnsToBeUnique" else key[0]
    return Failure(_snake(kind), column, detail, sample, int(rows))


def _snake(kind: str) -> str:
    """'ExpectColumnValuesToBeUnique' -> 'expect_column_values_to_be_unique', as GX names
    the expectations it ran."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def _merge(failures: dict[tuple[str, str | None], Failure], failure: Failure) -> None:
    """One failure per expectation over all batches: counts add up, the first sample stays."""
    key = (failure.expectation, failure.column)
    first = failures.get(key)
    if first is None:
        failures[key] = failure
        return
    if first.unexpected_count is not None and failure.unexpected_count is not None:
        first.unexpected_count += failure.unexpected_count
        first.detail = (
            f"{first.unexpected_count} unexpected rows, e.g. {first.unexpected_sample[:3]}"
        )


def _time_bounded(frame: pd.DataFrame, expectations: Sequence[Expectation]) -> pd.DataFrame:
    """The columns an expectation bounds in time as datetimes (a frame from Arrow holds
    Python dates), so the bounds compare with them; naive ones in nanoseconds, which GX
    compares with its bounds at once: in any other unit it compares value by value in
    Python (DuckDB's timestamps arrive in microseconds; four fifths of a bill's suite)."""
    columns = {
        kwargs["column"]
        for _, kwargs in expectations
        if isinstance(kwargs.get("min_value"), datetime) and kwargs.get("column") in frame
    }
    converted = {}
    for column in columns:
        values = original = frame[column]
        if not pd.api.types.is_datetime64_any_dtype(values):
            values = pd.to_datetime(values)
        if getattr(values.dtype, "tz", None) is None and values.dtype != "datetime64[ns]":
            # A time beyond 2262 has no nanosecond form: compared value by value, it fails.
            with contextlib.suppress(pd.errors.OutOfBoundsDatetime):
                values = values.astype("datetime64[ns]")
        if values is not original:
            converted[column] = values
    return frame.assign(**converted) if converted else frame


def _in_time_zone_of(frame: pd.DataFrame, expectation: Expectation) -> Expectation:
    """Time bounds in UTC for a time-zone-aware column (timestamptz), naive otherwise."""
    kind, kwargs = expectation
    column = kwargs.get("column")
    if column not in frame or getattr(frame[column].dtype, "tz", None) is None:
        return expectation
    return kind, {
        key: value.replace(tzinfo=UTC)
        if isinstance(value, datetime) and value.tzinfo is None
        else value
        for key, value in kwargs.items()
    }


def _plain(value: Any) -> Any:
    """JSON-friendly sample values for check metadata."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
