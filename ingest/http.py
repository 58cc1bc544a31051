"""One HTTP policy for every live API client: retries, `Retry-After`, backoff, a time budget.

HubSpot, Grafana, Freshdesk and any later JSON API make their client with `ApiClient`:

- urllib3's `Retry` retries 429 (waiting as long as `Retry-After` asks), 5xx and connection
  errors with exponential backoff;
- the pull has a time budget: a wait that would end past it is not slept, the pull fails at
  once, and every request's timeout is cut to what is left;
- any failure is a `PullError` naming the service, the request (without secrets) and the
  HTTP status, with the server's own message, redacted of every secret the process holds.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ingest.framework import PullError
from ingest.secrets import redact, remember

RETRY_STATUSES = (429, 500, 502, 503, 504)
REQUEST_TIMEOUT_SECONDS = 30.0
# Query parameters that carry credentials in some APIs; never shown in a request description.
SECRET_PARAMS = frozenset({"key", "api_key", "access_token", "token"})


class TimeBudgetExceededError(Exception):
    """A retry would wait past the pull's deadline."""

    def __init__(self, wait: float, cause: str | None = None):
        why = f"{cause}; " if cause else ""
        super().__init__(f"{why}a retry would wait {wait:g} s")
        self.wait = wait


class BudgetRetry(Retry):
    """urllib3's `Retry` that refuses to sleep past a deadline on its clock.

    `clock` and `sleeper` are `time.monotonic` and `time.sleep` except in tests, which record
    the waits instead of sleeping them.
    """

    deadline: float = float("inf")
    clock: Callable[[], float] = staticmethod(time.monotonic)
    sleeper: Callable[[float], None] = staticmethod(time.sleep)

    def new(self, **kw: Any) -> BudgetRetry:
        retry = super().new(**kw)
        retry.deadline, retry.clock, retry.sleeper = self.deadline, self.clock, self.sleeper
        return retry

    def sleep(self, response: Any = None) -> None:
        wait = None
        if self.respect_retry_after_header and response is not None:
            wait = self.get_retry_after(response)
        if wait is None:
            wait = self.get_backoff_time()
        if self.clock() + wait > self.deadline:
            raise TimeBudgetExceededError(wait, self._last_failure())
        if wait > 0:
            self.sleeper(wait)

    def _last_failure(self) -> str | None:
        """What the attempt being retried ran into, as errors name it."""
        if not self.history:
            return None
        last = self.history[-1]
        if last.error is not None:
            return f"connection failed ({type(last.error).__name__})"
        return f"answered {last.status}" if last.status else None


class ApiClient:
    """A requests session under the project's HTTP policy, for one service and base URL."""

    def __init__(
        self,
        service: str,
        base_url: str,
        *,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        max_seconds: float = 600.0,
        max_retries: int = 5,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.max_seconds = max_seconds
        self.clock = clock
        self.deadline = clock() + max_seconds
        retry = BudgetRetry(
            total=max_retries,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET", "POST"}),
            backoff_factor=backoff,
            respect_retry_after_header=True,
            raise_on_status=False,  # the last answer is reported with its status
        )
        retry.deadline, retry.clock, retry.sleeper = self.deadline, clock, sleep
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))
        self.session.headers.update({"Accept": "application/json", **(headers or {})})
        for value in (headers or {}).values():
            remember(value.split(" ", 1)[-1])  # "Bearer <token>" -> the token
        if auth is not None:
            self.session.auth = auth
            remember(auth[0])
            remember(f"{auth[0]}:{auth[1]}")

    def describe(self, path: str, params: Mapping[str, Any] | None = None) -> str:
        """`GET <url>?<params>` as errors name it: no credential parameters, no secrets."""
        shown = {k: v for k, v in (params or {}).items() if k not in SECRET_PARAMS}
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        return redact(f"GET {url}" + (f"?{urlencode(shown)}" if shown else ""))

    def error(self, request: str, problem: str, status: int | None = None) -> PullError:
        return PullError(redact(f"{self.service} {request}: {problem}"), request, status)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> requests.Response:
        """GET `path` (relative to the base URL, or absolute) and return a 2xx answer."""
        request = self.describe(path, params)
        url = path if path.startswith(("http://", "https://")) else f"{self.base_url}{path}"
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            raise self.error(request, f"time budget of {self.max_seconds:g} s exhausted")
        try:
            response = self.session.get(
                url, params=params, timeout=min(REQUEST_TIMEOUT_SECONDS, remaining)
            )
        except TimeBudgetExceededError as error:
            raise self.error(
                request,
                f"{error}; giving up: the pull's time budget of {self.max_seconds:g} s "
                "would be exceeded",
            ) from None
        except requests.RequestException as error:
            raise self.error(request, f"connection failed ({type(error).__name__})") from None
        if not 200 <= response.status_code < 300:
            retried = " after retries" if response.status_code in RETRY_STATUSES else ""
            raise self.error(
                request,
                f"answered {response.status_code}{retried}{_server_message(response)}",
                response.status_code,
            )
        return response

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET and decode JSON; a 2xx body that is not JSON (an HTML error page) is an error."""
        response = self.get(path, params)
        try:
            return response.json()
        except ValueError:
            raise self.error(
                self.describe(path, params),
                f"answered {response.status_code} with a body that is not JSON: "
                f"{response.text[:120]!r}",
                response.status_code,
            ) from None


def _server_message(response: requests.Response) -> str:
    """The server's own words about the failure (a JSON `message`/`error`, or the body's
    start), so a person sees why; secrets are redacted by the caller."""
    try:
        body = response.json()
    except ValueError:
        text = response.text.strip()
        return f": {text[:200]}" if text else ""
    if isinstance(body, Mapping):
        for key in ("message", "error", "description"):
            if isinstance(body.get(key), str) and body[key]:
                return f": {body[key]}"
    return f": {str(body)[:200]}"


class TimeBudget:
    """A pull's deadline, for a client library that retries by itself: its backoff waits go
    through `sleep`, which refuses a wait that would end past the deadline."""

    def __init__(
        self,
        max_seconds: float,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_seconds = max_seconds
        self.deadline = clock() + max_seconds
        self._sleep, self._clock = sleep, clock

    def remaining(self) -> float:
        return self.deadline - self._clock()

    def sleep(self, seconds: float) -> None:
        if seconds > self.remaining():
            raise TimeBudgetExceededError(seconds)
        self._sleep(seconds)


def execute_google(request: Any, budget: TimeBudget, num_retries: int) -> Any:
    """Run a google-api-python-client request with the library's own documented retry,
    `execute(num_retries=...)` (429, 5xx and connection errors, exponential backoff with
    jitter), its waits bounded by `budget`. The client sleeps through the request's `_sleep`
    attribute (the hook its own test suite uses); it does not read `Retry-After`."""
    if budget.remaining() <= 0:
        raise TimeBudgetExceededError(0)
    request._sleep = budget.sleep
    return request.execute(num_retries=num_retries)
