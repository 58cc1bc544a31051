"""Exchange rates (`fx/rates.csv`: date, currency, usd_per_unit) for converting to USD."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ingest.framework import Parsed, RawTable, Source
from ingest.tabular import (
    castable,
    date_format,
    matches,
    not_empty,
    plausible_time,
    positive,
    read_csv_strings,
    scratch_connection,
    split_rows,
    unique,
)

RATES = RawTable(
    "fx_rates",
    {"rate_date": "date", "currency": "varchar", "usd_per_unit": "double"},
    "USD value of one unit of each currency, by date.",
)


def parse_rates(path: Path) -> Parsed:
    con = scratch_connection()
    rows = read_csv_strings(con, path, required=("date", "currency", "usd_per_unit"))
    checks = [
        not_empty("date"),
        date_format("date", "%Y-%m-%d"),
        plausible_time("date", "try_strptime(trim(date), '%Y-%m-%d')"),
        not_empty("currency"),
        castable("usd_per_unit", "DOUBLE"),
        not_empty("usd_per_unit"),
        positive("usd_per_unit"),
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
            "usd_per_unit": "trim(usd_per_unit)::double",
        },
    )
    return Parsed(tables={RATES.name: valid}, rejected=rejected)


SOURCE = Source(
    name="fx",
    group="reference",
    description="Exchange rates to USD (fx/rates.csv).",
    patterns=("fx/*.csv",),
    tables=(RATES,),
    cadence=timedelta(days=35),
    parse=parse_rates,
)
