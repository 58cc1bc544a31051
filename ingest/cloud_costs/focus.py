"""FOCUS 1.0-1.2 cost and usage files (CSV, Parquet or JSON) under `cloud_costs/focus/`.

FOCUS (FinOps Open Cost and Usage Specification, https://focus.finops.org) is the common
target every provider format is normalised to in dbt. Real files are not always to the
letter, and these are accepted: gzip-compressed CSV, the literal string NULL for null,
'YYYY-MM-DD HH:MM:SS' timestamps, columns beyond the spec (ignored, except the sample's `Id`,
kept as the line id), and ChargeFrequency 'Usage-based' for 'Usage-Based'. Parquet exports'
typed columns read as their text (`common.parquet_text`): AWS's `timestamp_milliseconds` and
doubles, Microsoft's decimals and offset timestamps, and Tags as the JSON object staging
looks hub tags up in, whether AWS's map, Microsoft's JSON text or Google's list of key/value
records (its FOCUS view, exported by BigQuery). BigQuery cannot export those repeated and
nested columns to CSV, so Google's FOCUS also comes as newline-delimited JSON (`bq extract`,
often gzip-compressed shards) or one JSON array (`bq query --format=json`): read as the same
text (`common.json_rows`), each row named by its line or element.

Microsoft Cost Management's FOCUS export leaves ServiceName empty on some rows that carry
money (its conformance summary, learn.microsoft.com/cloud-computing/finops/focus/
conformance-summary: EA Marketplace purchases; MCA reservation and savings plan purchases,
rounding adjustments, MACC shortfall and Azure credits). Those rows land, with the stand-ins
Microsoft names (`x_SkuMeterSubcategory`, else `PublisherName`), which stg_focus__costs takes
as the service; only a row with none of the three is quarantined.

Google's FOCUS view (its BigQuery template of March 19, 2024) writes the billing account as
SubAccountId and the project in `x_Project`, a record (JSON text in CSV); the project's id
lands as `x_project_id`, which stg_focus__costs takes as a Google row's sub-account. The view
names the field `id`; `Id` is read too, the spelling code written against Google's native
FOCUS export uses (its schema page could not be read here).

Rows with a bad value (cost not a number, unparseable or implausible timestamp, unknown
ChargeCategory or CommitmentDiscountStatus, a charge period crossing months but for a
Purchase's, a repeated line id, Tags that are no JSON object of the KeyValueFormat's values
(`common.tag_map`), x_Project that is not JSON, an empty ProviderName, which the spec does
not allow to be null) are quarantined. Which files make up a delivery
(an AWS Data Exports or Azure export manifest's list, else the parts of one folder) is
`ingest.cloud_costs.deliveries.focus`.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingest.cloud_costs import deliveries, schemas
from ingest.cloud_costs.common import (
    SCOPE_COLUMNS,
    data_patterns,
    end_not_before_start,
    file_kind,
    json_rows,
    null_literals,
    parquet_rows,
    parsed_timestamps,
    plausible_times,
    tag_map,
    timestamp_check,
    timestamp_sql,
    within_one_month,
)
from ingest.framework import Extract, RawTable, Rows, Source
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
)

REQUIRED = (
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "BillingAccountId",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ProviderName",
    "ServiceName",
)
OPTIONAL = (
    "BillingAccountName",
    "BillingPeriodEnd",
    "ChargeClass",
    "ChargeFrequency",
    "ChargeDescription",
    "ContractedCost",
    "ConsumedQuantity",
    "ConsumedUnit",
    "PublisherName",
    "InvoiceIssuerName",
    "ServiceCategory",
    "RegionId",
    "ResourceId",
    "ResourceName",
    "SkuId",
    "SubAccountId",
    "SubAccountName",
    "Tags",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "InvoiceId",
    "ServiceSubcategory",
    "Id",
    # Microsoft's stand-in for an empty ServiceName (module docstring).
    "x_SkuMeterSubcategory",
    # Google's project, where SubAccountId is the billing account (module docstring).
    "x_Project",
)
COMMITMENT_DISCOUNT_STATUSES = ("Used", "Unused")
CHARGE_CATEGORIES = ("Usage", "Purchase", "Tax", "Credit", "Adjustment")
CHARGE_FREQUENCIES = ("One-Time", "Recurring", "Usage-Based")
TIMESTAMPS = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")
NUMBERS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "ConsumedQuantity")
# A row lands when any of these names its service (the first, else a stand-in).
SERVICE_NAMES = ("ServiceName", "x_SkuMeterSubcategory", "PublisherName")

COSTS = RawTable(
    "focus_costs",
    {
        "line_id": "varchar",
        "billing_account_id": "varchar",
        "billing_account_name": "varchar",
        "billing_currency": "varchar",
        "billing_period_start": "timestamp",
        "billing_period_end": "timestamp",
        "charge_period_start": "timestamp",
        "charge_period_end": "timestamp",
        "charge_category": "varchar",
        "charge_class": "varchar",
        "charge_frequency": "varchar",
        "charge_description": "varchar",
        "billed_cost": "double",
        "effective_cost": "double",
        "list_cost": "double",
        "contracted_cost": "double",
        "consumed_quantity": "double",
        "consumed_unit": "varchar",
        "provider_name": "varchar",
        "publisher_name": "varchar",
        "invoice_issuer_name": "varchar",
        "service_name": "varchar",
        "service_category": "varchar",
        "region_id": "varchar",
        "resource_id": "varchar",
        "resource_name": "varchar",
        "sku_id": "varchar",
        "sub_account_id": "varchar",
        "sub_account_name": "varchar",
        "tags": "json",
        "commitment_discount_category": "varchar",
        "commitment_discount_id": "varchar",
        "commitment_discount_status": "varchar",
        "commitment_discount_type": "varchar",
        "invoice_id": "varchar",
        "service_subcategory": "varchar",
        "x_sku_meter_subcategory": "varchar",
        "x_project_id": "varchar",
        **SCOPE_COLUMNS,
    },
    "FOCUS 1.0-1.2 cost rows as the files give them, one row per file line; "
    "_billing_account_id and _billing_period are the scope a delivery replaces.",
    amount="billed_cost",
    currency="billing_currency",
)


def _snake(name: str) -> str:
    out = "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")
    return out


def _one_of_ci(column: str, allowed: tuple[str, ...]) -> Check:
    col = quote(column)
    values = ", ".join(literal(v.lower()) for v in allowed)
    return Check(
        f"{col} is not null and lower(trim({col})) not in ({values})",
        literal(f"{column} is not one of {', '.join(allowed)}: ") + f" || {col}",
    )


def _canonical(column: str, allowed: tuple[str, ...]) -> str:
    """The spec's spelling of a value matched case-insensitively ('Usage-based')."""
    col = quote(column)
    cases = " ".join(f"when {literal(v.lower())} then {literal(v)}" for v in allowed)
    return f"case lower(trim({col})) {cases} end"


