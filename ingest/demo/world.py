"""A simulated partnership history: partners, clusters, hubs and their daily usage.

Deterministic for a seed and an as-of date. The writers in `ingest.demo.writers` turn it into
each source's real file format, so the demo exercises exactly the code real files go through.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

FIRST_WORDS = [
    "Open",
    "Earth",
    "Climate",
    "Ocean",
    "Polar",
    "Hydro",
    "Astro",
    "Geo",
    "Bio",
    "Neuro",
    "Coastal",
    "Forest",
    "Arctic",
    "Desert",
    "River",
    "Solar",
    "Quantum",
    "Urban",
    "Crop",
    "Reef",
]
SECOND_WORDS = [
    "Science Hub",
    "Data Lab",
    "Collective",
    "Institute",
    "Network",
    "Commons",
    "Academy",
    "Observatory",
    "Consortium",
    "Workshop",
]
CURRENCIES = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "CAD": 0.74, "AUD": 0.66}
SHARED_CLUSTERS = [
    ("2i2c-gcp-us", "gcp", "two-eye-two-see"),
    ("2i2c-aws-us", "aws", "790657130469"),
    ("2i2c-uk", "gcp", "two-eye-two-see-uk"),
]


@dataclass
class Hub:
    cluster: str
    name: str
    partner_id: str
    launched_on: date
    retired_on: date | None
    base_users: float
    is_staging: bool


@dataclass
class Cluster:
    name: str
    provider: str
    account: str
    paid_by_us: bool
    hubspot_deal_id: int | None
    hubs: list[Hub] = field(default_factory=list)


@dataclass
class Partner:
    id: str
    name: str
    hubspot_company_id: str
    currency: str
    started_on: date
    churned_on: date | None = None
    reactivated_on: date | None = None


@dataclass
class World:
    seed: int
    as_of: date
    months: list[date]
    partners: list[Partner]
    clusters: list[Cluster]

    @property
    def start(self) -> date:
        return self.months[0]

    @property
    def end(self) -> date:
        """The day after the last complete month: data runs up to, not including, it."""
        return _add_months(self.months[-1], 1)

    @property
    def hubs(self) -> list[Hub]:
        return [hub for cluster in self.clusters for hub in cluster.hubs]


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _slug(text: str) -> str:
    return "-".join(text.lower().split())


def build_world(
    seed: int = 42, months: int = 36, partners: int = 30, as_of: date | None = None
) -> World:
    """Simulate `partners` partners over the `months` complete months before `as_of`."""
    rng = random.Random(seed)
    as_of = as_of or date.today()
    window = [_add_months(as_of.replace(day=1), -months + i) for i in range(months)]

    names = rng.sample([f"{a} {b}" for a in FIRST_WORDS for b in SECOND_WORDS], partners)
    people: list[Partner] = []
    for index, name in enumerate(names):
        # A third of partners were running before the window opened; the rest join over it,
        # the last two within the last year, so the lead-to-partner funnel has a cohort.
        if index < partners // 3:
            started = _add_months(window[0], -rng.randint(1, 18))
        elif index >= partners - 2:
            started = _add_months(window[-1], -rng.randint(1, min(months - 1, 9)))
        else:
            started = _add_months(window[0], rng.randint(0, max(months - 4, 0)))
        started += timedelta(days=rng.randint(0, 20))
        people.append(
            Partner(
                id=_slug(name),
                name=name,
                hubspot_company_id=str(5001 + index),
                currency=rng.choices(list(CURRENCIES), weights=[14, 4, 3, 2, 1])[0],
                started_on=started,
            )
        )
    # Some partners churn; some of those come back a few months later.
    churn_candidates = [p for p in people if _months_between(p.started_on, window[-1]) > 14]
    for number, partner in enumerate(rng.sample(churn_candidates, min(5, len(churn_candidates)))):
        earliest = max(_add_months(partner.started_on, 12), window[1])
        span = _months_between(earliest, window[-1])
        partner.churned_on = _add_months(earliest, rng.randint(0, max(span - 6, 0)))
        if number < 2:
            partner.reactivated_on = _add_months(partner.churned_on, rng.randint(3, 6))

    clusters = [
        Cluster(name, provider, account, True, None) for name, provider, account in SHARED_CLUSTERS
    ]
    for index, partner in enumerate(people):
        dedicated = index % 3 == 0
        if dedicated:
            provider = ["aws", "gcp", "azure"][(index // 3) % 3]
            account = {
                "aws": f"{rng.randint(10**11, 10**12 - 1)}",
                "gcp": f"{partner.id}-hub",
                "azure": str(_uuid(rng)),
            }[provider]
            cluster = Cluster(
                partner.id,
                provider,
                account,
                paid_by_us=index % 2 == 0,
                hubspot_deal_id=rng.randint(10**10, 10**11 - 1),
            )
            clusters.append(cluster)
            prod_name, staging_name = "prod", "staging"
        else:
            cluster = clusters[index % len(SHARED_CLUSTERS)]
            prod_name, staging_name = partner.id, f"{partner.id}-staging"
        size = rng.lognormvariate(math.log(60), 0.8)
        retired = partner.churned_on
        cluster.hubs.append(
            Hub(
                cluster.name,
                prod_name,
                partner.id,
                partner.started_on,
                retired,
                size,
                is_staging=False,
            )
        )
        if dedicated or index % 4 == 1:
            cluster.hubs.append(
                Hub(
                    cluster.name,
                    staging_name,
                    partner.id,
                    partner.started_on,
                    retired,
                    2.0,
                    is_staging=True,
                )
            )
        if partner.reactivated_on:
            cluster.hubs.append(
                Hub(
                    cluster.name,
                    f"{prod_name}-v2",
                    partner.id,
                    partner.reactivated_on,
                    None,
                    size * 0.8,
                    is_staging=False,
                )
            )
    return World(seed, as_of, window, people, clusters)


def _months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def _uuid(rng: random.Random) -> str:
    digits = f"{rng.getrandbits(128):032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


# Academic terms: quiet in summer and over the winter break, busy in October and March.
SEASON = {
    1: 0.8,
    2: 1.0,
    3: 1.1,
    4: 1.0,
    5: 0.8,
    6: 0.45,
    7: 0.4,
    8: 0.6,
    9: 1.0,
    10: 1.15,
    11: 1.05,
    12: 0.6,
}


def daily_active_users(hub: Hub, day: date, rng: random.Random) -> int:
    """Users active on `day`: size x growth x academic season x weekday x noise."""
    age_months = max(_months_between(hub.launched_on, day), 0)
    growth = 1 - 0.6 * math.exp(-age_months / 8)
    weekday = 0.35 if day.weekday() >= 5 else 1.0
    expected = hub.base_users * growth * SEASON[day.month] * weekday
    return max(0, round(rng.gauss(expected, math.sqrt(expected + 1))))


def is_live(hub: Hub, day: date) -> bool:
    return hub.launched_on <= day and (hub.retired_on is None or day < hub.retired_on)
