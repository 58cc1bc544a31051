"""Cloud bills for the simulated world, each cluster's in its provider's real export format.

- GCP clusters: Cloud Billing export rows as BigQuery exports them, to JSON lines in two
  shards per invoice month (projects billed to 2i2c's billing account) or to Parquet
  (projects on a partner's own billing account), with sustained-use credits (negative) on
  compute. The month before last is exported again into its own folder
  (`reexport-<date>/`, gzip) with a late promotional credit and a `cost_type = adjustment`
  row, as a restated month is; that delivery replaces the first one.
- AWS clusters: the shared cluster's organisation exports CUR 2.0 (Data Exports) Parquet in
  two parts per billing period with the metadata Manifest.json listing them, and EKS split
  cost allocation rows for its core nodes; our other clusters' organisation writes a legacy
  CUR (gzip CSV, assemblyId folders, the period manifest naming the current assembly; its
  last month's earlier estimate assembly is left on disk); a partner-paid cluster is its own
  payer with a one-part CUR 2.0 export. Savings Plan lines (covered usage, negation,
  recurring fee), Credit and Tax lines. The shared AWS cluster's last months come as an AWS
  FOCUS 1.0 export instead (CSV, with the quirks of real files: NULL, 'YYYY-MM-DD
  HH:MM:SS', 'Usage-based'), never both for a month.
- Files carry the time their delivery was written (modification time), which orders
  deliveries of the same billing scope.
- Azure clusters: actual-cost exports, daily rows, UTF-8 byte-order mark, MM/DD/YYYY dates,
  braceless JSON Tags; the subscriptions we pay for export partitioned runs (two gzip CSV
  parts and a manifest.json per month), partner-paid ones a single CSV per month, billed in
  the partner's currency.

Hub pods and home-directory storage are tagged with their hub (GKE `k8s-namespace` label,
AWS `user:2i2c:hub-name` tag, AKS disks' `kubernetes.io-created-for-pvc-namespace`); core
nodes, networking and monitoring are untagged and left to the memory-share split. A small
sandbox project matches no cluster and shows as unattributed.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import math
import os
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingest.demo.world import CURRENCIES, SEASON, Cluster, Hub, World, _add_months

SEED_OFFSET = 30
OUR_GCP_BILLING_ACCOUNT = "01A2B3-C4D5E6-2I2C00"
OUR_AWS_PAYER = "790657130469"
OUR_LEGACY_AWS_PAYER = "551107237430"  # our older AWS organisation, still on a legacy CUR
LEGACY_REPORT = "2i2c-legacy-cur"
OUR_AZURE_BILLING_ACCOUNT = "8611537"
SANDBOX_PROJECT = "2i2c-sandbox"
FOCUS_MONTHS = 3  # the shared AWS cluster's last months, exported as FOCUS instead of CUR


@dataclass
class Charge:
    """One month's charge of one cluster before it is written in a provider's format."""

    service: str
    category: str  # FOCUS ServiceCategory
    description: str
    hub: str | None
    usd: float


def _month_end(month: date) -> date:
    return _add_months(month, 1)


def _live(hub: Hub, month: date) -> bool:
    return hub.launched_on < _month_end(month) and (
        hub.retired_on is None or hub.retired_on > month
    )


def _activity(hub: Hub, month: date) -> float:
    """Expected daily active users that month (the world's usage model without noise)."""
    age = max((month.year - hub.launched_on.year) * 12 + month.month - hub.launched_on.month, 0)
    return hub.base_users * (1 - 0.6 * math.exp(-age / 8)) * SEASON[month.month]


def _charges(cluster: Cluster, month: date, rng: random.Random) -> list[Charge]:
    """What the cluster cost that month, in USD: per-hub pods and storage, shared overhead."""
    hubs = [h for h in cluster.hubs if _live(h, month)]
    if not hubs:
        return []
    shared = len({h.partner_id for h in cluster.hubs}) > 1
    charges = []
    total_activity = 0.0
    for hub in hubs:
        activity = _activity(hub, month)
        total_activity += activity
        charges.append(
            Charge(
                "compute",
                "Compute",
                "user pods",
                hub.name,
                round(3.5 * activity * rng.uniform(0.9, 1.1) + 5, 2),
            )
        )
        charges.append(
            Charge(
                "storage",
                "Storage",
                "home directories",
                hub.name,
                round(12 + 0.6 * activity * rng.uniform(0.8, 1.2), 2),
            )
        )
    core = (520 if shared else 210) * rng.uniform(0.92, 1.08)
    charges.append(Charge("compute", "Compute", "core nodes", None, round(core, 2)))
    charges.append(
        Charge(
            "network",
            "Networking",
            "egress and load balancing",
            None,
            round(25 + 0.25 * total_activity * rng.uniform(0.8, 1.2), 2),
        )
    )
    charges.append(
        Charge(
            "monitoring",
            "Management and Governance",
            "logs and metrics",
            None,
            round(rng.uniform(8, 18), 2),
        )
    )
    return charges


def _billing_currency(cluster: Cluster, world: World, provider_default: str = "USD") -> str:
    if cluster.paid_by_us:
        return "USD"
    partner = next((h.partner_id for h in cluster.hubs), None)
    currency = next((p.currency for p in world.partners if p.id == partner), "USD")
    return currency if currency != "USD" else provider_default


def _in(usd: float, currency: str) -> float:
    return round(usd / CURRENCIES[currency], 6)


# --- GCP ---------------------------------------------------------------------------------

GCP_SERVICES = {
    "compute": ("6F81-5844-456A", "Compute Engine", "N2 Instance Core running in Americas"),
    "storage": ("D97E-AB26-5D95", "Filestore", "Filestore Basic HDD capacity"),
    "network": ("E505-1604-58F8", "Networking", "Network Internet Egress from Americas"),
    "monitoring": ("58CD-E7C3-72CA", "Cloud Monitoring", "Metric Volume"),
}


def _gcp_row(
    account: str,
    project: str,
    month: date,
    charge: Charge,
    currency: str,
    credits: list[dict],
    cost_type: str = "regular",
) -> dict:
    service_id, service, sku = GCP_SERVICES[charge.service]
    start, end = month, _month_end(month)
    return {
        "billing_account_id": account,
        "service": {"id": service_id, "description": service},
        "sku": {"id": f"{service_id[:4]}-SKU", "description": sku},
        "usage_start_time": f"{start.isoformat()} 00:00:00 UTC",
        "usage_end_time": f"{end.isoformat()} 00:00:00 UTC",
        "project": {"id": project, "name": project},
        "labels": [{"key": "k8s-namespace", "value": charge.hub}] if charge.hub else [],
        "location": {"region": "us-central1"},
        "export_time": f"{(end + timedelta(days=1)).isoformat()} 04:00:00 UTC",
        "cost": _in(charge.usd, currency),
        "currency": currency,
        "currency_conversion_rate": round(1 / CURRENCIES[currency], 6),
        "usage": {"amount": 1.0, "unit": "month"},
        "credits": credits,
        "invoice": {"month": f"{month.year}{month.month:02d}"},
        "cost_type": cost_type,
    }


def _gcp_month(world: World, month: date, rng: random.Random) -> dict[str, list[dict]]:
    """Rows per billing account for one invoice month."""
    by_account: dict[str, list[dict]] = {}
    for cluster in (c for c in world.clusters if c.provider == "gcp"):
        account = OUR_GCP_BILLING_ACCOUNT if cluster.paid_by_us else f"BA-{cluster.name}"[:20]
        currency = _billing_currency(cluster, world)
        for charge in _charges(cluster, month, rng):
            credits = []
            if charge.service == "compute":
                credits.append(
                    {
                        "name": "Sustained Usage Discount",
                        "type": "SUSTAINED_USAGE_DISCOUNT",
                        "amount": -round(_in(charge.usd, currency) * 0.12, 6),
                    }
                )
            by_account.setdefault(account, []).append(
                _gcp_row(account, cluster.account, month, charge, currency, credits)
            )
    sandbox = Charge("compute", "Compute", "sandbox VM", None, round(rng.uniform(5, 25), 2))
    by_account.setdefault(OUR_GCP_BILLING_ACCOUNT, []).append(
        _gcp_row(OUR_GCP_BILLING_ACCOUNT, SANDBOX_PROJECT, month, sandbox, "USD", [])
    )
    return by_account


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row, separators=(",", ":")) + "\n" for row in rows)
    if path.name.endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))  # same bytes every run
    else:
        path.write_text(text, encoding="utf-8")


