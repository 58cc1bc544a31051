"""A landing folder at benchmark scale: the demo world, with its cloud bills multiplied.

The demo world of `hubs` hubs (its registry, usage, CRM, invoices, surveys and support at
that scale) is generated as `make demo` does; then every cloud-bill file is rewritten, in its
own format (CUR 2.0 and GCP Parquet, GCP JSON lines, legacy CUR, Azure and FOCUS CSV, gzip
where it was), with each line item repeated k times: money and quantities divided by k (the
bill's totals stay what the demo world says), ids made unique, the file's modification time
(its delivery's order) kept. k per provider gives about `rows` line items in all, split as
SHARES says. DuckDB reads and writes the files; no row passes through Python.
"""

from __future__ import annotations

import math
import os
from datetime import date
from pathlib import Path

import duckdb

from ingest.demo import generate

# Share of the cost line items each provider's files hold.
SHARES = {"aws": 0.45, "azure": 0.25, "gcp": 0.2, "focus": 0.1}
# Columns whose values are money or quantities (divided by k), by what their names contain.
SCALED = ("cost", "amount", "price", "quantity", "discount", "commitment", "fee")
# Columns that are a line item's id (made unique per copy).
IDS = ("identity_line_item_id", "identity/LineItemId", "Id")
HUBS_PER_PARTNER = 1.5  # the demo world's average
# Files delivered within this long of a provider's newest are its latest billing period.
RECENT_SECONDS = 5 * 86400


def partners_for(hubs: int) -> int:
    return max(1, round(hubs / HUBS_PER_PARTNER))


def cost_files(landing: Path, provider: str) -> list[Path]:
    folder = landing / "cloud_costs" / provider
    endings = (".parquet", ".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".json.gz")
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and p.name.endswith(endings) and "manifest" not in p.name.lower()
    )


def _reader(path: Path) -> str:
    name, where = path.name.lower(), f"'{path}'"
    if name.endswith(".parquet"):
        return f"read_parquet({where})"
    if ".json" in name:
        return f"read_json({where}, format = 'newline_delimited')"
    return f"read_csv({where}, all_varchar = true, header = true)"


def _writer(path: Path, target: Path) -> str:
    name = path.name.lower()
    if name.endswith(".parquet"):
        return f"'{target}' (format parquet)"
    compression = "gzip" if name.endswith(".gz") else "none"
    if ".json" in name:
        return f"'{target}' (format json, compression {compression})"
    return f"'{target}' (format csv, header true, compression {compression})"


def _scaled(column: str, type_: str, k: int) -> str | None:
    """SQL for one column of a copy `_copy` (0 .. k-1), or None to keep it as it is."""
    quoted = '"' + column.replace('"', '""') + '"'
    if column in IDS:
        return f"{quoted} || '-' || _copy"
    if type_.startswith("STRUCT") and type_.endswith("[]") and " amount " in f" {type_} ":
        # GCP credits: a list of {name, amount, ...}
        return f"list_transform({quoted}, lambda c: struct_update(c, amount := c.amount / {k}))"
    if type_.startswith("STRUCT") and type_.lower().startswith("struct(amount"):
        return f"struct_update({quoted}, amount := {quoted}.amount / {k})"  # GCP usage
    if not any(word in column.lower() for word in SCALED):
        return None
    if type_ in ("DOUBLE", "FLOAT") or type_.startswith("DECIMAL"):
        return f"{quoted} / {k}"
    if type_ == "VARCHAR":
        return f"coalesce(cast(try_cast({quoted} as double) / {k} as varchar), {quoted})"
    return None


def multiply(con: duckdb.DuckDBPyConnection, path: Path, k: int) -> int:
    """Rewrite one bill file with each line item repeated k times; return its rows."""
    reader = _reader(path)
    columns = con.execute(f"describe select * from {reader}").fetchall()
    replaced = {c: sql for c, t, *_ in columns if (sql := _scaled(c, t, k)) is not None}
    replace = ", ".join(f'{sql} as "{c}"' for c, sql in replaced.items())
    projection = f"* exclude (_copy) replace ({replace})" if replace else "* exclude (_copy)"
    stat = path.stat()
    target = path.with_name(path.name + ".scaled")
    con.execute(
        f"copy (select {projection} from {reader}, range({k}) as copies(_copy)) "
        f"to {_writer(path, target)}"
    )
    os.replace(target, path)
    os.utime(path, (stat.st_atime, stat.st_mtime))
    [(rows,)] = con.execute(f"select count(*) from {_reader(path)}").fetchall()
    return rows


def build_landing(landing: Path, months: int, hubs: int, rows: int, as_of: date) -> dict:
    """Generate the scaled landing folder; return what it holds."""
    world = generate(landing, seed=42, months=months, partners=partners_for(hubs), as_of=as_of)
    counts: dict[str, int] = {}
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        for provider, share in SHARES.items():
            files = cost_files(landing, provider)
            base = sum(
                con.execute(f"select count(*) from {_reader(p)}").fetchall()[0][0] for p in files
            )
            k = max(1, math.ceil(rows * share / base)) if base else 1
            counts[provider] = sum(multiply(con, p, k) for p in files) if k > 1 else base
    return {
        "partners": len(world.partners),
        "hubs": len(world.hubs),
        "months": months,
        "cost_line_items": counts,
    }


def append_day(landing: Path) -> int:
    """The providers' month-to-date files of the latest billing period grow by a day: each
    gets about a thirtieth more line items (a copy of every 30th, with new ids), rewritten in
    place with a newer modification time, as an export run that overwrites its files does.
    Returns the line items added."""
    added = 0
    with duckdb.connect() as con:
        con.execute("set timezone = 'UTC'")
        for provider in SHARES:
            files = cost_files(landing, provider)
            if not files:
                continue
            newest = max(p.stat().st_mtime for p in files)
            latest = [p for p in files if p.stat().st_mtime > newest - RECENT_SECONDS]
            for path in latest:
                added += _append_to(con, path)
    return added


def _append_to(con: duckdb.DuckDBPyConnection, path: Path) -> int:
    reader = _reader(path)
    columns = [c for c, *_ in con.execute(f"describe select * from {reader}").fetchall()]
    ids = [c for c in columns if c in IDS]
    replace = ", ".join(f'"{c}" || \'-next\' as "{c}"' for c in ids)
    day = f"* exclude (_n) replace ({replace})" if replace else "* exclude (_n)"
    target = path.with_name(path.name + ".next")
    con.execute(
        f"copy (select * from {reader} union all "
        f"select {day} from (select *, row_number() over () as _n from {reader}) "
        f"where _n % 30 = 0) to {_writer(path, target)}"
    )
    [(before,)] = con.execute(f"select count(*) from {reader}").fetchall()
    os.replace(target, path)
    [(after,)] = con.execute(f"select count(*) from {reader}").fetchall()
    return after - before
