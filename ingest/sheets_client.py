"""Live pull of the finance Google Sheet (invoice lines) into the landing folder.

`pull_sheet` calls Sheets v4 `spreadsheets.values.get` with google-api-python-client, built
from the discovery document shipped with the library (`static_discovery=True`, nothing is
downloaded), and writes the response unchanged to `invoices/<name>.json`, which
`ingest.invoices` parses like any landed file.

The OAuth access token comes from an environment variable. 429 waits for `Retry-After`, 5xx
is retried with exponential backoff, within a time budget; any failure raises `SheetsError`
naming the request (never the token) and the status, and the landed file is replaced only
after a complete, valid response.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError

from ingest.framework import PullError
from ingest.secrets import read_secret, redact

TOKEN_ENV = "GOOGLE_SHEETS_ACCESS_TOKEN"
API_ENDPOINT = "https://sheets.googleapis.com/"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class SheetsError(PullError):
    """A Sheets request that failed; the message names the request and the status."""

    def __init__(self, request: str, problem: str, status: int | None = None):
        super().__init__(redact(f"Google Sheets {request}: {problem}"), request, status)


def _describe(uri: str) -> str:
    """`GET <uri>` without credentials that could be in the query (key, access_token)."""
    parts = urlsplit(uri)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("key", "access_token")]
    return "GET " + urlunsplit(parts._replace(query=urlencode(query)))


def pull_sheet(
    landing: Path,
    spreadsheet_id: str,
    sheet_range: str = "Invoices!A1:L",
    *,
    name: str = "finance-sheet",
    api_endpoint: str = API_ENDPOINT,
    token_env: str = TOKEN_ENV,
    max_seconds: float = 300,
    max_retries: int = 5,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Path:
    """Write the range's values.get response to `landing/invoices/<name>.json`."""
    token = read_secret(token_env)
    if not token:
        raise SheetsError("pull", f"environment variable {token_env} is not set")
    deadline = clock() + max_seconds
    # An authorised httplib2 client with a socket timeout, so no request can hang the pull.
    http = google_auth_httplib2.AuthorizedHttp(
        Credentials(token=token), http=httplib2.Http(timeout=min(60.0, max_seconds))
    )
    service = build(
        "sheets",
        "v4",
        static_discovery=True,
        http=http,
        client_options={"api_endpoint": api_endpoint},
        cache_discovery=False,
    )
    request = (
        service.spreadsheets()
        .values()
        .get(spreadsheetId=spreadsheet_id, range=sheet_range, majorDimension="ROWS")
    )
    described = _describe(request.uri)
    body = None
    for attempt in range(max_retries + 1):
        if clock() >= deadline:
            raise SheetsError(described, f"time budget of {max_seconds:g} s exhausted")
        try:
            body = request.execute(num_retries=0)
            break
        except HttpError as error:
            status = error.resp.status
            if status not in RETRY_STATUSES:
                raise SheetsError(
                    described, f"answered {status}: {_reason(error)}", status
                ) from None
            if attempt == max_retries:
                raise SheetsError(
                    described, f"answered {status} after {attempt + 1} attempts", status
                ) from None
            wait = backoff * 2**attempt
            if status == 429:
                with contextlib.suppress(TypeError, ValueError):
                    wait = float(error.resp.get("retry-after", wait))
            if clock() + wait > deadline:
                raise SheetsError(
                    described,
                    f"answered {status}; giving up: the time budget "
                    f"of {max_seconds:g} s would be exceeded",
                    status,
                ) from None
            sleep(wait)
        except (httplib2.HttpLib2Error, OSError) as error:
            if attempt == max_retries:
                raise SheetsError(
                    described, f"connection failed ({type(error).__name__})"
                ) from None
            sleep(backoff * 2**attempt)
    if isinstance(body, str | bytes):  # the client hands back a body it cannot decode
        raise SheetsError(
            described, f"answered 200 with a body that is not JSON: {body[:120]!r}", 200
        )
    if not isinstance(body, dict) or "range" not in body:
        raise SheetsError(described, "answered without a 'range': not a values.get response")
    folder = landing / "invoices"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{name}.json"
    partial = folder / f".{name}.json.partial"
    partial.write_text(json.dumps(body, indent=1), encoding="utf-8")
    os.replace(partial, target)
    return target


def _reason(error: HttpError) -> str:
    with contextlib.suppress(Exception):
        return str(error.reason or "")[:200]
    return ""


SPREADSHEET_ENV = "INVOICES_SPREADSHEET_ID"
RANGE_ENV = "INVOICES_SHEET_RANGE"
ENDPOINT_ENV = "GOOGLE_SHEETS_API_URL"


def pull_if_configured(landing: Path, **kwargs) -> Path | None:
    """Pull when both the token and INVOICES_SPREADSHEET_ID are set (range from
    INVOICES_SHEET_RANGE, API address from GOOGLE_SHEETS_API_URL); otherwise return None."""
    spreadsheet = os.environ.get(SPREADSHEET_ENV)
    if not (spreadsheet and os.environ.get(kwargs.get("token_env", TOKEN_ENV))):
        return None
    return pull_sheet(
        landing,
        spreadsheet,
        os.environ.get(RANGE_ENV, "Invoices!A1:L"),
        api_endpoint=os.environ.get(ENDPOINT_ENV, API_ENDPOINT),
        **kwargs,
    )
