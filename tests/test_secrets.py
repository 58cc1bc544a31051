"""Secrets: API tokens reach the APIs and nothing else, not the output, not the log file, not
Dagster's event log, not the warehouse, not the landing folder, on success and on failure,
even when a server repeats the Authorization header in its error."""

from __future__ import annotations

import base64
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.conftest import BuiltWarehouse, build_cli

pytestmark = pytest.mark.slow(
    130, reason="three CLI builds of the small world, pulling from local API servers"
)

TOKEN = "pat-na1-4f1d0c3e-sensitive-token"


def leaks(folder: Path) -> list[str]:
    """Every file under `folder` whose bytes contain the token."""
    return [
        str(path)
        for path in folder.rglob("*")
        if path.is_file() and TOKEN.encode() in path.read_bytes()
    ]


def serve_crm_and_sheet(httpserver: HTTPServer, landing: Path) -> None:
    pipelines = json.loads((landing / "crm" / "pipelines.json").read_text())
    page = json.loads(next((landing / "crm" / "deals").glob("*.json")).read_text())
    sheet = json.loads(next((landing / "invoices").glob("*.json")).read_text())
    authorized = {"Authorization": f"Bearer {TOKEN}"}
    httpserver.expect_request("/crm/v3/pipelines/deals", headers=authorized).respond_with_json(
        pipelines
    )
    httpserver.expect_request("/crm/v3/objects/deals", headers=authorized).respond_with_json(
        {**page, "paging": None}
    )
    httpserver.expect_request(
        re.compile(r"^/v4/spreadsheets/finance-sheet/values/.*"), headers=authorized
    ).respond_with_json(sheet)
    # Freshdesk: the token is the API key, sent as the basic-auth user.
    basic = {"Authorization": "Basic " + base64.b64encode(f"{TOKEN}:X".encode()).decode()}
    tickets = json.loads(max((landing / "support" / "tickets").glob("*.json")).read_text())
    for path, body in (("/api/v2/tickets", tickets), ("/api/v2/surveys/satisfaction_ratings", [])):
        httpserver.expect_request(path, headers=basic).respond_with_json(body)


def serve_grafana(httpserver: HTTPServer, landing: Path) -> None:
    """Grafana with a Prometheus datasource per registry cluster, answering empty ranges."""
    registry = yaml.safe_load((landing / "registry" / "clusters.yaml").read_text())
    authorized = {"Authorization": f"Bearer {TOKEN}"}
    httpserver.expect_request("/api/datasources", headers=authorized).respond_with_json(
        [
            {"uid": f"uid-{c['name']}", "name": c["name"], "type": "prometheus"}
            for c in registry["clusters"]
        ]
    )
    httpserver.expect_request(
        re.compile(r"^/api/datasources/proxy/uid/[^/]+/api/v1/query_range$"), headers=authorized
    ).respond_with_json({"status": "success", "data": {"resultType": "matrix", "result": []}})


def pull_env(
    cli_env: dict[str, str],
    httpserver: HTTPServer,
    tmp_path: Path,
    sheets: bool = True,
    freshdesk: bool = True,
) -> dict[str, str]:
    base = httpserver.url_for("/")
    env = {
        **cli_env,
        "HUBSPOT_PRIVATE_APP_TOKEN": TOKEN,
        "HUBSPOT_API_URL": base.rstrip("/"),
    }
    if sheets:
        env |= {
            "GOOGLE_SHEETS_ACCESS_TOKEN": TOKEN,
            "INVOICES_SPREADSHEET_ID": "finance-sheet",
            "GOOGLE_SHEETS_API_URL": base,
        }
    if freshdesk:
        env |= {"FRESHDESK_API_KEY": TOKEN, "FRESHDESK_API_URL": base.rstrip("/")}
    return env


def build(landing: Path, tmp_path: Path, env: dict[str, str]):
    """A verbose build into an empty warehouse (a copy of a built one would see the pulled
    pages' fewer rows as a drop, which its quality gate stops): the log is streamed to the
    terminal and kept in the warehouse's instance folder (tmp_path/w.dagster), beside
    Dagster's event storage."""
    return build_cli(landing, tmp_path / "w.duckdb", env, options=["--verbose"])


def test_a_build_that_pulls_with_tokens_leaves_no_trace_of_them(
    httpserver: HTTPServer, built_warehouse: BuiltWarehouse, cli_env, tmp_path: Path
):
    landing = tmp_path / "landing"
    shutil.copytree(built_warehouse.landing, landing)
    serve_crm_and_sheet(httpserver, landing)
    serve_grafana(httpserver, landing)
    env = pull_env(cli_env, httpserver, tmp_path) | {
        "GRAFANA_URL": httpserver.url_for("/").rstrip("/"),
        "GRAFANA_TOKEN": TOKEN,
        "PARTNER_METRICS_USERNAME_KEY": TOKEN,  # the key that hashes usernames: a secret too
    }

    result = build(landing, tmp_path, env)
    assert result.returncode == 0, result.stderr[-3000:]
    paths = [request.path for request, _ in httpserver.log]
    assert paths.count("/api/datasources") == 1, "Grafana was really called, with the token"
    assert len([p for p in paths if not p.startswith("/api/")]) == 3, "HubSpot and Sheets too"
    assert len([p for p in paths if p.startswith("/api/v2/")]) == 2, "and Freshdesk"
    assert TOKEN not in result.stdout + result.stderr
    assert leaks(tmp_path) == []


