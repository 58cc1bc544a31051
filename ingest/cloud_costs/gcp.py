"""GCP Cloud Billing export to BigQuery, as exported files under `cloud_costs/gcp/`.

Both export schemas are read: standard usage cost (`gcp_billing_export_v1_*`) and detailed
usage cost (`gcp_billing_export_resource_v1_*`, which adds `resource.name`). The table is
exported from BigQuery as newline-delimited JSON (nested records as objects, `labels` and
`credits` as arrays), a JSON array of the same objects (`bq query --format=json` or
`prettyjson`; each row is named by its element), Parquet (the same nesting), or CSV of a
flattened query with columns named `service.description` or `service_description` and
`labels` / `credits` as JSON text.
The live connector (`ingest.cloud_costs.bigquery`) writes the same JSON lines.

Files may be gzip-compressed (`.jsonl.gz`, `.csv.gz`). Net cost = `cost` +
sum(`credits[].amount`) (credits are negative), as in Google's "Structure of Standard data
export" documentation; it is kept per row as `credits_amount`, and every credit is also a row
of `gcp_billing_credits` with its `type` and `name` (sustained- and committed-use discounts,
promotions, free trial, ...), which stg_gcp__billing_export turns into discounts or FOCUS
Credit rows. `adjustment_info` (id, description, mode, type) is kept for adjustment rows.

CSV files written from Python (pandas) carry `labels` and `credits` as Python reprs
(`[{'name': 'FreeTrial', 'amount': -1.0, 'full_name': None}]`); they are read as JSON when
the repr converts cleanly, and the row is quarantined with that reason when it does not.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import duckdb

from ingest.cloud_costs import deliveries, schemas
from ingest.cloud_costs.common import (
    SCOPE_COLUMNS,
    data_patterns,
    end_not_before_start,
    file_kind,
    json_keys,
    json_objects,
    parquet_columns,
    parquet_fields,
    parquet_read,
    parsed_timestamps,
    plausible_times,
    refuse_mistyped,
    timestamp_check,
    timestamp_sql,
    within_one_month,
)
from ingest.framework import (
    RECORD_COLUMN,
    Extract,
    ParseError,
    RawTable,
    Rows,
    Source,
)
from ingest.tabular import (
    DECIMAL_POINT,
    Check,
    csv_header,
    csv_rows,
    exact_double,
    finite,
    literal,
    matches,
    not_empty,
    one_of,
    plausible_time,
    quote,
)

# Parser field -> path in the export's nested schema.
FIELDS = {
    "billing_account_id": "billing_account_id",
    "service_id": "service.id",
    "service_description": "service.description",
    "sku_id": "sku.id",
    "sku_description": "sku.description",
    "usage_start_time": "usage_start_time",
    "usage_end_time": "usage_end_time",
    "project_id": "project.id",
    "project_name": "project.name",
    "labels": "labels",
    "location_region": "location.region",
    "resource_name": "resource.name",
    "cost": "cost",
    "currency": "currency",
    "currency_conversion_rate": "currency_conversion_rate",
    "usage_amount": "usage.amount",
    "usage_unit": "usage.unit",
    "credits": "credits",
    "invoice_month": "invoice.month",
    "cost_type": "cost_type",
    "export_time": "export_time",
    "cost_at_list": "cost_at_list",
    "adjustment_id": "adjustment_info.id",
    "adjustment_description": "adjustment_info.description",
    "adjustment_mode": "adjustment_info.mode",
    "adjustment_type": "adjustment_info.type",
}
REQUIRED = (
    "billing_account_id",
    "cost",
    "currency",
    "usage_start_time",
    "usage_end_time",
    "invoice_month",
    "cost_type",
    "service_description",
)
JSON_FIELDS = ("labels", "credits")
NUMBERS = ("cost", "currency_conversion_rate", "usage_amount", "cost_at_list")
TIMESTAMPS = ("usage_start_time", "usage_end_time", "export_time")
# The invoice month's first day, null unless it is YYYYMM; the delivery's billing period.
INVOICE_MONTH = "try_strptime(trim(invoice_month), '%Y%m')"
COST_TYPES = ("regular", "tax", "adjustment", "rounding_error")

EXPORT = RawTable(
    "gcp_billing_export",
    {
        "billing_account_id": "varchar",
        "service_id": "varchar",
        "service_description": "varchar",
        "sku_id": "varchar",
        "sku_description": "varchar",
        "usage_start_time": "timestamp",
        "usage_end_time": "timestamp",
        "project_id": "varchar",
        "project_name": "varchar",
        "labels": "json",
        "location_region": "varchar",
        "resource_name": "varchar",
        "cost": "double",
        "currency": "varchar",
        "currency_conversion_rate": "double",
        "usage_amount": "double",
        "usage_unit": "varchar",
        "credits": "json",
        "credits_amount": "double",
        "invoice_month": "varchar",
        "cost_type": "varchar",
        "export_time": "timestamp",
        "cost_at_list": "double",
        "adjustment_id": "varchar",
        "adjustment_description": "varchar",
        "adjustment_mode": "varchar",
        "adjustment_type": "varchar",
        **SCOPE_COLUMNS,
    },
    "GCP billing export rows (standard or detailed schema), one row per exported row; "
    "credits_amount is the sum of credits[].amount; _billing_account_id and _billing_period "
    "(the invoice month) are the scope a delivery replaces.",
    amount="cost + credits_amount",
    currency="currency",
)
CREDITS = RawTable(
    "gcp_billing_credits",
    {
        "credit_position": "integer",
        "name": "varchar",
        "full_name": "varchar",
        "type": "varchar",
        "id": "varchar",
        "amount": "double",
    },
    "One row per element of an export row's credits[] (the row is its _file and _record), "
    "in the order exported.",
)


# The top-level keys (columns) holding the required fields.
REQUIRED_TOPS = {FIELDS[field].split(".")[0] for field in REQUIRED}


def _refuse_missing_required(keys: set[str]) -> None:
    """A file whose top-level keys lack a required field: another format, named when it is
    one, else the missing fields' columns."""
    missing = sorted(REQUIRED_TOPS - keys)
    if missing:
        schemas.expect(sorted(keys), "gcp_billing_export")
        raise ParseError(f"missing required column(s): {', '.join(missing)}", "schema")


