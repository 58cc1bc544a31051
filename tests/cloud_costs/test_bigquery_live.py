"""The live BigQuery connector against a local server answering like the BigQuery REST API.

The server on 127.0.0.1 plays both Google endpoints the client talks to: the OAuth token
endpoint (the service-account key file names it as token_uri) and BigQuery v2. jobs.query
answers 503 once, then the first page with a pageToken; getQueryResults gives page two.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Response

from ingest.cloud_costs import bigquery
from ingest.cloud_costs.gcp import SOURCE as GCP
from ingest.framework import PullError
from ingest.http import TimeBudget

PROJECT = "billing-proj"
TABLE = "billing-proj.billing.gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
MARCH = 1709251200 * 1_000_000  # 2024-03-01 00:00:00 UTC in microseconds

SCHEMA = {
    "fields": [
        {"name": "billing_account_id", "type": "STRING", "mode": "NULLABLE"},
        {
            "name": "service",
            "type": "RECORD",
            "mode": "NULLABLE",
            "fields": [{"name": "id", "type": "STRING"}, {"name": "description", "type": "STRING"}],
        },
        {"name": "usage_start_time", "type": "TIMESTAMP", "mode": "NULLABLE"},
        {"name": "usage_end_time", "type": "TIMESTAMP", "mode": "NULLABLE"},
        {
            "name": "project",
            "type": "RECORD",
            "mode": "NULLABLE",
            "fields": [{"name": "id", "type": "STRING"}, {"name": "name", "type": "STRING"}],
        },
        {
            "name": "labels",
            "type": "RECORD",
            "mode": "REPEATED",
            "fields": [{"name": "key", "type": "STRING"}, {"name": "value", "type": "STRING"}],
        },
        {"name": "cost", "type": "FLOAT", "mode": "NULLABLE"},
        {"name": "currency", "type": "STRING", "mode": "NULLABLE"},
        {
            "name": "credits",
            "type": "RECORD",
            "mode": "REPEATED",
            "fields": [{"name": "name", "type": "STRING"}, {"name": "amount", "type": "FLOAT"}],
        },
        {
            "name": "invoice",
            "type": "RECORD",
            "mode": "NULLABLE",
            "fields": [{"name": "month", "type": "STRING"}],
        },
        {"name": "cost_type", "type": "STRING", "mode": "NULLABLE"},
    ]
}


def row(
    service: str, start_hour: int, cost: str, credits: list[str], labels: dict[str, str]
) -> dict:
    """One row in the REST API's f/v shape (numbers and timestamps as strings)."""
    start = MARCH + start_hour * 3_600_000_000
    return {
        "f": [
            {"v": "01A2B3-C4D5E6-F7A8B9"},
            {"v": {"f": [{"v": "6F81-5844-456A"}, {"v": service}]}},
            {"v": str(start)},
            {"v": str(start + 3_600_000_000)},
            {"v": {"f": [{"v": "two-eye-two-see"}, {"v": "2i2c"}]}},
            {"v": [{"v": {"f": [{"v": k}, {"v": v}]}} for k, v in labels.items()]},
            {"v": cost},
            {"v": "USD"},
            {"v": [{"v": {"f": [{"v": "credit"}, {"v": a}]}} for a in credits]},
            {"v": {"f": [{"v": "202403"}]}},
            {"v": "regular"},
        ]
    }


@pytest.fixture
def key_file(tmp_path: Path, httpserver: HTTPServer) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "service-account.json"
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": PROJECT,
                "private_key_id": "local",
                "private_key": pem,
                "client_email": f"billing-reader@{PROJECT}.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": httpserver.url_for("/token"),
            }
        )
    )
    return path


