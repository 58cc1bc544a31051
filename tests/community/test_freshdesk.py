"""Freshdesk: the ticket and rating parsers, and the live pull against a local server.

The pull talks HTTP to pytest-httpserver on 127.0.0.1 (no mock of requests); waits go
through an injected sleep that records them, so no test sleeps.
"""

from __future__ import annotations

import base64
import json
from datetime import date
from pathlib import Path

import duckdb
import pytest
from werkzeug import Response

from ingest.framework import RAW_SCHEMA, ParseError, PullError, load_source
from ingest.freshdesk import SOURCE, parse_support_file
from ingest.freshdesk_client import PER_PAGE, previous_month_start, pull_if_configured, pull_support
from warehouse.paths import restricted_path

API_KEY = "fd-api-key-3b9c1e77"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "community" / "support"
SHAPES = FIXTURES.parent / "shapes"


class Waits:
    def __init__(self):
        self.slept: list[float] = []
        self.now = 0.0

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def ticket(number: int) -> dict:
    return {
        "id": number,
        "company_id": 1001,
        "status": 4,
        "priority": 1,
        "subject": "secret subject",
        "created_at": "2024-03-01T10:00:00Z",
        "updated_at": "2024-03-02T10:00:00Z",
        "stats": {"first_responded_at": "2024-03-01T11:00:00Z", "resolved_at": None},
    }


def rating(number: int, ticket_id: int, value: int) -> dict:
    return {
        "id": number,
        "ticket_id": ticket_id,
        "survey_id": 7,
        "ratings": {"default_question": value},
        "feedback": "",
        "created_at": "2024-03-03T09:00:00Z",
        "updated_at": "2024-03-03T09:00:00Z",
    }


def write(tmp_path: Path, folder: str, body: object | str) -> Path:
    path = tmp_path / "support" / folder / "page.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


# --- parsers ---------------------------------------------------------------------------------


def test_tickets_keep_times_and_company_not_subjects():
    parsed = parse_support_file(FIXTURES / "tickets" / "updated-since-2024-02-01.json")
    [row] = parsed.tables["freshdesk_tickets"].to_pylist()
    assert (row["ticket_id"], row["company_id"], row["status"]) == (3, "1001", 4)
    assert row["resolved_at"].isoformat() == "2024-02-03T20:00:00+00:00"
    assert "subject" not in row and "requester_id" not in row


def test_rating_feedback_goes_to_the_restricted_table_only():
    parsed = parse_support_file(FIXTURES / "satisfaction_ratings" / "created-since-2024-01-01.json")
    ratings = parsed.tables["freshdesk_satisfaction_ratings"].to_pylist()
    assert [(r["rating_id"], r["ticket_id"], r["rating"]) for r in ratings] == [
        (9001, 1, 103),
        (9002, 2, 100),
        (9003, 4, -102),
        (9004, 3, 101),
        (9005, 999, 103),
    ]
    assert all("feedback" not in r for r in ratings)
    assert parsed.tables["freshdesk_rating_feedback"].to_pylist() == [
        {"helpdesk": "", "rating_id": 9001,
         "feedback": "Thanks Dana! Reach me at ada@alpha.example.org", "_record": "[0]"},
        {"helpdesk": "", "rating_id": 9003, "feedback": "Too slow, I am Eve Example",
         "_record": "[2]"},
    ]  # fmt: skip
    # The quarantined rating is recorded without its feedback.
    [rejected] = parsed.rejected.to_pylist()
    assert "odd scale" not in rejected["raw"]


def test_an_html_error_page_fails_saying_so(tmp_path):
    path = write(
        tmp_path,
        "tickets",
        "<!DOCTYPE html>\n<html><head><title>Freshdesk | Maintenance</title></head></html>",
    )
    with pytest.raises(ParseError, match=r"an HTML page .*Maintenance"):
        parse_support_file(path)


def test_an_api_error_object_fails_with_its_message(tmp_path):
    path = write(
        tmp_path,
        "tickets",
        {
            "code": "invalid_credentials",
            "message": "You have to be logged in to perform this action.",
        },
    )
    with pytest.raises(ParseError, match="invalid_credentials You have to be logged in"):
        parse_support_file(path)


def test_a_search_response_fails_saying_to_land_the_list_endpoint():
    """The search API's {total, results} (tests/fixtures/community/shapes) has no stats."""
    with pytest.raises(ParseError) as failure:
        parse_support_file(SHAPES / "freshdesk-search-tickets.json")
    assert failure.value.problem == (
        "not a Freshdesk tickets page: a search response ('total', 'results'), which has no "
        "stats; land the pages of the list endpoint (GET /api/v2/tickets?include=stats)"
    )


