"""Live pull of HubSpot deals and deal pipelines into the landing folder.

`pull_deals` calls the CRM v3 APIs with a private-app token read from an environment variable
and writes the responses, unchanged, where `ingest.hubspot` reads landed files:
`crm/pipelines.json` (`GET /crm/v3/pipelines/deals`) and `crm/deals/page-NNNN.json`
(`GET /crm/v3/objects/deals?properties=...&associations=companies`, cursor paging with
`paging.next.after`). So a live pull and a landed export go through one parser.

Rate limits (429) wait for `Retry-After`; 5xx and connection errors are retried with
exponential backoff; the whole pull has a time budget. Any failure raises `HubSpotError`
naming the request (never the token) and the status, and leaves the landing folder as it
was: pages are written to a scratch folder and swapped in only when every page arrived.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests

from ingest.framework import PullError
from ingest.hubspot import DEAL_PROPERTIES, STAGE_HISTORY_PREFIXES
from ingest.secrets import read_secret

API = "https://api.hubapi.com"
TOKEN_ENV = "HUBSPOT_PRIVATE_APP_TOKEN"
RETRY_STATUSES = {429, 500, 502, 503, 504}


class HubSpotError(PullError):
    """A HubSpot request that failed; the message names the request and the status."""

    def __init__(self, request: str, problem: str, status: int | None = None):
        super().__init__(f"HubSpot {request}: {problem}", request, status)


class _Client:
    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        max_seconds: float,
        max_retries: int,
        backoff: float,
        sleep: Callable[[float], None],
        clock: Callable[[], float],
    ):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.headers.update(
            {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        )
        self.deadline = clock() + max_seconds
        self.max_seconds = max_seconds
        self.max_retries = max_retries
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock

    def _wait(self, request: str, seconds: float, why: str) -> None:
        if self.clock() + seconds > self.deadline:
            raise HubSpotError(
                request,
                f"{why}; giving up: the pull's time budget of "
                f"{self.max_seconds:g} s would be exceeded",
            )
        self.sleep(seconds)

    def get_json(self, path: str, params: dict[str, Any]) -> dict:
        url = f"{self.base_url}{path}"
        request = f"GET {url}?{urlencode(params)}" if params else f"GET {url}"
        for attempt in range(self.max_retries + 1):
            remaining = self.deadline - self.clock()
            if remaining <= 0:
                raise HubSpotError(request, f"time budget of {self.max_seconds:g} s exhausted")
            try:
                response = self.session.get(url, params=params, timeout=min(30.0, remaining))
            except requests.RequestException as error:
                why = f"connection failed ({type(error).__name__})"
                if attempt == self.max_retries:
                    raise HubSpotError(request, f"{why} after {attempt + 1} attempts") from None
                self._wait(request, self.backoff * 2**attempt, why)
                continue
            status = response.status_code
            if status in RETRY_STATUSES:
                why = f"answered {status}"
                if attempt == self.max_retries:
                    raise HubSpotError(request, f"{why} after {attempt + 1} attempts", status)
                wait = self.backoff * 2**attempt
                if status == 429:
                    with contextlib.suppress(ValueError):
                        wait = float(response.headers.get("Retry-After", wait))
                self._wait(request, wait, why)
                continue
            if status != 200:
                detail = _message(response)
                raise HubSpotError(request, f"answered {status}{detail}", status)
            try:
                body = response.json()
            except ValueError:
                raise HubSpotError(
                    request,
                    f"answered 200 with a body that is not JSON: {response.text[:120]!r}",
                    status,
                ) from None
            if not isinstance(body, dict) or not isinstance(body.get("results"), list):
                raise HubSpotError(request, "answered 200 without a 'results' array", status)
            return body
        raise AssertionError("unreachable")


def _message(response: requests.Response) -> str:
    """HubSpot's own error message, if the body has one (it never contains the token)."""
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        return ""
    return f": {message}" if message else ""


def pull_deals(
    landing: Path,
    *,
    base_url: str = API,
    token_env: str = TOKEN_ENV,
    page_size: int = 100,
    max_seconds: float = 600,
    max_retries: int = 5,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[Path]:
    """Write the pipelines file and every deal page under `landing/crm`; return the files."""
    token = read_secret(token_env)
    if not token:
        raise HubSpotError("pull", f"environment variable {token_env} is not set")
    client = _Client(
        base_url,
        token,
        max_seconds=max_seconds,
        max_retries=max_retries,
        backoff=backoff,
        sleep=sleep,
        clock=clock,
    )
    crm = landing / "crm"
    crm.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".pull-", dir=crm))
    try:
        pipelines = client.get_json("/crm/v3/pipelines/deals", {})
        (scratch / "pipelines.json").write_text(json.dumps(pipelines), encoding="utf-8")
        params: dict[str, Any] = {
            "limit": page_size,
            "properties": ",".join([*DEAL_PROPERTIES, *_stage_history_properties(pipelines)]),
            "associations": "companies",
            "archived": "false",
        }
        pages: list[Path] = []
        after: str | None = None
        cursors_seen: set[str] = set()
        while True:
            page = client.get_json(
                "/crm/v3/objects/deals", {**params, **({"after": after} if after else {})}
            )
            path = scratch / f"page-{len(pages) + 1:04d}.json"
            path.write_text(json.dumps(page), encoding="utf-8")
            pages.append(path)
            after = ((page.get("paging") or {}).get("next") or {}).get("after")
            if not after:
                break
            if after in cursors_seen:
                raise HubSpotError(
                    f"GET {client.base_url}/crm/v3/objects/deals?after={after}",
                    f"pagination loop: cursor {after!r} was already followed",
                )
            cursors_seen.add(after)
        return _swap_in(crm, scratch, pages)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _stage_history_properties(pipelines: dict) -> list[str]:
    """hs_v2_date_entered_<stage> and hs_v2_date_exited_<stage> for every stage id."""
    stages = [
        str(stage.get("id"))
        for pipeline in pipelines["results"]
        if isinstance(pipeline, dict)
        for stage in pipeline.get("stages") or []
        if isinstance(stage, dict) and stage.get("id")
    ]
    return [f"{prefix}{stage}" for stage in stages for prefix in STAGE_HISTORY_PREFIXES]


def _swap_in(crm: Path, scratch: Path, pages: list[Path]) -> list[Path]:
    """Replace the landed pages with the new ones (only after every page arrived)."""
    deals = crm / "deals"
    deals.mkdir(exist_ok=True)
    for old in deals.glob("page-*.json"):
        old.unlink()
    written = []
    for page in pages:
        target = deals / page.name
        os.replace(page, target)
        written.append(target)
    pipelines = crm / "pipelines.json"
    os.replace(scratch / "pipelines.json", pipelines)
    return [pipelines, *written]


URL_ENV = "HUBSPOT_API_URL"


def pull_if_configured(landing: Path, **kwargs: Any) -> list[Path] | None:
    """Pull when the token variable is set (the API address may be moved with
    HUBSPOT_API_URL); otherwise do nothing and return None, so landed files are used."""
    if not os.environ.get(kwargs.get("token_env", TOKEN_ENV)):
        return None
    return pull_deals(landing, base_url=os.environ.get(URL_ENV, API), **kwargs)
