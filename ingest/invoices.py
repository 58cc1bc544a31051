"""Invoice lines from the accounting system: CSV exports and the finance Google Sheet.

Landing layout (`<landing>/invoices/`):

- `*.csv`: one line per invoice line, header `invoice_number, customer, hubspot_deal_id,
  invoice_date, due_date, paid_date, gl_account, description, service_period_start,
  service_period_end, amount, currency`; dates `YYYY-MM-DD`.
- `*.json`: the Google Sheets v4 `spreadsheets.values.get` response for the same columns
  (`{"range":"Invoices!A1:L40","majorDimension":"ROWS","values":[[header...],[...]]}`); every
  cell is a string and trailing empty cells and rows are omitted, so rows are ragged.
  `ingest.sheets_client.pull_sheet` writes it from the live API.

Both go through the same checks: an unknown GL account, an amount that is not a number, a
date that is not a date, a service period that ends before it starts or a line repeated in
the same file is quarantined with the reason. A line for a HubSpot deal that does not exist
is found in dbt (`int_revenue__rejected_invoice_lines`), where the deals are.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb

from ingest.framework import RECORD_COLUMN, Parsed, ParseError, RawTable, Source
from ingest.tabular import (
    Check,
    castable,
    date_format,
    literal,
    matches,
    not_empty,
    one_of,
    quote,
    read_csv_strings,
    split_rows,
    unique,
)

COLUMNS = (
    "invoice_number",
    "customer",
    "hubspot_deal_id",
    "invoice_date",
    "due_date",
    "paid_date",
    "gl_account",
    "description",
    "service_period_start",
    "service_period_end",
    "amount",
    "currency",
)
REQUIRED = (
    "invoice_number",
    "customer",
    "hubspot_deal_id",
    "invoice_date",
    "gl_account",
    "amount",
    "currency",
)
OPTIONAL = tuple(c for c in COLUMNS if c not in REQUIRED)

GL_ACCOUNTS = {
    "4221": "membership fees",
    "4222": "cloud cost recovery",
    "4223": "usage fees",
    "4224": "service fees",
}
DATES = ("invoice_date", "due_date", "paid_date", "service_period_start", "service_period_end")

LINES = RawTable(
    "invoice_lines",
    {
        "invoice_number": "varchar",
        "customer": "varchar",
        "hubspot_deal_id": "varchar",
        "invoice_date": "date",
        "due_date": "date",
        "paid_date": "date",
        "gl_account": "varchar",
        "description": "varchar",
        "service_period_start": "date",
        "service_period_end": "date",
        "amount": "double",
        "currency": "varchar",
    },
    "Invoice lines (accounting CSV exports and the finance Google Sheet), one row per line.",
    amount="amount",
    currency="currency",
)


def _date(column: str) -> str:
    col = quote(column)
    return f"cast(strptime(nullif(trim({col}), ''), '%Y-%m-%d') as date)"


def _split(con: duckdb.DuckDBPyConnection, rows: duckdb.DuckDBPyRelation) -> Parsed:
    checks = [
        not_empty("invoice_number"),
        not_empty("invoice_date"),
        not_empty("gl_account"),
        not_empty("amount"),
        not_empty("currency"),
        *(date_format(c, "%Y-%m-%d") for c in DATES),
        castable("amount", "DOUBLE"),
        one_of("gl_account", sorted(GL_ACCOUNTS)),
        matches("currency", "[A-Za-z]{3}", "an ISO 4217 code"),
        Check(
            "try_strptime(trim(service_period_end), '%Y-%m-%d') "
            "< try_strptime(trim(service_period_start), '%Y-%m-%d')",
            "'service_period_end ' || service_period_end || ' is before service_period_start '"
            " || service_period_start",
        ),
        Check(
            "(nullif(trim(service_period_start), '') is null) "
            "<> (nullif(trim(service_period_end), '') is null)",
            literal("service period has only one of start and end"),
        ),
    ]
    # A line repeated with every field equal is a duplicate, not a second charge.
    duplicate = unique(COLUMNS)
    first = duplicate.reason.split(" || ", 1)[1]
    reason = literal("duplicate invoice line, first at ") + " || " + first
    checks.append(Check(duplicate.fails, reason))
    valid, rejected = split_rows(
        con,
        rows,
        checks,
        {
            "invoice_number": "trim(invoice_number)",
            "customer": "nullif(trim(customer), '')",
            "hubspot_deal_id": "nullif(trim(hubspot_deal_id), '')",
            **{c: _date(c) for c in DATES},
            "gl_account": "trim(gl_account)",
            "description": "nullif(trim(description), '')",
            "amount": "cast(trim(amount) as double)",
            "currency": "upper(trim(currency))",
        },
    )
    return Parsed(tables={LINES.name: valid}, rejected=rejected)


def parse_invoice_csv(path: Path) -> Parsed:
    con = duckdb.connect()
    rows = read_csv_strings(con, path, required=REQUIRED, optional=OPTIONAL)
    return _split(con, rows)


def parse_sheet_values(path: Path) -> Parsed:
    """A `values.get` response: first row is the header, later rows are ragged strings."""
    con = duckdb.connect()
    try:
        [(body,)] = con.execute("select json(content) from read_text(?)", [str(path)]).fetchall()
    except duckdb.Error as error:
        raise ParseError(f"not a Sheets values response: {str(error).strip()}") from error
    [(kind, major, values_kind, sheet_range)] = con.execute(
        "select json_type(j), j->>'majorDimension', json_type(j, '$.values'), j->>'range' "
        "from (select ?::json as j)",
        [body],
    ).fetchall()
    if kind != "OBJECT":
        raise ParseError(f"not a Sheets values response: expected a JSON object, found {kind}")
    if major not in (None, "ROWS"):
        raise ParseError(f"majorDimension is {major!r}; expected 'ROWS'")
    if values_kind is None:
        raise ParseError("the sheet range is empty: no header row", f"range {sheet_range}")
    if values_kind != "ARRAY":
        raise ParseError(f"'values' is {values_kind}, expected an array of rows")
    con.execute(
        "create temp table cells as "
        "select unnest(from_json(j->'values', '[[\"varchar\"]]')) as cells, "
        "generate_subscripts(from_json(j->'values', '[[\"varchar\"]]'), 1) as n "
        "from (select ?::json as j)",
        [body],
    )
    first_row = _first_row(sheet_range)
    header_rows = con.execute("select cells from cells where n = 1").fetchall()
    header = [h.strip() for h in (header_rows[0][0] or [])] if header_rows else []
    where = f"row {first_row} (header)"
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ParseError(f"missing required column(s): {', '.join(missing)}", where)
    duplicated = sorted({h for h in header if h and header.count(h) > 1})
    if duplicated:
        raise ParseError(f"column(s) repeated in header: {', '.join(duplicated)}", where)
    # List indexing past the end of a ragged row gives null, which is what an omitted cell is.
    wanted = [
        f"cells[{header.index(c) + 1}] as {quote(c)}"
        if c in header
        else f"null::varchar as {quote(c)}"
        for c in COLUMNS
    ]
    rows = con.sql(
        f"select {', '.join(wanted)}, n as _ordinal, "
        f"'row ' || (n + {first_row - 1}) as {RECORD_COLUMN} "
        "from cells where n > 1 and len(list_filter(cells, lambda c: trim(c) <> '')) > 0"
    )
    return _split(con, rows)


def _first_row(sheet_range: str | None) -> int:
    """The sheet row of the first value: 'Invoices!A3:L9' -> 3 (1 when not given)."""
    cells = (sheet_range or "").rsplit("!", 1)[-1].split(":")[0]
    digits = "".join(ch for ch in cells if ch.isdigit())
    return int(digits) if digits else 1


def parse_invoice_file(path: Path) -> Parsed:
    if path.suffix == ".json":
        return parse_sheet_values(path)
    return parse_invoice_csv(path)


def pull_if_configured(landing: Path) -> object:
    """The live Sheets pull (ingest.sheets_client), when its token and sheet id are set."""
    from ingest import sheets_client

    return sheets_client.pull_if_configured(landing)


SOURCE = Source(
    name="invoices",
    group="revenue",
    description="Invoice lines: accounting CSV exports (invoices/*.csv) and the finance "
    "Google Sheet as values.get JSON (invoices/*.json).",
    patterns=("invoices/*.csv", "invoices/*.json"),
    tables=(LINES,),
    parse=parse_invoice_file,
    cadence=timedelta(days=35),
    pull=pull_if_configured,
)
