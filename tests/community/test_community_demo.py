"""The community demo data: real formats that parse cleanly, the cases the issue asks for,
and what `build` makes of them (the small world built once by the real CLI)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb

from ingest.demo.community import PILOT_RESPONSES, write_community
from ingest.demo.world import build_world
from ingest.freshdesk import parse_support_file
from ingest.surveys import parse_survey_file


def test_demo_surveys_and_support_parse_without_quarantine(tmp_path: Path):
    world = build_world(seed=42, as_of=date(2026, 11, 26))
    files = write_community(world, tmp_path)
    surveys = sorted(p for p in files if p.suffix == ".csv")
    # Six quarterly surveys, the last sent in August 2026 (November's is still running).
    assert [p.name for p in surveys] == [
        f"partner-survey-{q}.csv"
        for q in ("2025-q2", "2025-q3", "2025-q4", "2026-q1", "2026-q2", "2026-q3")
    ]
    answers = {}
    for path in surveys:
        parsed = parse_survey_file(path)
        assert parsed.rejected.num_rows == 0, path.name
        answers[path.name] = parsed.tables["survey_responses"].num_rows
    assert answers["partner-survey-2025-q2.csv"] == PILOT_RESPONSES < 5
    assert min(n for name, n in answers.items() if "2025-q2" not in name) >= 20

    ticket_versions: Counter[int] = Counter()
    for path in files:
        if path.parent.name in ("tickets", "satisfaction_ratings"):
            parsed = parse_support_file(path)
            assert parsed.rejected.num_rows == 0, path.name
            if path.parent.name == "tickets":
                ticket_versions.update(parsed.tables["freshdesk_tickets"]["ticket_id"].to_pylist())
    # A ticket resolved the month after it was opened is in two monthly pulls.
    assert max(ticket_versions.values()) >= 2
    assert len(ticket_versions) > 1000


def rows(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_built_demo_has_a_pilot_quarter_below_the_minimum(built_warehouse):
    quarters = rows(
        built_warehouse.warehouse,
        "select quarter, responses, nps, meets_min_responses from marts.fct_nps_quarterly "
        "where partner_id is null order by quarter",
    )
    assert len(quarters) >= 2
    # The pilot asked PILOT_RESPONSES partners at most (fewer when fewer were partners then).
    pilot_responses, pilot_nps, pilot_meets_min = quarters[0][1:]
    assert 0 < pilot_responses <= PILOT_RESPONSES
    assert (pilot_nps, pilot_meets_min) == (None, False)
    assert all(met and nps is not None for _, _, nps, met in quarters[1:])


def test_every_demo_answer_ticket_and_stage_is_attributed(built_warehouse):
    warehouse = built_warehouse.warehouse
    for model in (
        "int_surveys__rejected_responses",
        "int_support__rejected_records",
        "int_lifecycle__rejected_stage_history",
    ):
        assert rows(warehouse, f"select count(*) from intermediate.{model}") == [(0,)], model
    [(answers, partners)] = rows(
        warehouse,
        "select count(*), count(distinct partner_id) from intermediate.int_surveys__responses",
    )
    assert answers > PILOT_RESPONSES and partners > 1


def test_the_demo_lifecycle_has_lost_renewal_open_and_first_won_deals(built_warehouse):
    [(lost, renewals, still_open, launched, never_qualified)] = rows(
        built_warehouse.warehouse,
        "select count(closed_lost_at), count(case when is_renewal then 1 end), "
        "count(case when closed_won_at is null and closed_lost_at is null then 1 end), "
        "count(hub_launched_on), count(case when qualified_at is null then 1 end) "
        "from marts.fct_lead_lifecycle",
    )
    assert lost > 0 and renewals > 0 and still_open > 0 and launched > 0
    assert never_qualified > 0  # discovery leads closed lost from the first stage


def test_demo_first_values_come_from_the_first_launch_days_hubs_and_the_days_add_up(
    built_warehouse,
):
    """Every first value is the earliest first value (fct_hub_first_value) of the hubs the
    partner launched on the deal's hub_launched_on, and the whole days from creation to first value
    equal the sum of the steps between (created -> won -> hub launch -> first value)."""
    warehouse = built_warehouse.warehouse
    deals = rows(
        warehouse,
        "select deal_id, partner_id, hub_launched_on, first_value_on, "
        "days_created_to_closed_won, days_closed_won_to_hub_launched, "
        "days_hub_launched_to_first_value, days_created_to_first_value "
        "from marts.fct_lead_lifecycle where first_value_on is not null",
    )
    assert deals, "no demo deal reached first value"
    hub_first_values = rows(
        warehouse,
        "select partner_id, launched_on, first_value_on from marts.fct_hub_first_value "
        "where first_value_on is not null",
    )
    summed = 0
    for deal, partner, launched, first_value, to_won, to_launch, to_value, total in deals:
        launch_day = [f for p, day, f in hub_first_values if (p, day) == (partner, launched)]
        assert first_value == min(launch_day), deal
        assert to_value == (first_value - launched).days >= 0, deal
        if None not in (to_won, to_launch):
            assert total == to_won + to_launch + to_value, deal
            summed += 1
    assert summed > 0


def test_make_demo_prints_the_community_lines(built_warehouse):
    lines = built_warehouse.stdout.splitlines()
    start = lines.index("Community (all partners):")
    survey, support, lead = lines[start + 1 : start + 4]
    assert survey.startswith("  Survey 2026 Q3: NPS ")
    assert support.startswith("  Support 2026-10: first response ")
    assert lead.startswith("  Lead to first value: ") and "days median" in lead
    assert "; to hub launch: " in lead


def test_pulled_tickets_keep_their_latest_version(built_warehouse):
    """A ticket in two monthly pulls: staging keeps the version with the later updated_at,
    which is the one that knows the resolution."""
    landing = built_warehouse.landing / "support" / "tickets"
    seen: dict[int, list[dict]] = {}
    for path in sorted(landing.glob("*.json")):
        for ticket in json.loads(path.read_text()):
            seen.setdefault(ticket["id"], []).append(ticket)
    twice = next(t for t, versions in seen.items() if len(versions) > 1)
    latest = max(seen[twice], key=lambda t: t["updated_at"])
    [(resolved,)] = rows(
        built_warehouse.warehouse,
        f"select strftime(resolved_at, '%Y-%m-%dT%H:%M:%SZ') from "
        f"staging.stg_freshdesk__tickets where ticket_id = {twice}",
    )
    assert resolved == latest["stats"]["resolved_at"]
