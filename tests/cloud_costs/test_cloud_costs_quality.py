"""The cloud-cost Great Expectations suites pass on real parses and catch a table-wide error."""

from __future__ import annotations

import pytest

from ingest.cloud_costs.aws import parse_cur
from ingest.cloud_costs.azure import parse_export as parse_azure
from ingest.cloud_costs.focus import parse_focus
from ingest.cloud_costs.gcp import parse_export as parse_gcp
from ingest.quality import SUITES, validate_table

from .conftest import FIXTURES

PARSES = {
    "gcp_billing_export": lambda: parse_gcp(FIXTURES / "gcp" / "standard.jsonl"),
    "aws_cur": lambda: parse_cur(FIXTURES / "aws" / "cur2.csv"),
    "azure_costs": lambda: parse_azure(FIXTURES / "azure" / "ea-amortizedcost-sample.csv"),
    "focus_costs": lambda: parse_focus(FIXTURES / "focus" / "focus-1.0-sample-subset.csv"),
}


@pytest.mark.parametrize("table", sorted(PARSES))
def test_suite_passes_on_a_parsed_file(table: str):
    frame = PARSES[table]().tables[table].to_pandas()
    result = validate_table(table, frame, expectations=SUITES[table])
    assert result.passed, result.describe()


def test_positive_credits_fail_the_gcp_suite():
    frame = PARSES["gcp_billing_export"]().tables["gcp_billing_export"].to_pandas()
    frame["credits_amount"] = -frame["credits_amount"]  # sign flipped: credits as charges
    result = validate_table("gcp_billing_export", frame, expectations=SUITES["gcp_billing_export"])
    # Lines 1 (2.5) and 7 (0.75) had credits; the other three have 0, which still passes.
    assert [(f.column, f.detail) for f in result.failures] == [
        ("credits_amount", "2 unexpected rows, e.g. [2.5, 0.75]")
    ]
