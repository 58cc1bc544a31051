"""AWS Cost and Usage Reports under `cloud_costs/aws/`: CUR 2.0 (Data Exports) and legacy CUR.

CUR 2.0 files (Parquet, or CSV gzip-compressed or not) have snake_case columns
(`line_item_unblended_cost`) and a `resource_tags` map (user tags as `user:<key>`, e.g.
`user:2i2c:hub-name`). Legacy CUR files come in two shapes: the CSV (`.csv.gz` as AWS writes
it) with `lineItem/UnblendedCost`-style headers and one `resourceTags/user:<key>` column per
tag, renamed to the CUR 2.0 names (AWS's documented mapping: '/' and each capital letter
start a new lowercase word); and the Parquet written for Athena, already snake_case, with one
`resource_tags_user_<key>` column per tag. Both keep their tags, folded into `resource_tags`
(Athena's column names have lost the tag's punctuation: `user:2i2c_hub_name`).

Every line item type is kept with its own sign (SavingsPlanNegation and Credit lines are
negative), so the sum of `line_item_unblended_cost` is the invoice total before discounts
carried in columns (`line_item_net_unblended_cost`, `discount_*`: see stg_aws__cur). EKS split
cost allocation rows (`split_line_item_*`) are kept. A repeated (identity_line_item_id,
identity_time_interval) is quarantined as a duplicate.

Which files make up a delivery (Data Exports' BILLING_PERIOD folder and Manifest.json, legacy
CUR's assemblyId named by the period manifest) is `ingest.cloud_costs.deliveries.aws`.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import duckdb

from ingest.cloud_costs import deliveries, schemas
from ingest.cloud_costs.common import (
    SCOPE_COLUMNS,
    data_patterns,
    end_not_before_start,
    file_kind,
    parquet_columns,
    parquet_rows,
    parsed_timestamps,
    plausible_times,
    tag_map,
    timestamp_check,
    timestamp_sql,
    within_one_month,
)
from ingest.framework import RECORD_COLUMN, Extract, ParseError, RawTable, Rows, Source
from ingest.tabular import (
    DECIMAL_POINT,
    csv_header,
    csv_rows,
    finite,
    literal,
    matches,
    not_empty,
    one_of,
    quote,
)

REQUIRED = (
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_unblended_cost",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "bill_billing_period_start_date",
)
OPTIONAL = (
    "identity_line_item_id",
    "identity_time_interval",
    "bill_payer_account_id",
    "bill_billing_period_end_date",
    "line_item_currency_code",
    "line_item_product_code",
    "line_item_usage_type",
    "line_item_operation",
    "line_item_resource_id",
    "line_item_line_item_description",
    "line_item_usage_amount",
    "line_item_net_unblended_cost",
    "discount_total_discount",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_a_r_n",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_net_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "reservation_reservation_a_r_n",
    "reservation_effective_cost",
    "reservation_net_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "split_line_item_parent_resource_id",
    "split_line_item_split_cost",
    "split_line_item_unused_cost",
    "bill_invoice_id",
    "product_servicecode",
    "product_product_family",
    "product_region_code",
    "resource_tags",
)
# Read when present and folded into the columns above, not kept themselves.
FOLDED = ("discount",)  # CUR 2.0's map of discounts, total_discount among its keys
NUMBERS = (
    "line_item_unblended_cost",
    "line_item_usage_amount",
    "line_item_net_unblended_cost",
    "discount_total_discount",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_net_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "reservation_effective_cost",
    "reservation_net_effective_cost",
    "reservation_unused_amortized_upfront_fee_for_billing_period",
    "reservation_unused_recurring_fee",
    "split_line_item_split_cost",
    "split_line_item_unused_cost",
)
TIMESTAMPS = (
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "bill_billing_period_start_date",
    "bill_billing_period_end_date",
)
LINE_ITEM_TYPES = (
    "Usage",
    "DiscountedUsage",
    "SavingsPlanCoveredUsage",
    "SavingsPlanNegation",
    "SavingsPlanRecurringFee",
    "SavingsPlanUpfrontFee",
    "RIFee",
    "Fee",
    "Tax",
    "Credit",
    "Refund",
    "EdpDiscount",
    "BundledDiscount",
    "PrivateRateDiscount",
    "DistributorDiscount",
)

CUR = RawTable(
    "aws_cur",
    {
        **{c: "varchar" for c in (*REQUIRED, *OPTIONAL)},
        **{c: "double" for c in NUMBERS},
        **{c: "timestamp" for c in TIMESTAMPS},
        "resource_tags": "json",
        **SCOPE_COLUMNS,
    },
    "AWS CUR 2.0 line items (legacy CUR renamed to CUR 2.0 columns), one row per line item; "
    "_billing_account_id is the payer account, _billing_period the bill's month.",
    amount="line_item_unblended_cost",
    currency="line_item_currency_code",
)
ATHENA_TAGS = re.compile(r"^resource_tags_(user|aws)_(.+)$")


def legacy_name(header: str) -> str:
    """'lineItem/UnblendedCost' -> 'line_item_unblended_cost', 'savingsPlan/SavingsPlanARN' ->
    'savings_plan_savings_plan_a_r_n' (AWS's documented mapping to CUR 2.0 names)."""
    snake = re.sub(r"(?<=[A-Za-z0-9])(?=[A-Z])", "_", header.replace("/", "_"))
    return snake.lower()


def _tag_json(pairs: list[tuple[str, str]]) -> str:
    """SQL for a JSON object of tag name -> the column holding it (empty values as null)."""
    if not pairs:
        return "null::varchar"
    body = ", ".join(f"{literal(name)}, nullif(trim({quote(col)}), '')" for name, col in pairs)
    return f"json_object({body})::varchar"


def _athena_tags(columns: list[str]) -> list[tuple[str, str]]:
    """Legacy CUR written for Athena: `resource_tags_user_team` -> tag `user:team`."""
    if "resource_tags" in columns:
        return []
    found = [(ATHENA_TAGS.match(c), c) for c in columns]
    return [(f"{m.group(1)}:{m.group(2)}", c) for m, c in found if m]


def _legacy_rows(path: Path, header: list[str]) -> Rows:
    renamed = {legacy_name(h): h for h in header if not h.startswith("resourceTags/")}
    missing = [c for c in REQUIRED if c not in renamed]
    if missing:
        raise ParseError(f"missing required column(s): {', '.join(missing)}", "line 1 (header)")
    tags = [h for h in header if h.startswith("resourceTags/")]
    rows = csv_rows(
        path,
        required=[renamed[c] for c in REQUIRED] + tags,
        optional=[renamed[c] for c in OPTIONAL if c in renamed],
    )
    columns = [
        f"{quote(renamed[c])} as {quote(c)}" if c in renamed else f"null::varchar as {quote(c)}"
        for c in (*REQUIRED, *OPTIONAL, *FOLDED)
        if c != "resource_tags"
    ]
    tag_json = _tag_json([(t.removeprefix("resourceTags/"), t) for t in tags])
    return rows.select(
        f"{', '.join(columns)}, {tag_json} as resource_tags, _ordinal, {RECORD_COLUMN}"
    )


def _with_athena_tags(rows: Rows, tags: list[tuple[str, str]]) -> Rows:
    if not tags:
        return rows
    kept = [quote(c) for c in (*REQUIRED, *OPTIONAL, *FOLDED) if c != "resource_tags"]
    return rows.select(
        f"{', '.join(kept)}, {_tag_json(tags)} as resource_tags, _ordinal, {RECORD_COLUMN}"
    )


def read_rows(con: duckdb.DuckDBPyConnection, path: Path) -> tuple[Rows, bool]:
    """The file's rows, and whether their resource_tags are JSON text as the file wrote it,
    which `tag_map` must check. A Parquet MAP(VARCHAR, VARCHAR) becomes a JSON object of
    strings, each key once, and tag columns are folded into one by `_tag_json`: neither can
    fail the check, which costs a tenth of reading a CUR."""
    if file_kind(path) == "parquet":
        columns = parquet_columns(con, path)
        names = [name for name, _ in columns]
        schemas.expect(names, "aws_cur_2")
        tags = _athena_tags(names)
        optional = [*OPTIONAL, *FOLDED, *(c for _, c in tags)]
        rows = parquet_rows(con, path, REQUIRED, optional, numbers=NUMBERS, times=TIMESTAMPS)
        typed = dict(columns).get("resource_tags") in (None, "MAP(VARCHAR, VARCHAR)")
        return _with_athena_tags(rows, tags), not (tags or typed)
    header = csv_header(path)
    if schemas.expect(header, "aws_cur_2", "aws_cur_legacy") == "aws_cur_legacy":
        return _legacy_rows(path, header), False
    tags = _athena_tags(header)
    optional = [*OPTIONAL, *FOLDED, *(c for _, c in tags)]
    return _with_athena_tags(csv_rows(path, REQUIRED, optional), tags), not tags


def extract_cur(con: duckdb.DuckDBPyConnection, path: Path) -> Extract:
    rows, tags_as_text = read_rows(con, path)
    checks = [
        *(not_empty(c) for c in REQUIRED),
        *(finite(c) for c in NUMBERS),
        *(timestamp_check(c) for c in TIMESTAMPS),
        *plausible_times(
            ("line_item_usage_start_date", "bill_billing_period_start_date"),
            ("line_item_usage_end_date", "bill_billing_period_end_date"),
        ),
        one_of("line_item_line_item_type", LINE_ITEM_TYPES),
        matches("line_item_currency_code", "[A-Za-z]{3}", "an ISO 4217 code"),
        *([tag_map("resource_tags")] if tags_as_text else []),
        end_not_before_start("line_item_usage_start_date", "line_item_usage_end_date"),
        within_one_month("line_item_usage_start_date", "line_item_usage_end_date"),
    ]
    select = {}
    for name in CUR.columns:
        if name == "discount_total_discount":
            select[name] = (
                f"coalesce({DECIMAL_POINT.value('discount_total_discount')}, "
                "try_cast(json_extract_string(try_cast(discount as json), '$.total_discount') "
                "as double))"
            )
        elif name in NUMBERS:
            select[name] = DECIMAL_POINT.value(name)
        elif name in TIMESTAMPS:
            select[name] = timestamp_sql(name)
        elif name == "resource_tags":
            select[name] = "nullif(trim(resource_tags), '')::json"
        elif name == "line_item_currency_code":
            select[name] = "upper(coalesce(nullif(trim(line_item_currency_code), ''), 'USD'))"
        elif name == "_billing_account_id":
            select[name] = (
                "coalesce(nullif(trim(bill_payer_account_id), ''), line_item_usage_account_id)"
            )
        elif name == "_billing_period":
            select[name] = f"cast({timestamp_sql('bill_billing_period_start_date')} as date)"
        else:
            select[name] = quote(name)
    key = ("identity_line_item_id", "identity_time_interval")
    return Extract(rows, {CUR.name: select}, checks, key, parsed_timestamps(TIMESTAMPS))


SOURCE = Source(
    name="aws_cur",
    group="cloud_costs",
    description="AWS CUR 2.0 (Data Exports) and legacy CUR files (cloud_costs/aws/**).",
    patterns=data_patterns("cloud_costs/aws", ("parquet", "csv")),
    tables=(CUR,),
    cadence=timedelta(days=35),  # bills close monthly
    extract=extract_cur,
    folders=("cloud_costs/aws",),
    manifests=("cloud_costs/aws/**/*-Manifest.json",),
    ignored=(
        (
            "cloud_costs/aws/**/cost_and_usage_data_status/*",
            "status file of the CUR's Athena integration: no bill lines",
        ),
        ("cloud_costs/aws/**/crawler-cfn.yml", "the CUR's Athena CloudFormation template"),
        # Delivered beside the Parquet parts of a CUR with Athena integration
        # (<report>/<report>/year=YYYY/month=M/<report>-create-table.sql, as AWS's user guide
        # lays out the report's files).
        ("cloud_costs/aws/**/*-create-table.sql", "the CUR's Athena table definition"),
        ("cloud_costs/aws/**/*-RedshiftCommands.sql", "the CUR's Redshift load commands"),
        ("cloud_costs/aws/**/*-RedshiftManifest.json", "the CUR's Redshift load manifest"),
    ),
    deliveries=deliveries.aws,
    # 3: a number past ±2^53 and a date or time written as a word DuckDB reads (Infinity:
    # 9999-12-31; epoch) are quarantined, and an empty currency code is USD as a missing one;
    # 4: a billing period's start or end before 2000 or years ahead (year 9999 typed in
    # Parquet) is quarantined, and a Parquet time column of INT64 fails the file; 5:
    # resource_tags that are no tag map (1e999, [1,2], a key twice) are quarantined and an
    # empty one is no tags; files landed before are parsed again.
    version=5,
    by_month=True,
)
