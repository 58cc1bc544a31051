"""The cloud-cost Great Expectations suites pass on real parses and catch a table-wide error."""

from __future__ import annotations

import pytest

from ingest.cloud_costs.aws import SOURCE as AWS
from ingest.cloud_costs.azure import SOURCE as AZURE
from ingest.cloud_costs.focus import SOURCE as FOCUS
from ingest.cloud_costs.gcp import SOURCE as GCP
from ingest.quality import SUITES, validate_table

from .conftest import FIXTURES

PARSES = {
    "gcp_billing_export": lambda: GCP.parse(FIXTURES / "gcp" / "standard.jsonl"),
    "aws_cur": lambda: AWS.parse(FIXTURES / "aws" / "cur2.csv"),
    "azure_costs": lambda: AZURE.parse(FIXTURES / "azure" / "ea-amortizedcost-sample.csv"),
    "focus_costs": lambda: FOCUS.parse(FIXTURES / "focus" / "focus-1.0-sample-subset.csv"),
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