def test_bad_ticket_values_are_quarantined_with_reasons(tmp_path):
    bad_time = ticket(2) | {"created_at": "yesterday"}
    resolved_early = ticket(3) | {
        "stats": {"first_responded_at": None, "resolved_at": "2024-02-01T00:00:00Z"}
    }
    path = write(tmp_path, "tickets", [ticket(1), bad_time, resolved_early, {"id": None}])
    parsed = parse_support_file(path)
    assert [r["ticket_id"] for r in parsed.tables["freshdesk_tickets"].to_pylist()] == [1]
    assert {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()} == {
        "[1]": "created_at is not an ISO timestamp: yesterday",
        "[2]": "resolved_at 2024-02-01T00:00:00Z is before created_at 2024-03-01T10:00:00Z",
        "[3]": "id is empty; created_at is empty; stats is missing (pulled without "
        "include=stats?): its first response and resolution times are unknown",
    }


def test_a_ticket_listed_without_stats_is_quarantined_not_read_as_never_answered(tmp_path):
    """A list asked without include=stats (ticket 84 of a recorded response, closed, in
    tests/fixtures/community/shapes/README.md) has no `stats`: its first response and
    resolution are unknown, not absent, and must not replace a copy that had them."""
    parsed = parse_support_file(SHAPES / "freshdesk-tickets-without-stats.json")
    assert parsed.tables["freshdesk_tickets"].num_rows == 0
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        (
            "[0]",
            "stats is missing (pulled without include=stats?): its first response and "
            "resolution times are unknown",
        )
    ]
    # `"stats": null` says no more.
    parsed = parse_support_file(write(tmp_path, "tickets", [ticket(1) | {"stats": None}]))
    assert [r["reason"] for r in parsed.rejected.to_pylist()] == [
        "stats is null (pulled without include=stats?): its first response and resolution "
        "times are unknown"
    ]


def test_two_helpdesks_keep_their_own_ticket_and_rating_ids(tmp_path):
    """The nonprofit's helpdesk landed in support/ as before, the partner network's in
    support/partners.freshdesk.com/: both number tickets from 1, and each has a rating 9001.
    Every row says its helpdesk ('' for support/ itself), so none is a duplicate of the
    other's and staging keys them by (helpdesk, id)."""
    network = "partners.freshdesk.com"
    files = {
        "support/tickets/page.json": [ticket(1)],
        "support/satisfaction_ratings/page.json": [rating(9001, 1, 103)],
        f"support/{network}/tickets/page.json": [
            ticket(1) | {"company_id": 2001},
            ticket(2) | {"company_id": 2001},
        ],
        f"support/{network}/satisfaction_ratings/page.json": [rating(9001, 1, -103)],
    }
    for relative, body in files.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(json.dumps(body), encoding="utf-8")
    with duckdb.connect() as con:
        report = load_source(con, SOURCE, tmp_path)
        assert sorted((f.file, f.status, f.rows_loaded) for f in report.files) == sorted(
            (relative, "loaded", len(body)) for relative, body in files.items()
        )
        assert con.execute(
            f"select helpdesk, ticket_id, company_id from {RAW_SCHEMA}.freshdesk_tickets "
            "order by all"
        ).fetchall() == [("", 1, "1001"), (network, 1, "2001"), (network, 2, "2001")]
        assert con.execute(
            f"select helpdesk, rating_id, ticket_id, rating "
            f"from {RAW_SCHEMA}.freshdesk_satisfaction_ratings order by all"
        ).fetchall() == [("", 9001, 1, 103), (network, 9001, 1, -103)]
        assert con.execute(f"select count(*) from {RAW_SCHEMA}._quarantine").fetchall() == [(0,)]


def land(landing: Path, files: dict[str, list[dict]]) -> None:
    for relative, body in files.items():
        (landing / relative).parent.mkdir(parents=True, exist_ok=True)
        (landing / relative).write_text(json.dumps(body), encoding="utf-8")


def test_each_helpdesks_feedback_joins_its_own_rating(tmp_path):
    """Both helpdesks have a rating 1, with different feedback. The feedback, kept apart in
    the restricted database, says its helpdesk as the rating does, so joined on (helpdesk,
    rating_id) each rating gets its own feedback; on rating_id alone each would get both."""
    network = "partners.freshdesk.com"
    landing = tmp_path / "landing"
    land(
        landing,
        {
            "support/satisfaction_ratings/page.json": [
                rating(1, 1, 103) | {"feedback": "Quick and kind"}
            ],
            f"support/{network}/satisfaction_ratings/page.json": [
                rating(1, 1, -103) | {"feedback": "Nobody answered"}
            ],
        },
    )
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        load_source(con, SOURCE, landing)
        con.execute(f"attach '{restricted_path(warehouse)}' as restricted (read_only)")
        assert con.execute(
            "select r.helpdesk, r.rating_id, r.rating, f.feedback "
            f"from {RAW_SCHEMA}.freshdesk_satisfaction_ratings as r "
            "inner join restricted.freshdesk_rating_feedback as f "
            "on r.helpdesk = f.helpdesk and r.rating_id = f.rating_id order by all"
        ).fetchall() == [("", 1, 103, "Quick and kind"), (network, 1, -103, "Nobody answered")]