def _from_json(con: duckdb.DuckDBPyConnection, rows: Rows, path: Path, record: str) -> Rows:
    """Project rows of one JSON column `j` (plus `_ordinal`) onto the parser's fields; each
    row is named `<record> N` (a line of JSON lines, an element of an array)."""
    _refuse_missing_required(json_keys(con, rows, path, REQUIRED_TOPS))
    # Each row's JSON is parsed twice (once for the values, once for the nested ones kept as
    # JSON text), not once per field.
    values = [path for field, path in FIELDS.items() if field not in JSON_FIELDS]
    nested = [path for field, path in FIELDS.items() if field in JSON_FIELDS]
    parsed = rows.select(
        f"json_extract_string(j, [{', '.join(literal('$.' + p) for p in values)}]) as _values, "
        f"json_extract(j, [{', '.join(literal('$.' + p) for p in nested)}]) as _nested, _ordinal"
    )
    columns = [
        f"_nested[{nested.index(path) + 1}]::varchar as {quote(field)}"
        if field in JSON_FIELDS
        else f"_values[{values.index(path) + 1}] as {quote(field)}"
        for field, path in FIELDS.items()
    ]
    return parsed.select(
        f"{', '.join(columns)}, _ordinal, {literal(record + ' ')} || _ordinal as {RECORD_COLUMN}"
    )


def _from_parquet(con: duckdb.DuckDBPyConnection, path: Path) -> Rows:
    """The parser's fields straight from the file's nested columns (`service.description`),
    found in its schema: values as text, as from JSON lines, and labels and credits as JSON.
    Each value is read once, from its own column."""
    fields = parquet_fields(con, path)
    _refuse_missing_required({f for f in fields if "." not in f})
    columns, typed = [], {}
    for field, dotted in FIELDS.items():
        value = "t." + ".".join(quote(part) for part in dotted.split("."))
        if dotted not in fields:
            value = "null"
        elif field in JSON_FIELDS or fields[dotted]:
            value = f"to_json({value})"
        elif field in (*NUMBERS, *TIMESTAMPS):
            typed[dotted] = value
        columns.append(f"{value}::varchar as {quote(field)}")
    if typed:
        described = ", ".join(f"{value} as {quote(dotted)}" for dotted, value in typed.items())
        types = con.execute(
            "select column_name, column_type from "
            f"(describe select {described} from read_parquet(?) as t)",
            [str(path)],
        ).fetchall()
        refuse_mistyped(dict(types), [FIELDS[f] for f in NUMBERS], [FIELDS[f] for f in TIMESTAMPS])
    return parquet_read(con, path, ", ".join(columns), tuple(parquet_columns(con, path)))


