"""The cluster registry (`registry/clusters.yaml`): partners, clusters and the hubs on them.

It follows the shape of a JupyterHub operator's cluster registry. Every mart joins through
it (cloud account -> cluster -> hub -> partner; HubSpot company -> partner; a helpdesk's
Freshdesk company -> partner), so it is validated strictly: any error fails the load, naming
the file, the cluster (or partner) and the field.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Annotated, Literal

import pyarrow as pa
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from ingest.framework import RECORD_COLUMN, Parsed, ParseError, RawTable, Source

PartnerId = str


def _freshdesk_company_id(value: str) -> str:
    """A Freshdesk company id as its tickets write it (`company_id`): the registry's text is
    matched to the ticket's digits as text, so `007` or `7.0` would match no ticket of company
    7 and list them all as rejected."""
    if not re.fullmatch(r"[1-9][0-9]*", value):
        raise ValueError(
            f"not a Freshdesk company id: {value[:100]!r} (a positive whole number without "
            "leading zeros, as in the company's address .../a/companies/<id>)"
        )
    return value


FreshdeskCompanyId = Annotated[str, AfterValidator(_freshdesk_company_id)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Partner(_Strict):
    id: PartnerId = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str = Field(min_length=1)
    hubspot_company_id: str | None = None
    # Support tickets link through the partner's Freshdesk company, one per helpdesk (each
    # Freshdesk account numbers its companies): freshdesk_company_id in the helpdesk landed in
    # support/ itself, freshdesk_companies in each further one, by its folder support/<helpdesk>/.
    freshdesk_company_id: FreshdeskCompanyId | None = None
    freshdesk_companies: dict[str, FreshdeskCompanyId] = Field(default_factory=dict)

    @field_validator("freshdesk_companies")
    @classmethod
    def _helpdesks_are_folders(cls, companies: dict[str, str]) -> dict[str, str]:
        for helpdesk in companies:
            if not helpdesk:
                raise ValueError(
                    "a helpdesk is named by its folder under support/; the company in the "
                    "helpdesk landed in support/ itself is freshdesk_company_id"
                )
            if "/" in helpdesk or "\\" in helpdesk or helpdesk in (".", ".."):
                raise ValueError(
                    f"helpdesk {helpdesk[:100]!r} is not a folder name under support/ "
                    "(support/<helpdesk>/tickets/), such as partners.freshdesk.com"
                )
        return companies

    def freshdesk_company_by_helpdesk(self) -> dict[str, str]:
        """The partner's Freshdesk company in each helpdesk ('' for support/ itself)."""
        default = {} if self.freshdesk_company_id is None else {"": self.freshdesk_company_id}
        return default | self.freshdesk_companies


