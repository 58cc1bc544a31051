"""A copy of a demo landing in which every source that reads another real format gets the
same records in it, written as that format's producer writes it (tests/test_format_parity.py).

Each converted file replaces its original and keeps its modification time: a cloud bill's
delivery is its folder (or its manifest's run) and its time, so a converted part stays in the
delivery that counted. Left as they are: the registry, usage settings, questions.yaml and
Freshdesk (one format each); HubSpot's deal pages, since the UI export cannot carry what the
pages do (stage history, createdAt, stage and pipeline ids; `ingest/hubspot.py`); AWS CUR 2.0
Parquet parts: the demo writes no CSV part, and no public sample shows how Data Exports writes
a map or a timestamp in CSV, to re-encode them faithfully.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import shutil
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import openpyxl
import pyarrow.parquet as pq
import yaml

# What a spreadsheet types when it opens a CSV: a plain decimal number, a YYYY-MM-DD date.
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The Sheets epoch: a date cell's serial number counts days from it.
_SHEETS_EPOCH = date(1899, 12, 30)
_US_TIMESTAMP = "%m/%d/%Y %H:%M:%S"  # the demo survey's en_US sheet format


def convert_landing(source: Path, target: Path) -> None:
    """Copy `source` to `target` (file times kept) and convert its files in place."""
    shutil.copytree(source, target)

    def convert(old: Path, new_name: str, write: Callable[[Path, Path], None]) -> None:
        new = old.with_name(new_name)
        write(old, new)
        stat = old.stat()
        os.utime(new, (stat.st_atime, stat.st_mtime))
        old.unlink()

    def files(folder: str, pattern: str) -> list[Path]:
        return sorted((target / folder).rglob(pattern))

    # Invoices: the first CSV as the finance sheet's values.get (as the live pull asks it),
    # the other CSVs and the sheet as workbooks.
    first, *others = files("invoices", "*.csv")
    sheets = files("invoices", "*.json")
    convert(first, first.stem + ".json", _csv_to_sheet_values)
    for path in [*others, *sheets]:
        convert(path, path.stem + ".xlsx", _to_workbook)
    for path in files("fx", "*.csv"):
        convert(path, path.stem + ".xlsx", _to_workbook)
    # Surveys: every other export as the form's own zip download, the rest as the sheet's XLSX.
    questions = yaml.safe_load((target / "surveys" / "questions.yaml").read_text())
    zone = ZoneInfo(questions["timezone"])
    for number, path in enumerate(files("surveys", "*.csv")):
        if number % 2 == 0:
            convert(path, path.name + ".zip", lambda old, new: _forms_zip(old, new, zone))
        else:
            convert(path, path.stem + ".xlsx", _responses_workbook)
    for path in files("usage", "*.json"):
        convert(path, path.name + ".gz", _gzip)
    # GCP: JSON lines gzipped, a gzipped re-export plain, Parquet tables as BigQuery's JSON.
    gzipped = files("cloud_costs/gcp", "*.jsonl.gz")
    for path in files("cloud_costs/gcp", "*.jsonl"):
        convert(path, path.name + ".gz", _gzip)
    for path in gzipped:
        convert(path, path.name.removesuffix(".gz"), _gunzip)
    for path in files("cloud_costs/gcp", "*.parquet"):
        convert(path, path.stem + ".jsonl", _parquet_to_json_lines)
    # FOCUS: the first month as AWS Data Exports' typed Parquet, the others gzipped.
    first, *others = files("cloud_costs/focus", "*.csv")
    convert(first, first.stem + ".parquet", _focus_parquet)
    for path in others:
        convert(path, path.name + ".gz", _gzip)
    for manifest in files("cloud_costs/azure", "manifest.json"):
        _azure_run_uncompressed(manifest, convert)
    # Legacy CUR (the only CSVs under aws/; CUR 2.0 writes Parquet here) zipped.
    for path in files("cloud_costs/aws", "*.csv.gz"):
        convert(path, path.name.removesuffix(".gz") + ".zip", _gzip_to_zip)
    for manifest in files("cloud_costs/aws", "*-Manifest.json"):
        _legacy_cur_manifest_zipped(manifest)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        return list(csv.reader(handle))


def _rows_of(path: Path) -> list[list[str]]:
    """A CSV's rows, or a Sheets values.get response's (ragged rows padded)."""
    if path.suffix != ".json":
        return _rows(path)
    values = json.loads(path.read_text())["values"]
    width = len(values[0])
    return [[*row, *[""] * (width - len(row))] for row in values]


def _typed(text: str) -> object:
    """A cell as a spreadsheet holds the CSV's text: a number, a date, else the text."""
    if _NUMBER.fullmatch(text):
        number = float(text)
        return int(number) if number.is_integer() else number
    if _DATE.fullmatch(text):
        return date.fromisoformat(text)
    return text or None


def _to_workbook(old: Path, new: Path) -> None:
    """A workbook as Excel or Sheets saves one: numbers as numbers, dates as date cells."""
    header, *rows = _rows_of(old)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([_typed(text) for text in row])
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    book.save(new)


