"""Community demo data: partner survey exports (Google Forms) and Freshdesk support.

Derived deterministically from the World:

- a partner survey each quarter for the last six quarters (an anonymous Google Form, en_US,
  Pacific time): people on each live partner's hubs answer how likely they are to recommend
  2i2c (0-10) and how satisfied they are (1-5), name their community as they like (the
  partner id, its name in any case, or their hub's URL) and sometimes leave a comment. The
  first, a pilot, got three answers: below the minimum of five, so its scores are null.
  Each happy partner stays happy-ish; a partner about to churn is not.
- Freshdesk tickets every month from each live partner, answered within hours and resolved
  within days, some rated; one file per monthly pull (`updated-since-YYYY-MM-01.json`) holds
  the tickets updated that month as they stood at its end, so a ticket resolved the month
  after it was opened is in two pulls, its later version winning.
"""

from __future__ import annotations

import csv
import json
import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from ingest.demo.world import Partner, World, _add_months, is_live

SEED_OFFSET = 60
SURVEY_QUARTERS = 6
PILOT_RESPONSES = 3
RECOMMEND = "How likely are you to recommend 2i2c to a colleague?"
SATISFACTION = "Overall, how satisfied are you with your hub?"
COMMUNITY = "Which community (or hub) do you belong to?"
NAME = "Your name (optional)"
COMMENT = "What could we do better?"
COMMENTS = [
    "More GPU capacity during workshops, please.",
    "Start-up time of the servers is sometimes slow.",
    "Great support, thank you!",
    "Could we get a shared data folder for the class?",
    "The documentation on custom images helped a lot.",
    "Storage quota is too small for our datasets.",
]
FIRST_NAMES = ["Alex", "Sam", "Robin", "Kim", "Jo", "Noor", "Ana", "Lee"]


def freshdesk_company_id(partner: Partner) -> str:
    """The partner's Freshdesk company: the registry links support tickets through it."""
    return f"8{int(partner.hubspot_company_id):07d}"


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _prod_hubs(world: World) -> dict[str, list]:
    hubs: dict[str, list] = {}
    for hub in world.hubs:
        if not hub.is_staging:
            hubs.setdefault(hub.partner_id, []).append(hub)
    return hubs


def _community_answer(partner: Partner, hub, rng: random.Random) -> str:
    return rng.choice(
        [
            partner.id,
            partner.name,
            partner.name.lower(),
            partner.name.upper(),
            f"https://{hub.name}.{hub.cluster}.2i2c.cloud",
            f"https://{hub.name}.{hub.cluster}.2i2c.cloud/hub/home",
        ]
    )


def _clamp(value: float, low: int, high: int) -> int:
    return max(low, min(high, round(value)))


def write_surveys(world: World, landing: Path) -> list[Path]:
    rng = random.Random(world.seed + SEED_OFFSET)
    folder = landing / "surveys"
    folder.mkdir(parents=True, exist_ok=True)
    questions = folder / "questions.yaml"
    questions.write_text(
        "# The partner survey form: which column is which question, and how it writes time.\n"
        + yaml.safe_dump(
            {
                "locale": "en_US",
                "timezone": "America/Los_Angeles",
                "min_responses": 5,
                "questions": {
                    RECOMMEND: "recommend",
                    SATISFACTION: "satisfaction",
                    COMMUNITY: "community",
                    COMMENT: "comment",
                },
            },
            sort_keys=False,
        ),
        encoding="utf-8",
    )
    written = [questions]
    mood = {p.id: rng.uniform(-1.5, 1.5) for p in world.partners}
    hubs = _prod_hubs(world)
    partners = {p.id: p for p in world.partners}
    # Each survey goes out on the 10th of the quarter's middle month and runs three weeks.
    quarters = sorted(
        {
            _quarter_start(m)
            for m in world.months
            if _add_months(_quarter_start(m), 1) + timedelta(days=31) <= world.as_of
        }
    )[-SURVEY_QUARTERS:]
    for number, quarter in enumerate(quarters):
        sent = _add_months(quarter, 1) + timedelta(days=9)
        answers = []
        for partner_id, partner_hubs in sorted(hubs.items()):
            live = [h for h in partner_hubs if is_live(h, sent)]
            if not live:
                continue
            partner = partners[partner_id]
            leaving = partner.churned_on and 0 <= (partner.churned_on - sent).days < 365
            for _ in range(rng.choice([0, 1, 1, 2, 2, 3])):
                feeling = mood[partner_id] - (2.5 if leaving else 0) + rng.gauss(0, 1.2)
                answers.append(
                    {
                        "Timestamp": sent + timedelta(days=rng.randint(0, 20)),
                        "seconds": rng.randint(8 * 3600, 20 * 3600),
                        RECOMMEND: _clamp(8 + 1.2 * feeling, 0, 10),
                        SATISFACTION: _clamp(4 + 0.6 * feeling, 1, 5),
                        COMMUNITY: _community_answer(partner, rng.choice(live), rng),
                        NAME: rng.choice(FIRST_NAMES) if rng.random() < 0.3 else "",
                        COMMENT: rng.choice(COMMENTS) if rng.random() < 0.25 else "",
                    }
                )
        if number == 0:  # the pilot
            answers = rng.sample(answers, min(PILOT_RESPONSES, len(answers)))
        answers.sort(key=lambda a: (a["Timestamp"], a["seconds"]))
        name = f"partner-survey-{quarter.year}-q{(quarter.month - 1) // 3 + 1}.csv"
        path = folder / name
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Timestamp", RECOMMEND, SATISFACTION, COMMUNITY, NAME, COMMENT])
            for a in answers:
                day, seconds = a["Timestamp"], a["seconds"]
                stamp = (
                    f"{day.month}/{day.day}/{day.year} "
                    f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
                )
                writer.writerow(
                    [stamp, a[RECOMMEND], a[SATISFACTION], a[COMMUNITY], a[NAME], a[COMMENT]]
                )
        written.append(path)
    return written


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _as_of_month_end(ticket: dict, month_end: datetime) -> dict:
    """The ticket as a pull at `month_end` saw it: later responses and resolutions unknown."""
    stats = {
        key: value if value and value < _iso(month_end) else None
        for key, value in ticket["stats"].items()
    }
    seen = dict(ticket, stats=stats)
    seen["status"] = 5 if stats["closed_at"] else 4 if stats["resolved_at"] else 2
    seen["updated_at"] = max([ticket["created_at"], *(v for v in stats.values() if v)])
    return seen


