"""Support tickets and ratings of two helpdesks, each linked to partners through the registry's
company of that helpdesk, from landing files to fct_support_monthly.

Company 7 is gamma's in the helpdesk landed in support/ and beta's in the partner network's
(support/partners.freshdesk.com/); alpha has a company in each: 1001 in support/, 8 in the
network. The registry and Freshdesk connectors load the landing, then `dbt build` runs the
support models and their data tests (as-of 2024-03-31). Expected counts are worked out by hand
in each test's docstring.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest import freshdesk, registry
from ingest.framework import load_source
from tests.conftest import WITHOUT_UNIT_TESTS, run_dbt

NETWORK = "partners.freshdesk.com"

REGISTRY = f"""
partners:
  - id: alpha
    name: Alpha Observatory
    freshdesk_company_id: "1001"
    freshdesk_companies:
      {NETWORK}: "8"
  - id: beta
    name: Beta Climate Lab
    freshdesk_companies:
      {NETWORK}: 7
  - id: gamma
    name: Gamma Data Commons
    freshdesk_company_id: 7
clusters: []
"""


def ticket(number: int, company: int, day: int) -> dict:
    created = f"2024-01-{day:02d}T10:00:00Z"
    return {
        "id": number,
        "company_id": company,
        "status": 2,
        "priority": 1,
        "created_at": created,
        "updated_at": created,
        "stats": {"first_responded_at": None, "resolved_at": None},
    }


def rating(number: int, ticket_id: int, value: int) -> dict:
    return {
        "id": number,
        "ticket_id": ticket_id,
        "survey_id": 1,
        "ratings": {"default_question": value},
        "feedback": "",
        "created_at": "2024-01-20T09:00:00Z",
        "updated_at": "2024-01-20T09:00:00Z",
    }


LANDING = {
    "registry/clusters.yaml": REGISTRY,
    "support/tickets/page.json": [ticket(1, 1001, 2), ticket(2, 7, 3), ticket(3, 8, 4)],
    "support/satisfaction_ratings/page.json": [rating(9001, 1, 103), rating(9002, 2, -103)],
    f"support/{NETWORK}/tickets/page.json": [
        ticket(1, 7, 5),
        ticket(2, 8, 6),
        ticket(3, 1001, 7),
    ],
    f"support/{NETWORK}/satisfaction_ratings/page.json": [
        rating(9001, 1, 103),
        rating(9002, 2, 101),
        rating(9003, 3, 103),
    ],
}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("support_helpdesks")
    landing = work / "landing"
    for relative, body in LANDING.items():
        path = landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    warehouse = work / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        for source in (registry.SOURCE, freshdesk.SOURCE):
            load_source(con, source, landing)
    # The support models and what they read; tests of models not built here (dim_partners)
    # are left out by cautious selection.
    result = run_dbt(
        [
            "build",
            "--select",
            "+fct_support_monthly",
            "+int_support__rejected_records",
            "assert_support_no_rejected_records",
            "stg_registry__partners",
            "--indirect-selection",
            "cautious",
            *WITHOUT_UNIT_TESTS,
        ],
        warehouse,
        work,
        "2024-03-31",
    )
    assert result.returncode == 0, result.stdout[-4000:]
    assert "WARN 3 assert_support_no_rejected_records" in result.stdout
    return warehouse


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_each_ticket_counts_for_the_partner_whose_company_it_is_in_its_helpdesk(warehouse):
    """support/: ticket 1 (company 1001) alpha, 2 (company 7) gamma, 3 (company 8, alpha's
    in the network only) nobody. Network: ticket 1 (company 7) beta, 2 (company 8) alpha,
    3 (company 1001, alpha's in support/ only) nobody."""
    assert rows(
        warehouse,
        "select helpdesk, ticket_id, partner_id from intermediate.int_support__tickets "
        "order by helpdesk, ticket_id",
    ) == [
        ("", 1, "alpha"),
        ("", 2, "gamma"),
        ("", 3, None),
        (NETWORK, 1, "beta"),
        (NETWORK, 2, "alpha"),
        (NETWORK, 3, None),
    ]
    assert rows(
        warehouse,
        "select record_type, helpdesk, record_id, rejection_reason "
        "from intermediate.int_support__rejected_records order by all",
    ) == [
        (
            "rating",
            NETWORK,
            9003,
            f"rated ticket 3 of helpdesk {NETWORK}: company 1001 is not a partner's "
            f"freshdesk_companies entry for {NETWORK} in the registry",
        ),
        ("ticket", "", 3, "company 8 is not a partner's freshdesk_company_id in the registry"),
        (
            "ticket",
            NETWORK,
            3,
            f"company 1001 is not a partner's freshdesk_companies entry for {NETWORK} in the "
            "registry",
        ),
    ]


def test_support_monthly_counts_each_partners_tickets_and_ratings_of_both_helpdesks(warehouse):
    """All in January 2024. Tickets: alpha support/ 1 and network 2 -> 2; beta network 1 -> 1;
    gamma support/ 2 -> 1; overall 4 (the two unattributed tickets count nowhere).
    Ratings, each of its own helpdesk's ticket: support/ 9001 (ticket 1, alpha, 103
    positive), 9002 (ticket 2, gamma, -103); network 9001 (ticket 1, beta, 103 positive),
    9002 (ticket 2, alpha, 101 positive), 9003 (ticket 3, unattributed: out).
    alpha 2 ratings, 2 positive; beta 1, 1; gamma 1, 0; overall 4, 3 (CSAT 0.75)."""
    assert rows(
        warehouse,
        "select month, partner_id, tickets_created, ratings, positive_ratings, support_csat "
        "from marts.fct_support_monthly order by month, partner_id nulls first",
    ) == [
        (date(2024, 1, 1), None, 4, 4, 3, 0.75),
        (date(2024, 1, 1), "alpha", 2, 2, 2, 1.0),
        (date(2024, 1, 1), "beta", 1, 1, 1, 1.0),
        (date(2024, 1, 1), "gamma", 1, 1, 0, 0.0),
    ]
