"""Write the simulated world as landing files, each in its source's real format."""

from __future__ import annotations

import csv
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml

from ingest.demo.cloud_costs import write_cloud_costs
from ingest.demo.community import freshdesk_company_id, write_community
from ingest.demo.revenue import write_revenue
from ingest.demo.world import CURRENCIES, World, daily_active_users, is_live

GIB = 1024**3


def write_registry(world: World, landing: Path) -> Path:
    document = {
        "partners": [
            {
                "id": p.id,
                "name": p.name,
                "hubspot_company_id": p.hubspot_company_id,
                "freshdesk_company_id": freshdesk_company_id(p),
            }
            for p in world.partners
        ],
        "clusters": [
            {
                "name": c.name,
                "provider": c.provider,
                "account": c.account,
                "paid_by_us": c.paid_by_us,
                **({"hubspot_deal_id": c.hubspot_deal_id} if c.hubspot_deal_id else {}),
                "hubs": [
                    {
                        "name": h.name,
                        "partner": h.partner_id,
                        "launched_on": h.launched_on,
                        **({"retired_on": h.retired_on} if h.retired_on else {}),
                    }
                    for h in c.hubs
                ],
            }
            for c in world.clusters
        ],
    }
    path = landing / "registry" / "clusters.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def write_fx_rates(world: World, landing: Path) -> Path:
    """Monthly rates with a small random walk around each currency's usual level."""
    rng = random.Random(world.seed + 1)
    path = landing / "fx" / "rates.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "currency", "usd_per_unit"])
        levels = {c: rate for c, rate in CURRENCIES.items() if c != "USD"}
        for month in world.months:
            for currency, level in levels.items():
                levels[currency] = level * rng.uniform(0.98, 1.02)
                writer.writerow([month.isoformat(), currency, f"{levels[currency]:.6f}"])
    return path


def _days(world: World) -> list[date]:
    count = (world.end - world.start).days
    return [world.start + timedelta(days=i) for i in range(count)]


def _unix(day: date) -> float:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def write_usage(world: World, landing: Path) -> list[Path]:
    """One Prometheus query_range response per cluster and series, one sample a day."""
    rng = random.Random(world.seed + 2)
    days = _days(world)
    written = []
    for cluster in world.clusters:
        users: dict[str, list[list]] = {}
        memory: dict[str, list[list]] = {}
        for hub in cluster.hubs:
            for day in days:
                if not is_live(hub, day):
                    continue
                active = daily_active_users(hub, day, rng)
                stamp = _unix(day)
                users.setdefault(hub.name, []).append([stamp, str(active)])
                requested = (1 + active * rng.uniform(1.5, 2.5)) * GIB
                memory.setdefault(hub.name, []).append([stamp, f"{requested:.0f}"])
        for series, samples in (("daily_active_users", users), ("memory_requests_bytes", memory)):
            body = {
                "status": "success",
                "data": {
                    "resultType": "matrix",
                    "result": [
                        {"metric": {"namespace": namespace}, "values": values}
                        for namespace, values in samples.items()
                    ],
                },
            }
            path = landing / "usage" / cluster.name / f"{series}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(body, separators=(",", ":")), encoding="utf-8")
            written.append(path)
    return written


def write_landing(world: World, landing: Path) -> None:
    """Every source the pipeline reads, under one landing folder."""
    write_registry(world, landing)
    write_fx_rates(world, landing)
    write_usage(world, landing)
    write_revenue(world, landing)
    write_cloud_costs(world, landing)
    write_community(world, landing)
