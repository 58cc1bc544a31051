"""Simulated hub usage: who started a server on which hub and day, and what Prometheus saw.

Each partner has a pool of users per cluster; its hubs there draw from it (a staging hub
from the first few of them, a relaunched hub from all), so some people use two hubs of one
cluster. Each day a hub's active users are drawn from its pool, heavy users more often.
JupyterHub's gauges are computed from those people: users active in the last 24 hours, 7
and 30 days. Beside them the operator's health check starts a server on every hub every
day, and a staff member now and then: both are excluded from billing by `registry/usage.yaml`.

The world's quirks that the pipeline must handle:
- the first hub of `OLD_METRICS_CLUSTER` runs a JupyterHub that reports the old metric
  names (`jupyterhub_daily_active_users`, `jupyterhub_monthly_active_users`);
- `GAP_CLUSTER` has a week without any sample (its Prometheus was down);
- the first staging hub still live at the end falls quiet for the last two months: only
  the health check starts a server there, so it is dormant;
- per-user series (`user_servers`) cover only the last `PER_USER_MONTHS` months, as far as
  the operator's Prometheus keeps data; usage fees are invoiced for those months.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from pathlib import Path

import yaml

from ingest.demo.world import Hub, World, daily_active_users, is_live
from ingest.usage_settings import ALWAYS_EXCLUDED

GIB = 1024**3
HEALTH_CHECK = ALWAYS_EXCLUDED[0]
STAFF = "ops.rivera@operator.example"
OLD_METRICS_CLUSTER = "2i2c-uk"
GAP_CLUSTER = "2i2c-aws-us"
GAP_DAYS = 7
PER_USER_MONTHS = 12
# The demo's usage fee schedule (graduated: each user is priced at the tier it falls in).
FEE_TIERS = ((25, 10.0), (100, 5.0), (250, 2.5), (500, 1.25), (None, 0.0))
FIRST_VALUE_MAU = 5

GIVEN = [
    "ada", "amara", "bo", "chen", "dana", "eli", "farah", "gus", "hana", "ivan", "jun", "kemi",
    "lena", "malik", "noor", "omar", "pia", "quinn", "rosa", "sami", "tariq", "uma", "vera",
    "wei", "yara", "zeno",
]  # fmt: skip
FAMILY = [
    "abara", "baker", "costa", "diallo", "evans", "fischer", "garcia", "haddad", "ito", "jensen",
    "kowalski", "lopez", "mensah", "nguyen", "okafor", "patel", "quispe", "rossi", "silva",
    "tanaka", "usman", "varga", "weber", "xu", "yilmaz", "zhou",
]  # fmt: skip


@dataclass
class HubActivity:
    hub: Hub
    users: dict[date, frozenset[str]] = field(default_factory=dict)
    dau: dict[date, int] = field(default_factory=dict)
    wau: dict[date, int] = field(default_factory=dict)
    mau: dict[date, int] = field(default_factory=dict)


@dataclass
class Usage:
    world: World
    hubs: list[HubActivity]
    gap: tuple[date, date]  # GAP_CLUSTER has no sample from the first day to before the second
    per_user_from: date

    def observed(self, cluster: str, day: date) -> bool:
        return not (cluster == GAP_CLUSTER and self.gap[0] <= day < self.gap[1])

    def old_metrics_hub(self) -> Hub | None:
        return next((a.hub for a in self.hubs if a.hub.cluster == OLD_METRICS_CLUSTER), None)

    def billable_mau(self) -> dict[tuple[str, date], int]:
        """(partner, month) -> users the per-user series show, counted once per cluster
        across the partner's hubs there, without the health check and staff."""
        seen: dict[tuple[str, str, date], set[str]] = defaultdict(set)
        for activity in self.hubs:
            hub = activity.hub
            for day, users in activity.users.items():
                if day >= self.per_user_from and self.observed(hub.cluster, day):
                    seen[hub.partner_id, hub.cluster, day.replace(day=1)] |= users
        totals: dict[tuple[str, date], int] = defaultdict(int)
        for (partner, _, month), users in seen.items():
            totals[partner, month] += len(users - {HEALTH_CHECK, STAFF})
        return dict(totals)


def usage_fee_usd(users: int) -> float:
    """The demo schedule's fee for `users` billable users (graduated tiers)."""
    fee, floor = 0.0, 0
    for up_to, price in FEE_TIERS:
        top = users if up_to is None else min(users, up_to)
        fee += max(top - floor, 0) * price
        floor = up_to or floor
    return fee


def _days(world: World) -> list[date]:
    return [world.start + timedelta(days=i) for i in range((world.end - world.start).days)]


