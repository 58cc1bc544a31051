"""GCP billing export files: JSON lines, Parquet and flattened CSV; net cost = cost + credits."""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingest.cloud_costs.gcp import SOURCE as GCP
from ingest.framework import ParseError

from .conftest import FIXTURES


def sums(parsed) -> tuple[float, float]:
    table = parsed.tables["gcp_billing_export"]
    return (
        round(sum(table.column("cost").to_pylist()), 10),
        round(sum(table.column("credits_amount").to_pylist()), 10),
    )


def test_json_lines_export_with_credits_adjustment_and_tax():
    parsed = GCP.parse(FIXTURES / "gcp" / "standard.jsonl")
    # Valid lines 1-4 and 7: cost 10 + 4 - 1 + 0.5 + 3 = 16.5;
    # credits -2.5 (line 1) and -0.5 - 0.25 (line 7) = -3.25; net 13.25.
    assert sums(parsed) == (16.5, -3.25)
    rows = parsed.tables["gcp_billing_export"].to_pylist()
    assert [r["cost_type"] for r in rows] == ["regular", "regular", "adjustment", "tax", "regular"]
    first = rows[0]
    assert first["service_description"] == "Compute Engine"
    assert first["project_id"] == "two-eye-two-see"
    assert first["usage_start_time"] == datetime(2024, 3, 1)  # '... UTC'
    assert first["invoice_month"] == "202403"
    assert first["labels"] == '[{"key":"k8s-namespace","value":"hub-a"}]'
    assert rows[3]["project_id"] is None  # tax has no project
    assert rows[4]["currency"] == "EUR"
    assert rows[4]["credits_amount"] == -0.75
    rejected = {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()}
    assert rejected == {
        "line 5": "cost is not a finite number: abc",
        "line 6": "charge period crosses months: usage_start_time 2024-02-29 23:00:00 UTC, "
        "usage_end_time 2024-03-01 01:00:00 UTC",
    }


def test_flattened_csv_export():
    parsed = GCP.parse(FIXTURES / "gcp" / "flat.csv")
    # Lines 2-3 valid: cost 2 + 1 = 3, credits -0.40.
    assert sums(parsed) == (3.0, -0.4)
    rejected = {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()}
    assert rejected == {
        "line 4": "credits has an amount that is not a finite number within ±2^53: "
        '[{"name":"x","amount":"lots"}]',
        "line 5": "cost_type is not one of regular, tax, adjustment, rounding_error: refund",
    }


def test_parquet_export_keeps_the_nesting(tmp_path: Path):
    # The detailed (resource-level) schema, as BigQuery writes it to Parquet.
    target = tmp_path / "detailed.parquet"
    duckdb.sql(f"""
        copy (
            select '01A2B3' as billing_account_id,
                   {{'id': 'S1', 'description': 'Kubernetes Engine'}} as service,
                   {{'id': 'K1', 'description': 'Autopilot Pod Memory'}} as sku,
                   timestamptz '2024-05-01 00:00:00+00' as usage_start_time,
                   timestamptz '2024-05-01 01:00:00+00' as usage_end_time,
                   {{'id': 'p1', 'name': 'P one'}} as project,
                   [{{'key': 'k8s-namespace', 'value': 'hub-a'}}] as labels,
                   {{'name': 'projects/p1/pods/x', 'global_name': '//x'}} as resource,
                   8.0 as cost, 'USD' as currency,
                   [{{'name': 'CUD', 'amount': -3.0}}, {{'name': 'Free', 'amount': -1.0}}]
                       as credits,
                   {{'month': '202405'}} as invoice, 'regular' as cost_type
        ) to '{target}' (format parquet)
    """)
    parsed = GCP.parse(target)
    [row] = parsed.tables["gcp_billing_export"].to_pylist()
    assert (row["cost"], row["credits_amount"]) == (8.0, -4.0)
    assert row["resource_name"] == "projects/p1/pods/x"
    assert row["usage_start_time"] == datetime(2024, 5, 1)
    assert row["labels"] == '[{"key":"k8s-namespace","value":"hub-a"}]'


def test_broken_json_names_the_line():
    with pytest.raises(ParseError) as error:
        GCP.parse(FIXTURES / "gcp" / "broken.jsonl")
    assert error.value.where == "line 2"
    assert error.value.problem.startswith("not valid JSON")


def test_missing_required_field_and_foreign_schema(tmp_path: Path):
    no_cost = tmp_path / "no_cost.jsonl"
    no_cost.write_text(
        '{"currency":"USD","cost_type":"regular","invoice":{"month":"202401"},'
        '"service":{"description":"x"},"usage_start_time":"2024-01-01",'
        '"usage_end_time":"2024-01-02"}\n'
    )
    with pytest.raises(
        ParseError, match=r"missing required column\(s\): billing_account_id, cost$"
    ):
        GCP.parse(no_cost)
    with pytest.raises(ParseError, match=r"this is an AWS CUR 2\.0 export, not a GCP"):
        GCP.parse(FIXTURES / "aws" / "cur2.csv")