def write_support(world: World, landing: Path) -> list[Path]:
    """Monthly Freshdesk pulls of tickets (with stats) and satisfaction ratings."""
    rng = random.Random(world.seed + SEED_OFFSET + 1)
    hubs = _prod_hubs(world)
    partners = {p.id: p for p in world.partners}
    tickets: list[dict] = []
    ratings: list[dict] = []
    for month in world.months:
        start = datetime(month.year, month.month, 1, tzinfo=UTC)
        days = (_add_months(month, 1) - month).days
        for partner_id, partner_hubs in sorted(hubs.items()):
            live = [h for h in partner_hubs if is_live(h, month)]
            if not live:
                continue
            size = sum(h.base_users for h in live)
            for _ in range(_poisson(rng, 0.6 + size / 60)):
                created = start + timedelta(minutes=rng.randint(0, days * 24 * 60 - 1))
                responded = created + timedelta(hours=rng.lognormvariate(math.log(3), 0.9))
                resolved = responded + timedelta(hours=rng.lognormvariate(math.log(24), 1.0))
                closed = resolved + timedelta(days=2)
                number = len(tickets) + 1
                tickets.append(
                    {
                        "id": number,
                        "subject": "Help with my hub",
                        "type": rng.choice(["Question", "Incident", "Feature Request"]),
                        "source": rng.choice([1, 2, 3]),
                        "status": 5,
                        "priority": rng.choice([1, 1, 2, 2, 3, 4]),
                        "requester_id": 43_000_000_000 + number,
                        "responder_id": 43_000_000_001,
                        "company_id": int(freshdesk_company_id(partners[partner_id])),
                        "group_id": None,
                        "created_at": _iso(created),
                        "updated_at": _iso(closed),
                        "due_by": _iso(created + timedelta(days=3)),
                        "fr_due_by": _iso(created + timedelta(hours=8)),
                        "is_escalated": False,
                        "tags": [],
                        "custom_fields": {},
                        "stats": {
                            "agent_responded_at": _iso(responded),
                            "requester_responded_at": None,
                            "first_responded_at": _iso(responded),
                            "status_updated_at": _iso(closed),
                            "reopened_at": None,
                            "resolved_at": _iso(resolved),
                            "closed_at": _iso(closed),
                            "pending_since": None,
                        },
                    }
                )
                if rng.random() < 0.4:
                    rated = resolved + timedelta(hours=rng.randint(1, 48))
                    ratings.append(
                        {
                            "id": 50_000 + len(ratings) + 1,
                            "survey_id": 1,
                            "user_id": 43_000_000_000 + number,
                            "agent_id": 43_000_000_001,
                            "feedback": rng.choice(["", "", "Thanks!", "Took a while."]),
                            "group_id": None,
                            "ticket_id": number,
                            "ratings": {
                                "default_question": rng.choices(
                                    [103, 102, 101, 100, -101, -102, -103],
                                    weights=[30, 25, 20, 10, 8, 4, 3],
                                )[0]
                            },
                            "created_at": _iso(rated),
                            "updated_at": _iso(rated),
                        }
                    )
    end = datetime(world.as_of.year, world.as_of.month, world.as_of.day, tzinfo=UTC)
    written = []
    for month in world.months:
        start = datetime(month.year, month.month, 1, tzinfo=UTC)
        stop = min(datetime.combine(_add_months(month, 1), datetime.min.time(), UTC), end)
        pulled = [
            _as_of_month_end(t, stop)
            for t in tickets
            if _iso(start) <= t["created_at"] < _iso(stop)
            or _iso(start) <= t["stats"]["first_responded_at"] < _iso(stop)
            or _iso(start) <= t["stats"]["resolved_at"] < _iso(stop)
        ]
        rated = [r for r in ratings if _iso(start) <= r["created_at"] < _iso(stop)]
        for folder, name, items in (
            ("tickets", "updated-since", pulled),
            ("satisfaction_ratings", "created-since", rated),
        ):
            path = landing / "support" / folder / f"{name}-{month.isoformat()}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(items, separators=(",", ":")), encoding="utf-8")
            written.append(path)
    return written


def _poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: the count of events in a period with `mean` expected."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def write_community(world: World, landing: Path) -> list[Path]:
    return write_surveys(world, landing) + write_support(world, landing)