class Hub(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    partner: PartnerId
    launched_on: date
    retired_on: date | None = None

    @field_validator("launched_on", "retired_on", mode="before")
    @classmethod
    def _written_as_a_date(cls, value: object) -> object:
        """YYYY-MM-DD (or YYYY-M-D, as YAML reads a date), from the file's text: pydantic
        would read '0' or '-0' as the Unix epoch."""
        if not isinstance(value, str):
            return value
        day = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", value.strip())
        if not day:
            raise ValueError(f"not a date written YYYY-MM-DD: {value[:100]!r}")
        return date(*map(int, day.groups()))


class Cluster(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    provider: Literal["gcp", "aws", "azure"]
    account: str = Field(min_length=1)
    paid_by_us: bool
    hubspot_deal_id: str | None = None
    hubs: list[Hub] = Field(default_factory=list)


class Registry(_Strict):
    partners: list[Partner]
    clusters: list[Cluster]


PARTNERS = RawTable(
    "registry_partners",
    {
        "partner_id": "varchar",
        "name": "varchar",
        "hubspot_company_id": "varchar",
    },
    "Partners (communities) as listed in the cluster registry.",
)
FRESHDESK_COMPANIES = RawTable(
    "registry_freshdesk_companies",
    {"partner_id": "varchar", "helpdesk": "varchar", "company_id": "varchar"},
    "Each partner's Freshdesk company in each helpdesk (its support tickets link through it); "
    "helpdesk '' is the one landed in support/ itself.",
)
CLUSTERS = RawTable(
    "registry_clusters",
    {
        "cluster": "varchar",
        "provider": "varchar",
        "account": "varchar",
        "paid_by_us": "boolean",
        "hubspot_deal_id": "varchar",
    },
    "Kubernetes clusters: cloud provider, billing account/project/subscription, who pays.",
)
HUBS = RawTable(
    "registry_hubs",
    {
        "cluster": "varchar",
        "hub": "varchar",
        "partner_id": "varchar",
        "launched_on": "date",
        "retired_on": "date",
    },
    "Hubs (Kubernetes namespaces) on each cluster and the partner each one serves.",
)


def _where(document: object, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic location into words a person finds in the file."""
    if len(loc) >= 2 and loc[0] in ("clusters", "partners") and isinstance(loc[1], int):
        items = document.get(loc[0]) if isinstance(document, dict) else None
        item = items[loc[1]] if isinstance(items, list) and loc[1] < len(items) else None
        label = (
            item.get("name" if loc[0] == "clusters" else "id") if isinstance(item, dict) else None
        )
        kind = "cluster" if loc[0] == "clusters" else "partner"
        where = f"{kind} {label!r}" if label else f"{kind} #{loc[1] + 1}"
        rest = loc[2:]
        if len(rest) >= 2 and rest[0] == "hubs" and isinstance(rest[1], int):
            hubs = item.get("hubs") if isinstance(item, dict) else None
            hub = hubs[rest[1]] if isinstance(hubs, list) and rest[1] < len(hubs) else None
            hub_name = hub.get("name") if isinstance(hub, dict) else None
            where += f", hub {hub_name!r}" if hub_name else f", hub #{rest[1] + 1}"
            rest = rest[2:]
        return f"{where}, field {'.'.join(map(str, rest))}" if rest else where
    if not loc:
        return "top level (expected a mapping with 'partners' and 'clusters')"
    return "field " + ".".join(map(str, loc))


def _repeated(values: list[str]) -> str | None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def validate_registry(document: object) -> Registry:
    """Validate the parsed YAML, including the references between partners and hubs."""
    try:
        registry = Registry.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        raise ParseError(first["msg"], _where(document, first["loc"])) from error

    partner_ids = [p.id for p in registry.partners]
    if twice := _repeated(partner_ids):
        raise ParseError(f"partner id {twice!r} is listed twice", f"partner {twice!r}")
    if twice := _repeated([c.name for c in registry.clusters]):
        raise ParseError(f"cluster name {twice!r} is listed twice", f"cluster {twice!r}")
    # One cloud account (or project, or subscription) belongs to one cluster, and one HubSpot
    # company to one partner: otherwise every cost line or deal of it would be counted twice
    # or attributed at random, three models later.
    account_owner: dict[tuple[str, str], str] = {}
    for cluster in registry.clusters:
        key = (cluster.provider, cluster.account.lower())
        if key in account_owner:
            raise ParseError(
                f"{cluster.provider} account {cluster.account!r} is also the account of "
                f"cluster {account_owner[key]!r}",
                f"cluster {cluster.name!r}, field account",
            )
        account_owner[key] = cluster.name
    company_owner: dict[str, str] = {}
    for partner in registry.partners:
        company = partner.hubspot_company_id
        if company is None:
            continue
        if company in company_owner:
            raise ParseError(
                f"HubSpot company {company!r} is also the company of partner "
                f"{company_owner[company]!r}",
                f"partner {partner.id!r}, field hubspot_company_id",
            )
        company_owner[company] = partner.id
    freshdesk_owner: dict[tuple[str, str], str] = {}
    for partner in registry.partners:
        for helpdesk, company in partner.freshdesk_company_by_helpdesk().items():
            if (helpdesk, company) in freshdesk_owner:
                of_helpdesk = f" of helpdesk {helpdesk!r}" if helpdesk else ""
                field = f"freshdesk_companies.{helpdesk}" if helpdesk else "freshdesk_company_id"
                raise ParseError(
                    f"Freshdesk company {company!r}{of_helpdesk} is also the company of "
                    f"partner {freshdesk_owner[helpdesk, company]!r}",
                    f"partner {partner.id!r}, field {field}",
                )
            freshdesk_owner[helpdesk, company] = partner.id
    for cluster in registry.clusters:
        if twice := _repeated([h.name for h in cluster.hubs]):
            raise ParseError(f"hub {twice!r} is listed twice", f"cluster {cluster.name!r}")
        for hub in cluster.hubs:
            where = f"cluster {cluster.name!r}, hub {hub.name!r}"
            if hub.partner not in partner_ids:
                raise ParseError(
                    f"unknown partner {hub.partner!r}: no partner in 'partners' has this id",
                    f"{where}, field partner",
                )
            if hub.retired_on and hub.retired_on < hub.launched_on:
                raise ParseError("retired_on is before launched_on", f"{where}, field retired_on")
    return registry


class _TextLoader(yaml.SafeLoader):
    """YAML with numbers and dates left as the text typed, for the models to read: YAML 1.1
    reads an unquoted account 012345670123 as an octal number and -0 as 0 (so its text was
    not the account's), and 2024-02-30 failed its date constructor with a bare ValueError
    rather than a field's error. Nothing in the registry is a number."""


_TYPED_SCALARS = {f"tag:yaml.org,2002:{kind}" for kind in ("int", "float", "timestamp")}
_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag not in _TYPED_SCALARS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def registry_document(path: Path) -> object:
    """The registry file's YAML, numbers and dates as typed text (`_TextLoader`); not valid
    YAML is a ParseError naming the line. Every reader of the file starts here."""
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_TextLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else None
        raise ParseError(f"not valid YAML: {getattr(error, 'problem', error)}", where) from error


def parse_registry(path: Path) -> Parsed:
    registry = validate_registry(registry_document(path))
    partners = [
        {
            "partner_id": p.id,
            "name": p.name,
            "hubspot_company_id": p.hubspot_company_id,
            RECORD_COLUMN: f"partner {p.id}",
        }
        for p in registry.partners
    ]
    freshdesk_companies = [
        {
            "partner_id": p.id,
            "helpdesk": helpdesk,
            "company_id": company,
            RECORD_COLUMN: f"partner {p.id} "
            + (f"freshdesk_companies {helpdesk}" if helpdesk else "freshdesk_company_id"),
        }
        for p in registry.partners
        for helpdesk, company in p.freshdesk_company_by_helpdesk().items()
    ]
    clusters = [
        {
            "cluster": c.name,
            "provider": c.provider,
            "account": c.account,
            "paid_by_us": c.paid_by_us,
            "hubspot_deal_id": c.hubspot_deal_id,
            RECORD_COLUMN: f"cluster {c.name}",
        }
        for c in registry.clusters
    ]
    hubs = [
        {
            "cluster": c.name,
            "hub": h.name,
            "partner_id": h.partner,
            "launched_on": h.launched_on,
            "retired_on": h.retired_on,
            RECORD_COLUMN: f"cluster {c.name} hub {h.name}",
        }
        for c in registry.clusters
        for h in c.hubs
    ]
    return Parsed(
        tables={
            PARTNERS.name: pa.Table.from_pylist(partners, schema=_schema(PARTNERS)),
            FRESHDESK_COMPANIES.name: pa.Table.from_pylist(
                freshdesk_companies, schema=_schema(FRESHDESK_COMPANIES)
            ),
            CLUSTERS.name: pa.Table.from_pylist(clusters, schema=_schema(CLUSTERS)),
            HUBS.name: pa.Table.from_pylist(hubs, schema=_schema(HUBS)),
        }
    )


_ARROW_TYPES = {"varchar": pa.string(), "boolean": pa.bool_(), "date": pa.date32()}


def _schema(table: RawTable) -> pa.Schema:
    return pa.schema(
        [(name, _ARROW_TYPES[type_]) for name, type_ in table.columns.items()]
        + [(RECORD_COLUMN, pa.string())]
    )


SOURCE = Source(
    name="registry",
    group="registry",
    description="Cluster registry (registry/clusters.yaml): partners, their Freshdesk "
    "companies, clusters, hubs.",
    patterns=("registry/clusters.yaml",),
    tables=(PARTNERS, FRESHDESK_COMPANIES, CLUSTERS, HUBS),
    parse=parse_registry,
    # The folder is the registry's; usage.yaml beside it is the usage_settings source's, which
    # declares no folder, so a stray file here is reported once, not by both.
    folders=("registry",),
    ignored=(("registry/usage.yaml", "the usage settings, read by the usage_settings source"),),
    # 2: numbers and dates are read as the text typed (an unquoted account keeps its leading
    # zero, not YAML's octal reading); files landed before are parsed again.
    # 3: a partner's Freshdesk company per helpdesk (freshdesk_companies beside
    # freshdesk_company_id) in registry_freshdesk_companies, no longer a column of
    # registry_partners; files landed before are parsed again.
    # 4: a Freshdesk company id must be a positive whole number without leading zeros; a
    # registry landed before is parsed again, so one with `007` fails now, not at its next edit.
    version=4,
)
