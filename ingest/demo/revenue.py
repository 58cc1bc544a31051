"""Revenue demo data: HubSpot deal pages, the pipelines file, invoice CSVs and the finance Sheet.

Derived deterministically from the World: every partner signs annual contracts from the day
it started, renews them (sometimes bigger, sometimes smaller), buys mid-term upsells, stops
renewing when it churns and signs again when it is reactivated. Deals start months before
they close, some upsells are lost, renewals coming up are open deals in a custom renewals
pipeline, and a prospect not (yet) in the registry has an open deal. Invoices bill the
contracts monthly or quarterly (GL 4221), recover the cloud costs of clusters we pay for
(4222) monthly in arrears at about what the hubs cost, and add onboarding (4224) and usage
(4223, on the month's billable users) fees; past years are CSV exports and the current year
is the finance Google Sheet (a Sheets v4 values.get response).
"""

from __future__ import annotations

import csv
import json
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from ingest.demo.usage import usage_fee_usd
from ingest.demo.world import CURRENCIES, SEASON, Partner, World, _add_months
from ingest.invoices import COLUMNS as INVOICE_COLUMNS

SEED_OFFSET = 40
PAGE_SIZE = 25
RENEWALS_PIPELINE = "68410597"
DEFAULT_STAGES = [
    ("appointmentscheduled", "Appointment Scheduled", False, 0.2),
    ("qualifiedtobuy", "Qualified To Buy", False, 0.4),
    ("presentationscheduled", "Presentation Scheduled", False, 0.6),
    ("decisionmakerboughtin", "Decision Maker Bought-In", False, 0.8),
    ("contractsent", "Contract Sent", False, 0.9),
    ("closedwon", "Closed Won", True, 1.0),
    ("closedlost", "Closed Lost", True, 0.0),
]
RENEWAL_STAGES = [
    ("151627110", "Renewal due", False, 0.5),
    ("151627111", "Renewal negotiating", False, 0.8),
    ("151627112", "Renewed", True, 1.0),
    ("151627113", "Not renewed", True, 0.0),
]
PROBABILITY = {stage: p for stage, _, _, p in DEFAULT_STAGES + RENEWAL_STAGES}
PROSPECT_COMPANY_ID = "9001"
SHEET_COLUMNS = [
    "invoice_number",
    "invoice_date",
    "customer",
    "hubspot_deal_id",
    "gl_account",
    "amount",
    "currency",
    "service_period_start",
    "service_period_end",
    "due_date",
    "description",
    "paid_date",
]


@dataclass
class Deal:
    id: str
    company_id: str
    name: str
    pipeline: str
    stage: str
    amount: float
    currency: str
    created: date
    closed: date
    start: date | None = None
    end: date | None = None
    history: list[tuple[str, date]] = field(default_factory=list)

    @property
    def is_won(self) -> bool:
        return self.stage in ("closedwon", "151627112")


@dataclass
class Line:
    number: str
    partner: Partner
    deal_id: str
    invoice_date: date
    gl_account: str
    description: str
    period: tuple[date, date] | None
    amount: float
    paid: date | None


def _months(first: date, last: date) -> int:
    """Calendar months from `first` to `last`, both counted: Jan 1 .. Dec 31 is 12."""
    return (last.year - first.year) * 12 + last.month - first.month + 1


def _timestamp(day: date, rng: random.Random) -> str:
    return f"{day.isoformat()}T{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}:00.000Z"


def _local(usd: float, currency: str) -> float:
    """A round amount in the partner's currency worth about `usd`."""
    return round(usd / CURRENCIES[currency] / 100) * 100


