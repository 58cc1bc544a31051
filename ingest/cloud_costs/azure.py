"""Azure Cost Management exports (EA, MCA and Pay-As-You-Go) under `cloud_costs/azure/`.

Accepted as Azure writes them: CSV (gzip-compressed or not) or Parquet; a UTF-8 byte-order
mark before the header; lines ending in CRLF, LF or both; dates as MM/DD/YYYY (older EA
exports) or YYYY-MM-DD; EA PascalCase, MCA camelCase or the Pay-As-You-Go header set
(`SubscriptionGuid`, `UsageDateTime`, `PreTaxCost`, `Currency`, no `ChargeType`: read as
usage), matched case-insensitively, also when the file was downloaded in another language
and a column reads `Abonnement-GUID (SubscriptionGuid)` (`english_name`); the cost in
`CostInBillingCurrency` (MCA, newer EA), `Cost` (older EA) or `PreTaxCost`; and `Tags` as
JSON without the outer braces (`"env": "prod","org": "x"`), read as a JSON object (a row
whose Tags are no tag map even so is quarantined: `common.tag_map`).

An export is of actual cost or amortized cost (`dataset`): the type its run's manifest.json
names (`exportConfig.type`), else 'amortized' when the path says so. Both are landed and both
are used: see stg_azure__costs. Which files make up a delivery (a partitioned run's
manifest.json or an older export's _manifest.json, else one file per run) is
`ingest.cloud_costs.deliveries.azure`.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import duckdb

from ingest.cloud_costs import deliveries, schemas
from ingest.cloud_costs.common import (
    SCOPE_COLUMNS,
    data_patterns,
    file_kind,
    parquet_columns,
    parquet_rows,
    plausible_times,
    tag_map,
)
from ingest.framework import RECORD_COLUMN, Extract, ParseError, RawTable, Source
from ingest.tabular import (
    DECIMAL_POINT,
    Check,
    csv_header,
    csv_rows,
    finite,
    literal,
    matches,
    not_empty,
    quote,
    time_text,
)

# Parser field -> column names it has in EA and MCA exports (lowercase).
FIELDS = {
    "billing_account_id": ("billingaccountid",),
    "billing_account_name": ("billingaccountname",),
    "billing_period_start_date": ("billingperiodstartdate",),
    "billing_period_end_date": ("billingperiodenddate",),
    "subscription_id": ("subscriptionid", "subscriptionguid"),
    "subscription_name": ("subscriptionname",),
    "date": ("date", "usagedatetime"),
    "product": ("product", "productname"),
    "meter_category": ("metercategory",),
    "meter_sub_category": ("metersubcategory",),
    "meter_name": ("metername",),
    "service_family": ("servicefamily",),
    "consumed_service": ("consumedservice",),
    "resource_id": ("resourceid", "instanceid"),
    "resource_location": ("resourcelocation",),
    "resource_group": ("resourcegroup", "resourcegroupname"),
    "quantity": ("quantity", "usagequantity"),
    "effective_price": ("effectiveprice",),
    "unit_price": ("unitprice", "resourcerate"),
    "cost_in_billing_currency": ("costinbillingcurrency", "cost", "pretaxcost"),
    "pay_g_price": ("paygprice",),
    "billing_currency": ("billingcurrency", "billingcurrencycode", "currency"),
    "charge_type": ("chargetype",),
    "pricing_model": ("pricingmodel",),
    "frequency": ("frequency",),
    "reservation_id": ("reservationid",),
    "reservation_name": ("reservationname",),
    "benefit_id": ("benefitid",),
    "benefit_name": ("benefitname",),
    "invoice_id": ("invoiceid",),
    "tags": ("tags",),
}
REQUIRED = ("subscription_id", "date", "cost_in_billing_currency", "billing_currency")
NUMBERS = ("quantity", "effective_price", "unit_price", "cost_in_billing_currency", "pay_g_price")
DATES = ("date", "billing_period_start_date", "billing_period_end_date")

COSTS = RawTable(
    "azure_costs",
    {
        **{f: "varchar" for f in FIELDS},
        **{f: "double" for f in NUMBERS},
        **{f: "date" for f in DATES},
        "tags": "json",
        "dataset": "varchar",
        **SCOPE_COLUMNS,
    },
    "Azure Cost Management export rows (EA, MCA or Pay-As-You-Go), one row per file line; "
    "dataset says whether the export is of actual or amortized cost; _billing_account_id "
    "and _billing_period are the scope a delivery replaces.",
    amount="case when dataset = 'actual' then cost_in_billing_currency end",
    currency="billing_currency",
)


# A localised column name followed by the English one in parentheses, at the end.
_LOCALISED = re.compile(r".*\(\s*([^()]*?)\s*\)\s*")


def english_name(column: str) -> str:
    """The English name of a column. Usage files downloaded from the portal in another
    language label their columns `Abonnement-GUID (SubscriptionGuid)`, `Ressourcensatz
    (ResourceRate)`: the localised name, then the English one in parentheses (opencost's
    German header set); untranslated columns (`Currency`) stay as they are."""
    match = _LOCALISED.fullmatch(column)
    return match.group(1) if match and match.group(1) else column


def _date_sql(column: str) -> str:
    text = time_text(column)
    return f"coalesce(try_strptime({text}, '%m/%d/%Y'), try_cast({text} as timestamp))::date"


def _parsed_date(column: str) -> str:
    """A date column as `PARSED` reads it once per record: the checks and the projection use
    each date up to five times, and parsing a date is a regular check's cost many times."""
    return quote(f"_date_{column}")


