"""Support tickets and their satisfaction ratings from Freshdesk (API v2).

Landing layout (`<landing>/support/`), for one helpdesk as below, or for each of several
helpdesks (Freshdesk accounts, `<domain>.freshdesk.com`) the same two folders under a folder
of its own, `support/<helpdesk>/tickets/` and `support/<helpdesk>/satisfaction_ratings/`:

- `tickets/*.json`: tickets as `GET /api/v2/tickets?updated_since=...&include=stats
  &per_page=100&page=N` returns them, a JSON array (one page, or every page of a pull joined):
  `id`, `company_id`, `created_at`, `updated_at`, `status` (2 open, 3 pending, 4 resolved,
  5 closed, higher for custom statuses), `priority` (1 low .. 4 urgent), and with
  `include=stats` the `stats` object (`first_responded_at`, `resolved_at`, `closed_at`).
  A ticket in several files (a later pull) keeps its latest `updated_at` in staging.
- `satisfaction_ratings/*.json`: `GET /api/v2/surveys/satisfaction_ratings`, a JSON array of
  `id`, `ticket_id`, `survey_id`, `ratings` (`default_question`: 103 extremely happy, 102
  very happy, 101 happy, 100 neutral, -101 unhappy, -102 very unhappy, -103 extremely
  unhappy; the classic survey uses 103, 100 and -103), `feedback` (free text), `created_at`.

`ingest.freshdesk_client` pulls both from the live API. Subjects, descriptions and requester
details are never read; rating feedback goes to the restricted database only.

A file that is not a JSON array (an HTML error page, an API error object) fails with what it
is; a ticket or rating with a wrong value (no id, a time that is not a time or comes before
the ticket was created, a rating off the scale, an id twice in a file, a ticket without
`stats` as a list asked without include=stats gives it) is quarantined with the reason. A
ticket whose company is not a registry partner is found in dbt
(`int_support__rejected_records`).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb

from ingest.framework import (
    RECORD_COLUMN,
    Parsed,
    ParseError,
    RawTable,
    Source,
)
from ingest.tabular import (
    Check,
    literal,
    matches,
    not_empty,
    one_of,
    plausible_time,
    quote,
    scratch_connection,
    split_rows,
    time_text,
    unique,
)

# Freshdesk's satisfaction scale (API v2, "Satisfaction Ratings": rating values).
RATINGS = {
    103: "extremely happy",
    102: "very happy",
    101: "happy",
    100: "neutral",
    -101: "unhappy",
    -102: "very unhappy",
    -103: "extremely unhappy",
}
TICKET_TIMES = ("updated_at", "first_responded_at", "resolved_at", "closed_at")

TICKETS = RawTable(
    "freshdesk_tickets",
    {
        "helpdesk": "varchar",
        "ticket_id": "bigint",
        "company_id": "varchar",
        "status": "integer",
        "priority": "integer",
        "created_at": "timestamptz",
        "updated_at": "timestamptz",
        "first_responded_at": "timestamptz",
        "resolved_at": "timestamptz",
        "closed_at": "timestamptz",
    },
    "Freshdesk tickets with their response and resolution times (include=stats), one row "
    "per ticket per landed file; a ticket is its helpdesk and its id.",
)
RATINGS_TABLE = RawTable(
    "freshdesk_satisfaction_ratings",
    {
        "helpdesk": "varchar",
        "rating_id": "bigint",
        "ticket_id": "bigint",
        "survey_id": "bigint",
        "rating": "integer",
        "created_at": "timestamptz",
        "updated_at": "timestamptz",
    },
    "Freshdesk satisfaction ratings of tickets (default question, -103..103), one row per "
    "rating per landed file; the rated ticket is of the rating's helpdesk.",
)
FEEDBACK = RawTable(
    "freshdesk_rating_feedback",
    {"helpdesk": "varchar", "rating_id": "bigint", "feedback": "varchar"},
    "Free-text feedback given with satisfaction ratings, of the rating (helpdesk, rating_id); "
    "restricted database only.",
)


def helpdesk_of(path: Path) -> str:
    """The helpdesk of a landed file: the folder under `support/` holding its `tickets/` or
    `satisfaction_ratings/` folder (`support/partners.freshdesk.com/tickets/page.json`), or ''
    for a file directly in `support/tickets/` or `support/satisfaction_ratings/` (one helpdesk,
    the layout from before helpdesks had folders). Only the path is known here: in a landing
    folder itself named `support`, those files all get the helpdesk `support` instead."""
    folder = path.parent.parent
    return folder.name if folder.parent.name == "support" else ""


def _read_array(con: duckdb.DuckDBPyConnection, path: Path, what: str) -> None:
    """Load the file's JSON array into temp table `items(item json, i)`, or say what it is."""
    text = path.read_text(encoding="utf-8", errors="replace").lstrip()
    if text[:1] == "<":
        raise ParseError(
            f"not a Freshdesk {what} page: an HTML page (an error or login page?): "
            f"{' '.join(text[:120].split())!r}"
        )
    try:
        [(body,)] = con.execute("select json(content) from read_text(?)", [str(path)]).fetchall()
    except duckdb.Error as error:
        raise ParseError(f"not a Freshdesk {what} page: {str(error).strip()}") from error
    [(kind, code, message, results)] = con.execute(
        "select json_type(j), j->>'code', coalesce(j->>'message', j->>'description'), "
        "json_type(j, '$.results') from (select ?::json as j)",
        [body],
    ).fetchall()
    if kind == "OBJECT" and (code or message):
        raise ParseError(f"Freshdesk answered an error, not {what}: {code or ''} {message or ''}")
    if kind == "OBJECT" and results == "ARRAY":
        # GET /api/v2/search/tickets answers {"total", "results"}, without stats.
        raise ParseError(
            f"not a Freshdesk {what} page: a search response ('total', 'results'), which "
            "has no stats; land the pages of the list endpoint (GET /api/v2/tickets"
            "?include=stats)"
        )
    if kind != "ARRAY":
        raise ParseError(f"not a Freshdesk {what} page: expected a JSON array, found {kind}")
    con.execute(
        "create or replace temp table items as "
        "select unnest(from_json(j, '[\"json\"]')) as item, "
        "generate_subscripts(from_json(j, '[\"json\"]'), 1) as i from (select ?::json as j)",
        [body],
    )
    [(bad,)] = con.execute("select min(i) from items where json_type(item) <> 'OBJECT'").fetchall()
    if bad is not None:
        raise ParseError(f"a {what[:-1]} is not a JSON object", f"[{bad - 1}]")