class _Deals:
    def __init__(self, world: World, rng: random.Random):
        self.world = world
        self.rng = rng
        self.deals: list[Deal] = []
        self.next_id = 31_000_000_000

    def new_id(self) -> str:
        self.next_id += self.rng.randint(1, 9_000)
        return str(self.next_id)

    def add(
        self,
        partner: Partner,
        name: str,
        pipeline: str,
        stage: str,
        amount: float,
        closed: date,
        cycle_days: int,
        start: date | None = None,
        end: date | None = None,
        deal_id: str | None = None,
        company_id: str | None = None,
    ) -> Deal:
        created = closed - timedelta(days=cycle_days)
        stages = DEFAULT_STAGES if pipeline == "default" else RENEWAL_STAGES
        open_path = [s for s, _, closed_flag, _ in stages if not closed_flag]
        reached = open_path if stage not in open_path else open_path[: open_path.index(stage) + 1]
        step = max(cycle_days // (len(reached) + 1), 1)
        history = [(s, created + timedelta(days=i * step)) for i, s in enumerate(reached)]
        if stage not in open_path:
            history.append((stage, closed))
        deal = Deal(
            deal_id or self.new_id(),
            company_id or partner.hubspot_company_id,
            f"{partner.name} - {name}",
            pipeline,
            stage,
            amount,
            partner.currency,
            created,
            closed,
            start,
            end,
            history,
        )
        self.deals.append(deal)
        return deal


def build_deals(world: World, rng: random.Random) -> tuple[list[Deal], list[Deal]]:
    """Every deal, and the contracts (closed-won deals with a term) among them."""
    book = _Deals(world, rng)
    funding = {c.name: str(c.hubspot_deal_id) for c in world.clusters if c.hubspot_deal_id}
    contracts: list[Deal] = []
    overdue_left = 2
    for partner in world.partners:
        annual_usd = rng.choice([6000, 9000, 12000, 18000, 24000, 36000])
        annual = _local(annual_usd, partner.currency)
        periods = [(partner.started_on, partner.churned_on)]
        if partner.reactivated_on:
            periods.append((partner.reactivated_on, None))
        for number, (began, stopped) in enumerate(periods):
            start = began.replace(day=1)
            first = True
            while start < world.as_of:
                end = _add_months(start, 12) - timedelta(days=1)
                if stopped and end >= stopped:
                    end = stopped - timedelta(days=1)
                if end < start:
                    break
                months = _months(start, end)
                amount = round(annual * months / 12, 2)
                ends_soon = (end - world.as_of).days
                if first:
                    deal = book.add(
                        partner,
                        f"Membership {start.year}",
                        "default",
                        "closedwon",
                        amount,
                        start - timedelta(days=rng.randint(5, 30)),
                        rng.randint(45, 150),
                        start,
                        end,
                        deal_id=funding.get(partner.id) if number == 0 else None,
                    )
                else:
                    deal = book.add(
                        partner,
                        f"Renewal {start.year}",
                        RENEWALS_PIPELINE,
                        "151627112",
                        amount,
                        start - timedelta(days=rng.randint(0, 20)),
                        rng.randint(60, 100),
                        start,
                        end,
                    )
                contracts.append(deal)
                first = False
                if stopped and end >= stopped - timedelta(days=1):
                    book.add(
                        partner,
                        f"Renewal {end.year + 1}",
                        RENEWALS_PIPELINE,
                        "151627113",
                        annual,
                        end - timedelta(days=rng.randint(0, 15)),
                        90,
                    )
                    break
                # A mid-term upsell: more users or storage for the rest of the term.
                if rng.random() < 0.2 and months == 12:
                    upsell_start = _add_months(start, rng.randint(3, 8))
                    upsell_months = _months(upsell_start, end)
                    extra = _local(annual_usd * rng.choice([0.25, 0.5]), partner.currency)
                    if upsell_start < world.as_of:
                        won = rng.random() < 0.7
                        deal = book.add(
                            partner,
                            "Upsell: storage",
                            "default",
                            "closedwon" if won else "closedlost",
                            round(extra * upsell_months / 12, 2),
                            upsell_start - timedelta(days=rng.randint(3, 20)),
                            rng.randint(20, 60),
                            upsell_start if won else None,
                            end if won else None,
                        )
                        if won:
                            contracts.append(deal)
                            annual += extra
                next_start = end + timedelta(days=1)
                # Renewal terms: mostly flat, sometimes bigger, sometimes smaller.
                draw = rng.random()
                if draw < 0.25:
                    annual = _local(
                        annual * rng.uniform(1.2, 1.5) * CURRENCIES[partner.currency],
                        partner.currency,
                    )
                elif draw < 0.35:
                    annual = _local(
                        annual * rng.uniform(0.6, 0.85) * CURRENCIES[partner.currency],
                        partner.currency,
                    )
                if next_start >= world.as_of or (
                    overdue_left and not stopped and -60 <= ends_soon < 0
                ):
                    # The renewal is still being negotiated: an open deal with a term.
                    if ends_soon <= 150:
                        stage = rng.choice(["151627110", "151627111"])
                        book.add(
                            partner,
                            f"Renewal {next_start.year}",
                            RENEWALS_PIPELINE,
                            stage,
                            round(annual, 2),
                            max(next_start, world.as_of + timedelta(days=14)),
                            rng.randint(30, 90),
                            next_start,
                            _add_months(next_start, 12) - timedelta(days=1),
                        )
                        if next_start < world.as_of:
                            overdue_left -= 1
                    break
                start = next_start
        # New-business upsells in the pipeline: open, no contract dates yet.
        if rng.random() < 0.3 and not (partner.churned_on and not partner.reactivated_on):
            stage = rng.choice(
                [
                    "appointmentscheduled",
                    "qualifiedtobuy",
                    "presentationscheduled",
                    "decisionmakerboughtin",
                    "contractsent",
                ]
            )
            book.add(
                partner,
                "Expansion: GPUs",
                "default",
                stage,
                _local(annual_usd * rng.choice([0.25, 0.5]), partner.currency),
                world.as_of + timedelta(days=rng.randint(20, 120)),
                rng.randint(30, 120),
            )
    # A prospect that is not in the registry yet: its deal is rejected with the reason.
    prospect = Partner(
        "prospect", "Prospect Ocean Institute", PROSPECT_COMPANY_ID, "USD", world.as_of
    )
    book.add(
        prospect,
        "Pilot",
        "default",
        "qualifiedtobuy",
        9000,
        world.as_of + timedelta(days=60),
        45,
        company_id=PROSPECT_COMPANY_ID,
    )
    return book.deals, contracts


LEADS_SEED_OFFSET = 45


def build_leads(world: World, rng: random.Random) -> list[Deal]:
    """Discovery leads: most partners had a first conversation months before they signed
    that went nowhere, closed lost from the pipeline's first stage (never qualified), so the
    lead qualification ratio is not simply 1; and the newest running partner has just asked
    about a workshop add-on, a lead still open at the first stage. Ids sort after every
    other deal's."""
    leads: list[Deal] = []
    next_id = 32_000_000_000
    running = [p for p in world.partners if p.started_on < world.as_of and not p.churned_on]
    if running:
        newest = max(running, key=lambda p: (p.started_on, p.id))
        created = world.as_of - timedelta(days=rng.randint(3, 20))
        next_id += rng.randint(1, 9_000)
        leads.append(
            Deal(
                str(next_id),
                newest.hubspot_company_id,
                f"{newest.name} - Workshop add-on",
                "default",
                "appointmentscheduled",
                0.0,
                "USD",
                created,
                world.as_of + timedelta(days=45),
                history=[("appointmentscheduled", created)],
            )
        )
    for partner in world.partners:
        for _ in range(rng.choice([0, 1, 1, 2])):
            created = partner.started_on - timedelta(days=rng.randint(150, 420))
            closed = created + timedelta(days=rng.randint(10, 45))
            next_id += rng.randint(1, 9_000)
            leads.append(
                Deal(
                    str(next_id),
                    partner.hubspot_company_id,
                    f"{partner.name} - Discovery call",
                    "default",
                    "closedlost",
                    0.0,  # no amount was discussed yet; USD, the portal currency
                    "USD",
                    created,
                    closed,
                    history=[("appointmentscheduled", created), ("closedlost", closed)],
                )
            )
    return leads


def _page(deals: list[Deal], index: int, more: bool, rng: random.Random) -> dict:
    results = []
    for deal in deals:
        properties = {
            "dealname": deal.name,
            "dealstage": deal.stage,
            "pipeline": deal.pipeline,
            "amount": f"{deal.amount:.2f}",
            "closedate": _timestamp(deal.closed, rng),
            "createdate": _timestamp(deal.created, rng),
            "contract_start_date": deal.start.isoformat() if deal.start else None,
            "contract_end_date": deal.end.isoformat() if deal.end else None,
            "hs_mrr": None,
            "deal_currency_code": deal.currency,
            "hs_forecast_probability": f"{PROBABILITY[deal.stage]:g}",
            "hs_is_closed_won": "true" if deal.is_won else "false",
            "hs_object_id": deal.id,
        }
        for position, (stage, entered) in enumerate(deal.history):
            properties[f"hs_v2_date_entered_{stage}"] = _timestamp(entered, rng)
            if position + 1 < len(deal.history):
                properties[f"hs_v2_date_exited_{stage}"] = _timestamp(
                    deal.history[position + 1][1], rng
                )
        results.append(
            {
                "id": deal.id,
                "properties": properties,
                "createdAt": _timestamp(deal.created, rng),
                "updatedAt": _timestamp(max(deal.closed, deal.created), rng),
                "archived": False,
                "associations": {
                    "companies": {"results": [{"id": deal.company_id, "type": "deal_to_company"}]}
                },
            }
        )
    page: dict = {"results": results}
    if more:
        after = str((index + 1) * PAGE_SIZE)
        page["paging"] = {
            "next": {
                "after": after,
                "link": f"https://api.hubapi.com/crm/v3/objects/deals?after={after}",
            }
        }
    return page


def pipelines_document() -> dict:
    def stages(rows):
        return [
            {
                "id": stage,
                "label": label,
                "displayOrder": order,
                "archived": False,
                "metadata": {
                    "isClosed": "true" if closed else "false",
                    "probability": f"{probability:.1f}",
                },
            }
            for order, (stage, label, closed, probability) in enumerate(rows)
        ]

    return {
        "results": [
            {
                "id": "default",
                "label": "Sales Pipeline",
                "displayOrder": 0,
                "archived": False,
                "stages": stages(DEFAULT_STAGES),
            },
            {
                "id": RENEWALS_PIPELINE,
                "label": "Renewals",
                "displayOrder": 1,
                "archived": False,
                "stages": stages(RENEWAL_STAGES),
            },
        ]
    }


def _estimated_cloud_cost(world: World, partner_id: str, month: date) -> float:
    """What the partner's hubs on clusters we pay for roughly cost that month, USD."""
    month_end = _add_months(month, 1) - timedelta(days=1)
    total = 0.0
    for cluster in world.clusters:
        if not cluster.paid_by_us:
            continue
        live = [
            h
            for h in cluster.hubs
            if h.launched_on <= month_end and (h.retired_on is None or h.retired_on > month)
        ]
        mine = [h for h in live if h.partner_id == partner_id]
        if not mine:
            continue
        partners = len({h.partner_id for h in live})
        overhead = (520 if len({h.partner_id for h in cluster.hubs}) > 1 else 250) / partners
        for hub in mine:
            age = max(
                (month.year - hub.launched_on.year) * 12 + month.month - hub.launched_on.month, 0
            )
            activity = hub.base_users * (1 - 0.6 * math.exp(-age / 8)) * SEASON[month.month]
            total += 4.35 * activity + 17
        total += overhead
    return total


def build_invoice_lines(
    world: World,
    contracts: list[Deal],
    rng: random.Random,
    billable_mau: dict[tuple[str, date], int],
) -> list[Line]:
    partners = {p.hubspot_company_id: p for p in world.partners}
    monthly = {p.id: rng.random() < 0.4 for p in world.partners}
    lines: list[Line] = []

    def paid(day: date) -> date | None:
        payday = day + timedelta(days=rng.randint(5, 45))
        return payday if payday < world.as_of and rng.random() < 0.95 else None

    for deal in contracts:
        partner = partners[deal.company_id]
        step = 1 if monthly[partner.id] else 3
        term = _months(deal.start, deal.end)
        period_start = deal.start
        while period_start <= deal.end:
            period_end = min(_add_months(period_start, step) - timedelta(days=1), deal.end)
            issued = period_start + timedelta(days=4)
            if issued >= world.as_of:
                break
            months = _months(period_start, period_end)
            lines.append(
                Line(
                    "",
                    partner,
                    deal.id,
                    issued,
                    "4221",
                    f"Membership {period_start:%b %Y}",
                    (period_start, period_end),
                    round(deal.amount * months / term, 2),
                    paid(issued),
                )
            )
            period_start = period_end + timedelta(days=1)
        if deal.name.endswith(f"Membership {deal.start.year}") and rng.random() < 0.5:
            issued = deal.start + timedelta(days=4)
            if issued < world.as_of:
                lines.append(
                    Line(
                        "",
                        partner,
                        deal.id,
                        issued,
                        "4224",
                        "Onboarding",
                        None,
                        _local(1500, partner.currency),
                        paid(issued),
                    )
                )
    # Cloud costs of the clusters we pay for are billed back monthly in arrears (GL 4222),
    # at roughly what the hubs cost; now and then a month is forgotten: a recovery gap.
    funding = {c.name: str(c.hubspot_deal_id) for c in world.clusters if c.hubspot_deal_id}
    by_company: dict[str, list[Deal]] = {}
    for deal in contracts:
        by_company.setdefault(deal.company_id, []).append(deal)
    for partner in world.partners:
        for month in world.months:
            usd = _estimated_cloud_cost(world, partner.id, month)
            issued = _add_months(month, 1) + timedelta(days=6)
            month_end = _add_months(month, 1) - timedelta(days=1)
            covering = [
                d
                for d in by_company.get(partner.hubspot_company_id, [])
                if d.start <= month_end and d.end >= month
            ]
            if not usd or not covering or issued >= world.as_of or rng.random() < 0.08:
                continue
            amount = _local(usd * rng.uniform(0.9, 1.05), partner.currency) or 100
            lines.append(
                Line(
                    "",
                    partner,
                    funding.get(partner.id, covering[0].id),
                    issued,
                    "4222",
                    f"Cloud costs {month:%b %Y}",
                    (month, month_end),
                    amount,
                    paid(issued),
                )
            )
    # Usage fees (GL 4223) monthly in arrears on the month's billable MAU, by the fee
    # schedule; a few partners have a negotiated discount and now and then a month is
    # forgotten: the usage-fee gap.
    by_id = {p.id: p for p in world.partners}
    discounted = {p.id for p in world.partners if rng.random() < 0.2}
    for (partner_id, month), users in sorted(billable_mau.items()):
        partner = by_id[partner_id]
        issued = _add_months(month, 1) + timedelta(days=6)
        month_end = _add_months(month, 1) - timedelta(days=1)
        covering = [
            d
            for d in by_company.get(partner.hubspot_company_id, [])
            if d.start <= month_end and d.end >= month
        ]
        if not users or not covering or issued >= world.as_of or rng.random() < 0.1:
            continue
        usd = usage_fee_usd(users) * (0.8 if partner_id in discounted else 1.0)
        lines.append(
            Line(
                "",
                partner,
                covering[0].id,
                issued,
                "4223",
                f"Usage fees {month:%b %Y}: {users} users",
                (month, month_end),
                _local(usd, partner.currency),
                paid(issued),
            )
        )
    lines.sort(key=lambda line: (line.invoice_date, line.partner.id, line.gl_account))
    numbers: dict[tuple[date, str], str] = {}
    for line in lines:
        key = (line.invoice_date, line.partner.id)
        if key not in numbers:
            numbers[key] = f"INV-{line.invoice_date.year}-{len(numbers) + 1:05d}"
        line.number = numbers[key]
    return lines


def _fields(line: Line) -> dict[str, str]:
    due = line.invoice_date + timedelta(days=30)
    return {
        "invoice_number": line.number,
        "customer": line.partner.name,
        "hubspot_deal_id": line.deal_id,
        "invoice_date": line.invoice_date.isoformat(),
        "due_date": due.isoformat(),
        "paid_date": line.paid.isoformat() if line.paid else "",
        "gl_account": line.gl_account,
        "description": line.description,
        "service_period_start": line.period[0].isoformat() if line.period else "",
        "service_period_end": line.period[1].isoformat() if line.period else "",
        "amount": f"{line.amount:.2f}",
        "currency": line.partner.currency,
    }


def write_earlier_fx_rates(world: World, contracts: list[Deal], landing: Path) -> Path | None:
    """Rates for the months before the demo window that contracts started in."""
    first = min((d.start for d in contracts if d.start), default=world.start)
    months = []
    month = first.replace(day=1)
    while month < world.start:
        months.append(month)
        month = _add_months(month, 1)
    if not months:
        return None
    path = landing / "fx" / "rates-earlier.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date", "currency", "usd_per_unit"])
        for month in months:
            for currency, level in CURRENCIES.items():
                if currency != "USD":
                    writer.writerow([month.isoformat(), currency, f"{level:.6f}"])
    return path


