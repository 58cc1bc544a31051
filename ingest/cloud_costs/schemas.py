"""Recognising which bill format a file is, from its column names alone.

Each connector reads one provider's folder, but people drop files in the wrong place; a file
whose columns are not the connector's format fails with the format it does look like, or with
'unknown provider schema' when it looks like none.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest.framework import ParseError

# A few columns only one format has, compared case-insensitively.
SIGNATURES: dict[str, tuple[str, ...]] = {
    "focus": ("billedcost", "chargeperiodstart", "billingcurrency"),
    "gcp_billing_export": ("cost_type", "currency"),
    "aws_cur_2": ("line_item_unblended_cost", "line_item_usage_start_date"),
    "aws_cur_legacy": ("lineitem/unblendedcost", "lineitem/usagestartdate"),
    "azure_cost_export": ("chargetype", "date"),
    # Pay-As-You-Go subscriptions' usage export: no ChargeType, dates in UsageDateTime.
    "azure_payg_export": ("pretaxcost", "usagedatetime"),
}

NAMES = {
    "focus": "a FOCUS file",
    "gcp_billing_export": "a GCP billing export",
    "aws_cur_2": "an AWS CUR 2.0 export",
    "aws_cur_legacy": "a legacy AWS CUR",
    "azure_cost_export": "an Azure cost export",
    "azure_payg_export": "an Azure cost export",
}


def detect(columns: Iterable[str]) -> str | None:
    """The format whose signature columns are all present, or None."""
    lowered = {c.strip().lower().lstrip("\ufeff") for c in columns}
    # BigQuery CSV exports flatten records to 'service.description' or 'service_description'.
    flat = {c.replace(".", "_") for c in lowered}
    for schema, signature in SIGNATURES.items():
        if all(s in lowered or s in flat for s in signature):
            return schema
    return None


def expect(columns: Iterable[str], *accepted: str) -> str:
    """The detected format if it is one of `accepted`, else a ParseError saying what it is."""
    columns = list(columns)
    found = detect(columns)
    if found in accepted:
        return found
    wanted = " or ".join(dict.fromkeys(NAMES[a] for a in accepted))
    if found is None:
        shown = ", ".join(columns[:8]) + (", ..." if len(columns) > 8 else "")
        raise ParseError(
            f"unknown provider schema: expected {wanted}; columns are {shown}", "header"
        )
    raise ParseError(
        f"this is {NAMES[found]}, not {wanted}; move it to its provider's folder", "header"
    )