def _delivered(paths: list[Path], moment: datetime) -> None:
    """Give a delivery's files the time the provider wrote them (deliveries are ordered by it)."""
    stamp = moment.replace(tzinfo=UTC).timestamp()
    for path in paths:
        os.utime(path, (stamp, stamp))


def _shards(rows: list[dict], count: int) -> list[list[dict]]:
    """A BigQuery export of a table into `count` files (`-000000000000`, ...)."""
    size = -(-len(rows) // count)
    return [rows[i : i + size] for i in range(0, len(rows), size)]


def _write_gcp_parquet(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    credit = pa.struct([("name", pa.string()), ("type", pa.string()), ("amount", pa.float64())])
    label = pa.struct([("key", pa.string()), ("value", pa.string())])
    table = pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                ("billing_account_id", pa.string()),
                ("service", pa.struct([("id", pa.string()), ("description", pa.string())])),
                ("sku", pa.struct([("id", pa.string()), ("description", pa.string())])),
                ("usage_start_time", pa.string()),
                ("usage_end_time", pa.string()),
                ("project", pa.struct([("id", pa.string()), ("name", pa.string())])),
                ("labels", pa.list_(label)),
                ("location", pa.struct([("region", pa.string())])),
                ("export_time", pa.string()),
                ("cost", pa.float64()),
                ("currency", pa.string()),
                ("currency_conversion_rate", pa.float64()),
                ("usage", pa.struct([("amount", pa.float64()), ("unit", pa.string())])),
                ("credits", pa.list_(credit)),
                ("invoice", pa.struct([("month", pa.string())])),
                ("cost_type", pa.string()),
            ]
        ),
    )
    pq.write_table(table, path)


