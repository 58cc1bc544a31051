"""Great Expectations suites for the raw tables: what every loaded table must satisfy.

A suite is code: a list of (GX expectation class, arguments) per raw table. The connectors
already quarantine bad records; these suites guard the table as a whole (keys, allowed
values, sane ranges, row count not collapsing between loads), so a wrong join, a half-empty
export or a unit mix-up stops at the stage where it enters. Great Expectations is imported
only when a suite runs: it takes seconds to import.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd

from ingest.prometheus import SERIES

Expectation = tuple[str, Mapping[str, Any]]

# Largest share of a table's rows that may disappear between two loads before it is flagged.
MAX_ROW_DROP = 0.2


def _not_null(*columns: str) -> list[Expectation]:
    return [("ExpectColumnValuesToNotBeNull", {"column": c}) for c in columns]


def _unique_together(*columns: str) -> Expectation:
    return ("ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)})


SUITES: dict[str, list[Expectation]] = {
    "registry_partners": [
        *_not_null("partner_id", "name"),
        ("ExpectColumnValuesToBeUnique", {"column": "partner_id"}),
        ("ExpectColumnValuesToMatchRegex", {"column": "partner_id", "regex": r"^[a-z0-9-]+$"}),
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
            {"column": "usd_per_unit", "min_value": 1e-5, "max_value": 1e4},
        ),
        _unique_together("rate_date", "currency", "_file"),
    ],
    "prometheus_samples": [
        *_not_null("cluster", "series", "sampled_at", "value"),
        ("ExpectColumnValuesToBeInSet", {"column": "series", "value_set": sorted(SERIES)}),
        # Users and bytes are never negative; a petabyte of memory requests is a unit error.
        ("ExpectColumnValuesToBeBetween", {"column": "value", "min_value": 0, "max_value": 1e15}),
        _unique_together("cluster", "series", "namespace", "sampled_at", "_file"),
    ],
}


@dataclass
class Failure:
    expectation: str
    column: str | None
    detail: str
    unexpected_sample: list[Any]


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
    configured = [
        *(SUITES[table] if expectations is None else expectations),
        *row_count_expectation(previous_rows),
    ]
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
    outcome = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(
        suite, result_format="SUMMARY"
    )
    result = SuiteResult(table, len(frame), len(configured))
    for item in outcome.results:
        if not item.success:
            kwargs = item.expectation_config.kwargs
            sample = [_plain(v) for v in item.result.get("partial_unexpected_list", [])]
            if "unexpected_count" in item.result:
                detail = f"{item.result['unexpected_count']} unexpected rows, e.g. {sample[:3]}"
            else:
                bounds = {k: kwargs[k] for k in ("min_value", "max_value") if k in kwargs}
                detail = f"observed {item.result.get('observed_value')}, expected {bounds}"
            result.failures.append(
                Failure(
                    expectation=item.expectation_config.type,
                    column=kwargs.get("column") or ",".join(kwargs.get("column_list", [])) or None,
                    detail=detail,
                    unexpected_sample=sample,
                )
            )
    return result


def _plain(value: Any) -> Any:
    """JSON-friendly sample values for check metadata."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