PYTHON_REPR_CSV = (
    "billing_account_id,service.description,usage_start_time,usage_end_time,cost,currency,"
    "credits,invoice.month,cost_type,labels\n"
    # A row as pandas writes it: credits and labels as Python reprs.
    "A,Compute Engine,2020-11-09 23:00:00+00:00,2020-11-10 00:00:00+00:00,2.0,USD,"
    "\"[{'name': 'FreeTrial:Credit-1', 'amount': -0.5, 'full_name': None, "
    "'id': 'FreeTrial:Credit-1', 'type': 'PROMOTION'}]\",202011,regular,"
    "\"[{'key': 'k8s-namespace', 'value': 'hub-a'}]\"\n"
    # A name with an apostrophe: Python quotes it with double quotes; it does not convert.
    "A,Compute Engine,2020-11-09 23:00:00+00:00,2020-11-10 00:00:00+00:00,3.0,USD,"
    '"[{\'name\': ""Pat\'s credit"", \'amount\': -1}]",202011,regular,[]\n'
)


def test_python_repr_credits_parse_or_are_quarantined_with_that_reason(tmp_path: Path):
    path = tmp_path / "pandas.csv"
    path.write_text(PYTHON_REPR_CSV, encoding="utf-8")
    parsed = GCP.parse(path)
    [row] = parsed.tables["gcp_billing_export"].to_pylist()
    assert (row["cost"], row["credits_amount"]) == (2.0, -0.5)
    assert row["labels"] == '[{"key": "k8s-namespace", "value": "hub-a"}]'
    assert parsed.tables["gcp_billing_credits"].to_pylist() == [
        {
            "_record": "line 2",
            "credit_position": 1,
            "name": "FreeTrial:Credit-1",
            "full_name": None,
            "type": "PROMOTION",
            "id": "FreeTrial:Credit-1",
            "amount": -0.5,
        }
    ]
    [rejected] = parsed.rejected.to_pylist()
    assert rejected["record"] == "line 3"
    assert rejected["reason"] == (
        "credits is a Python repr that does not read as JSON: "
        "[{'name': \"Pat's credit\", 'amount': -1}]"
    )


def test_credit_types_and_adjustment_info_are_kept_from_gzip_json_lines(tmp_path: Path):
    rows = [
        {
            "billing_account_id": "A",
            "service": {"description": "Compute Engine"},
            "usage_start_time": "2024-03-01 00:00:00 UTC",
            "usage_end_time": "2024-03-01 01:00:00 UTC",
            "cost": 10,
            "currency": "USD",
            "credits": [
                {"name": "CUD", "type": "COMMITTED_USAGE_DISCOUNT", "amount": -3},
                {"name": "Free Trial", "type": "PROMOTION", "amount": -2, "id": "ft"},
            ],
            "invoice": {"month": "202403"},
            "cost_type": "regular",
        },
        {
            "billing_account_id": "A",
            "service": {"description": "Compute Engine"},
            "usage_start_time": "2024-03-01 00:00:00 UTC",
            "usage_end_time": "2024-03-01 01:00:00 UTC",
            "cost": -1.25,
            "currency": "USD",
            "credits": [],
            "invoice": {"month": "202403"},
            "cost_type": "adjustment",
            "adjustment_info": {
                "id": "adj-1",
                "description": "Correction of egress",
                "mode": "PARTIAL_CORRECTION",
                "type": "USAGE_CORRECTION",
            },
        },
    ]
    path = tmp_path / "202403-000000000000.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(r) for r in rows).encode()))
    parsed = GCP.parse(path)
    export = parsed.tables["gcp_billing_export"].to_pylist()
    # Net 10 - 3 - 2 = 5, then the adjustment of -1.25.
    assert [(r["cost"], r["credits_amount"]) for r in export] == [(10.0, -5.0), (-1.25, 0.0)]
    assert (
        export[1]["adjustment_id"],
        export[1]["adjustment_description"],
        export[1]["adjustment_mode"],
        export[1]["adjustment_type"],
    ) == ("adj-1", "Correction of egress", "PARTIAL_CORRECTION", "USAGE_CORRECTION")
    credits = parsed.tables["gcp_billing_credits"].to_pylist()
    assert [(c["_record"], c["credit_position"], c["type"], c["amount"]) for c in credits] == [
        ("line 1", 1, "COMMITTED_USAGE_DISCOUNT", -3.0),
        ("line 1", 2, "PROMOTION", -2.0),
    ]
    assert {(r["_billing_account_id"], r["_billing_period"].isoformat()) for r in export} == {
        ("A", "2024-03-01")
    }


