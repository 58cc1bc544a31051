"""Write the simulated world as landing files, each in its source's real format."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import yaml

from ingest.demo.cloud_costs import write_cloud_costs
from ingest.demo.community import freshdesk_company_id, write_community
from ingest.demo.revenue import write_revenue
from ingest.demo.usage import simulate as simulate_usage
from ingest.demo.usage import write_settings as write_usage_settings
from ingest.demo.usage import write_usage
from ingest.demo.world import CURRENCIES, World


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


def write_landing(world: World, landing: Path) -> None:
    """Every source the pipeline reads, under one landing folder."""
    write_registry(world, landing)
    write_fx_rates(world, landing)
    usage = simulate_usage(world)
    write_usage_settings(landing)
    write_usage(usage, landing)
    write_revenue(world, landing, usage.billable_mau())
    write_cloud_costs(world, landing)
    write_community(world, landing)