def test_a_failed_pull_names_request_and_status_but_not_the_token(
    httpserver: HTTPServer, built_warehouse: BuiltWarehouse, cli_env, tmp_path: Path
):
    landing = tmp_path / "landing"
    shutil.copytree(built_warehouse.landing, landing)
    httpserver.expect_request("/crm/v3/pipelines/deals").respond_with_json(
        {"status": "error", "message": "This oauth-token is invalid"}, status=401
    )
    env = pull_env(cli_env, httpserver, tmp_path, sheets=False, freshdesk=False)

    result = build(landing, tmp_path, env)
    assert result.returncode == 1
    assert "step ingest_hubspot failed: hubspot: HubSpot GET http://127.0.0.1:" in result.stderr
    assert "/crm/v3/pipelines/deals: answered 401: This oauth-token is invalid" in result.stderr
    assert TOKEN not in result.stdout + result.stderr
    assert leaks(tmp_path) == []


def echo_authorization(status: int, google: bool = False):
    """A handler answering `status` with a body that repeats the request's Authorization
    header, as some APIs (and many proxies) do."""

    def handler(request: Request) -> Response:
        echoed = (
            f"invalid credentials in header Authorization: {request.headers.get('Authorization')}"
        )
        body = (
            {"error": {"code": status, "message": echoed, "status": "PERMISSION_DENIED"}}
            if google
            else {"status": "error", "message": echoed}
        )
        return Response(json.dumps(body), status=status, content_type="application/json")

    return handler


def service_account_key(tmp_path: Path, token_uri: str) -> tuple[Path, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    path = tmp_path / "keys" / "service-account.json"
    path.parent.mkdir()
    path.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "billing-proj",
                "private_key_id": "key-4f1d0c3e9a",
                "private_key": pem,
                "client_email": "reader@billing-proj.iam.gserviceaccount.com",
                "client_id": "1",
                "token_uri": token_uri,
            }
        )
    )
    return path, pem


def test_servers_that_echo_the_token_in_their_errors_do_not_leak_it(
    httpserver: HTTPServer, built_warehouse: BuiltWarehouse, cli_env, tmp_path: Path
):
    landing = tmp_path / "landing"
    shutil.copytree(built_warehouse.landing, landing)
    httpserver.expect_request("/crm/v3/pipelines/deals").respond_with_handler(
        echo_authorization(401)
    )
    httpserver.expect_request(
        re.compile(r"^/v4/spreadsheets/finance-sheet/values/.*")
    ).respond_with_handler(echo_authorization(403, google=True))
    # Freshdesk echoes its basic-auth header: the token, base64-encoded with its password.
    httpserver.expect_request("/api/v2/tickets").respond_with_handler(echo_authorization(401))
    # BigQuery: the access token is the token endpoint's answer, not a configured value.
    httpserver.expect_request("/token", method="POST").respond_with_json(
        {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}
    )
    httpserver.expect_request(re.compile("^/bigquery/v2/.*")).respond_with_handler(
        echo_authorization(401, google=True)
    )
    key, pem = service_account_key(tmp_path, httpserver.url_for("/token"))
    env = {
        **pull_env(cli_env, httpserver, tmp_path),
        "PARTNER_METRICS_GCP_CREDENTIALS": str(key),
        "PARTNER_METRICS_GCP_BILLING_TABLE": "billing-proj.billing.gcp_billing_export_v1_0A",
        "PARTNER_METRICS_BIGQUERY_API_URL": httpserver.url_for("/bigquery/v2/"),
    }

    result = build(landing, tmp_path, env)
    assert result.returncode == 1
    output = result.stdout + result.stderr
    for step in ("ingest_hubspot", "ingest_invoices", "ingest_freshdesk"):
        assert f"step {step} failed" in result.stderr
    assert "step ingest_monthly_sources failed: gcp_billing: " in result.stderr
    # The servers did repeat the header; the redactor took the token out of what they said.
    assert "header Authorization: Bearer [redacted]" in result.stderr
    assert "header Authorization: Basic [redacted]" in result.stderr
    assert base64.b64encode(f"{TOKEN}:X".encode()).decode() not in output
    answered = [r.path for r, _ in httpserver.log]
    assert {"/crm/v3/pipelines/deals", "/token"} <= set(answered)
    assert any(path.startswith("/bigquery/v2/") for path in answered)
    assert TOKEN not in output
    private_key_body = pem.splitlines()[1]
    assert private_key_body not in output
    logs = list((tmp_path / "w.dagster" / "logs").glob("*.log"))
    assert logs and "[redacted]" in logs[0].read_text()
    assert leaks(tmp_path) == []
    assert not [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and p != key and private_key_body.encode() in p.read_bytes()
    ]
