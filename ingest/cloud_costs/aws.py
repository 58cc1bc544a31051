"""AWS Cost and Usage Reports under `cloud_costs/aws/`: CUR 2.0 (Data Exports) and legacy CUR.

CUR 2.0 files (Parquet or CSV) have snake_case columns (`line_item_unblended_cost`) and a
`resource_tags` map (user tags as `user:<key>`, e.g. `user:2i2c:hub-name`). Legacy CUR files
have `lineItem/UnblendedCost`-style headers and one `resourceTags/user:<key>` column per tag;
they are renamed to the CUR 2.0 names (the documented mapping is camelCase -> snake_case,
'/' -> '_') and their tag columns folded into `resource_tags`.

Every line item type is kept with its own sign (SavingsPlanNegation and Credit lines are
negative), so the sum of `line_item_unblended_cost` is the invoice total. A repeated
(identity_line_item_id, identity_time_interval) is quarantined as a duplicate.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import duckdb

from ingest.cloud_costs import schemas
from ingest.cloud_costs.common import (
    connect,
    end_not_before_start,
    parquet_strings,
    timestamp_check,
    timestamp_sql,
    within_one_month,
)
from ingest.framework import RECORD_COLUMN, Parsed, ParseError, RawTable, Source
from ingest.tabular import (
    Check,
    csv_header,
    finite,
    literal,
    matches,
    not_empty,
    one_of,
    quote,
    read_csv_strings,
    split_rows,
    unique,
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
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "reservation_effective_cost",
    "product_servicecode",
    "product_product_family",
    "product_region_code",
    "resource_tags",
)
NUMBERS = (
    "line_item_unblended_cost",
    "line_item_usage_amount",
    "line_item_net_unblended_cost",
    "pricing_public_on_demand_cost",
    "savings_plan_savings_plan_effective_cost",
    "savings_plan_total_commitment_to_date",
    "savings_plan_used_commitment",
    "reservation_effective_cost",
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
    },
    "AWS CUR 2.0 line items (legacy CUR renamed to CUR 2.0 columns), one row per line item.",
    amount="line_item_unblended_cost",
    currency="line_item_currency_code",
)


def legacy_name(header: str) -> str:
    """'lineItem/UnblendedCost' -> 'line_item_unblended_cost' (AWS's documented mapping)."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", header.replace("/", "_"))
    return snake.lower()


def _legacy_rows(con: duckdb.DuckDBPyConnection, path: Path, header: list[str]):
    renamed = {legacy_name(h): h for h in header if not h.startswith("resourceTags/")}
    missing = [c for c in REQUIRED if c not in renamed]
    if missing:
        raise ParseError(f"missing required column(s): {', '.join(missing)}", "line 1 (header)")
    tags = [h for h in header if h.startswith("resourceTags/")]
    rows = read_csv_strings(
        con,
        path,
        required=[renamed[c] for c in REQUIRED] + tags,
        optional=[renamed[c] for c in OPTIONAL if c in renamed],
    )
    columns = [
        f"{quote(renamed[c])} as {quote(c)}" if c in renamed else f"null::varchar as {quote(c)}"
        for c in (*REQUIRED, *OPTIONAL)
        if c != "resource_tags"
    ]
    pairs = ", ".join(
        f"{literal(t.removeprefix('resourceTags/'))}, nullif(trim({quote(t)}), '')" for t in tags
    )
    tag_json = f"json_object({pairs})::varchar" if tags else "null::varchar"
    return rows.select(
        f"{', '.join(columns)}, {tag_json} as resource_tags, _ordinal, {RECORD_COLUMN}"
    )


def read_rows(con: duckdb.DuckDBPyConnection, path: Path) -> duckdb.DuckDBPyRelation:
    if path.suffix.lower() == ".parquet":
        return parquet_strings(con, path, REQUIRED, OPTIONAL, formats=("aws_cur_2",))
    header = csv_header(path)
    if schemas.expect(header, "aws_cur_2", "aws_cur_legacy") == "aws_cur_legacy":
        return _legacy_rows(con, path, header)
    return read_csv_strings(con, path, REQUIRED, OPTIONAL)


def parse_cur(path: Path) -> Parsed:
    con = connect()
    rows = read_rows(con, path)
    key = ("identity_line_item_id", "identity_time_interval")
    duplicate = unique(key)
    checks = [
        *(not_empty(c) for c in REQUIRED),
        *(finite(c) for c in NUMBERS),
        *(timestamp_check(c) for c in TIMESTAMPS),
        one_of("line_item_line_item_type", LINE_ITEM_TYPES),
        matches("line_item_currency_code", "[A-Za-z]{3}", "an ISO 4217 code"),
        Check(
            "resource_tags is not null and json_valid(resource_tags) is not true",
            "'resource_tags is not a JSON map: ' || resource_tags",
        ),
        end_not_before_start("line_item_usage_start_date", "line_item_usage_end_date"),
        within_one_month("line_item_usage_start_date", "line_item_usage_end_date"),
        Check(f"identity_line_item_id is not null and {duplicate.fails}", duplicate.reason),
    ]
    select = {}
    for name in CUR.columns:
        if name in NUMBERS:
            select[name] = f"trim({quote(name)})::double"
        elif name in TIMESTAMPS:
            select[name] = timestamp_sql(name)
        elif name == "resource_tags":
            select[name] = "resource_tags::json"
        elif name == "line_item_currency_code":
            select[name] = "upper(trim(coalesce(line_item_currency_code, 'USD')))"
        else:
            select[name] = quote(name)
    valid, rejected = split_rows(con, rows, checks, select)
    return Parsed(tables={CUR.name: valid}, rejected=rejected)


SOURCE = Source(
    name="aws_cur",
    group="cloud_costs",
    description="AWS CUR 2.0 (Data Exports) and legacy CUR files (cloud_costs/aws/**).",
    patterns=("cloud_costs/aws/**/*.parquet", "cloud_costs/aws/**/*.csv"),
    tables=(CUR,),
    cadence=timedelta(days=35),  # bills close monthly
    parse=parse_cur,
    by_month=True,
)