def _line(cost: float, **extra: object) -> str:
    return json.dumps(
        {
            "billing_account_id": "01A2B3",
            "service": {"description": "Compute Engine"},
            "usage_start_time": "2024-03-01 00:00:00 UTC",
            "usage_end_time": "2024-03-01 01:00:00 UTC",
            "currency": "USD",
            "invoice": {"month": "202403"},
            "cost_type": "regular",
            **({"cost": cost} if cost is not None else {}),
            **extra,
        }
    )


def test_keys_and_json_are_checked_past_the_first_thousand_lines(tmp_path: Path):
    # The keys are read from the first 1,000 lines; a key they lack is looked for in the whole
    # file, and a broken line further down is still named.
    late_cost = tmp_path / "late_cost.jsonl"
    lines = [_line(None)] * 1200 + [_line(2.5)]  # `cost` only on line 1,201
    late_cost.write_text("\n".join(lines) + "\n")
    parsed = GCP.parse(late_cost)
    assert parsed.tables["gcp_billing_export"].column("cost").to_pylist() == [2.5]
    assert len(parsed.rejected) == 1200  # each line without a cost: "cost is empty"
    assert set(parsed.rejected.column("reason").to_pylist()) == {"cost is empty"}

    broken = tmp_path / "broken_late.jsonl"
    broken.write_text("\n".join([_line(1.0)] * 1500 + ['{"cost": 1.0,'] + [_line(1.0)]) + "\n")
    with pytest.raises(ParseError) as error:
        GCP.parse(broken)
    assert error.value.where == "line 1501"
    assert error.value.problem.startswith("not valid JSON")


def test_an_invoice_month_of_no_bill_is_quarantined(tmp_path: Path):
    """invoice.month is YYYYMM between 2000 and a year after the load day, as the bill's
    times are: 999912 and 000001 read as months but no bill is dated so, nor 199912; 13 and
    00 are no month. Only March 2024 loads."""
    months = ("202403", "999912", "000001", "199912", "202413", "202400")
    path = tmp_path / "months.jsonl"
    path.write_text("".join(_line(1.0, invoice={"month": m}) + "\n" for m in months))
    parsed = GCP.parse(path)
    [row] = parsed.tables["gcp_billing_export"].to_pylist()
    assert (row["invoice_month"], row["_billing_period"].isoformat()) == ("202403", "2024-03-01")
    outside = "invoice_month is outside 2000-01-01 .. a year after the load day: "
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("line 2", outside + "999912"),
        ("line 3", outside + "000001"),
        ("line 4", outside + "199912"),
        ("line 5", "invoice_month is not a YYYYMM month: 202413"),
        ("line 6", "invoice_month is not a YYYYMM month: 202400"),
    ]


def test_a_json_array_reads_as_its_objects_like_json_lines(tmp_path: Path):
    """`bq query --format=prettyjson` writes the rows as one array, each object spread over
    several lines: the same objects as the JSON lines fixture give the same rows, named by
    their element, and the same rejections."""
    lines = (FIXTURES / "gcp" / "standard.jsonl").read_text().splitlines()
    objects = [json.loads(line) for line in lines]
    array = tmp_path / "results.json"
    array.write_text(json.dumps(objects, indent=2))
    as_lines, as_array = GCP.parse(FIXTURES / "gcp" / "standard.jsonl"), GCP.parse(array)

    def without_records(rows):
        return [{k: v for k, v in row.items() if k != "_record"} for row in rows]

    assert without_records(as_array.tables["gcp_billing_export"].to_pylist()) == (
        without_records(as_lines.tables["gcp_billing_export"].to_pylist())
    )
    assert sums(as_array) == (16.5, -3.25)  # worked out in the JSON lines test above
    assert as_array.tables["gcp_billing_export"].column("_record").to_pylist() == [
        "element 1",
        "element 2",
        "element 3",
        "element 4",
        "element 7",
    ]
    assert [r["record"] for r in as_array.rejected.to_pylist()] == ["element 5", "element 6"]


def test_the_retired_file_export_is_named_another_schema():
    # A day of Cloud Billing's retired file export (a real one, a pretty-printed array:
    # fixtures README) has other fields than the BigQuery export.
    with pytest.raises(ParseError) as error:
        GCP.parse(FIXTURES / "gcp" / "file-export-analytics-bigquery-demo-2014-02-20.json")
    assert error.value.problem == (
        "unknown provider schema: expected a GCP billing export; columns are cost, endTime, "
        "lineItemId, measurements, projectNumber, startTime"
    )