def _timestamp(column: str) -> str:
    return f"try_cast({time_text(column)} as timestamptz)"


def _is_timestamp(column: str) -> Check:
    col = quote(column)
    return Check(
        f"nullif(trim({col}), '') is not null and {_timestamp(column)} is null",
        f"{literal(f'{column} is not an ISO timestamp: ')} || {col}",
    )


def _not_before_created(column: str) -> Check:
    return Check(
        f"{_timestamp(column)} < {_timestamp('created_at')}",
        f"{literal(f'{column} ')} || {quote(column)} || ' is before created_at ' || created_at",
    )


def _whole_number(column: str, type_: str = "bigint", meaning: str = "an id") -> Check:
    """Digits that `type_` holds (a 300-digit id would not: the cast loading it would fail the
    file); an empty value is left to `not_empty`."""
    col = quote(column)
    return Check(
        f"nullif(trim({col}), '') is not null and (not regexp_full_match(trim({col}), '-?[0-9]+')"
        f" or try_cast(trim({col}) as {type_}) is null)",
        f"{literal(f'{column} is not {meaning}: ')} || {col}",
    )


def _as_number(column: str, type_: str = "bigint") -> str:
    """A `_whole_number` as `type_`; empty is null."""
    return f"try_cast(nullif(trim({quote(column)}), '') as {type_})"


def parse_tickets(path: Path) -> Parsed:
    con = scratch_connection()
    _read_array(con, path, "tickets")
    rows = con.sql(
        f"""
        select
            item->>'id' as id,
            item->>'company_id' as company_id,
            item->>'status' as status,
            item->>'priority' as priority,
            item->>'created_at' as created_at,
            item->>'updated_at' as updated_at,
            item->'stats'->>'first_responded_at' as first_responded_at,
            item->'stats'->>'resolved_at' as resolved_at,
            item->'stats'->>'closed_at' as closed_at,
            coalesce(json_type(item, '$.stats'), 'missing') as stats,
            '[' || (i - 1) || ']' as {RECORD_COLUMN},
            i as _ordinal
        from items
        """
    )
    checks = [
        not_empty("id"),
        _whole_number("id"),
        # Kept as text (the registry's freshdesk_company_id): digits of any length.
        matches("company_id", "-?[0-9]+", "an id"),
        _whole_number("status", "integer", "a status number"),
        _whole_number("priority", "integer", "a priority number"),
        not_empty("created_at"),
        _is_timestamp("created_at"),
        plausible_time("created_at", _timestamp("created_at")),
        *(_is_timestamp(column) for column in TICKET_TIMES),
        *(plausible_time(column, _timestamp(column)) for column in TICKET_TIMES),
        *(_not_before_created(column) for column in ("first_responded_at", "resolved_at")),
        # A list asked without include=stats has no `stats` at all: reading it as "no response
        # yet" would hide responses, and a later pull's copy of the ticket replaces an earlier
        # one that had them.
        Check(
            "stats <> 'OBJECT'",
            "'stats is ' || lower(stats) || ' (pulled without include=stats?): its first "
            "response and resolution times are unknown'",
        ),
        unique(("id",)),
    ]
    valid, rejected = split_rows(
        con,
        rows,
        checks,
        {
            "helpdesk": literal(helpdesk_of(path)),
            "ticket_id": _as_number("id"),
            "company_id": "nullif(trim(company_id), '')",
            "status": _as_number("status", "integer"),
            "priority": _as_number("priority", "integer"),
            **{column: _timestamp(column) for column in ("created_at", *TICKET_TIMES)},
        },
    )
    return Parsed(tables={TICKETS.name: valid}, rejected=rejected)


