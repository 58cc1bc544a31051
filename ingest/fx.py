"""Exchange rates for converting to USD: our own `fx/*.csv` (date, currency, usd_per_unit;
saved from a spreadsheet in a decimal-comma locale, `;`-separated with rates like 1,0845), or
the European Central Bank's euro reference rates as staff download them (eurofxref-hist.csv,
eurofxref.csv), told apart by the header. Either may be an Excel workbook (`fx/*.xlsx`), read
as the CSV of its first worksheet (`ingest.tabular.workbook_rows`), or saved from Excel as
"Unicode Text" (`fx/*.txt`: UTF-16, tab-separated), read as its CSV."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pyarrow as pa

from ingest.framework import Parsed, ParseError, RawTable, Source
from ingest.tabular import (
    Check,
    castable,
    csv_delimiter,
    csv_header,
    csv_numbers,
    date_format,
    literal,
    matches,
    not_empty,
    plausible_time,
    positive,
    quote,
    read_csv_strings,
    scratch_connection,
    split_rows,
    time_text,
    unique,
)

RATES = RawTable(
    "fx_rates",
    {"rate_date": "date", "currency": "varchar", "usd_per_unit": "double"},
    "USD value of one unit of each currency, by date.",
)


# No currency is worth less than a thousandth of a cent or more than 10,000 USD: outside this,
# a rate is a unit mistake to the fx_rates quality suite (ingest/quality.py).
USD_PER_UNIT_RANGE = (1e-5, 1e4)
OWN_COLUMNS = ("date", "currency", "usd_per_unit")


def parse_rates(path: Path) -> Parsed:
    """Our own shape, or the ECB's (its header starts `Date`, ours `date`). Ours may be
    separated by ';' or a tab (`csv_delimiter`)."""
    header = csv_header(path, csv_delimiter(path, OWN_COLUMNS))
    if header[0] == "Date":
        return parse_ecb_rates(path, header)
    con = scratch_connection()
    rows = read_csv_strings(con, path, required=OWN_COLUMNS)
    numbers = csv_numbers(path, OWN_COLUMNS)
    checks = [
        not_empty("date"),
        date_format("date", "%Y-%m-%d"),
        plausible_time("date", f"try_strptime({time_text('date')}, '%Y-%m-%d')"),
        not_empty("currency"),
        numbers.check("usd_per_unit"),
        not_empty("usd_per_unit"),
        positive("usd_per_unit", numbers),
        matches("currency", "[A-Za-z]{3}", "an ISO 4217 code"),
        unique(("date", "currency")),
    ]
    valid, rejected = split_rows(
        con,
        rows,
        checks,
        {
            "rate_date": "strptime(trim(date), '%Y-%m-%d')::date",
            "currency": "upper(trim(currency))",
            "usd_per_unit": numbers.value("usd_per_unit"),
        },
    )
    return Parsed(tables={RATES.name: valid}, rejected=rejected)


# The ECB's history writes days as 2024-02-19; its daily file as 19 February 2024.
ECB_DATE_FORMATS = ("%Y-%m-%d", "%d %B %Y")
ECB_DAY = "coalesce({})".format(
    ", ".join(f"try_strptime({time_text('Date')}, '{f}')" for f in ECB_DATE_FORMATS)
)
# What the ECB writes for a currency it did not quote that day (a retired one, a suspended one).
ECB_NO_RATE = ("N/A", "")


def parse_ecb_rates(path: Path, header: Sequence[str]) -> Parsed:
    """The ECB's euro reference rates: a row per business day, a column per currency of its
    units per euro. They become our rows: usd_per_unit(C) = (USD per EUR) / (C per EUR), and
    EUR's is USD per EUR. USD gets no row, as in our own files: the models take a USD amount
    at 1 without a rate.

    A day without a USD rate (N/A) yields no rows: nothing on it can be converted. A currency
    the ECB did not quote that day (N/A, or an empty cell) yields no row for it. A day whose
    Date is not a date (or is before 2000) is quarantined as its line; a rate that is not a
    positive number as its cell (`line N, GBP`), and so is a rate outside USD_PER_UNIT_RANGE:
    the history quotes the Turkish lira before its 2005 redenomination (1.3 M per USD), real
    but refused by the quality suite as a unit mistake.
    """
    currencies = [h for h in header[1:] if h]  # a trailing comma leaves a blank last column
    strange = [c for c in currencies if not re.fullmatch("[A-Z]{3}", c)]
    if strange:
        raise ParseError(
            f"ECB rates header: not ISO 4217 code(s): {', '.join(strange)}", "line 1 (header)"
        )
    if "USD" not in currencies:
        raise ParseError(
            "ECB rates header: no USD column, so no rate converts to USD", "line 1 (header)"
        )
    if "EUR" in currencies:
        raise ParseError("ECB rates header: an EUR column in rates per euro", "line 1 (header)")
    others = [c for c in currencies if c != "USD"]
    con = scratch_connection()
    rows = read_csv_strings(con, path, required=("Date", "USD"), optional=others)
    no_rate = ", ".join(literal(v) for v in ECB_NO_RATE)
    quoted_days = rows.filter(f"coalesce(trim(USD), '') not in ({no_rate})")
    formats = " or ".join(ECB_DATE_FORMATS)
    days, rejected_days = split_rows(
        con,
        quoted_days,
        [
            not_empty("Date"),
            Check(
                f"trim(\"Date\") <> '' and {ECB_DAY} is null",
                f'{literal(f"Date is not a date in {formats}: ")} || "Date"',
            ),
            plausible_time("Date", ECB_DAY),
            castable("USD", "DOUBLE"),
            positive("USD"),
            unique(("Date",)),
        ],
        # EUR is a currency like the others, at 1 per euro.
        {
            "Date": '"Date"',
            "USD": "USD",
            "EUR": "'1'",
            **{c: quote(c) for c in others},
            "_line": "_ordinal",
        },
    )
    rate = "try_cast(trim(rate) as double)"
    usd_per_unit = f"(trim(USD)::double / {rate})"
    low, high = USD_PER_UNIT_RANGE
    con.register("_ecb_days", days)
    try:
        cells = con.sql(
            "select \"Date\", USD, currency, rate, _record || ', ' || currency as _record, "
            "row_number() over (order by _line, currency) as _ordinal "
            f"from (unpivot _ecb_days on {', '.join(quote(c) for c in ['EUR', *others])} "
            "into name currency value rate) "
            f"where coalesce(trim(rate), '') not in ({no_rate})"
        )
        valid, rejected_cells = split_rows(
            con,
            cells,
            [
                Check(
                    f"{rate} is null",
                    "currency || ' is not a double: ' || rate",
                ),
                Check(
                    f"{rate} is not null and not (isfinite({rate}) and {rate} > 0)",
                    "currency || ' is not a positive number: ' || rate",
                ),
                Check(
                    f"{rate} > 0 and {usd_per_unit} not between {low} and {high}",
                    f"currency || ' gives usd_per_unit ' || {usd_per_unit} || "
                    f"{literal(f', outside {low:g} .. {high:g}: ')} || rate",
                ),
            ],
            {
                "rate_date": f"{ECB_DAY}::date",
                "currency": "currency",
                "usd_per_unit": usd_per_unit,
            },
        )
    finally:
        con.unregister("_ecb_days")
    rejected = pa.concat_tables([rejected_days, rejected_cells])
    return Parsed(tables={RATES.name: valid}, rejected=rejected)


SOURCE = Source(
    name="fx",
    group="reference",
    description="Exchange rates to USD (fx/*.csv: ours, or the ECB's euro reference rates, "
    "also as the zip it is downloaded in; or either as an Excel workbook, fx/*.xlsx, or saved "
    "from Excel as Unicode Text, fx/*.txt).",
    # The ECB's history comes zipped; an .xls is matched to fail saying to save it as CSV or
    # XLSX, not to be passed over.
    patterns=("fx/*.csv", "fx/*.zip", "fx/*.xlsx", "fx/*.xls", "fx/*.txt"),
    tables=(RATES,),
    cadence=timedelta(days=35),
    parse=parse_rates,
    folders=("fx",),
    # 2: a rate past ±2^53 is quarantined; files landed before are parsed again.
    version=2,
)