def test_a_feedback_table_from_before_helpdesks_gains_the_column_and_new_rows(tmp_path):
    """A restricted database written before feedback carried its helpdesk: the next load adds
    the column and replaces the file's rows, rather than failing to insert them."""
    landing = tmp_path / "landing"
    land(
        landing,
        {"support/satisfaction_ratings/page.json": [rating(1, 1, 103) | {"feedback": "Quick"}]},
    )
    warehouse = tmp_path / "w.duckdb"
    with duckdb.connect(str(restricted_path(warehouse))) as old:
        old.execute(
            "create table freshdesk_rating_feedback (rating_id bigint, feedback varchar, "
            "_record varchar, _file varchar, _loaded_at timestamptz)"
        )
        old.execute(
            "insert into freshdesk_rating_feedback values "
            "(1, 'Quick', '[0]', 'support/satisfaction_ratings/page.json', now())"
        )
    with duckdb.connect(str(warehouse)) as con:
        load_source(con, SOURCE, landing)
    with duckdb.connect(str(restricted_path(warehouse)), read_only=True) as con:
        assert con.execute(
            "select helpdesk, rating_id, feedback, _file from freshdesk_rating_feedback"
        ).fetchall() == [("", 1, "Quick", "support/satisfaction_ratings/page.json")]


# --- live pull -------------------------------------------------------------------------------


def _pull(httpserver, tmp_path: Path, waits: Waits, **kwargs) -> list[Path]:
    return pull_support(
        tmp_path,
        httpserver.url_for("/").rstrip("/"),
        API_KEY,
        date(2024, 3, 1),
        backoff=0.5,
        sleep=waits.sleep,
        clock=waits.clock,
        **kwargs,
    )


def test_pull_pages_until_a_short_page_with_the_key_as_basic_auth_user(httpserver, tmp_path):
    """Two full pages of 100 and a short one of 3: 203 tickets, four requests in all."""
    auth = "Basic " + base64.b64encode(f"{API_KEY}:X".encode()).decode()
    for page, count in ((1, PER_PAGE), (2, PER_PAGE), (3, 3)):
        first = (page - 1) * PER_PAGE
        httpserver.expect_ordered_request(
            "/api/v2/tickets",
            query_string={
                "updated_since": "2024-03-01T00:00:00Z",
                "include": "stats",
                "per_page": "100",
                "page": str(page),
            },
            headers={"Authorization": auth},
        ).respond_with_json([ticket(first + i + 1) for i in range(count)])
    httpserver.expect_ordered_request(
        "/api/v2/surveys/satisfaction_ratings",
        query_string={"created_since": "2024-03-01T00:00:00Z", "per_page": "100", "page": "1"},
    ).respond_with_json([])
    tickets, ratings = _pull(httpserver, tmp_path, Waits())
    assert tickets == tmp_path / "support" / "tickets" / "updated-since-2024-03-01.json"
    assert ratings.name == "created-since-2024-03-01.json"
    assert len(httpserver.log) == 4
    parsed = parse_support_file(tickets).tables["freshdesk_tickets"]
    assert parsed.column("ticket_id").to_pylist() == list(range(1, 204))
    assert json.loads(ratings.read_text()) == []


def test_pull_waits_for_retry_after_on_429(httpserver, tmp_path):
    httpserver.expect_ordered_request("/api/v2/tickets").respond_with_response(
        Response(
            json.dumps({"code": "rate_limit", "message": "Rate limit exceeded"}),
            status=429,
            headers={"Retry-After": "12", "Content-Type": "application/json"},
        )
    )
    httpserver.expect_ordered_request("/api/v2/tickets").respond_with_json([ticket(1)])
    httpserver.expect_ordered_request("/api/v2/surveys/satisfaction_ratings").respond_with_json([])
    waits = Waits()
    _pull(httpserver, tmp_path, waits)
    assert waits.slept == [12.0]