def _csv_to_sheet_values(old: Path, new: Path) -> None:
    """`values.get` as the live pull asks it (UNFORMATTED_VALUE, SERIAL_NUMBER): numbers as
    JSON numbers, dates as serial day numbers, trailing empty cells left out."""
    header, *rows = _rows(old)
    values = [header]
    for row in rows:
        cells = [_typed(text) for text in row]
        cells = [(c - _SHEETS_EPOCH).days if isinstance(c, date) else c or "" for c in cells]
        while cells and cells[-1] == "":
            cells.pop()
        values.append(cells)
    sheet_range = f"Invoices!A1:{chr(ord('A') + len(header) - 1)}{len(values)}"
    body = {"range": sheet_range, "majorDimension": "ROWS", "values": values}
    new.write_text(json.dumps(body, indent=1), encoding="utf-8")


def _forms_zip(old: Path, new: Path, zone: ZoneInfo) -> None:
    """Google Forms' own "Download responses (.csv)": a zip of `<form>.csv`, every field
    quoted, CRLF, each Timestamp as `2026/05/19 8:38:12 AM PDT` (the form's zone by name)."""
    header, *rows = _rows(old)
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(header)
    for stamp, *answers in rows:
        local = datetime.strptime(stamp, _US_TIMESTAMP).replace(tzinfo=zone)
        clock = local.strftime("%I:%M:%S %p").lstrip("0")
        writer.writerow([f"{local:%Y/%m/%d} {clock} {local.tzname()}", *answers])
    with zipfile.ZipFile(new, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(old.name, text.getvalue())


def _responses_workbook(old: Path, new: Path) -> None:
    """The responses sheet downloaded as XLSX: the Timestamp a date-time cell, scores numbers."""
    header, *rows = _rows(old)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Form Responses 1"
    sheet.append(header)
    for stamp, *answers in rows:
        sheet.append([datetime.strptime(stamp, _US_TIMESTAMP), *map(_typed, answers)])
    for (cell,) in sheet.iter_rows(min_row=2, max_col=1):
        cell.number_format = "m/d/yyyy h:mm:ss"
    book.save(new)


def _gzip(old: Path, new: Path) -> None:
    new.write_bytes(gzip.compress(old.read_bytes(), mtime=0))


def _gunzip(old: Path, new: Path) -> None:
    new.write_bytes(gzip.decompress(old.read_bytes()))


def _parquet_to_json_lines(old: Path, new: Path) -> None:
    """A GCP billing export table exported by BigQuery as newline-delimited JSON."""
    rows = pq.read_table(old).to_pylist()
    new.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def _focus_parquet(old: Path, new: Path) -> None:
    """An AWS FOCUS CSV (nulls as `NULL`) as the Parquet of the same export, typed as the
    table FOCUS_1_0_AWS is (tests/fixtures/cloud_costs/focus/parquet/aws-focus-1.0.sql):
    costs and quantities double, periods timestamp_ms, Tags a map of strings."""
    with duckdb.connect() as con:
        columns = []
        for name in con.sql(f"select * from read_csv('{old}', all_varchar = true)").columns:
            if name.endswith("Cost") or name.endswith("Quantity"):
                columns.append(f'"{name}"::double as "{name}"')
            elif name.endswith("PeriodStart") or name.endswith("PeriodEnd"):
                columns.append(f'"{name}"::timestamp_ms as "{name}"')
            elif name == "Tags":
                columns.append("json_transform(Tags, '\"map(varchar, varchar)\"') as Tags")
            else:
                columns.append(f'"{name}"')
        con.execute(
            f"copy (select {', '.join(columns)} from read_csv('{old}', all_varchar = true, "
            f"nullstr = 'NULL')) to '{new}' (format parquet)"
        )


def _azure_run_uncompressed(manifest: Path, convert: Callable) -> None:
    """The same Cost Management run with compression off: `.csv` parts, and the manifest
    naming them with their sizes."""
    document = json.loads(manifest.read_text())
    for blob in document["blobs"]:
        part = manifest.parent / Path(blob["blobName"]).name
        convert(part, part.name.removesuffix(".gz"), _gunzip)
        blob["blobName"] = blob["blobName"].removesuffix(".gz")
        blob["byteCount"] = (manifest.parent / Path(blob["blobName"]).name).stat().st_size
    document["byteCount"] = sum(blob["byteCount"] for blob in document["blobs"])
    document["deliveryConfig"]["compressionMode"] = "None"
    _rewrite_keeping_time(manifest, json.dumps(document, indent=2))


def _legacy_cur_manifest_zipped(manifest: Path) -> None:
    """A legacy CUR manifest (the period's, or its copy in the assembly) as its ZIP compression
    writes it: report keys `<report>-N.csv.zip`. A Data Exports manifest is left as it is."""
    document = json.loads(manifest.read_text())
    if "reportKeys" not in document:
        return
    document["reportKeys"] = [key.removesuffix(".gz") + ".zip" for key in document["reportKeys"]]
    document["compression"] = "ZIP"
    _rewrite_keeping_time(manifest, json.dumps(document, indent=2))


def _gzip_to_zip(old: Path, new: Path) -> None:
    with zipfile.ZipFile(new, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(old.name.removesuffix(".gz"), gzip.decompress(old.read_bytes()))


def _rewrite_keeping_time(path: Path, text: str) -> None:
    stat = path.stat()
    path.write_text(text, encoding="utf-8")
    os.utime(path, (stat.st_atime, stat.st_mtime))