def read_rows(con: duckdb.DuckDBPyConnection, path: Path) -> Rows:
    rows = _read_fields(con, path)
    repaired = ", ".join(
        f"{_from_python_repr(f)} as {quote(f)}" if f in JSON_FIELDS else quote(f) for f in FIELDS
    )
    return rows.select(f"{repaired}, _ordinal, {RECORD_COLUMN}")


def _from_python_repr(column: str) -> str:
    """SQL: a Python repr of a list of dicts as JSON, when it converts to valid JSON.

    Single-quoted strings become double-quoted and None/True/False after a colon become
    null/true/false; anything that is not valid JSON after that is left as it was, for the
    checks to quarantine with the reason.
    """
    col = quote(column)
    converted = col
    for pattern, replacement in (
        ("'([^']*)'", '"\\1"'),
        ("(:\\s*)None\\b", "\\1null"),
        ("(:\\s*)True\\b", "\\1true"),
        ("(:\\s*)False\\b", "\\1false"),
    ):
        converted = f"regexp_replace({converted}, {literal(pattern)}, {literal(replacement)}, 'g')"
    return (
        f"case when {col} is not null and json_valid({col}) is not true "
        f"and json_valid({converted}) then {converted} else {col} end"
    )


def _read_fields(con: duckdb.DuckDBPyConnection, path: Path) -> Rows:
    kind = file_kind(path)
    if kind == "json":
        rows, record = json_objects(path)
        return _from_json(con, rows, path, record)
    if kind == "parquet":
        return _from_parquet(con, path)
    header = csv_header(path)
    schemas.expect(header, "gcp_billing_export")
    by_name = {}
    for field, dotted in FIELDS.items():
        for candidate in (dotted, dotted.replace(".", "_"), field):
            if candidate in header:
                by_name[field] = candidate
                break
    missing = [f"{FIELDS[f]}" for f in REQUIRED if f not in by_name]
    if missing:
        raise ParseError(f"missing required column(s): {', '.join(missing)}", "line 1 (header)")
    rows = csv_rows(path, required=list(by_name.values()))
    columns = [
        f"{quote(by_name[f])} as {quote(f)}" if f in by_name else f"null::varchar as {quote(f)}"
        for f in FIELDS
    ]
    return rows.select(f"{', '.join(columns)}, _ordinal, {RECORD_COLUMN}")


_AMOUNTS = "from_json(credits, '[\"json\"]')"
# A value that still looks like a Python repr: single-quoted keys.
_PYTHON_REPR = "regexp_matches({}, '[{{,]\\s*''[A-Za-z_]+''\\s*:')"
# A credit's amount is a number a double holds (`exact_double`): NaN or infinity would make the
# row's net cost one too.
_CREDIT_AMOUNT = exact_double("try_cast(c->>'amount' as double)")
# GCP's labels, its tag map: a JSON array of {key, value}, each key a string and there once
# (staging makes them a map, which a missing or repeated key fails), each value a string or
# null. A CASE, not `and`: DuckDB evaluates both sides of an `and`, and json_type or from_json
# of text that is not a JSON array fails the query.
_LABEL = (
    "json_type(e) = 'OBJECT' and json_type(e, '$.key') = 'VARCHAR' "
    "and coalesce(json_type(e, '$.value'), 'NULL') in ('VARCHAR', 'NULL')"
)
_LABELS = (
    "case when not json_valid(labels) then false "
    "when json_type(labels) <> 'ARRAY' then false "
    f"else len(list_filter(from_json(labels, '[\"json\"]'), lambda e: not ({_LABEL}))) = 0 "
    "and len(list_distinct(json_extract_string(labels, '$[*].key'))) "
    "= json_array_length(labels) end"
)
_NOT_LABELS = (
    "labels is not a list of key/value pairs (each key a string, once; each value a string "
    "or null): "
)
_CREDITS_SUM = (
    f"coalesce(list_sum(list_transform({_AMOUNTS}, lambda c: (c->>'amount')::double)), 0)"
)


