"""The one HTTP policy of every live client, against a real local server on 127.0.0.1.

Waits go through an injected sleep that records them, so no test sleeps; the server counts
the requests it answered, so each retry is seen on the wire.
"""

from __future__ import annotations

import json
import socket

import pytest
from werkzeug import Request, Response

from ingest.framework import PullError
from ingest.http import ApiClient
from ingest.secrets import MASK

TOKEN = "pm-test-token-5f1c9a"


class Waits:
    def __init__(self):
        self.slept: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def client(httpserver, waits: Waits, **kwargs) -> ApiClient:
    return ApiClient(
        "Example",
        httpserver.url_for("/"),
        headers={"Authorization": f"Bearer {TOKEN}"},
        sleep=waits.sleep,
        clock=waits.clock,
        **{"backoff": 0.5, "max_retries": 3, **kwargs},
    )


def test_429_waits_for_retry_after_then_succeeds(httpserver):
    waits = Waits()
    httpserver.expect_ordered_request("/items").respond_with_response(
        Response("slow down", status=429, headers={"Retry-After": "7"})
    )
    httpserver.expect_ordered_request("/items").respond_with_json({"items": [1, 2]})
    assert client(httpserver, waits).get_json("/items") == {"items": [1, 2]}
    assert waits.slept == [7.0]
    assert len(httpserver.log) == 2


def test_5xx_is_retried_with_exponential_backoff_then_named_with_its_status(httpserver):
    waits = Waits()
    httpserver.expect_request("/items").respond_with_data("down", status=503)
    with pytest.raises(PullError) as failure:
        client(httpserver, waits).get("/items", {"page": 2})
    # 1 try + 3 retries; urllib3 backs off 0.5 * 2**(n-1) from the second retry on: 0, 1, 2.
    assert len(httpserver.log) == 4
    assert waits.slept == [1.0, 2.0]
    assert failure.value.status == 503
    assert str(failure.value) == (
        f"Example GET {httpserver.url_for('/items')}?page=2: answered 503 after retries: down"
    )


def test_a_wait_past_the_time_budget_fails_at_once(httpserver):
    waits = Waits()
    httpserver.expect_request("/items").respond_with_response(
        Response("", status=429, headers={"Retry-After": "120"})
    )
    with pytest.raises(PullError, match="time budget of 60 s would be exceeded"):
        client(httpserver, waits, max_seconds=60).get("/items")
    assert waits.slept == []
    assert len(httpserver.log) == 1


def test_a_refused_connection_is_retried_then_named():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    waits = Waits()
    api = ApiClient("Example", f"http://127.0.0.1:{port}", sleep=waits.sleep, clock=waits.clock)
    with pytest.raises(PullError, match=r"GET http://127.0.0.1:\d+/items: connection failed"):
        api.get("/items")
    assert len(waits.slept) == 4  # 5 retries; the first comes at once


def test_an_html_page_instead_of_json_is_an_error(httpserver):
    httpserver.expect_request("/items").respond_with_data(
        "<html>Maintenance</html>", content_type="text/html"
    )
    with pytest.raises(PullError, match="answered 200 with a body that is not JSON"):
        client(httpserver, Waits()).get_json("/items")


def test_a_server_that_echoes_the_authorization_header_does_not_leak_the_token(httpserver):
    def echo(request: Request) -> Response:
        body = {"message": f"invalid credentials: {request.headers['Authorization']}"}
        return Response(json.dumps(body), status=401, content_type="application/json")

    httpserver.expect_request("/items").respond_with_handler(echo)
    with pytest.raises(PullError) as failure:
        client(httpserver, Waits()).get("/items", {"api_key": TOKEN, "limit": 10})
    message = str(failure.value)
    assert TOKEN not in message and TOKEN not in failure.value.request
    assert f"invalid credentials: Bearer {MASK}" in message
    assert failure.value.request == f"GET {httpserver.url_for('/items')}?limit=10"


def test_basic_auth_as_its_header_carries_it_is_redacted_too(httpserver):
    def echo(request: Request) -> Response:
        return Response(f"bad header {request.headers['Authorization']}", status=403)

    httpserver.expect_request("/items").respond_with_handler(echo)
    api = ApiClient("Example", httpserver.url_for("/"), auth=(TOKEN, "X"))
    with pytest.raises(PullError) as failure:
        api.get("/items")
    assert str(failure.value).endswith(f"answered 403: bad header Basic {MASK}")