def test_two_pages_and_a_transient_503_land_one_month(
    tmp_path: Path, key_file: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
):
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": "local-token", "token_type": "Bearer", "expires_in": 3600}
    )
    queries = f"/bigquery/v2/projects/{PROJECT}/queries"
    httpserver.expect_oneshot_request(queries, method="POST").respond_with_response(
        Response("backend error", status=503)
    )
    httpserver.expect_request(queries, method="POST").respond_with_json(
        {
            "kind": "bigquery#queryResponse",
            "jobReference": {"projectId": PROJECT, "jobId": "job_1", "location": "US"},
            "jobComplete": True,
            "schema": SCHEMA,
            "totalRows": "3",
            "pageToken": "page-2",
            "rows": [
                row("Compute Engine", 0, "12.5", ["-2.5"], {"k8s-namespace": "hub-a"}),
                row("Cloud Storage", 1, "3.0", [], {}),
            ],
        }
    )
    httpserver.expect_request(
        f"{queries}/job_1",
        method="GET",
        query_string={
            "pageToken": "page-2",
            "location": "US",
            "maxResults": "2",
            "timeoutMs": "60000",
            "formatOptions.useInt64Timestamp": "true",
            "alt": "json",
        },
    ).respond_with_json(
        {
            "kind": "bigquery#getQueryResultsResponse",
            "jobComplete": True,
            "schema": SCHEMA,
            "totalRows": "3",
            "rows": [row("Compute Engine", 2, "1.25", ["-0.25", "-0.5"], {})],
        }
    )

    assert httpserver.url_for("/").startswith("http://127.0.0.1:")
    monkeypatch.setenv(bigquery.CREDENTIALS_ENV, str(key_file))
    service = bigquery.service_from_credentials(api_endpoint=httpserver.url_for("/bigquery/v2/"))
    landing = tmp_path / "landing"
    waits: list[float] = []  # the library's backoff goes through the pull's budget
    budget = TimeBudget(60, sleep=waits.append)
    path = bigquery.land_month(
        service, PROJECT, TABLE, "202403", landing, page_size=2, budget=budget
    )
    [wait] = waits  # one retry after the 503: a random wait of up to 2 s
    assert 0 <= wait <= 2

    assert path == (
        landing
        / "cloud_costs"
        / "gcp"
        / "billing-proj__billing__gcp_billing_export_v1_01A2B3_C4D5E6_F7A8B9"
        / "202403.jsonl"
    )
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r["cost"] for r in records] == [12.5, 3.0, 1.25]
    assert records[0]["usage_start_time"] == "2024-03-01 00:00:00 UTC"
    assert records[0]["labels"] == [{"key": "k8s-namespace", "value": "hub-a"}]
    assert records[2]["credits"] == [
        {"name": "credit", "amount": -0.25},
        {"name": "credit", "amount": -0.5},
    ]
    # The landed file parses like any export: net 12.5 - 2.5 + 3.0 + 1.25 - 0.75 = 13.5.
    table = GCP.parse(path).tables["gcp_billing_export"]
    net = sum(table.column("cost").to_pylist()) + sum(table.column("credits_amount").to_pylist())
    assert net == 13.5

    calls = [(request.method, request.path) for request, _ in httpserver.log]
    assert calls == [
        ("POST", "/token"),
        ("POST", queries),
        ("POST", queries),
        ("GET", f"{queries}/job_1"),
    ]
    sent = json.loads(httpserver.log[2][0].get_data())
    assert sent["queryParameters"][0]["parameterValue"] == {"value": "202403"}
    assert sent["query"] == f"select * from `{TABLE}` where invoice.month = @invoice_month"
    assert httpserver.log[3][0].headers["Authorization"] == "Bearer local-token"
    assert not list(path.parent.glob("*.partial"))


def test_month_and_table_are_validated():
    with pytest.raises(ValueError, match="YYYYMM"):
        next(bigquery.fetch_month(None, PROJECT, TABLE, "2024-03"))
    with pytest.raises(ValueError, match="not a BigQuery table name"):
        bigquery.month_query("x`; drop table y; --")


def test_recent_invoice_months_are_the_previous_and_the_current():
    assert bigquery.recent_invoice_months(date(2026, 1, 15)) == ["202512", "202601"]
    assert bigquery.recent_invoice_months(date(2026, 3, 1)) == ["202602", "202603"]


def test_the_pull_lands_nothing_until_configured(tmp_path: Path, monkeypatch):
    monkeypatch.delenv(bigquery.CREDENTIALS_ENV, raising=False)
    monkeypatch.delenv(bigquery.TABLE_ENV, raising=False)
    assert bigquery.pull_if_configured(tmp_path) is None
    assert not (tmp_path / "cloud_costs").exists()


def test_a_failing_pull_names_the_request_and_status(
    httpserver: HTTPServer, key_file: Path, tmp_path: Path, monkeypatch
):
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": "local-token", "token_type": "Bearer", "expires_in": 3600}
    )
    httpserver.expect_request(
        f"/bigquery/v2/projects/{PROJECT}/queries", method="POST"
    ).respond_with_json({"error": {"code": 403, "message": "Access Denied"}}, status=403)
    monkeypatch.setenv(bigquery.CREDENTIALS_ENV, str(key_file))
    monkeypatch.setenv(bigquery.TABLE_ENV, TABLE)
    monkeypatch.setenv(bigquery.ENDPOINT_ENV, httpserver.url_for("/bigquery/v2/"))
    with pytest.raises(PullError) as failure:
        bigquery.pull_if_configured(tmp_path, today=date(2024, 4, 10))
    assert failure.value.status == 403
    assert failure.value.request.startswith(
        f"http://127.0.0.1:{httpserver.port}/bigquery/v2/projects/{PROJECT}/queries"
    )
    assert str(failure.value).endswith(": answered 403 for invoice month 202403")
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == [key_file], "nothing landed"
