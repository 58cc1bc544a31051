"""Invoice lines from the accounting system: CSV exports or Excel workbooks, and the finance
Google Sheet.

Landing layout (`<landing>/invoices/`):

- `*.csv`: one line per invoice line, header `invoice_number, customer, hubspot_deal_id,
  invoice_date, due_date, paid_date, gl_account, description, service_period_start,
  service_period_end, amount, currency`; dates `YYYY-MM-DD`. Saved from a spreadsheet in a
  decimal-comma locale, fields are separated by `;` and amounts have a decimal comma
  (`1.234,56`; `ingest.tabular.csv_numbers`).
- `*.xlsx`: the same columns in the first worksheet of an Excel workbook, row 1 the header,
  read as the CSV of that worksheet (`ingest.tabular.workbook_rows`; a date cell as
  YYYY-MM-DD). An `.xls` (Excel 97-2003) fails, saying to save it as CSV or XLSX.
- `*.txt`: the same columns saved from Excel as "Unicode Text" (UTF-16, tab-separated), read
  as the CSV (`ingest.tabular.TAB_SEPARATED_SUFFIX`).
- `*.json`: the Google Sheets v4 `spreadsheets.values.get` response for the same columns
  (`{"range":"Invoices!A1:L40","majorDimension":"ROWS","values":[[header...],[...]]}`); every
  cell is a string (or, as the live pull asks for unformatted values, a number; a date cell
  a serial day number) and trailing empty cells and rows are omitted, so rows are ragged.
  `ingest.sheets_client.pull_sheet` writes it from the live API.

Both go through the same checks: an unknown GL account, an amount that is not a number, a
date that is not a date, a service period that ends before it starts or a line repeated in
the same file is quarantined with the reason. A negative amount is a credit note only when
the line says so: an optional column `credit_note_for` names the invoice it credits, or the
invoice number starts with `CN-`; any other negative line is quarantined (a sign slip would
otherwise cancel real revenue). A line for a HubSpot deal that does not exist
is found in dbt (`int_revenue__rejected_invoice_lines`), where the deals are.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb

from ingest.framework import Parsed, RawTable, Source
from ingest.tabular import (
    DECIMAL_POINT,
    LONGEST_TERM_YEARS,
    Check,
    Numbers,
    csv_numbers,
    date_format,
    in_double_range,
    literal,
    matches,
    not_empty,
    one_of,
    plausible_time,
    quote,
    read_csv_strings,
    read_sheet_values,
    scratch_connection,
    split_rows,
    time_text,
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
# Optional beyond the export's own columns: the invoice a credit note credits.
CREDIT_NOTE_FOR = "credit_note_for"
CREDIT_NOTE_PREFIX = "CN-"
OPTIONAL = (*(c for c in COLUMNS if c not in REQUIRED), CREDIT_NOTE_FOR)

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
        CREDIT_NOTE_FOR: "varchar",
    },
    "Invoice lines (accounting CSV exports and the finance Google Sheet), one row per line.",
    amount="amount",
    currency="currency",
)


def _date(column: str) -> str:
    col = quote(column)
    return f"cast(strptime(nullif(trim({col}), ''), '%Y-%m-%d') as date)"


def _try_date(column: str) -> str:
    return f"try_strptime({time_text(column)}, '%Y-%m-%d')"


def _split(
    con: duckdb.DuckDBPyConnection, rows: duckdb.DuckDBPyRelation, numbers: Numbers
) -> Parsed:
    amount = numbers.value("amount")
    checks = [
        not_empty("invoice_number"),
        not_empty("invoice_date"),
        not_empty("gl_account"),
        not_empty("amount"),
        not_empty("currency"),
        *(date_format(c, "%Y-%m-%d") for c in DATES),
        *(plausible_time(c, _try_date(c)) for c in DATES if c != "service_period_end"),
        # A prepaid multi-year membership ends years ahead: a promise, not an event.
        plausible_time("service_period_end", _try_date("service_period_end"), LONGEST_TERM_YEARS),
        numbers.check("amount"),
        in_double_range("amount", numbers),
        one_of("gl_account", sorted(GL_ACCOUNTS)),
        matches("currency", "[A-Za-z]{3}", "an ISO 4217 code"),
        Check(
            f"{_try_date('service_period_end')} < {_try_date('service_period_start')}",
            "'service_period_end ' || service_period_end || ' is before service_period_start '"
            " || service_period_start",
        ),
        Check(
            "(nullif(trim(service_period_start), '') is null) "
            "<> (nullif(trim(service_period_end), '') is null)",
            literal("service period has only one of start and end"),
        ),
    ]
    checks.append(
        Check(
            f"{amount} < 0 "
            f"and nullif(trim({quote(CREDIT_NOTE_FOR)}), '') is null "
            f"and not starts_with(trim(invoice_number), {literal(CREDIT_NOTE_PREFIX)})",
            "'amount is negative (' || trim(amount) || ') but the line is not a credit note: "
            f"give {CREDIT_NOTE_FOR} or an invoice number starting {CREDIT_NOTE_PREFIX}'",
        )
    )
    # A line repeated with every field equal is a duplicate, not a second charge.
    duplicate = unique((*COLUMNS, CREDIT_NOTE_FOR))
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
            "amount": amount,
            "currency": "upper(trim(currency))",
            CREDIT_NOTE_FOR: f"nullif(trim({quote(CREDIT_NOTE_FOR)}), '')",
        },
    )
    return Parsed(tables={LINES.name: valid}, rejected=rejected)


def parse_invoice_csv(path: Path) -> Parsed:
    con = scratch_connection()
    rows = read_csv_strings(con, path, required=REQUIRED, optional=OPTIONAL)
    return _split(con, rows, csv_numbers(path, REQUIRED))


def parse_sheet_values(path: Path) -> Parsed:
    """A `values.get` response: first row is the header, later rows are ragged strings. A
    date cell the live pull gets as a serial number (days since 1899-12-30, the Sheets epoch)
    reads as its day; a date typed as text stays as it is (YYYY-MM-DD). A serial number of
    more than 7 digits (past the year 29000; 9999-12-31 is 2958465) is no day: it stays as
    written, to be quarantined as not a date, rather than overflow the cast."""
    con = scratch_connection()
    rows = read_sheet_values(con, path, required=REQUIRED, optional=OPTIONAL)
    days = ", ".join(
        f"case when regexp_full_match(trim({quote(c)}), '[0-9]{{1,7}}([.][0-9]+)?') "
        f"then strftime(date '1899-12-30' + cast(floor(trim({quote(c)})::double) as integer), "
        f"'%Y-%m-%d') else {quote(c)} end as {quote(c)}"
        for c in DATES
    )
    return _split(con, rows.select(f"* replace ({days})"), DECIMAL_POINT)


def parse_invoice_file(path: Path) -> Parsed:
    """A values.get response, or a CSV or workbook (read as CSV)."""
    if path.suffix == ".json":
        return parse_sheet_values(path)
    return parse_invoice_csv(path)


def pull_if_configured(landing: Path) -> object:
    """The live Sheets pull (ingest.sheets_client), when its token and sheet id are set.
    Values come unformatted, whatever the sheet's locale and formats: amounts as JSON numbers
    (formatted, a sheet in a decimal-comma locale shows 3000 as `3.000`, which reads as 3, and
    a currency format as `$3,000.00`) and date cells as serial day numbers (formatted, a US
    sheet shows `1/5/2025`, a German one `05.01.2025`)."""
    from ingest import sheets_client

    return sheets_client.pull_if_configured(
        landing,
        value_render_option="UNFORMATTED_VALUE",
        date_time_render_option="SERIAL_NUMBER",
    )


SOURCE = Source(
    name="invoices",
    group="revenue",
    description="Invoice lines: accounting CSV exports (invoices/*.csv), Excel workbooks "
    "(invoices/*.xlsx), either saved from Excel as Unicode Text (invoices/*.txt), and the "
    "finance Google Sheet as values.get JSON (invoices/*.json).",
    # An .xls is matched to fail saying to save it as CSV or XLSX, not to be passed over.
    patterns=(
        "invoices/*.csv",
        "invoices/*.xlsx",
        "invoices/*.xls",
        "invoices/*.json",
        "invoices/*.txt",
    ),
    tables=(LINES,),
    parse=parse_invoice_file,
    cadence=timedelta(days=35),
    pull=pull_if_configured,
    folders=("invoices",),
    # 2: an amount NaN, infinite or past ±2^53 is quarantined; files landed before are parsed
    # again.
    version=2,
)