def test_an_html_page_from_the_api_fails_naming_the_request_and_lands_nothing(httpserver, tmp_path):
    landed = tmp_path / "support" / "tickets" / "updated-since-2024-03-01.json"
    landed.parent.mkdir(parents=True)
    landed.write_text("[]")
    httpserver.expect_request("/api/v2/tickets").respond_with_data(
        "<html><body>Account suspended</body></html>", content_type="text/html"
    )
    with pytest.raises(PullError) as failure:
        _pull(httpserver, tmp_path, Waits())
    message = str(failure.value)
    assert "Freshdesk GET http://127.0.0.1:" in message and "/api/v2/tickets?" in message
    assert "page=1" in message and "not JSON" in message and "Account suspended" in message
    assert API_KEY not in message
    assert landed.read_text() == "[]"
    assert not (tmp_path / "support" / "satisfaction_ratings").exists()


def test_a_failure_in_the_ratings_lands_no_tickets_either(httpserver, tmp_path):
    httpserver.expect_request("/api/v2/tickets").respond_with_json([ticket(1)])
    httpserver.expect_request("/api/v2/surveys/satisfaction_ratings").respond_with_json(
        {"code": "access_denied", "message": "You are not authorized to perform this action."},
        status=403,
    )
    with pytest.raises(PullError, match="answered 403: You are not authorized") as failure:
        _pull(httpserver, tmp_path, Waits())
    assert failure.value.status == 403
    assert not (tmp_path / "support").exists()


def test_a_server_that_ignores_page_is_stopped(httpserver, tmp_path):
    httpserver.expect_request("/api/v2/tickets").respond_with_json(
        [ticket(i) for i in range(1, PER_PAGE + 1)]
    )
    with pytest.raises(PullError, match="page 2 repeats an earlier page"):
        _pull(httpserver, tmp_path, Waits())


def test_pull_runs_only_when_configured_and_defaults_to_last_month(
    httpserver, tmp_path, monkeypatch
):
    for name in ("FRESHDESK_API_KEY", "FRESHDESK_DOMAIN", "FRESHDESK_API_URL"):
        monkeypatch.delenv(name, raising=False)
    assert pull_if_configured(tmp_path) is None
    monkeypatch.setenv("FRESHDESK_API_KEY", API_KEY)
    monkeypatch.setenv("FRESHDESK_API_URL", httpserver.url_for("/").rstrip("/"))
    httpserver.expect_request(
        "/api/v2/tickets", query_string={"updated_since": "2024-12-01T00:00:00Z",
                                         "include": "stats", "per_page": "100", "page": "1"}
    ).respond_with_json([])  # fmt: skip
    httpserver.expect_request("/api/v2/surveys/satisfaction_ratings").respond_with_json([])
    paths = pull_if_configured(tmp_path, today=date(2025, 1, 15))
    assert [p.name for p in paths] == [
        "updated-since-2024-12-01.json",
        "created-since-2024-12-01.json",
    ]
    assert previous_month_start(date(2025, 3, 31)) == date(2025, 2, 1)


def test_the_pull_of_one_of_several_helpdesks_lands_in_its_own_folder(
    httpserver, tmp_path, monkeypatch
):
    """FRESHDESK_HELPDESK names the helpdesk's folder under support/: the partner network's
    pull lands there, and the pull of the other helpdesk for the same days, in support/, stays
    as it was rather than being written over by tickets whose ids it shares."""
    landed = tmp_path / "support" / "tickets" / "updated-since-2024-12-01.json"
    landed.parent.mkdir(parents=True)
    landed.write_text(json.dumps([ticket(1)]))
    monkeypatch.setenv("FRESHDESK_API_KEY", API_KEY)
    monkeypatch.setenv("FRESHDESK_API_URL", httpserver.url_for("/").rstrip("/"))
    monkeypatch.setenv("FRESHDESK_HELPDESK", "partners.freshdesk.com")
    httpserver.expect_request("/api/v2/tickets").respond_with_json(
        [ticket(1) | {"company_id": 2001}]
    )
    httpserver.expect_request("/api/v2/surveys/satisfaction_ratings").respond_with_json([])
    tickets, ratings = pull_if_configured(tmp_path, today=date(2025, 1, 15))
    folder = tmp_path / "support" / "partners.freshdesk.com"
    assert tickets == folder / "tickets" / "updated-since-2024-12-01.json"
    assert ratings == folder / "satisfaction_ratings" / "created-since-2024-12-01.json"
    assert json.loads(landed.read_text()) == [ticket(1)]
    [row] = parse_support_file(tickets).tables["freshdesk_tickets"].to_pylist()
    assert (row["helpdesk"], row["ticket_id"], row["company_id"]) == (
        "partners.freshdesk.com",
        1,
        "2001",
    )
