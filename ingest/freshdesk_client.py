"""Live pull of Freshdesk tickets and satisfaction ratings into the landing folder.

Freshdesk API v2 with the API key as the basic-auth user (password `X`), under the project's
one HTTP policy (`ingest.http.ApiClient`: 429 waits for `Retry-After`, 5xx backs off, a time
budget, errors name the request and never the key). Lists are paged with `page=N` and
`per_page=100` until a page comes back shorter than `per_page`.

A pull fetches what changed since `since` (default: the first day of the previous month, so
late replies and ratings of last month's tickets arrive; FRESHDESK_UPDATED_SINCE backfills)
and writes `support/tickets/updated-since-<since>.json` and
`support/satisfaction_ratings/created-since-<since>.json`, each every page joined into one
JSON array, only once both lists are complete. `ingest.freshdesk` parses them like any
landed file; staging keeps each ticket's latest version.

Ticket ids are per helpdesk: a landing of several helpdesks keeps each in a folder of its own,
`support/<helpdesk>/`, and FRESHDESK_HELPDESK names the folder this pull lands in (its
domain, say), so the pull of another account never writes over this one's files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ingest.framework import unfinished
from ingest.http import ApiClient
from ingest.secrets import read_secret

API_KEY_ENV = "FRESHDESK_API_KEY"
DOMAIN_ENV = "FRESHDESK_DOMAIN"  # e.g. yourteam.freshdesk.com
API_URL_ENV = "FRESHDESK_API_URL"  # a full base URL instead of the domain (a proxy, tests)
SINCE_ENV = "FRESHDESK_UPDATED_SINCE"
HELPDESK_ENV = "FRESHDESK_HELPDESK"  # the helpdesk's folder under support/, when several
PER_PAGE = 100
TICKETS = "/api/v2/tickets"
RATINGS = "/api/v2/surveys/satisfaction_ratings"


def previous_month_start(today: date) -> date:
    first = today.replace(day=1)
    return (
        first.replace(year=first.year - 1, month=12)
        if first.month == 1
        else first.replace(month=first.month - 1)
    )


def _all_pages(client: ApiClient, path: str, params: dict[str, Any]) -> list[dict]:
    """Every item of a paged list: pages 1, 2, ... until one is shorter than `per_page`."""
    items: list[dict] = []
    seen_pages: set[tuple] = set()
    page = 1
    while True:
        query = {**params, "per_page": PER_PAGE, "page": page}
        body = client.get_json(path, query)
        if not isinstance(body, list):
            raise client.error(
                client.describe(path, query),
                f"answered with a JSON {type(body).__name__}, expected an array of items: "
                f"{str(body)[:120]!r}",
            )
        ids = tuple(item.get("id") for item in body if isinstance(item, dict))
        if body and ids in seen_pages:
            raise client.error(
                client.describe(path, query),
                f"page {page} repeats an earlier page (ids {ids[:3]}...): the server ignores "
                "`page`; stopped instead of looping",
            )
        seen_pages.add(ids)
        items += body
        if len(body) < PER_PAGE:
            return items
        page += 1


def _write(folder: Path, name: str, items: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    partial = unfinished(target)
    partial.write_text(json.dumps(items, separators=(",", ":")), encoding="utf-8")
    os.replace(partial, target)
    return target


def pull_support(
    landing: Path,
    base_url: str,
    api_key: str,
    since: date,
    *,
    max_seconds: float = 600.0,
    max_retries: int = 5,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    helpdesk: str = "",
) -> list[Path]:
    """Fetch tickets updated and ratings created since `since`; land both or nothing, in
    `support/`, or in `support/<helpdesk>/` for one of several helpdesks."""
    client = ApiClient(
        "Freshdesk",
        base_url,
        auth=(api_key, "X"),
        max_seconds=max_seconds,
        max_retries=max_retries,
        backoff=backoff,
        sleep=sleep,
        clock=clock,
    )
    stamp = f"{since.isoformat()}T00:00:00Z"
    tickets = _all_pages(client, TICKETS, {"updated_since": stamp, "include": "stats"})
    ratings = _all_pages(client, RATINGS, {"created_since": stamp})
    support = landing / "support" / helpdesk
    return [
        _write(support / "tickets", f"updated-since-{since.isoformat()}.json", tickets),
        _write(
            support / "satisfaction_ratings", f"created-since-{since.isoformat()}.json", ratings
        ),
    ]


def pull_if_configured(landing: Path, today: date | None = None, **kwargs) -> list[Path] | None:
    """Pull when FRESHDESK_API_KEY and FRESHDESK_DOMAIN (or FRESHDESK_API_URL) are set;
    otherwise return None."""
    api_key = read_secret(API_KEY_ENV)
    base_url = os.environ.get(API_URL_ENV) or (
        f"https://{os.environ[DOMAIN_ENV]}" if os.environ.get(DOMAIN_ENV) else None
    )
    if not (api_key and base_url):
        return None
    since_text = os.environ.get(SINCE_ENV)
    since = (
        date.fromisoformat(since_text)
        if since_text
        else previous_month_start(today or datetime.now(UTC).date())
    )
    helpdesk = os.environ.get(HELPDESK_ENV, "")
    return pull_support(landing, base_url, api_key, since, helpdesk=helpdesk, **kwargs)