def write_gcp(world: World, landing: Path, rng: random.Random) -> list[Path]:
    """2i2c's billing account exports each invoice month in two shards (one delivery, the
    files of one folder); the month before last is exported again after a late promotion and
    a correction, gzip-compressed into its own folder, and that re-export replaces it."""
    written = []
    restated = world.months[-2] if len(world.months) >= 2 else world.months[-1]
    for month in world.months:
        stamp = f"{month.year}{month.month:02d}"
        exported = datetime.combine(_month_end(month), time(4))
        for account, rows in _gcp_month(world, month, rng).items():
            folder = landing / "cloud_costs" / "gcp" / account
            if account != OUR_GCP_BILLING_ACCOUNT:
                path = folder / f"{stamp}.parquet"
                _write_gcp_parquet(path, rows)
                _delivered([path], exported)
                written.append(path)
                continue
            parts = [
                folder / f"{stamp}-{number:012d}.jsonl" for number in range(len(_shards(rows, 2)))
            ]
            for path, shard in zip(parts, _shards(rows, 2), strict=True):
                _write_jsonl(path, shard)
            _delivered(parts, exported)
            written += parts
            if month == restated and len(rows) > 2:
                # The month re-exported after a late promotional credit and a correction.
                late = json.loads(json.dumps(rows))
                late[0]["credits"].append(
                    {
                        "name": "Promotion",
                        "type": "PROMOTION",
                        "amount": -round(late[0]["cost"] * 0.5, 6),
                    }
                )
                reexported = datetime.combine(_add_months(month, 1), time(20))
                late[0]["export_time"] = f"{reexported:%Y-%m-%d %H:%M:%S} UTC"
                correction = json.loads(json.dumps(rows[-2]))
                correction.update(
                    cost=-round(rows[-2]["cost"] * 0.2, 6),
                    credits=[],
                    cost_type="adjustment",
                    adjustment_info={
                        "id": f"adj-{stamp}",
                        "description": "Correction of egress usage",
                        "mode": "PARTIAL_CORRECTION",
                        "type": "USAGE_CORRECTION",
                    },
                )
                path = folder / f"reexport-{reexported:%Y%m%d}" / f"{stamp}-000000000000.jsonl.gz"
                _write_jsonl(path, [*late, correction])
                _delivered([path], reexported)
                written.append(path)
    return written


# --- AWS ---------------------------------------------------------------------------------

AWS_PRODUCTS = {
    "compute": ("AmazonEC2", "Compute Instance", "USW2-BoxUsage:m6i.2xlarge"),
    "storage": ("AmazonEFS", "Storage", "USW2-TimedStorage-ByteHrs"),
    "network": ("AWSDataTransfer", "Data Transfer", "USW2-DataTransfer-Out-Bytes"),
    "monitoring": ("AmazonCloudWatch", "Metric", "USW2-CW:MetricMonitorUsage"),
}
SP_DISCOUNT = 0.28


def _aws_lines(cluster: Cluster, month: date, rng: random.Random, world: World) -> list[dict]:
    """CUR 2.0 line items of one cluster for one month (tags as `user:` keys)."""
    lines = []
    currency = _billing_currency(cluster, world)
    start, end = month, _month_end(month)

    def line(kind: str, charge: Charge, unblended: float, **extra) -> dict:
        product, family, usage_type = AWS_PRODUCTS[charge.service]
        tags = {"user:2i2c:hub-name": charge.hub} if charge.hub else {}
        return {
            "line_item_line_item_type": kind,
            "line_item_product_code": product,
            "product_product_family": family,
            "line_item_usage_type": usage_type,
            "line_item_line_item_description": charge.description,
            "line_item_unblended_cost": round(unblended, 6),
            "resource_tags": tags,
            "service_category": charge.category,
            "hub": charge.hub,
            "charge_start": start,
            "charge_end": end,
            "currency": currency,
            **extra,
        }

    for charge in _charges(cluster, month, rng):
        cost = _in(charge.usd, currency)
        if charge.description == "core nodes":
            # The nodes run under a Compute Savings Plan sized to them: covered at on-demand
            # price, negated, and billed as the plan's recurring fee.
            commitment = round(cost * (1 - SP_DISCOUNT), 6)
            lines.append(
                line(
                    "SavingsPlanCoveredUsage",
                    charge,
                    cost,
                    pricing_public_on_demand_cost=cost,
                    savings_plan_savings_plan_effective_cost=commitment,
                )
            )
            lines.append(line("SavingsPlanNegation", charge, -cost))
            lines.append(
                line(
                    "SavingsPlanRecurringFee",
                    charge,
                    commitment,
                    savings_plan_total_commitment_to_date=commitment,
                    savings_plan_used_commitment=commitment,
                )
            )
        else:
            lines.append(line("Usage", charge, cost, pricing_public_on_demand_cost=cost))
    if lines and month.month % 3 == 1:  # research credits applied each quarter
        credit = Charge("compute", "Compute", "AWS Cloud Credit for Research", None, 0)
        lines.append(line("Credit", credit, -round(_in(150, currency), 6)))
    if lines and not cluster.paid_by_us:
        tax = Charge("compute", "Compute", "Sales tax", None, 0)
        usage = sum(x["line_item_unblended_cost"] for x in lines)
        lines.append(line("Tax", tax, round(usage * 0.07, 6)))
    return lines