def read_rows(con: duckdb.DuckDBPyConnection, path: Path) -> Rows:
    """The file's wanted columns as strings, whatever the container."""
    kind = file_kind(path)
    if kind == "parquet":
        rows = parquet_rows(
            con, path, REQUIRED, OPTIONAL, ("focus",), numbers=NUMBERS, times=TIMESTAMPS
        )
    elif kind == "json":
        rows = json_rows(con, path, REQUIRED, OPTIONAL, formats=("focus",))
    else:
        schemas.expect(csv_header(path), "focus")
        rows = csv_rows(path, REQUIRED, OPTIONAL)
    return null_literals(rows, [*REQUIRED, *OPTIONAL])


def extract_focus(con: duckdb.DuckDBPyConnection, path: Path) -> Extract:
    rows = read_rows(con, path)
    checks = [
        *(not_empty(c) for c in REQUIRED if c != "ServiceName"),
        Check(
            " and ".join(f"coalesce(trim({quote(c)}), '') = ''" for c in SERVICE_NAMES),
            literal("ServiceName is empty, and so are PublisherName and x_SkuMeterSubcategory"),
        ),
        *(finite(c) for c in NUMBERS),
        *(timestamp_check(c) for c in TIMESTAMPS),
        # '4/1/25' casts to the year 4: a scope in year 4 is a date format, not a bill.
        *plausible_times(
            ("ChargePeriodStart", "BillingPeriodStart"), ("ChargePeriodEnd", "BillingPeriodEnd")
        ),
        matches("BillingCurrency", "[A-Za-z]{3}", "an ISO 4217 code"),
        _one_of_ci("ChargeCategory", CHARGE_CATEGORIES),
        _one_of_ci("ChargeFrequency", CHARGE_FREQUENCIES),
        _one_of_ci("CommitmentDiscountStatus", COMMITMENT_DISCOUNT_STATUSES),
        Check(
            '"ChargeClass" is not null and lower(trim("ChargeClass")) <> \'correction\'',
            "'ChargeClass is not Correction or null: ' || \"ChargeClass\"",
        ),
        # FOCUS's KeyValueFormat: values may be numbers and booleans too.
        tag_map("Tags", scalars=True),
        Check(
            '"x_Project" is not null and json_valid("x_Project") is not true',
            "'x_Project is not JSON: ' || \"x_Project\"",
        ),
        end_not_before_start("ChargePeriodStart", "ChargePeriodEnd"),
        # A purchase may cover its whole term (FOCUS 1.2's own example: a one-time purchase
        # of April 2025 to April 2026); the models count it in its first month, when it is
        # billed (a commitment's purchase has EffectiveCost 0: the usage it pays for carries
        # it into the months).
        within_one_month(
            "ChargePeriodStart",
            "ChargePeriodEnd",
            unless="coalesce(lower(trim(\"ChargeCategory\")), '') = 'purchase'",
        ),
    ]
    select = {
        "line_id": '"Id"',
        "billing_account_id": '"BillingAccountId"',
        "billing_account_name": '"BillingAccountName"',
        "billing_currency": 'upper(trim("BillingCurrency"))',
        **{_snake(c): timestamp_sql(c) for c in TIMESTAMPS},
        "charge_category": _canonical("ChargeCategory", CHARGE_CATEGORIES),
        "charge_class": "case when \"ChargeClass\" is not null then 'Correction' end",
        "charge_frequency": _canonical("ChargeFrequency", CHARGE_FREQUENCIES),
        "charge_description": '"ChargeDescription"',
        **{_snake(c): DECIMAL_POINT.value(c) for c in NUMBERS},
        **{
            _snake(c): quote(c)
            for c in (
                "ConsumedUnit",
                "ProviderName",
                "PublisherName",
                "InvoiceIssuerName",
                "ServiceName",
                "ServiceCategory",
                "RegionId",
                "ResourceId",
                "ResourceName",
                "SkuId",
                "SubAccountId",
                "SubAccountName",
            )
        },
        "tags": '"Tags"::json',
        "commitment_discount_status": _canonical(
            "CommitmentDiscountStatus", COMMITMENT_DISCOUNT_STATUSES
        ),
        **{
            _snake(c): quote(c)
            for c in (
                "CommitmentDiscountCategory",
                "CommitmentDiscountId",
                "CommitmentDiscountType",
                "InvoiceId",
                "ServiceSubcategory",
            )
        },
        "x_sku_meter_subcategory": '"x_SkuMeterSubcategory"',
        "x_project_id": """coalesce(json_extract_string("x_Project", '$.id'), """
        """json_extract_string("x_Project", '$.Id'))""",
        "_billing_account_id": '"BillingAccountId"',
        "_billing_period": f"cast({timestamp_sql('BillingPeriodStart')} as date)",
    }
    return Extract(
        rows, {COSTS.name: select}, checks, key=("Id",), parsed=parsed_timestamps(TIMESTAMPS)
    )


SOURCE = Source(
    name="focus",
    group="cloud_costs",
    description="FOCUS 1.0-1.2 cost files, CSV, Parquet or JSON lines (cloud_costs/focus/**).",
    patterns=data_patterns("cloud_costs/focus", ("csv", "parquet", "json")),
    tables=(COSTS,),
    extract=extract_focus,
    folders=("cloud_costs/focus",),
    # AWS Data Exports' <export>-Manifest.json, Azure exports' manifest.json (`_manifest.json`
    # in the older export version): read by `deliveries.focus`.
    manifests=(
        "cloud_costs/focus/**/*-Manifest.json",
        "cloud_costs/focus/**/manifest.json",
        "cloud_costs/focus/**/_manifest.json",
    ),
    deliveries=deliveries.focus,
    # 8: a number past ±2^53 and a date or time written as a word DuckDB reads (Infinity:
    # 9999-12-31; epoch) are quarantined; 9: a period's end before 2000 or more than ten
    # years ahead (year 9999 typed in Parquet) is quarantined, and a Parquet time column of
    # INT64 fails the file; 10: Tags that are no tag map (1e999, [1,2], a nested value, a key
    # twice) are quarantined; files landed before are parsed again.
    version=10,
    by_month=True,
)