def simulate(world: World) -> Usage:
    rng = random.Random(world.seed + 2)
    serial = iter(range(1, 10**9))
    pools: dict[tuple[str, str], list[str]] = {}
    for cluster in world.clusters:
        for hub in cluster.hubs:
            key = (cluster.name, hub.partner_id)
            if key not in pools and not hub.is_staging:
                size = max(10, round(hub.base_users * 2.5))
                pools[key] = [
                    f"{rng.choice(GIVEN)}.{rng.choice(FAMILY)}{next(serial)}" for _ in range(size)
                ]
    days = _days(world)
    gap_month = world.months[-2] if len(world.months) > 1 else world.months[-1]
    gap_start = gap_month + timedelta(days=9)
    usage = Usage(
        world,
        [],
        (gap_start, gap_start + timedelta(days=GAP_DAYS)),
        world.months[max(len(world.months) - PER_USER_MONTHS, 0)],
    )
    staging = [h for h in world.hubs if h.is_staging and (h.retired_on or world.end) >= world.end]
    quiet_hub = staging[0] if staging else None
    quiet_from = world.months[-2] if len(world.months) > 1 else world.months[-1]
    for cluster in world.clusters:
        for hub in cluster.hubs:
            pool = pools[cluster.name, hub.partner_id]
            if hub.is_staging:
                pool = pool[:6]
            cumulative = list(accumulate(rng.lognormvariate(0, 1) for _ in pool))
            activity = HubActivity(hub)
            for day in days:
                if not is_live(hub, day):
                    continue
                wanted = daily_active_users(hub, day, rng)
                if hub is quiet_hub and day >= quiet_from:
                    wanted = 0
                people = set(rng.choices(pool, cum_weights=cumulative, k=wanted))
                people.add(HEALTH_CHECK)
                if rng.random() < 0.04:
                    people.add(STAFF)
                activity.users[day] = frozenset(people)
            _gauges(activity)
            usage.hubs.append(activity)
    return usage


def _gauges(activity: HubActivity) -> None:
    """Distinct users over the last 1, 7 and 30 days, as jupyterhub_active_users reports."""
    days = sorted(activity.users)
    for width, gauge in ((1, activity.dau), (7, activity.wau), (30, activity.mau)):
        counts: dict[str, int] = defaultdict(int)
        distinct = 0
        for index, day in enumerate(days):  # a hub's live days are consecutive
            for user in activity.users[day]:
                counts[user] += 1
                distinct += counts[user] == 1
            if index >= width:  # the day that left the window
                for user in activity.users[days[index - width]]:
                    counts[user] -= 1
                    distinct -= counts[user] == 0
            gauge[day] = distinct


def _at(day: date, hour: int) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=UTC).timestamp())


def _response(series: dict[tuple[tuple[str, str], ...], list[list]]) -> dict:
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {"metric": dict(labels), "values": values}
                for labels, values in series.items()
                if values
            ],
        },
    }


def write_usage(usage: Usage, landing: Path) -> list[Path]:
    """Every series of `ingest.prometheus.SERIES` for every cluster, as saved responses."""
    rng = random.Random(usage.world.seed + 3)
    old_hub = usage.old_metrics_hub()
    written = []
    for cluster in usage.world.clusters:
        files: dict[str, dict] = defaultdict(dict)
        for activity in (a for a in usage.hubs if a.hub.cluster == cluster.name):
            hub = activity.hub
            ns = (("namespace", hub.name),)
            for day in sorted(activity.users):
                if not usage.observed(cluster.name, day):
                    continue
                end = _at(day, 23)
                dau, wau, mau = activity.dau[day], activity.wau[day], activity.mau[day]
                if hub is old_hub:
                    files["jupyterhub_daily_active_users"].setdefault(ns, []).append(
                        [end, str(dau)]
                    )
                    files["jupyterhub_monthly_active_users"].setdefault(ns, []).append(
                        [end, str(mau)]
                    )
                else:
                    files["daily_active_users"].setdefault(ns, []).append([end, str(dau)])
                    for period, value in (("24h", dau), ("7d", wau), ("30d", mau)):
                        files["active_users"].setdefault((*ns, ("period", period)), []).append(
                            [end, str(value)]
                        )
                # Servers peak in the afternoon: the day's maximum is not its last sample.
                running = files["running_servers"].setdefault(ns, [])
                running += [[_at(day, 14), str(round(dau * 0.5))], [end, str(round(dau * 0.2))]]
                requested = (1 + dau * rng.uniform(1.5, 2.5)) * GIB
                files["memory_requests_bytes"].setdefault(ns, []).append([end, f"{requested:.0f}"])
                if day < usage.per_user_from:
                    continue
                for user in sorted(activity.users[day]):
                    hour = rng.randint(8, 20)
                    values = files["user_servers"].setdefault(
                        (*ns, ("annotation_hub_jupyter_org_username", user)), []
                    )
                    values.append([_at(day, hour), "1"])
                    if rng.random() < 0.1:  # a longer session: seen at the next step too
                        values.append([_at(day, hour + 1), "1"])
        # The cluster's own services request memory too: not a hub, never counted as one.
        support = files["memory_requests_bytes"].setdefault((("namespace", "support"),), [])
        for day in _days(usage.world):
            if usage.observed(cluster.name, day):
                support.append([_at(day, 23), str(4 * GIB)])
        for series in (
            "active_users",
            "daily_active_users",
            "jupyterhub_daily_active_users",
            "jupyterhub_monthly_active_users",
            "running_servers",
            "memory_requests_bytes",
            "user_servers",
        ):
            path = landing / "usage" / cluster.name / f"{series}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            body = _response(files.get(series, {}))
            path.write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
            written.append(path)
    return written


def write_settings(landing: Path) -> Path:
    """`registry/usage.yaml`: the staff account, the thresholds, the fee schedule, and the
    public demo key for the invented usernames."""
    document = {
        "excluded_usernames": [STAFF],
        "first_value_mau": FIRST_VALUE_MAU,
        "usage_fee_tiers": [{"up_to": up_to, "usd_per_user": price} for up_to, price in FEE_TIERS],
        "username_hash_key": "demo",
    }
    path = landing / "registry" / "usage.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path
