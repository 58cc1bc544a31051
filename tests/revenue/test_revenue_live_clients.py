"""The live HubSpot and Google Sheets pulls against a local HTTP server on 127.0.0.1.

No mock of requests or google-api-python-client: the real clients talk HTTP to
pytest-httpserver. Retry waits go through an injected `sleep` that records them, so the
tests never sleep.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from werkzeug import Response

from ingest.hubspot import parse_deals_page, parse_pipelines
from ingest.hubspot_client import HubSpotError, pull_deals
from ingest.invoices import parse_sheet_values
from ingest.sheets_client import SheetsError, pull_sheet

TOKEN = "pat-na1-secret-token-123"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "revenue"
DEALS = "/crm/v3/objects/deals"
PIPELINES = "/crm/v3/pipelines/deals"


@pytest.fixture
def tokens(monkeypatch):
    monkeypatch.setenv("HUBSPOT_PRIVATE_APP_TOKEN", TOKEN)
    monkeypatch.setenv("GOOGLE_SHEETS_ACCESS_TOKEN", TOKEN)


class Waits:
    def __init__(self):
        self.slept: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _page(name: str) -> dict:
    return json.loads((FIXTURES / "crm" / "deals" / name).read_text())


def _pipelines() -> dict:
    return json.loads((FIXTURES / "crm" / "pipelines.json").read_text())


def _pull(httpserver, landing: Path, waits: Waits, **kwargs):
    return pull_deals(
        landing,
        base_url=httpserver.url_for("/").rstrip("/"),
        backoff=0.5,
        sleep=waits.sleep,
        clock=waits.clock,
        **kwargs,
    )


# --- HubSpot ---------------------------------------------------------------------------------


def test_hubspot_pull_follows_the_cursor_and_lands_parseable_pages(httpserver, tmp_path, tokens):
    first = _page("page-0001.json")
    first["paging"]["next"]["after"] = "cursor-2"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    httpserver.expect_ordered_request(PIPELINES, headers=auth).respond_with_json(_pipelines())
    httpserver.expect_ordered_request(DEALS, headers=auth).respond_with_json(first)
    httpserver.expect_ordered_request(DEALS, headers=auth).respond_with_json(
        _page("page-0003.json")
    )
    waits = Waits()
    files = _pull(httpserver, tmp_path, waits, page_size=3)
    httpserver.check_assertions()

    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "crm/pipelines.json",
        "crm/deals/page-0001.json",
        "crm/deals/page-0002.json",
    ]
    (_, first_request), (_, second_request) = [
        (r.path, r.args) for r in httpserver.log[1:] for r, _ in [r]
    ]
    assert "after" not in first_request
    assert second_request["after"] == "cursor-2"
    assert second_request["limit"] == "3"
    assert second_request["associations"] == "companies"
    properties = second_request["properties"].split(",")
    assert properties[:3] == ["dealname", "dealstage", "pipeline"]
    # Stage history is asked for every stage of the pipelines file.
    assert "hs_v2_date_entered_closedwon" in properties
    assert "hs_v2_date_exited_1002" in properties
    assert waits.slept == []
    ids = [
        r["deal_id"]
        for f in files[1:]
        for r in parse_deals_page(f).tables["hubspot_deals"].to_pylist()
    ]
    assert ids == ["101", "102", "103", "108", "109"]
    assert len(parse_pipelines(files[0]).tables["hubspot_pipeline_stages"]) == 7


def test_hubspot_pull_honours_retry_after_on_429(httpserver, tmp_path, tokens):
    httpserver.expect_ordered_request(PIPELINES).respond_with_json(_pipelines())
    httpserver.expect_ordered_request(DEALS).respond_with_response(
        Response(
            '{"status":"error","message":"You have reached your ten_secondly_rolling limit."}',
            status=429,
            headers={"Retry-After": "7"},
            content_type="application/json",
        )
    )
    httpserver.expect_ordered_request(DEALS).respond_with_json(_page("page-0003.json"))
    waits = Waits()
    files = _pull(httpserver, tmp_path, waits)
    assert waits.slept == [7.0]
    assert len(files) == 2


def test_hubspot_pull_retries_5xx_with_backoff(httpserver, tmp_path, tokens):
    httpserver.expect_ordered_request(PIPELINES).respond_with_data("busy", status=502)
    httpserver.expect_ordered_request(PIPELINES).respond_with_data("busy", status=503)
    httpserver.expect_ordered_request(PIPELINES).respond_with_json(_pipelines())
    httpserver.expect_ordered_request(DEALS).respond_with_json(_page("page-0003.json"))
    waits = Waits()
    _pull(httpserver, tmp_path, waits)
    # The shared policy (urllib3): the first retry at once, then 0.5 s x 2^(n-1): 1.0 s.
    assert waits.slept == [1.0]
    assert len(httpserver.log) == 4


def test_hubspot_persistent_5xx_fails_naming_request_and_keeps_landed_pages(
    httpserver, tmp_path, tokens
):
    old = tmp_path / "crm" / "deals" / "page-0001.json"
    old.parent.mkdir(parents=True)
    old.write_text('{"results": []}')
    httpserver.expect_request(PIPELINES).respond_with_json(_pipelines())
    httpserver.expect_request(DEALS).respond_with_data("oops", status=500)
    waits = Waits()
    with pytest.raises(HubSpotError) as error:
        _pull(httpserver, tmp_path, waits, max_retries=2)
    message = str(error.value)
    assert error.value.status == 500
    assert message.endswith("answered 500 after retries: oops")
    assert f"GET {httpserver.url_for(DEALS)}?limit=100" in message
    assert TOKEN not in message
    # 1 try + 2 retries of the deals page: at once, then 1.0 s.
    assert len([r for r, _ in httpserver.log if r.path == DEALS]) == 3
    assert waits.slept == [1.0]
    assert old.read_text() == '{"results": []}'
    assert sorted(p.name for p in (tmp_path / "crm").iterdir()) == ["deals"]


def test_hubspot_bad_json_fails_with_request_and_status(httpserver, tmp_path, tokens):
    httpserver.expect_request(PIPELINES).respond_with_data(
        '{"results": [', content_type="application/json"
    )
    with pytest.raises(
        HubSpotError,
        match=r"GET .*/crm/v3/pipelines/deals: answered 200 with a "
        r"body that is not JSON",
    ) as error:
        _pull(httpserver, tmp_path, Waits())
    assert TOKEN not in str(error.value)
    assert not (tmp_path / "crm" / "pipelines.json").exists()


def test_hubspot_401_is_not_retried_and_shows_hubspot_message(httpserver, tmp_path, tokens):
    httpserver.expect_request(PIPELINES).respond_with_json(
        {"status": "error", "message": "Authentication credentials not found."}, status=401
    )
    waits = Waits()
    with pytest.raises(HubSpotError, match="answered 401: Authentication credentials not found"):
        _pull(httpserver, tmp_path, waits)
    assert waits.slept == []
    assert len(httpserver.log) == 1


def test_hubspot_retry_after_beyond_the_time_budget_gives_up(httpserver, tmp_path, tokens):
    httpserver.expect_request(PIPELINES).respond_with_data(
        "", status=429, headers={"Retry-After": "120"}
    )
    waits = Waits()
    with pytest.raises(HubSpotError, match="time budget of 60 s would be exceeded"):
        _pull(httpserver, tmp_path, waits, max_seconds=60)
    assert waits.slept == []


def test_hubspot_pull_without_token_fails_before_any_request(httpserver, tmp_path, monkeypatch):
    monkeypatch.delenv("HUBSPOT_PRIVATE_APP_TOKEN", raising=False)
    with pytest.raises(HubSpotError, match="HUBSPOT_PRIVATE_APP_TOKEN is not set"):
        _pull(httpserver, tmp_path, Waits())
    assert httpserver.log == []


# --- Google Sheets ---------------------------------------------------------------------------

SHEET_PATH = "/v4/spreadsheets/sheet-123/values/Invoices!A1:L"
# What `INVOICES_SPREADSHEET_ID` alone asks for: the whole tab.
DEFAULT_SHEET_PATH = "/v4/spreadsheets/sheet-123/values/Invoices"


def _sheet(httpserver, landing: Path, waits: Waits, **kwargs) -> Path:
    return pull_sheet(
        landing,
        "sheet-123",
        "Invoices!A1:L",
        api_endpoint=httpserver.url_for("/"),
        sleep=waits.sleep,
        clock=waits.clock,
        **kwargs,
    )


def test_sheets_pull_lands_the_values_response(httpserver, tmp_path, tokens):
    body = json.loads((FIXTURES / "invoices" / "sheet-2025.json").read_text())
    httpserver.expect_request(
        SHEET_PATH, headers={"Authorization": f"Bearer {TOKEN}"}
    ).respond_with_json(body)
    path = _sheet(httpserver, tmp_path, Waits())
    assert path == tmp_path / "invoices" / "finance-sheet.json"
    assert json.loads(path.read_text()) == body
    [(request, _)] = httpserver.log
    assert request.args["majorDimension"] == "ROWS"
    lines = parse_sheet_values(path).tables["invoice_lines"].to_pylist()
    assert [r["invoice_number"] for r in lines] == ["INV-101", "INV-102"]


def test_the_invoice_pull_asks_for_numbers_and_dates_unformatted(
    httpserver, tmp_path, tokens, monkeypatch
):
    """A sheet in a German locale formats 3000 as `3.000` and 1234.5 as `1.234,50`, and a date
    as `05.01.2025` (a US one `1/5/2025`): formatted, 3000 would read as 3 and the rest be
    quarantined. Unformatted, the API answers JSON numbers, and date cells as serial days
    since 1899-12-30: 2025-01-01 is 45658 (as in Excel), so 45662 is 2025-01-05 and 45692
    2025-02-04; 45671.75 is 2025-01-14 at 18:00. A date typed as text stays text."""
    from ingest import invoices

    monkeypatch.setenv("INVOICES_SPREADSHEET_ID", "sheet-123")
    monkeypatch.setenv("GOOGLE_SHEETS_API_URL", httpserver.url_for("/"))
    header = [
        "invoice_number", "customer", "hubspot_deal_id", "invoice_date", "due_date", "paid_date",
        "gl_account", "description", "service_period_start", "service_period_end", "amount",
        "currency",
    ]  # fmt: skip
    body = {
        "range": "Invoices!A1:L3",
        "majorDimension": "ROWS",
        "values": [
            header,
            ["INV-1", "Alpha", 101, 45662, 45692, 45671.75, 4222, "Cloud", "", "", 3000, "EUR"],
            ["INV-2", "Alpha", 101, "2025-01-05", "2025-02-04", "", 4224, "Setup", "", "", 1234.5,
             "EUR"],
        ],
    }  # fmt: skip
    httpserver.expect_request(
        DEFAULT_SHEET_PATH,
        query_string={
            "majorDimension": "ROWS",
            "valueRenderOption": "UNFORMATTED_VALUE",
            "dateTimeRenderOption": "SERIAL_NUMBER",
            "alt": "json",
        },
    ).respond_with_json(body)
    path = invoices.pull_if_configured(tmp_path)
    lines = parse_sheet_values(path).tables["invoice_lines"].to_pylist()
    assert [
        (r["hubspot_deal_id"], r["gl_account"], r["amount"], r["invoice_date"], r["due_date"])
        for r in lines
    ] == [
        ("101", "4222", 3000.0, date(2025, 1, 5), date(2025, 2, 4)),
        ("101", "4224", 1234.5, date(2025, 1, 5), date(2025, 2, 4)),
    ]
    assert [r["paid_date"] for r in lines] == [date(2025, 1, 14), None]


def test_the_invoice_pull_keeps_a_credit_note_for_column_after_the_twelve_required(
    httpserver, tmp_path, tokens, monkeypatch
):
    """The optional 13th column, `credit_note_for` (column M), reaches the landed file: the
    pull asked for `Invoices!A1:L` once, which the API cuts at column L, so a credit note it
    marks (CR-7, -250 against INV-7) was quarantined as an unexplained negative line. The
    server below answers a range of columns as Sheets does, only those columns."""
    from ingest import invoices

    monkeypatch.setenv("INVOICES_SPREADSHEET_ID", "sheet-123")
    monkeypatch.setenv("GOOGLE_SHEETS_API_URL", httpserver.url_for("/"))
    monkeypatch.delenv("INVOICES_SHEET_RANGE", raising=False)
    header = [
        "invoice_number", "customer", "hubspot_deal_id", "invoice_date", "due_date", "paid_date",
        "gl_account", "description", "service_period_start", "service_period_end", "amount",
        "currency", "credit_note_for",
    ]  # fmt: skip
    rows = [
        header,
        ["INV-7", "Alpha", 101, "2025-01-05", "2025-02-04", "", 4224, "Setup", "", "", 1000, "USD",
         ""],
        ["CR-7", "Alpha", 101, "2025-01-20", "2025-01-20", "", 4224, "Setup refund", "", "",
         -250, "USD", "INV-7"],
    ]  # fmt: skip

    def values(request):
        asked = request.path.rsplit("/values/", 1)[1]
        columns = len(header)
        if "!" in asked:  # e.g. Invoices!A1:L: the columns up to L
            last = asked.rsplit(":", 1)[1].rstrip("0123456789")
            columns = ord(last) - ord("A") + 1
        body = {"range": asked, "majorDimension": "ROWS", "values": [r[:columns] for r in rows]}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request(
        "/v4/spreadsheets/sheet-123/values/Invoices", method="GET"
    ).respond_with_handler(values)
    httpserver.expect_request(SHEET_PATH, method="GET").respond_with_handler(values)
    parsed = parse_sheet_values(invoices.pull_if_configured(tmp_path))
    lines = parsed.tables["invoice_lines"].to_pylist()
    assert [(r["invoice_number"], r["amount"]) for r in lines] == [
        ("INV-7", 1000.0),
        ("CR-7", -250.0),
    ]
    assert parsed.rejected.num_rows == 0


def test_sheets_429_is_retried_by_the_librarys_own_backoff(httpserver, tmp_path, tokens):
    """google-api-python-client retries with `execute(num_retries=...)`: a random wait of up
    to 2^n seconds before retry n (it does not read Retry-After)."""
    httpserver.expect_ordered_request(SHEET_PATH).respond_with_json(
        {"error": {"code": 429, "message": "Quota exceeded", "status": "RESOURCE_EXHAUSTED"}},
        status=429,
        headers={"Retry-After": "3"},
    )
    httpserver.expect_ordered_request(SHEET_PATH).respond_with_json(
        {"range": "Invoices!A1:L1", "majorDimension": "ROWS", "values": [["invoice_number"]]}
    )
    waits = Waits()
    _sheet(httpserver, tmp_path, waits)
    assert len(httpserver.log) == 2
    [wait] = waits.slept
    assert 0 <= wait <= 2


def test_sheets_5xx_retried_then_fails_naming_request_and_keeps_landed_file(
    httpserver, tmp_path, tokens
):
    landed = tmp_path / "invoices" / "finance-sheet.json"
    landed.parent.mkdir(parents=True)
    landed.write_text('{"range": "old"}')
    httpserver.expect_request(SHEET_PATH).respond_with_json(
        {"error": {"code": 503, "message": "The service is currently unavailable."}}, status=503
    )
    waits = Waits()
    with pytest.raises(SheetsError) as error:
        _sheet(httpserver, tmp_path, waits, max_retries=2)
    message = str(error.value)
    assert error.value.status == 503
    assert "answered 503 after 3 attempts" in message
    assert "GET http://127.0.0.1:" in message and "/v4/spreadsheets/sheet-123/values/" in message
    assert TOKEN not in message
    assert len(httpserver.log) == 3
    # Before retry 1 up to 2 s, before retry 2 up to 4 s.
    assert len(waits.slept) == 2
    assert 0 <= waits.slept[0] <= 2 and 0 <= waits.slept[1] <= 4
    assert landed.read_text() == '{"range": "old"}'


def test_sheets_retry_past_the_time_budget_gives_up_without_waiting(httpserver, tmp_path, tokens):
    waits = Waits()

    def slow_503(request):
        waits.now += 90  # the answer took 90 s of a 60 s budget
        return Response('{"error": {"code": 503}}', status=503, content_type="application/json")

    httpserver.expect_request(SHEET_PATH).respond_with_handler(slow_503)
    with pytest.raises(SheetsError, match="the time budget of 60 s would be exceeded"):
        _sheet(httpserver, tmp_path, waits, max_seconds=60)
    assert waits.slept == []
    assert len(httpserver.log) == 1


def test_sheets_bad_json_fails_with_the_request(httpserver, tmp_path, tokens):
    httpserver.expect_request(SHEET_PATH).respond_with_data(
        '{"range": "Invoices!A1', content_type="application/json"
    )
    with pytest.raises(SheetsError, match="body that is not JSON") as error:
        _sheet(httpserver, tmp_path, Waits())
    assert "/v4/spreadsheets/sheet-123/values/" in str(error.value)
    assert not (tmp_path / "invoices" / "finance-sheet.json").exists()


def test_sheets_403_is_not_retried(httpserver, tmp_path, tokens):
    httpserver.expect_request(SHEET_PATH).respond_with_json(
        {
            "error": {
                "code": 403,
                "message": "The caller does not have permission",
                "status": "PERMISSION_DENIED",
            }
        },
        status=403,
    )
    waits = Waits()
    with pytest.raises(SheetsError, match="answered 403: The caller does not have permission"):
        _sheet(httpserver, tmp_path, waits)
    assert waits.slept == []


# --- configured from the environment ---------------------------------------------------------


def test_pulls_run_only_when_configured(httpserver, tmp_path, monkeypatch):
    from ingest import hubspot_client, sheets_client

    for name in (
        "HUBSPOT_PRIVATE_APP_TOKEN",
        "GOOGLE_SHEETS_ACCESS_TOKEN",
        "INVOICES_SPREADSHEET_ID",
    ):
        monkeypatch.delenv(name, raising=False)
    assert hubspot_client.pull_if_configured(tmp_path) is None
    assert sheets_client.pull_if_configured(tmp_path) is None
    assert httpserver.log == []

    monkeypatch.setenv("HUBSPOT_PRIVATE_APP_TOKEN", TOKEN)
    monkeypatch.setenv("HUBSPOT_API_URL", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("GOOGLE_SHEETS_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("INVOICES_SPREADSHEET_ID", "sheet-123")
    monkeypatch.setenv("GOOGLE_SHEETS_API_URL", httpserver.url_for("/"))
    httpserver.expect_request(PIPELINES).respond_with_json(_pipelines())
    httpserver.expect_request(DEALS).respond_with_json(_page("page-0003.json"))
    httpserver.expect_request(DEFAULT_SHEET_PATH).respond_with_json(
        {"range": "Invoices!A1:L1", "majorDimension": "ROWS", "values": [["invoice_number"]]}
    )
    assert len(hubspot_client.pull_if_configured(tmp_path)) == 2
    assert sheets_client.pull_if_configured(tmp_path) == (
        tmp_path / "invoices" / "finance-sheet.json"
    )


# --- Faults a real API shows (issue 5) ---------------------------------------------------------


def test_hubspot_pagination_loop_is_detected_not_followed_forever(httpserver, tmp_path, tokens):
    """A server that hands back a cursor it already gave must not keep the pull running."""
    httpserver.expect_request(PIPELINES).respond_with_json(_pipelines())
    looping = {**_page("page-0001.json"), "paging": {"next": {"after": "abc"}}}
    httpserver.expect_request(DEALS).respond_with_json(looping)
    with pytest.raises(HubSpotError) as failure:
        _pull(httpserver, tmp_path, Waits())
    assert "pagination loop: cursor 'abc' was already followed" in str(failure.value)
    assert failure.value.request.endswith("/crm/v3/objects/deals?after=abc")
    assert not (tmp_path / "crm" / "deals").exists(), "nothing landed"


def test_hubspot_truncated_body_fails_naming_request_and_status(httpserver, tmp_path, tokens):
    httpserver.expect_request(PIPELINES).respond_with_json(_pipelines())
    cut = json.dumps(_page("page-0001.json"))[:200]
    httpserver.expect_request(DEALS).respond_with_data(cut, content_type="application/json")
    with pytest.raises(HubSpotError) as failure:
        _pull(httpserver, tmp_path, Waits())
    assert "answered 200 with a body that is not JSON" in str(failure.value)
    assert failure.value.status == 200


def test_hubspot_server_that_never_answers_times_out_within_the_budget(
    httpserver, tmp_path, tokens
):
    """A hanging server costs one request timeout, then the pull's time budget stops it."""
    import time

    def hang(request):
        time.sleep(1.0)
        return Response("{}", content_type="application/json")

    httpserver.expect_request(PIPELINES).respond_with_handler(hang)
    with pytest.raises(HubSpotError) as failure:
        pull_deals(
            tmp_path, base_url=httpserver.url_for("/").rstrip("/"), max_seconds=0.3, backoff=0.05
        )
    assert str(failure.value).endswith(
        "/crm/v3/pipelines/deals: connection failed (ReadTimeoutError); a retry would wait "
        "0 s; giving up: the pull's time budget of 0.3 s would be exceeded"
    )