def _cur_rows(lines: list[dict], account: str, payer: str, month: date) -> list[dict]:
    rows = []
    for number, item in enumerate(lines):
        rows.append(
            {
                "identity_line_item_id": f"{account}-{month:%Y%m}-{number:04d}",
                "identity_time_interval": f"{item['charge_start']:%Y-%m-%d}T00:00:00Z/"
                f"{item['charge_end']:%Y-%m-%d}T00:00:00Z",
                "bill_billing_period_start_date": f"{month.isoformat()} 00:00:00",
                "bill_billing_period_end_date": f"{_month_end(month).isoformat()} 00:00:00",
                "bill_payer_account_id": payer,
                "line_item_usage_account_id": account,
                "line_item_line_item_type": item["line_item_line_item_type"],
                "line_item_product_code": item["line_item_product_code"],
                "product_product_family": item["product_product_family"],
                "line_item_usage_type": item["line_item_usage_type"],
                "line_item_line_item_description": item["line_item_line_item_description"],
                "line_item_usage_start_date": f"{item['charge_start'].isoformat()} 00:00:00",
                "line_item_usage_end_date": f"{item['charge_end'].isoformat()} 00:00:00",
                "line_item_unblended_cost": item["line_item_unblended_cost"],
                "line_item_currency_code": item["currency"],
                "pricing_public_on_demand_cost": item.get("pricing_public_on_demand_cost"),
                "savings_plan_savings_plan_effective_cost": item.get(
                    "savings_plan_savings_plan_effective_cost"
                ),
                "savings_plan_total_commitment_to_date": item.get(
                    "savings_plan_total_commitment_to_date"
                ),
                "savings_plan_used_commitment": item.get("savings_plan_used_commitment"),
                "line_item_resource_id": item.get("line_item_resource_id"),
                "split_line_item_parent_resource_id": item.get(
                    "split_line_item_parent_resource_id"
                ),
                "split_line_item_split_cost": item.get("split_line_item_split_cost"),
                "split_line_item_unused_cost": item.get("split_line_item_unused_cost"),
                "resource_tags": list(item["resource_tags"].items()),
            }
        )
    return rows


CUR_SCHEMA = pa.schema(
    [
        ("identity_line_item_id", pa.string()),
        ("identity_time_interval", pa.string()),
        ("bill_billing_period_start_date", pa.timestamp("ms")),
        ("bill_billing_period_end_date", pa.timestamp("ms")),
        ("bill_payer_account_id", pa.string()),
        ("line_item_usage_account_id", pa.string()),
        ("line_item_line_item_type", pa.string()),
        ("line_item_product_code", pa.string()),
        ("product_product_family", pa.string()),
        ("line_item_usage_type", pa.string()),
        ("line_item_line_item_description", pa.string()),
        ("line_item_usage_start_date", pa.timestamp("ms")),
        ("line_item_usage_end_date", pa.timestamp("ms")),
        ("line_item_unblended_cost", pa.float64()),
        ("line_item_currency_code", pa.string()),
        ("pricing_public_on_demand_cost", pa.float64()),
        ("savings_plan_savings_plan_effective_cost", pa.float64()),
        ("savings_plan_total_commitment_to_date", pa.float64()),
        ("savings_plan_used_commitment", pa.float64()),
        ("line_item_resource_id", pa.string()),
        ("split_line_item_parent_resource_id", pa.string()),
        ("split_line_item_split_cost", pa.float64()),
        ("split_line_item_unused_cost", pa.float64()),
        ("resource_tags", pa.map_(pa.string(), pa.string())),
    ]
)