# `Extract.parsed`: the dates, and the Tags as a JSON object's text (older EA exports leave
# out the braces, which are put back).
PARSED = {
    **{f"_date_{c}": _date_sql(c) for c in DATES},
    "_tags": "case when trim(tags) like '{%' then trim(tags) else '{' || trim(tags) || '}' end",
}


def _date_check(column: str) -> Check:
    col = quote(column)
    return Check(
        f"{col} is not null and trim({col}) <> '' and {_parsed_date(column)} is null",
        f"{literal(f'{column} is not a date (MM/DD/YYYY or YYYY-MM-DD): ')} || {col}",
    )


def dataset_of(path: Path) -> str:
    """'amortized' or 'actual': the run manifest's export type, else what the path says."""
    manifest = path.parent / "manifest.json"
    if manifest.is_file():
        try:
            kind = json.loads(manifest.read_text(encoding="utf-8-sig"))["exportConfig"]["type"]
        except (ValueError, KeyError, TypeError):
            kind = ""
        if isinstance(kind, str) and kind:
            return "amortized" if kind.lower().startswith("amortized") else "actual"
    return "amortized" if "amortized" in path.as_posix().lower() else "actual"


_FORMATS = ("azure_cost_export", "azure_payg_export")


def extract_export(con: duckdb.DuckDBPyConnection, path: Path) -> Extract:
    parquet = file_kind(path) == "parquet"
    header = [n for n, _ in parquet_columns(con, path)] if parquet else csv_header(path)
    english = [english_name(h) for h in header]
    # Recognised by the English names; a header recognised as nothing is shown as written.
    schemas.expect(english if schemas.detect(english) else header, *_FORMATS)
    lowered = {e.lower(): h for e, h in zip(english, header, strict=True)}
    by_field = {}
    for field, names in FIELDS.items():
        found = next((lowered[n] for n in names if n in lowered), None)
        if found:
            by_field[field] = found
    missing = [f"{FIELDS[f][0]}" for f in REQUIRED if f not in by_field]
    if missing:
        raise ParseError(f"missing required column(s): {', '.join(missing)}", "line 1 (header)")
    required = list(by_field.values())
    if parquet:
        numbers = [by_field[f] for f in NUMBERS if f in by_field]
        dates = [by_field[f] for f in DATES if f in by_field]
        rows = parquet_rows(con, path, required, numbers=numbers, times=dates)
    else:
        rows = csv_rows(path, required)
    columns = [
        f"{quote(by_field[f])} as {quote(f)}" if f in by_field else f"null::varchar as {quote(f)}"
        for f in FIELDS
    ]
    rows = rows.select(f"{', '.join(columns)}, _ordinal, {RECORD_COLUMN}")
    dataset = dataset_of(path)
    checks = [
        *(not_empty(c) for c in REQUIRED),
        *(finite(c) for c in NUMBERS),
        *(_date_check(c) for c in DATES),
        *plausible_times(
            ("date", "billing_period_start_date"), ("billing_period_end_date",), _parsed_date
        ),
        matches("billing_currency", "[A-Za-z]{3}", "an ISO 4217 code"),
        tag_map("tags", "_tags"),
    ]
    select = {}
    for name in COSTS.columns:
        if name in NUMBERS:
            select[name] = DECIMAL_POINT.value(name)
        elif name in DATES:
            select[name] = _parsed_date(name)
        elif name == "tags":
            select[name] = "case when json_valid(_tags) then _tags::json end"
        elif name == "dataset":
            select[name] = literal(dataset)
        elif name == "billing_currency":
            select[name] = "upper(trim(billing_currency))"
        elif name == "subscription_id":
            select[name] = "lower(trim(subscription_id))"
        elif name == "charge_type":
            select[name] = "coalesce(nullif(trim(charge_type), ''), 'Usage')"
        elif name == "_billing_account_id":
            select[name] = (
                "coalesce(nullif(trim(billing_account_id), ''), lower(trim(subscription_id)))"
            )
        elif name == "_billing_period":
            select[name] = (
                f"coalesce({_parsed_date('billing_period_start_date')}, "
                f"cast(date_trunc('month', {_parsed_date('date')}) as date))"
            )
        else:
            select[name] = quote(name)
    return Extract(rows, {COSTS.name: select}, checks, parsed=PARSED)


SOURCE = Source(
    name="azure_costs",
    group="cloud_costs",
    description="Azure Cost Management exports, EA, MCA or Pay-As-You-Go, CSV or Parquet "
    "(cloud_costs/azure/**).",
    patterns=data_patterns("cloud_costs/azure", ("csv", "parquet")),
    tables=(COSTS,),
    cadence=timedelta(days=35),  # bills close monthly
    extract=extract_export,
    folders=("cloud_costs/azure",),
    # `_manifest.json`: partitioned exports of the older export version (see `deliveries`).
    manifests=("cloud_costs/azure/**/manifest.json", "cloud_costs/azure/**/_manifest.json"),
    deliveries=deliveries.azure,
    # 3: a number past ±2^53 and a date or time written as a word DuckDB reads (Infinity:
    # 9999-12-31; epoch) are quarantined; 4: a billing period's start or end before 2000 or
    # years ahead (year 1 typed as a Parquet DATE) is quarantined, and a Parquet date column
    # of INT64 fails the file; 5: Tags that are no tag map, left null before, are
    # quarantined; files landed before are parsed again.
    version=5,
    by_month=True,
)
