"""Live pull of HubSpot deals and deal pipelines into the landing folder.

`pull_deals` calls the CRM v3 APIs with a private-app token read from an environment variable
and writes the responses, unchanged, where `ingest.hubspot` reads landed files:
`crm/pipelines.json` (`GET /crm/v3/pipelines/deals`) and `crm/deals/page-NNNN.json`
(`GET /crm/v3/objects/deals?properties=...&associations=companies`, cursor paging with
`paging.next.after`). So a live pull and a landed export go through one parser.

HTTP follows the project's one policy (`ingest.http.ApiClient`): rate limits (429) wait for
`Retry-After`; 5xx and connection errors are retried with exponential backoff; the whole
pull has a time budget. Any failure raises `HubSpotError` naming the request (never the
token) and the status, and leaves the landing folder as it was: pages are written to a
scratch folder and swapped in only when every page arrived.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.framework import PullError
from ingest.http import ApiClient
from ingest.hubspot import DEAL_PROPERTIES, PULL_SCRATCH, STAGE_HISTORY_PREFIXES
from ingest.secrets import read_secret, redact

API = "https://api.hubapi.com"
TOKEN_ENV = "HUBSPOT_PRIVATE_APP_TOKEN"


class HubSpotError(PullError):
    """A HubSpot request that failed; the message names the request and the status."""

    def __init__(self, request: str, problem: str, status: int | None = None):
        super().__init__(f"HubSpot {request}: {problem}", request, status)


class _Client(ApiClient):
    """The project's HTTP policy (ingest.http), failing with HubSpotError."""

    def error(self, request: str, problem: str, status: int | None = None) -> HubSpotError:
        return HubSpotError(redact(request), redact(problem), status)

    def get_page(self, path: str, params: dict[str, Any]) -> dict:
        """A CRM answer: a JSON object with a `results` array."""
        body = self.get_json(path, params)
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise self.error(
                self.describe(path, params), "answered 200 without a 'results' array", 200
            )
        return body


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
        "HubSpot",
        base_url,
        headers={"Authorization": f"Bearer {token}"},
        max_seconds=max_seconds,
        max_retries=max_retries,
        backoff=backoff,
        sleep=sleep,
        clock=clock,
    )
    crm = landing / "crm"
    crm.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=PULL_SCRATCH, dir=crm))
    try:
        pipelines = client.get_page("/crm/v3/pipelines/deals", {})
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
            page = client.get_page(
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