def _write_cur(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {name: [row[name] for row in rows] for name in CUR_SCHEMA.names}
    for name in (
        "bill_billing_period_start_date",
        "bill_billing_period_end_date",
        "line_item_usage_start_date",
        "line_item_usage_end_date",
    ):
        columns[name] = [date.fromisoformat(v[:10]) for v in columns[name]]
    arrays = [
        pa.array(columns[f.name], type=pa.date32()).cast(f.type)
        if f.type == pa.timestamp("ms")
        else pa.array(columns[f.name], type=f.type)
        for f in CUR_SCHEMA
    ]
    pq.write_table(pa.Table.from_arrays(arrays, schema=CUR_SCHEMA), path, compression="snappy")


FOCUS_HEADER = [
    "AvailabilityZone",
    "BilledCost",
    "BillingAccountId",
    "BillingAccountName",
    "BillingCurrency",
    "BillingPeriodEnd",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargeClass",
    "ChargeDescription",
    "ChargeFrequency",
    "ChargePeriodEnd",
    "ChargePeriodStart",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "ContractedCost",
    "EffectiveCost",
    "InvoiceIssuerName",
    "ListCost",
    "PricingQuantity",
    "PricingUnit",
    "ProviderName",
    "PublisherName",
    "RegionId",
    "ResourceId",
    "ServiceCategory",
    "ServiceName",
    "SkuId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "x_LineItemType",
]
FOCUS_CATEGORY = {
    "Usage": "Usage",
    "SavingsPlanCoveredUsage": "Usage",
    "SavingsPlanNegation": "Usage",
    "SavingsPlanRecurringFee": "Purchase",
    "Credit": "Credit",
    "Tax": "Tax",
}


def _focus_rows(lines: list[dict], account: str, payer: str, month: date) -> list[list]:
    """The same line items as AWS's FOCUS 1.0 export writes them (quirks included)."""
    rows = []
    for item in lines:
        kind = item["line_item_line_item_type"]
        billed = item["line_item_unblended_cost"]
        effective = {
            "SavingsPlanCoveredUsage": item.get("savings_plan_savings_plan_effective_cost"),
            "SavingsPlanNegation": 0.0,
            "SavingsPlanRecurringFee": 0.0,
        }.get(kind, billed)
        listed = item.get("pricing_public_on_demand_cost") or (
            0.0 if kind.startswith("SavingsPlan") else billed
        )
        tags = json.dumps(item["resource_tags"]) if item["resource_tags"] else "NULL"
        rows.append(
            [
                "NULL",
                f"{billed:.10f}",
                payer,
                "2i2c",
                item["currency"],
                f"{_month_end(month).isoformat()} 00:00:00",
                f"{month.isoformat()} 00:00:00",
                FOCUS_CATEGORY[kind],
                "NULL",
                item["line_item_line_item_description"],
                "Usage-based"
                if FOCUS_CATEGORY[kind] == "Usage"
                else "Recurring"
                if kind == "SavingsPlanRecurringFee"
                else "One-Time",
                f"{item['charge_end'].isoformat()} 00:00:00",
                f"{item['charge_start'].isoformat()} 00:00:00",
                "Spend" if kind.startswith("SavingsPlan") else "NULL",
                "arn:aws:savingsplans::790657130469:savingsplan/demo"
                if kind.startswith("SavingsPlan")
                else "NULL",
                f"{billed:.10f}",
                f"{effective:.10f}",
                "Amazon Web Services, Inc.",
                f"{listed:.10f}",
                "1",
                "Month",
                "AWS",
                "Amazon Web Services, Inc.",
                "us-west-2",
                "NULL",
                item["service_category"],
                item["line_item_product_code"],
                "NULL",
                account,
                "NULL",
                tags,
                kind,
            ]
        )
    return rows


def _split_cost_lines(cluster: Cluster, lines: list[dict], month: date) -> list[dict]:
    """EKS split cost allocation data: the core nodes' instance split over the namespaces
    whose pods ran on it (the hubs, and kube-system), as pod rows that cost nothing
    themselves and carry their share in split_line_item_split_cost and _unused_cost."""
    core = next(x for x in lines if x["line_item_line_item_type"] == "SavingsPlanCoveredUsage")
    instance = "i-0" + hashlib.sha256(f"{cluster.name}{month}".encode()).hexdigest()[:16]
    core["line_item_resource_id"] = instance
    cost = core["line_item_unblended_cost"]
    weights = {h.name: 1 + _activity(h, month) for h in cluster.hubs if _live(h, month)}
    weights["kube-system"] = 0.08 * sum(weights.values())
    total = sum(weights.values())
    pods = []
    for namespace, weight in weights.items():
        share = cost * weight / total
        pods.append(
            {
                **core,
                "line_item_line_item_type": "Usage",
                "line_item_usage_type": "EKS-EC2-vCPU-Hours",
                "line_item_line_item_description": f"{namespace} pods on the core nodes",
                "line_item_unblended_cost": 0.0,
                "pricing_public_on_demand_cost": None,
                "savings_plan_savings_plan_effective_cost": None,
                "line_item_resource_id": f"arn:aws:eks:us-west-2:{cluster.account}:pod/"
                f"{cluster.name}/{namespace}/{namespace}-pods",
                "split_line_item_parent_resource_id": instance,
                "split_line_item_split_cost": round(share * 0.85, 6),
                "split_line_item_unused_cost": round(share * 0.15, 6),
                "resource_tags": {
                    "aws:eks:namespace": namespace,
                    "aws:eks:cluster-name": cluster.name,
                },
                "hub": None,
            }
        )
    return pods


def _aws_payers(world: World) -> dict[str, tuple[str, str]]:
    """Cluster -> (payer account, report format). Our shared cluster's organisation exports
    CUR 2.0 with Data Exports; our other clusters sit in an older organisation that still
    writes a legacy CUR; a partner-paid cluster is its own payer with a CUR 2.0 export."""
    ours = [c for c in world.clusters if c.provider == "aws" and c.paid_by_us]
    main = ([c for c in ours if len({h.partner_id for h in c.hubs}) > 1] or ours or [None])[0]
    payers = {}
    for cluster in (c for c in world.clusters if c.provider == "aws"):
        if not cluster.paid_by_us:
            payers[cluster.name] = (cluster.account, "cur2")
        elif cluster is main:
            payers[cluster.name] = (OUR_AWS_PAYER, "cur2")
        else:
            payers[cluster.name] = (OUR_LEGACY_AWS_PAYER, "legacy")
    return payers


def _write_data_export(
    landing: Path, payer: str, month: date, rows: list[dict], parts: int
) -> list[Path]:
    """A CUR 2.0 Data Exports delivery: the period's parts and, for a multi-part export, the
    metadata Manifest.json listing them (written after the parts, as AWS does)."""
    export = landing / "cloud_costs" / "aws" / payer / "cur2"
    folder = export / "data" / f"BILLING_PERIOD={month:%Y-%m}"
    paths = [folder / f"cur2-{n:05d}.snappy.parquet" for n in range(1, parts + 1)]
    size = -(-len(rows) // parts)
    for number, path in enumerate(paths):
        _write_cur(path, rows[number * size : (number + 1) * size])
    delivered = datetime.combine(_month_end(month) + timedelta(days=2), time(6))
    written = list(paths)
    if parts > 1:
        manifest = export / "metadata" / f"BILLING_PERIOD={month:%Y-%m}" / "cur2-Manifest.json"
        manifest.parent.mkdir(parents=True, exist_ok=True)
        execution = hashlib.sha256(f"{payer}{month}".encode()).hexdigest()[:32]
        manifest.write_text(
            json.dumps(
                {
                    "executionId": execution,
                    "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{payer}:export/cur2",
                    "columns": [{"name": f.name, "type": str(f.type)} for f in CUR_SCHEMA],
                    "dataFiles": [
                        f"s3://2i2c-billing/exports/cur2/data/BILLING_PERIOD={month:%Y-%m}/"
                        f"{path.name}"
                        for path in paths
                    ],
                    "additionalOutputFiles": [],
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        written.append(manifest)
    _delivered(written, delivered)
    return written


LEGACY_HEADER = {
    "identity/LineItemId": "identity_line_item_id",
    "identity/TimeInterval": "identity_time_interval",
    "bill/PayerAccountId": "bill_payer_account_id",
    "bill/BillingPeriodStartDate": "bill_billing_period_start_date",
    "bill/BillingPeriodEndDate": "bill_billing_period_end_date",
    "lineItem/UsageAccountId": "line_item_usage_account_id",
    "lineItem/LineItemType": "line_item_line_item_type",
    "lineItem/UsageStartDate": "line_item_usage_start_date",
    "lineItem/UsageEndDate": "line_item_usage_end_date",
    "lineItem/ProductCode": "line_item_product_code",
    "lineItem/UsageType": "line_item_usage_type",
    "lineItem/LineItemDescription": "line_item_line_item_description",
    "lineItem/UnblendedCost": "line_item_unblended_cost",
    "lineItem/CurrencyCode": "line_item_currency_code",
    "pricing/publicOnDemandCost": "pricing_public_on_demand_cost",
    "savingsPlan/SavingsPlanEffectiveCost": "savings_plan_savings_plan_effective_cost",
    "savingsPlan/TotalCommitmentToDate": "savings_plan_total_commitment_to_date",
    "savingsPlan/UsedCommitment": "savings_plan_used_commitment",
    "product/productFamily": "product_product_family",
}


def _legacy_csv_gz(path: Path, rows: list[dict]) -> None:
    """A legacy CUR report file as AWS writes it: CSV, gzip, ISO dates with T and Z."""
    path.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([*LEGACY_HEADER, "resourceTags/user:2i2c:hub-name"])
    for row in rows:
        values = []
        for column in LEGACY_HEADER.values():
            value = row[column]
            if column.endswith(("_start_date", "_end_date")):
                value = value.replace(" ", "T") + "Z"
            values.append("" if value is None else value)
        values.append(dict(row["resource_tags"]).get("user:2i2c:hub-name", ""))
        writer.writerow(values)
    path.write_bytes(gzip.compress(buffer.getvalue().encode("utf-8"), mtime=0))


def _write_legacy_cur(
    landing: Path, payer: str, month: date, rows: list[dict], estimate: list[dict] | None
) -> list[Path]:
    """A legacy CUR period: `<report>/<yyyymmdd-yyyymmdd>/<assemblyId>/<report>-1.csv.gz`, the
    period's `<report>-Manifest.json` naming the current assembly, and its copy inside it.
    With `estimate`, an earlier assembly of the month is left on disk, as AWS leaves it."""
    period = f"{month:%Y%m%d}-{_month_end(month):%Y%m%d}"
    folder = landing / "cloud_costs" / "aws" / payer / LEGACY_REPORT / period
    written = []
    versions = [("estimate", estimate), ("final", rows)] if estimate else [("final", rows)]
    for version, (name, version_rows) in enumerate(versions):
        assembly = str(uuid.UUID(hashlib.sha256(f"{payer}{month}{name}".encode()).hexdigest()[:32]))
        key = f"cur/{LEGACY_REPORT}/{period}/{assembly}/{LEGACY_REPORT}-1.csv.gz"
        report = folder / assembly / f"{LEGACY_REPORT}-1.csv.gz"
        _legacy_csv_gz(report, version_rows)
        manifest = {
            "assemblyId": assembly,
            "account": payer,
            "columns": [
                {"category": h.split("/")[0], "name": h.split("/")[1]} for h in LEGACY_HEADER
            ],
            "charset": "UTF-8",
            "compression": "GZIP",
            "contentType": "text/csv",
            "reportName": LEGACY_REPORT,
            "billingPeriod": {
                "start": f"{month:%Y%m%d}T000000.000Z",
                "end": f"{_month_end(month):%Y%m%d}T000000.000Z",
            },
            "bucket": "2i2c-billing",
            "reportKeys": [key],
            "additionalArtifactKeys": [],
        }
        copy = folder / assembly / f"{LEGACY_REPORT}-Manifest.json"
        copy.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        delivered = datetime.combine(month + timedelta(days=15 + 20 * version), time(6))
        _delivered([report, copy], delivered)
        written += [report, copy]
        if name == "final":
            current = folder / f"{LEGACY_REPORT}-Manifest.json"
            current.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
            _delivered([current], delivered)
            written.append(current)
    return written


def write_aws(world: World, landing: Path, rng: random.Random) -> list[Path]:
    written = []
    shared = next(
        (
            c
            for c in world.clusters
            if c.provider == "aws" and len({h.partner_id for h in c.hubs}) > 1
        ),
        None,
    )
    payers = _aws_payers(world)
    # The legacy CUR's last month comes with an earlier estimate assembly left on disk.
    legacy = [c for c in world.clusters if payers.get(c.name, ("", ""))[1] == "legacy"]
    estimated = max(
        (m for m in world.months for c in legacy if any(_live(h, m) for h in c.hubs)),
        default=None,
    )
    focus_from = world.months[-FOCUS_MONTHS] if len(world.months) > FOCUS_MONTHS else None
    for month in world.months:
        by_payer: dict[str, list[dict]] = {}
        focus: list[list] = []
        for cluster in (c for c in world.clusters if c.provider == "aws"):
            payer, _ = payers[cluster.name]
            lines = _aws_lines(cluster, month, rng, world)
            if cluster is shared and focus_from and month >= focus_from:
                focus.extend(_focus_rows(lines, cluster.account, payer, month))
                continue
            if cluster is shared and lines:
                lines += _split_cost_lines(cluster, lines, month)
            by_payer.setdefault(payer, []).extend(_cur_rows(lines, cluster.account, payer, month))
        for payer, rows in by_payer.items():
            if not rows:
                continue
            if payer == OUR_LEGACY_AWS_PAYER:
                # That month's first assembly was an estimate: 5% short, no tax or credit.
                estimate = None
                if month == estimated:
                    estimate = [
                        {
                            **r,
                            "line_item_unblended_cost": round(
                                r["line_item_unblended_cost"] * 0.95, 6
                            ),
                        }
                        for r in rows
                        if r["line_item_line_item_type"] not in ("Tax", "Credit")
                    ]
                written += _write_legacy_cur(landing, payer, month, rows, estimate)
            else:
                parts = 2 if payer == OUR_AWS_PAYER and len(rows) > 1 else 1
                written += _write_data_export(landing, payer, month, rows, parts)
        if focus:
            path = landing / "cloud_costs" / "focus" / "aws" / f"focus-{month:%Y-%m}.csv"
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, quoting=csv.QUOTE_MINIMAL)
                writer.writerow(FOCUS_HEADER)
                writer.writerows(focus)
            _delivered([path], datetime.combine(_month_end(month) + timedelta(days=2), time(7)))
            written.append(path)
    return written


# --- Azure -------------------------------------------------------------------------------

AZURE_METERS = {
    "compute": ("Virtual Machines", "D4s v5", "Microsoft.Compute", 0.192),
    "storage": ("Storage", "P10 LRS Disk", "Microsoft.Compute", 0.0025),
    "network": ("Bandwidth", "Standard Data Transfer Out", "Microsoft.Network", 0.087),
    "monitoring": (
        "Log Analytics",
        "Pay-as-you-go Data Ingestion",
        "Microsoft.OperationalInsights",
        2.76,
    ),
}
AZURE_HEADER = [
    "BillingAccountId",
    "BillingAccountName",
    "BillingPeriodStartDate",
    "BillingPeriodEndDate",
    "SubscriptionId",
    "SubscriptionName",
    "Date",
    "MeterCategory",
    "MeterName",
    "ConsumedService",
    "ResourceLocation",
    "Quantity",
    "EffectivePrice",
    "CostInBillingCurrency",
    "PayGPrice",
    "BillingCurrency",
    "ChargeType",
    "PricingModel",
    "Frequency",
    "Tags",
]


def write_azure(world: World, landing: Path, rng: random.Random) -> list[Path]:
    written = []
    for cluster in (c for c in world.clusters if c.provider == "azure"):
        account = OUR_AZURE_BILLING_ACCOUNT if cluster.paid_by_us else cluster.account[:8]
        currency = _billing_currency(cluster, world, provider_default="EUR")
        for month in world.months:
            charges = _charges(cluster, month, rng)
            if not charges:
                continue
            days = [month + timedelta(days=i) for i in range((_month_end(month) - month).days)]
            last = days[-1]
            rows = []
            for charge in charges:
                category, meter, consumed, price = AZURE_METERS[charge.service]
                daily = _in(charge.usd, currency) / len(days)
                tags = (
                    f'"kubernetes.io-created-for-pvc-namespace": "{charge.hub}",'
                    f'"aks-managed-cluster": "{cluster.name}"'
                    if charge.hub
                    else f'"aks-managed-cluster": "{cluster.name}"'
                )
                for day in days:
                    cost = round(daily, 6)
                    rows.append(
                        [
                            account,
                            "2i2c" if cluster.paid_by_us else cluster.name,
                            f"{month:%m/%d/%Y}",
                            f"{last:%m/%d/%Y}",
                            cluster.account,
                            cluster.name,
                            f"{day:%m/%d/%Y}",
                            category,
                            meter,
                            consumed,
                            "westeurope",
                            round(cost / price, 4),
                            price,
                            cost,
                            price,
                            currency,
                            "Usage",
                            "OnDemand",
                            "UsageBased",
                            tags,
                        ]
                    )
            delivered = datetime.combine(_month_end(month) + timedelta(days=1), time(5))
            if cluster.paid_by_us:
                written += _write_partitioned_export(landing, cluster, month, rows, delivered)
                continue
            path = (
                landing
                / "cloud_costs"
                / "azure"
                / cluster.name
                / f"{month:%Y%m}"
                / f"actualcost_{month:%Y%m}.csv"
            )
            path.parent.mkdir(parents=True, exist_ok=True)
            with path.open("w", newline="", encoding="utf-8-sig") as handle:
                writer = csv.writer(handle)
                writer.writerow(AZURE_HEADER)
                writer.writerows(rows)
            _delivered([path], delivered)
            written.append(path)
    return written


def _write_partitioned_export(
    landing: Path, cluster: Cluster, month: date, rows: list[list], delivered: datetime
) -> list[Path]:
    """A Cost Management export run with partitioning on: gzip CSV parts, each with its
    byte-order mark and header, and the run's manifest.json listing them (Microsoft's
    documented shape)."""
    period = f"{month:%Y%m%d}-{_month_end(month) - timedelta(days=1):%Y%m%d}"
    run = str(uuid.UUID(hashlib.sha256(f"{cluster.name}{month}".encode()).hexdigest()[:32]))
    folder = landing / "cloud_costs" / "azure" / cluster.name / "actualcost" / period / run
    folder.mkdir(parents=True, exist_ok=True)
    half = -(-len(rows) // 2)
    parts = []
    for number, chunk in enumerate((rows[:half], rows[half:])):
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(AZURE_HEADER)
        writer.writerows(chunk)
        path = folder / f"part_{number}_0001.csv.gz"
        path.write_bytes(gzip.compress(buffer.getvalue().encode("utf-8-sig"), mtime=0))
        parts.append(path)
    manifest = folder / "manifest.json"
    blob_root = f"exports/{cluster.name}/actualcost/{period}/{run}"
    manifest.write_text(
        json.dumps(
            {
                "manifestVersion": "2024-04-01",
                "byteCount": sum(path.stat().st_size for path in parts),
                "blobCount": len(parts),
                "dataRowCount": len(rows),
                "exportConfig": {
                    "exportName": "actualcost",
                    "resourceId": f"/subscriptions/{cluster.account}/providers/"
                    "Microsoft.CostManagement/exports/actualcost",
                    "dataVersion": "2023-12-01-preview",
                    "type": "ActualCost",
                    "timeFrame": "TheLastMonth",
                    "granularity": "Daily",
                },
                "deliveryConfig": {
                    "partitionData": True,
                    "dataOverwriteBehavior": "CreateNewReport",
                    "fileFormat": "Csv",
                    "compressionMode": "gzip",
                },
                "runInfo": {
                    "executionType": "Scheduled",
                    "submittedTime": f"{delivered:%Y-%m-%dT%H:%M:%S}.1234567Z",
                    "runId": run,
                    "startDate": f"{month:%Y-%m-%d}T00:00:00",
                    "endDate": f"{_month_end(month) - timedelta(days=1):%Y-%m-%d}T00:00:00",
                },
                "blobs": [
                    {"blobName": f"{blob_root}/{path.name}", "byteCount": path.stat().st_size}
                    for path in parts
                ],
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    _delivered([*parts, manifest], delivered)
    return [*parts, manifest]


def write_cloud_costs(world: World, landing: Path) -> list[Path]:
    """Every cluster's bills for every month of the world, in its provider's format."""
    rng = random.Random(world.seed + SEED_OFFSET)
    return [
        *write_gcp(world, landing, rng),
        *write_aws(world, landing, rng),
        *write_azure(world, landing, rng),
    ]