def write_revenue(
    world: World, landing: Path, billable_mau: dict[tuple[str, date], int]
) -> list[Path]:
    """HubSpot pages and pipelines, invoice CSVs per past year, the current year's Sheet;
    usage fees on `billable_mau` ((partner, month) -> users)."""
    rng = random.Random(world.seed + SEED_OFFSET)
    deals, contracts = build_deals(world, rng)
    deals.sort(key=lambda d: int(d.id))
    written: list[Path] = []
    crm = landing / "crm"
    (crm / "deals").mkdir(parents=True, exist_ok=True)
    pipelines = crm / "pipelines.json"
    pipelines.write_text(json.dumps(pipelines_document(), indent=1), encoding="utf-8")
    written.append(pipelines)
    pages = [deals[i : i + PAGE_SIZE] for i in range(0, len(deals), PAGE_SIZE)]
    # Leads have a random stream of their own, so adding them changes no other deal or line.
    lead_rng = random.Random(world.seed + LEADS_SEED_OFFSET)
    leads = build_leads(world, lead_rng)
    lead_pages = [leads[i : i + PAGE_SIZE] for i in range(0, len(leads), PAGE_SIZE)]
    for index, chunk in enumerate(pages + lead_pages):
        path = crm / "deals" / f"page-{index + 1:04d}.json"
        page_rng = rng if index < len(pages) else lead_rng
        more = index + 1 < len(pages) + len(lead_pages)
        path.write_text(json.dumps(_page(chunk, index, more, page_rng)), encoding="utf-8")
        written.append(path)

    lines = build_invoice_lines(world, contracts, rng, billable_mau)
    folder = landing / "invoices"
    folder.mkdir(parents=True, exist_ok=True)
    this_year = world.as_of.year
    for year in sorted({line.invoice_date.year for line in lines} - {this_year}):
        path = folder / f"invoices-{year}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=INVOICE_COLUMNS)
            writer.writeheader()
            writer.writerows(_fields(line) for line in lines if line.invoice_date.year == year)
        written.append(path)
    rows = [SHEET_COLUMNS]
    for line in lines:
        if line.invoice_date.year == this_year:
            cells = [_fields(line)[c] for c in SHEET_COLUMNS]
            while cells and cells[-1] == "":  # the API omits trailing empty cells
                cells.pop()
            rows.append(cells)
    sheet = {
        "range": f"Invoices!A1:L{len(rows)}",
        "majorDimension": "ROWS",
        "values": rows,
    }
    path = folder / f"finance-sheet-{this_year}.json"
    path.write_text(json.dumps(sheet, indent=1), encoding="utf-8")
    written.append(path)
    if earlier := write_earlier_fx_rates(world, contracts, landing):
        written.append(earlier)
    return written