def parse_ratings(path: Path) -> Parsed:
    con = scratch_connection()
    _read_array(con, path, "satisfaction ratings")
    rows = con.sql(
        f"""
        select
            item->>'id' as id,
            item->>'ticket_id' as ticket_id,
            item->>'survey_id' as survey_id,
            item->'ratings'->>'default_question' as rating,
            item->>'created_at' as created_at,
            item->>'updated_at' as updated_at,
            item->>'feedback' as feedback,
            '[' || (i - 1) || ']' as {RECORD_COLUMN},
            i as _ordinal
        from items
        """
    )
    checks = [
        not_empty("id"),
        _whole_number("id"),
        not_empty("ticket_id"),
        _whole_number("ticket_id"),
        _whole_number("survey_id"),
        not_empty("rating"),
        one_of("rating", [str(value) for value in RATINGS]),
        not_empty("created_at"),
        _is_timestamp("created_at"),
        plausible_time("created_at", _timestamp("created_at")),
        _is_timestamp("updated_at"),
        unique(("id",)),
    ]
    # The feedback is free text: it stays out of the checked rows, so a quarantined rating is
    # recorded without it, and goes to the restricted table.
    checked = rows.select("* exclude (feedback)")
    valid, rejected = split_rows(
        con,
        checked,
        checks,
        {
            "helpdesk": literal(helpdesk_of(path)),
            "rating_id": _as_number("id"),
            "ticket_id": _as_number("ticket_id"),
            "survey_id": _as_number("survey_id"),
            "rating": _as_number("rating", "integer"),
            "created_at": _timestamp("created_at"),
            "updated_at": _timestamp("updated_at"),
        },
    )
    con.register("_valid", valid)
    con.register("_rows", rows.fetch_arrow_table())
    feedback = con.sql(
        "select _valid.helpdesk, _valid.rating_id, trim(_rows.feedback) as feedback, "
        f"_rows.{RECORD_COLUMN} from _rows "
        f"inner join _valid on _rows.{RECORD_COLUMN} = _valid.{RECORD_COLUMN} "
        "where nullif(trim(_rows.feedback), '') is not null order by _rows._ordinal"
    ).fetch_arrow_table()
    return Parsed(tables={RATINGS_TABLE.name: valid, FEEDBACK.name: feedback}, rejected=rejected)


def parse_support_file(path: Path) -> Parsed:
    if path.parent.name == "satisfaction_ratings":
        return parse_ratings(path)
    return parse_tickets(path)


def pull_if_configured(landing: Path) -> object:
    """The live pull (ingest.freshdesk_client), when FRESHDESK_API_KEY is set."""
    from ingest import freshdesk_client

    return freshdesk_client.pull_if_configured(landing)


SOURCE = Source(
    name="freshdesk",
    group="community",
    description="Freshdesk support: tickets with stats (support/tickets/*.json) and "
    "satisfaction ratings (support/satisfaction_ratings/*.json), API v2 responses; each "
    "further helpdesk in a folder of its own (support/<helpdesk>/tickets/*.json, ...).",
    patterns=(
        "support/tickets/*.json",
        "support/satisfaction_ratings/*.json",
        "support/*/tickets/*.json",
        "support/*/satisfaction_ratings/*.json",
    ),
    tables=(TICKETS, RATINGS_TABLE),
    parse=parse_support_file,
    cadence=timedelta(days=35),
    pull=pull_if_configured,
    restricted_tables=(FEEDBACK,),
    folders=("support",),
    # 2: a ticket without stats is quarantined; files landed before are parsed again.
    # 3: a time written as a word DuckDB reads (Infinity: 9999-12-31; epoch) is quarantined
    # (a rating's updated_at loaded it); files landed before are parsed again.
    # 4: every row carries its helpdesk (the folder under support/, '' directly in it), part
    # of a ticket's and a rating's key; files landed before are parsed again.
    # 5: rating feedback (restricted database) carries its helpdesk too, so it joins to its
    # rating by (helpdesk, rating_id); files landed before are parsed again to fill it.
    version=5,
)