def extract_export(con: duckdb.DuckDBPyConnection, path: Path) -> Extract:
    rows = read_rows(con, path)
    checks = [
        *(not_empty(c) for c in REQUIRED),
        finite("cost"),
        finite("currency_conversion_rate"),
        finite("usage_amount"),
        finite("cost_at_list"),
        *(timestamp_check(c) for c in TIMESTAMPS),
        *plausible_times(("usage_start_time", "export_time"), ("usage_end_time",)),
        matches("invoice_month", "[0-9]{4}(0[1-9]|1[0-2])", "a YYYYMM month"),
        # 999912 or 000001 is a month, but of no bill.
        plausible_time("invoice_month", INVOICE_MONTH),
        matches("currency", "[A-Za-z]{3}", "an ISO 4217 code"),
        one_of("cost_type", COST_TYPES),
        Check(
            f"labels is not null and not ({_LABELS})",
            f"case when json_valid(labels) then {literal(_NOT_LABELS)} "
            f"when {_PYTHON_REPR.format('labels')} "
            "then 'labels is a Python repr that does not read as JSON: ' "
            "else 'labels is not JSON: ' end || labels",
        ),
        Check(
            "credits is not null and (json_valid(credits) is not true "
            "or json_type(credits) <> 'ARRAY')",
            f"case when json_valid(credits) is not true and {_PYTHON_REPR.format('credits')} "
            "then 'credits is a Python repr that does not read as JSON: ' "
            "else 'credits is not a JSON array: ' end || credits",
        ),
        Check(
            "case when json_valid(credits) and json_type(credits) = 'ARRAY' "
            f"then len(list_filter({_AMOUNTS}, lambda c: not coalesce({_CREDIT_AMOUNT}, false)))"
            " > 0 else false end",
            "'credits has an amount that is not a finite number within ±2^53: ' || credits",
        ),
        end_not_before_start("usage_start_time", "usage_end_time"),
        within_one_month("usage_start_time", "usage_end_time"),
    ]
    select = {}
    for name in EXPORT.columns:
        if name in NUMBERS:
            select[name] = DECIMAL_POINT.value(name)
        elif name in TIMESTAMPS:
            select[name] = timestamp_sql(name)
        elif name in JSON_FIELDS:
            select[name] = f"{quote(name)}::json"
        elif name == "credits_amount":
            select[name] = f"case when json_valid(credits) then {_CREDITS_SUM} else 0 end"
        elif name == "currency":
            select[name] = "upper(trim(currency))"
        elif name == "_billing_account_id":
            select[name] = "billing_account_id"
        elif name == "_billing_period":
            select[name] = f"cast({INVOICE_MONTH} as date)"
        else:
            select[name] = quote(name)
    return Extract(
        rows,
        {EXPORT.name: select, CREDITS.name: CREDITS_QUERY},
        checks,
        parsed=parsed_timestamps(TIMESTAMPS),
    )


# One row per credit of each export row the batch wrote (`_loaded`, with the `_file` it comes
# from), in export order.
CREDITS_QUERY = f"""
    select
        {RECORD_COLUMN},
        _file,
        cast(credit_position as integer) as credit_position,
        credit->>'name' as name,
        credit->>'full_name' as full_name,
        credit->>'type' as type,
        credit->>'id' as id,
        cast(credit->>'amount' as double) as amount
    from (
        select
            {RECORD_COLUMN},
            _file,
            generate_subscripts(credit_list, 1) as credit_position,
            unnest(credit_list) as credit
        from (
            select {RECORD_COLUMN}, _file, from_json(credits, '["json"]') as credit_list
            from _loaded
            where credits is not null
        )
    )
"""


def pull_if_configured(landing: Path, months: Sequence[date] = ()) -> object:
    """The live BigQuery pull (ingest.cloud_costs.bigquery) of `months` (default: the recent
    invoice months), when its settings are set."""
    from ingest.cloud_costs import bigquery

    return bigquery.pull_if_configured(landing, months=months)


SOURCE = Source(
    name="gcp_billing",
    group="cloud_costs",
    description="GCP Cloud Billing export to BigQuery, exported as JSON lines, Parquet or CSV "
    "(cloud_costs/gcp/**).",
    patterns=data_patterns("cloud_costs/gcp", ("json", "parquet", "csv")),
    tables=(EXPORT, CREDITS),
    cadence=timedelta(days=35),  # bills close monthly
    extract=extract_export,
    pull=pull_if_configured,
    folders=("cloud_costs/gcp",),
    deliveries=deliveries.each_folder,
    # 3: a number past ±2^53 (a cost of 300 digits), a credit amount NaN or infinite and a
    # date or time written as a word DuckDB reads (Infinity: 9999-12-31; epoch) are
    # quarantined; 4: an export_time before 2000 or over a year ahead is quarantined, and a
    # Parquet time column of INT64 fails the file; 5: labels that are no list of key/value
    # pairs (an object, 1e999, a key twice, which failed staging's map) are quarantined;
    # files landed before are parsed again. 6: an invoice month before 2000 or over a year
    # ahead (999912, 000001) is quarantined; files landed before are parsed again.
    version=6,
    by_month=True,
)
