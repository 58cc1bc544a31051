"""Live GCP billing: one invoice month of the BigQuery billing export, landed as JSON lines.

Runs the BigQuery REST API's `jobs.query` with a named parameter (`invoice.month =
@invoice_month`), waits for the job, then pages through `jobs.getQueryResults` with
`pageToken`. Transient errors (429, 5xx, connection errors) are retried by
google-api-python-client's `execute(num_retries=...)` with exponential backoff, its waits
bounded by the pull's time budget (`ingest.http.execute_google`). Rows arrive in BigQuery's
`f`/`v` shape and are turned back into the export's nested records, so the file written is
exactly what exporting the table to newline-delimited JSON gives, and
`ingest.cloud_costs.gcp` parses it.

The file goes to `<landing>/cloud_costs/gcp/<table>/<YYYYMM>.jsonl`, written to a temporary
name and renamed, so a failed fetch never leaves half a month in landing; fetching a month
again replaces the file, and with it that month's rows.

Credentials: the service-account key file named by the environment variable
`PARTNER_METRICS_GCP_CREDENTIALS` (the account needs BigQuery Job User on the project and
Data Viewer on the billing dataset). The API discovery document is the one shipped with the
client library (`static_discovery=True`), so nothing is downloaded but query results.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ingest.framework import unfinished
from ingest.http import TimeBudget, TimeBudgetExceededError, execute_google
from ingest.secrets import remember

CREDENTIALS_ENV = "PARTNER_METRICS_GCP_CREDENTIALS"
SCOPES = ("https://www.googleapis.com/auth/bigquery.readonly",)
_TABLE = re.compile(r"^[a-z][a-z0-9-]{4,61}[a-z0-9]\.[A-Za-z0-9_]+\.[A-Za-z0-9_]+$")
_MONTH = re.compile(r"^[0-9]{4}(0[1-9]|1[0-2])$")
PULL_SECONDS = 1800  # the time budget of one pull (both invoice months)
REQUEST_TIMEOUT_SECONDS = 120  # a socket timeout, so no request can hang the pull


def service_from_credentials(credentials_file: Path | None = None, api_endpoint: str | None = None):
    """A BigQuery v2 client authorised by a service-account key file.

    The key's private key and every access token it is exchanged for are secrets the
    redactor knows (ingest.secrets), so a server that echoes them is never quoted verbatim.
    """
    import google_auth_httplib2
    import httplib2
    from google.oauth2 import service_account
    from googleapiclient.discovery import build

    class RememberedCredentials(service_account.Credentials):
        def refresh(self, request: Any) -> None:
            super().refresh(request)
            remember(self.token)

    path = credentials_file or os.environ.get(CREDENTIALS_ENV)
    if not path:
        raise RuntimeError(f"set {CREDENTIALS_ENV} to the service-account key file")
    key = json.loads(Path(path).read_text(encoding="utf-8"))
    remember(key.get("private_key"))
    remember(key.get("private_key_id"))
    credentials = RememberedCredentials.from_service_account_info(key, scopes=SCOPES)
    options = {"api_endpoint": api_endpoint} if api_endpoint else None
    http = google_auth_httplib2.AuthorizedHttp(
        credentials, http=httplib2.Http(timeout=REQUEST_TIMEOUT_SECONDS)
    )
    return build(
        "bigquery",
        "v2",
        static_discovery=True,
        http=http,
        client_options=options,
        cache_discovery=False,
    )


def month_query(table: str) -> str:
    if not _TABLE.match(table):
        raise ValueError(f"not a BigQuery table name (project.dataset.table): {table!r}")
    return f"select * from `{table}` where invoice.month = @invoice_month"


def _timestamp(micros: str) -> str:
    moment = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(micros))
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{moment.microsecond:06d} UTC" if moment.microsecond else f"{text} UTC"


def _value(field: Mapping[str, Any], value: Any) -> Any:
    """One cell of the REST `f`/`v` row format as the JSON export writes it."""
    if value is None:
        return None
    if field.get("mode") == "REPEATED":
        item = {**field, "mode": "NULLABLE"}
        return [_value(item, element["v"]) for element in value]
    kind = field["type"]
    if kind in ("RECORD", "STRUCT"):
        return {
            sub["name"]: _value(sub, cell["v"])
            for sub, cell in zip(field["fields"], value["f"], strict=True)
        }
    if kind in ("FLOAT", "FLOAT64", "NUMERIC", "BIGNUMERIC"):
        return float(value)
    if kind in ("INTEGER", "INT64"):
        return int(value)
    if kind in ("BOOLEAN", "BOOL"):
        return value == "true"
    if kind == "TIMESTAMP":
        return _timestamp(value)
    return value


def to_records(schema: Mapping[str, Any], rows: list[Mapping[str, Any]]) -> Iterator[dict]:
    fields = schema.get("fields", [])
    for row in rows:
        yield {f["name"]: _value(f, cell["v"]) for f, cell in zip(fields, row["f"], strict=True)}


def fetch_month(
    service,
    project: str,
    table: str,
    invoice_month: str,
    page_size: int = 10000,
    num_retries: int = 5,
    timeout_ms: int = 60000,
    budget: TimeBudget | None = None,
) -> Iterator[dict]:
    """Every export row of `invoice_month` (YYYYMM), page by page."""
    if not _MONTH.match(invoice_month):
        raise ValueError(f"invoice month must be YYYYMM: {invoice_month!r}")
    budget = budget or TimeBudget(PULL_SECONDS)
    jobs = service.jobs()
    body = {
        "query": month_query(table),
        "useLegacySql": False,
        "parameterMode": "NAMED",
        "queryParameters": [
            {
                "name": "invoice_month",
                "parameterType": {"type": "STRING"},
                "parameterValue": {"value": invoice_month},
            }
        ],
        "maxResults": page_size,
        "timeoutMs": timeout_ms,
        "formatOptions": {"useInt64Timestamp": True},
    }
    response = execute_google(jobs.query(projectId=project, body=body), budget, num_retries)
    job = response["jobReference"]

    def results(token: str | None = None) -> dict:
        request = jobs.getQueryResults(
            projectId=job["projectId"],
            jobId=job["jobId"],
            location=job.get("location"),
            pageToken=token,
            maxResults=page_size,
            timeoutMs=timeout_ms,
            formatOptions_useInt64Timestamp=True,
        )
        return execute_google(request, budget, num_retries)

    while not response.get("jobComplete"):
        response = results()
    schema = response["schema"]
    yield from to_records(schema, response.get("rows", []))
    token = response.get("pageToken")
    while token:
        response = results(token)
        yield from to_records(schema, response.get("rows", []))
        token = response.get("pageToken")


def land_month(
    service, project: str, table: str, invoice_month: str, landing: Path, **options
) -> Path:
    """Fetch one invoice month and write it where the GCP connector reads it."""
    folder = landing / "cloud_costs" / "gcp" / table.replace(".", "__")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{invoice_month}.jsonl"
    partial = unfinished(target)
    try:
        with partial.open("w", encoding="utf-8") as handle:
            for record in fetch_month(service, project, table, invoice_month, **options):
                handle.write(json.dumps(record, separators=(",", ":")) + "\n")
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    return target


TABLE_ENV = "PARTNER_METRICS_GCP_BILLING_TABLE"
ENDPOINT_ENV = "PARTNER_METRICS_BIGQUERY_API_URL"


def recent_invoice_months(today: date) -> list[str]:
    """The previous and the current invoice month: a closed month still gets late credits
    and adjustments, so it is fetched again until the next one closes."""
    previous = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    return [previous.strftime("%Y%m"), today.strftime("%Y%m")]


def pull_if_configured(
    landing: Path, months: Sequence[date] = (), today: date | None = None
) -> list[Path] | None:
    """Land `months` (default: the recent invoice months) when PARTNER_METRICS_GCP_CREDENTIALS
    and PARTNER_METRICS_GCP_BILLING_TABLE (project.dataset.table) are set; otherwise do
    nothing. A failed request raises PullError naming it and its HTTP status."""
    from googleapiclient.errors import HttpError

    from ingest.framework import PullError

    table = os.environ.get(TABLE_ENV)
    if not (table and os.environ.get(CREDENTIALS_ENV)):
        return None
    service = service_from_credentials(api_endpoint=os.environ.get(ENDPOINT_ENV))
    project = table.split(".", 1)[0]
    budget = TimeBudget(PULL_SECONDS)
    landed = []
    invoice_months = [m.strftime("%Y%m") for m in months] or recent_invoice_months(
        today or datetime.now(UTC).date()
    )
    for month in invoice_months:
        try:
            landed.append(land_month(service, project, table, month, landing, budget=budget))
        except HttpError as error:
            raise PullError(
                f"BigQuery {error.uri}: answered {error.status_code} for invoice month {month}",
                str(error.uri),
                error.status_code,
            ) from None
        except TimeBudgetExceededError as error:
            raise PullError(
                f"BigQuery pull of invoice month {month}: {error}; giving up: the time budget "
                f"of {PULL_SECONDS} s would be exceeded",
                f"invoice month {month}",
            ) from None
    return landed
