"""Live pulls of Google Sheets into the landing folder: the finance sheet (invoice lines) and
the responses sheet of the survey form.

`pull_sheet` calls Sheets v4 `spreadsheets.values.get` with google-api-python-client, built
from the discovery document shipped with the library (`static_discovery=True`, nothing is
downloaded), and writes the response unchanged to `<folder>/<name>.json` (`invoices/` or
`surveys/`), which the source's connector parses like any landed file.

The OAuth access token comes from an environment variable. 429, 5xx and connection errors
are retried by the library's own `execute(num_retries=...)` (exponential backoff with jitter,
as Google's API guides recommend; it does not read `Retry-After`), its waits bounded by the
pull's time budget (`ingest.http.execute_google`); any failure raises `SheetsError` naming
the request (never the token) and the status, and the landed file is replaced only after a
complete, valid response.
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

from ingest.framework import PullError, unfinished
from ingest.http import TimeBudget, TimeBudgetExceededError, execute_google
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


# The whole tab: a range of columns (A1:L) cut off any column after the twelve required ones,
# such as the optional credit_note_for, and the credit notes it marks were quarantined.
INVOICES_RANGE = "Invoices"


def pull_sheet(
    landing: Path,
    spreadsheet_id: str,
    sheet_range: str = INVOICES_RANGE,
    *,
    folder: str = "invoices",
    name: str = "finance-sheet",
    value_render_option: str | None = None,
    date_time_render_option: str | None = None,
    api_endpoint: str = API_ENDPOINT,
    token_env: str = TOKEN_ENV,
    max_seconds: float = 300,
    max_retries: int = 5,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Path:
    """Write the range's values.get response to `landing/<folder>/<name>.json`.

    `value_render_option` and `date_time_render_option` are the API's own (e.g.
    UNFORMATTED_VALUE and FORMATTED_STRING: numbers as numbers, dates as the sheet shows them);
    None leaves the API's default, formatted strings.
    """
    token = read_secret(token_env)
    if not token:
        raise SheetsError("pull", f"environment variable {token_env} is not set")
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
    options = {
        key: value
        for key, value in (
            ("valueRenderOption", value_render_option),
            ("dateTimeRenderOption", date_time_render_option),
        )
        if value
    }
    request = (
        service.spreadsheets()
        .values()
        .get(spreadsheetId=spreadsheet_id, range=sheet_range, majorDimension="ROWS", **options)
    )
    described = _describe(request.uri)
    try:
        body = execute_google(request, TimeBudget(max_seconds, sleep, clock), max_retries)
    except HttpError as error:
        status = error.resp.status
        if status in RETRY_STATUSES:
            problem = f"answered {status} after {max_retries + 1} attempts"
        else:
            problem = f"answered {status}: {_reason(error)}"
        raise SheetsError(described, problem, status) from None
    except TimeBudgetExceededError as error:
        raise SheetsError(
            described, f"{error}; giving up: the time budget of {max_seconds:g} s would be exceeded"
        ) from None
    except (httplib2.HttpLib2Error, OSError) as error:
        raise SheetsError(
            described, f"connection failed ({type(error).__name__}) after retries"
        ) from None
    if isinstance(body, str | bytes):  # the client hands back a body it cannot decode
        raise SheetsError(
            described, f"answered 200 with a body that is not JSON: {body[:120]!r}", 200
        )
    if not isinstance(body, dict) or "range" not in body:
        raise SheetsError(described, "answered without a 'range': not a values.get response")
    target_folder = landing / folder
    target_folder.mkdir(parents=True, exist_ok=True)
    target = target_folder / f"{name}.json"
    partial = unfinished(target)
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


def pull_if_configured(
    landing: Path,
    *,
    spreadsheet_env: str = SPREADSHEET_ENV,
    range_env: str = RANGE_ENV,
    default_range: str = INVOICES_RANGE,
    **kwargs,
) -> Path | None:
    """Pull when both the token and the spreadsheet id (`spreadsheet_env`, by default
    INVOICES_SPREADSHEET_ID) are set, the range from `range_env` (else `default_range`), the
    API address from GOOGLE_SHEETS_API_URL; otherwise return None. `kwargs` go to
    `pull_sheet` (folder, name, render options)."""
    spreadsheet = os.environ.get(spreadsheet_env)
    if not (spreadsheet and os.environ.get(kwargs.get("token_env", TOKEN_ENV))):
        return None
    return pull_sheet(
        landing,
        spreadsheet,
        os.environ.get(range_env, default_range),
        api_endpoint=os.environ.get(ENDPOINT_ENV, API_ENDPOINT),
        **kwargs,
    )
