"""Deliveries, not files: for every bill format, a bill split into parts counts whole, a
re-delivery replaces the earlier one whole, and what the provider's metadata rules out (an
old legacy CUR assembly, a part a manifest does not list, in a native bill or in FOCUS)
never counts.

One landing folder holds every scenario, each in a billing account of its own, all for March
2024 in USD; it is loaded by the real connectors and the staging models are built by dbt.
The bill every scenario splits or re-delivers, worked by hand:

    LINES  l1 10.00, l2 5.25, l3 2.50, l4 -1.75   -> 4 lines, 16.00 (the whole file)
    FIRST  l1 10.00, l2 5.25                      -> an earlier delivery: 15.25
    PARTS  [l1] [l2 l3] [l4]                      -> the whole file in 3 parts
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.cloud_costs import aws, azure, focus, gcp
from ingest.framework import load_source
from orchestration.resources import dbt_executable
from warehouse.paths import DBT_PROJECT_DIR, WAREHOUSE_ENV

pytestmark = pytest.mark.e2e

LINES = [("l1", 10.00), ("l2", 5.25), ("l3", 2.50), ("l4", -1.75)]
FIRST = LINES[:2]
PARTS = [LINES[:1], LINES[1:3], LINES[3:]]
WHOLE, EARLIER = 16.00, 15.25


def delivered(paths: list[Path], day: int) -> None:
    """The time a delivery's files were written: 2024-04-<day> 06:00 UTC."""
    moment = datetime(2024, 4, day, 6, tzinfo=UTC).timestamp()
    for path in paths:
        os.utime(path, (moment, moment))


def write(path: Path, data: bytes | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.name.endswith(".gz"):
        data = gzip.compress(data.encode() if isinstance(data, str) else data, mtime=0)
    if isinstance(data, str):
        path.write_text(data, encoding="utf-8")
    else:
        path.write_bytes(data)
    return path


def csv_text(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


# --- AWS ---------------------------------------------------------------------------------

CUR2 = [
    "identity_line_item_id",
    "identity_time_interval",
    "bill_payer_account_id",
    "line_item_usage_account_id",
    "line_item_line_item_type",
    "line_item_unblended_cost",
    "line_item_usage_start_date",
    "line_item_usage_end_date",
    "bill_billing_period_start_date",
    "line_item_currency_code",
]
LEGACY = [
    "identity/LineItemId",
    "identity/TimeInterval",
    "bill/PayerAccountId",
    "lineItem/UsageAccountId",
    "lineItem/LineItemType",
    "lineItem/UnblendedCost",
    "lineItem/UsageStartDate",
    "lineItem/UsageEndDate",
    "bill/BillingPeriodStartDate",
    "lineItem/CurrencyCode",
]


def cur_rows(account: str, lines) -> list[list]:
    return [
        [
            f"{account}-{line}",
            "2024-03-05T00:00:00Z/2024-03-06T00:00:00Z",
            account,
            account,
            "Usage" if cost > 0 else "Credit",
            cost,
            "2024-03-05T00:00:00Z",
            "2024-03-06T00:00:00Z",
            "2024-03-01T00:00:00Z",
            "USD",
        ]
        for line, cost in lines
    ]


def cur2_parquet(path: Path, account: str, lines) -> Path:
    columns = list(zip(*cur_rows(account, lines), strict=True))
    table = pa.table(
        {
            name: pa.array(values, pa.float64() if name.endswith("cost") else pa.string())
            for name, values in zip(CUR2, columns, strict=True)
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="zstd")
    return path


def data_export_manifest(export: Path, folder: str, parts: list[Path]) -> Path:
    """`<export>/metadata/<folder>/<export>-Manifest.json`, listing `parts` as S3 URIs."""
    return write(
        export / "metadata" / folder / f"{export.name}-Manifest.json",
        json.dumps(
            {
                "executionId": folder,
                "dataFiles": [
                    f"s3://bucket/prefix/{export.name}/data/{folder}/{p.name}" for p in parts
                ],
            }
        ),
    )


def write_aws(landing: Path) -> None:
    root = landing / "cloud_costs" / "aws"
    # CUR 2.0 Parquet (zstd): the whole bill in 3 parts, listed by the metadata manifest.
    export = root / "split" / "cur2"
    parts = [
        cur2_parquet(
            export / "data/BILLING_PERIOD=2024-03" / f"cur2-{n:05d}.snappy.parquet", "111", p
        )
        for n, p in enumerate(PARTS, start=1)
    ]
    delivered([*parts, data_export_manifest(export, "BILLING_PERIOD=2024-03", parts)], 3)
    # CUR 2.0 with "create new file" versioning: an execution folder per run, each listed by
    # its manifest; the second run re-delivers the month.
    export = root / "redo" / "cur2"
    first = [
        cur2_parquet(
            export / "data/BILLING_PERIOD=2024-03/run1/cur2-00001.snappy.parquet", "222", FIRST
        )
    ]
    delivered([*first, data_export_manifest(export, "BILLING_PERIOD=2024-03/run1", first)], 2)
    second = [
        cur2_parquet(
            export / f"data/BILLING_PERIOD=2024-03/run2/cur2-{n:05d}.snappy.parquet", "222", p
        )
        for n, p in enumerate([LINES[:2], LINES[2:]], start=1)
    ]
    delivered([*second, data_export_manifest(export, "BILLING_PERIOD=2024-03/run2", second)], 4)
    # CUR 2.0 overwritten in place: a part of the earlier run is left over, the manifest
    # does not list it.
    export = root / "stale" / "cur2"
    folder = export / "data/BILLING_PERIOD=2024-03"
    listed = [
        cur2_parquet(folder / f"cur2-{n:05d}.snappy.parquet", "333", p)
        for n, p in enumerate([LINES[:2], LINES[2:]], start=1)
    ]
    leftover = cur2_parquet(folder / "cur2-00003.snappy.parquet", "333", [("old", 99.0)])
    delivered([leftover], 1)
    delivered([*listed, data_export_manifest(export, "BILLING_PERIOD=2024-03", listed)], 3)
    # CUR 2.0 as gzip CSV without its metadata: the 3 parts of the period folder are one
    # delivery.
    parts = [
        write(
            root / "csv/cur2/data/BILLING_PERIOD=2024-03" / f"cur2-{n:05d}.csv.gz",
            csv_text(CUR2, cur_rows("444", p)),
        )
        for n, p in enumerate(PARTS, start=1)
    ]
    delivered(parts, 3)
    # Legacy CUR (gzip CSV): assembly A (the earlier delivery, 1 file) left on disk beside
    # assembly B (the whole bill in 2 files), which the period's manifest names.
    period = root / "legacy" / "report" / "20240301-20240401"
    old = write(period / "aaaa" / "report-1.csv.gz", csv_text(LEGACY, cur_rows("555", FIRST)))
    delivered([old], 2)
    new = [
        write(period / "bbbb" / f"report-{n}.csv.gz", csv_text(LEGACY, cur_rows("555", p)))
        for n, p in enumerate([LINES[:3], LINES[3:]], start=1)
    ]
    manifest = {
        "assemblyId": "bbbb",
        "billingPeriod": {"start": "20240301T000000.000Z", "end": "20240401T000000.000Z"},
        "reportKeys": [f"prefix/report/20240301-20240401/bbbb/{p.name}" for p in new],
    }
    copy = write(period / "bbbb" / "report-Manifest.json", json.dumps(manifest))
    current = write(period / "report-Manifest.json", json.dumps(manifest))
    delivered([*new, copy, current], 4)
    # Legacy CUR whose manifest names the older assembly: the manifest, not the file times,
    # says which one counts.
    period = root / "legacy-pointer" / "report" / "20240301-20240401"
    named = write(period / "cccc" / "report-1.csv.gz", csv_text(LEGACY, cur_rows("666", LINES)))
    later = write(period / "dddd" / "report-1.csv.gz", csv_text(LEGACY, cur_rows("666", FIRST)))
    pointer = write(
        period / "report-Manifest.json",
        json.dumps(
            {"assemblyId": "cccc", "reportKeys": ["report/20240301-20240401/cccc/report-1.csv.gz"]}
        ),
    )
    delivered([named, pointer], 2)
    delivered([later], 5)


# --- GCP ---------------------------------------------------------------------------------


def gcp_rows(account: str, lines) -> str:
    rows = []
    for line, cost in lines:
        credits = []
        if line == "l1":  # a sustained-use discount stays on the row; a promotion is a Credit
            credits = [
                {"name": "SUD", "type": "SUSTAINED_USAGE_DISCOUNT", "amount": -1.0},
                {"name": "Trial", "type": "PROMOTION", "amount": -0.5},
            ]
        rows.append(
            json.dumps(
                {
                    "billing_account_id": account,
                    "service": {"description": "Compute Engine"},
                    "sku": {"description": line},
                    "project": {"id": "p"},
                    "usage_start_time": "2024-03-05 00:00:00 UTC",
                    "usage_end_time": "2024-03-05 01:00:00 UTC",
                    "cost": cost,
                    "currency": "USD",
                    "credits": credits,
                    "invoice": {"month": "202403"},
                    "cost_type": "regular",
                }
            )
        )
    return "\n".join(rows) + "\n"


def write_gcp(landing: Path) -> None:
    root = landing / "cloud_costs" / "gcp"
    # BigQuery's shards of one export are one delivery.
    shards = [
        write(root / "SPLIT" / f"202403-{n:012d}.jsonl", gcp_rows("SPLIT", p))
        for n, p in enumerate(PARTS)
    ]
    delivered(shards, 3)
    # A re-export into another folder (gzip, 2 shards) replaces the first export.
    delivered([write(root / "REDO/first/202403-000000000000.jsonl", gcp_rows("REDO", FIRST))], 2)
    delivered(
        [
            write(root / f"REDO/second/202403-{n:012d}.jsonl.gz", gcp_rows("REDO", p))
            for n, p in enumerate([LINES[:2], LINES[2:]])
        ],
        4,
    )


# --- Azure -------------------------------------------------------------------------------

AZURE = [
    "BillingAccountId",
    "BillingPeriodStartDate",
    "SubscriptionId",
    "Date",
    "CostInBillingCurrency",
    "BillingCurrency",
    "ChargeType",
    "MeterCategory",
]


def azure_rows(account: str, lines) -> list[list]:
    return [
        [
            account,
            "03/01/2024",
            f"sub-{account}",
            "03/05/2024",
            cost,
            "USD",
            "Usage" if cost > 0 else "Refund",
            line,
        ]
        for line, cost in lines
    ]


def azure_manifest(folder: Path, parts: list[Path], submitted: str, export_type: str) -> Path:
    """A run's manifest.json, listing `parts` as blobs."""
    return write(
        folder / "manifest.json",
        json.dumps(
            {
                "manifestVersion": "2024-04-01",
                "exportConfig": {"exportName": "cost", "type": export_type},
                "runInfo": {"submittedTime": submitted},
                "blobs": [
                    {"blobName": f"dir/cost/20240301-20240331/{folder.name}/{p.name}"}
                    for p in parts
                ],
            }
        ),
    )


def azure_run(folder: Path, account: str, parts, submitted: str, extra=()) -> list[Path]:
    files = [
        write(folder / f"part_{n}_0001.csv.gz", "\ufeff" + csv_text(AZURE, azure_rows(account, p)))
        for n, p in enumerate(parts)
    ]
    return [*files, azure_manifest(folder, files, submitted, "ActualCost"), *extra]


def write_azure(landing: Path) -> None:
    root = landing / "cloud_costs" / "azure"
    # A partitioned export run: 3 parts and the manifest listing them.
    delivered(
        azure_run(
            root / "SPLIT/20240301-20240331/run1", "SPLIT", PARTS, "2024-04-03T06:00:00.1234567Z"
        ),
        3,
    )
    # A second run of the export re-delivers the month (its manifest's submittedTime is
    # later, whatever the files' times say).
    delivered(
        azure_run(
            root / "REDO/20240301-20240331/run1", "REDO", [FIRST], "2024-04-02T06:00:00.1234567Z"
        ),
        5,
    )
    delivered(
        azure_run(
            root / "REDO/20240301-20240331/run2",
            "REDO",
            [LINES[:2], LINES[2:]],
            "2024-04-04T06:00:00.1234567Z",
        ),
        1,
    )
    # A part left in a run folder that the run's manifest does not list.
    folder = root / "STALE/20240301-20240331/run1"
    stray = write(
        folder / "part_9_0001.csv.gz", csv_text(AZURE, azure_rows("STALE", [("x", 99.0)]))
    )
    delivered(
        azure_run(folder, "STALE", [LINES[:2], LINES[2:]], "2024-04-03T06:00:00Z", [stray]), 3
    )
    # First-generation exports write one complete file per run into the date-range folder:
    # each file is a delivery and the newest counts (mixed CRLF and LF line ends, too).
    folder = root / "FIRSTGEN/20240301-20240331"
    delivered([write(folder / "cost_1111.csv", csv_text(AZURE, azure_rows("FIRSTGEN", FIRST)))], 2)
    mixed = csv_text(AZURE, azure_rows("FIRSTGEN", LINES)).replace("\n", "\r\n", 2)
    delivered([write(folder / "cost_2222.csv", mixed)], 4)
    # A partitioned run of the older export version: parts 000001.csv, ... written at
    # different times, and a `_manifest.json` (the shape of koku's fixture) listing them.
    folder = root / "LEGACY/20240301-20240331/202404030600/73746dc5-5dcc-4b83-b340-bb1bd2b1ca30"
    for n, part in enumerate(PARTS, start=1):
        delivered([write(folder / f"00000{n}.csv", csv_text(AZURE, azure_rows("LEGACY", part)))], n)
    blobs = [
        {
            "blobName": f"cost/LEGACY/20240301-20240331/202404030600/{folder.name}/00000{n}.csv",
            "dataRowCount": len(part),
            "headerRowCount": 1,
        }
        for n, part in enumerate(PARTS, start=1)
    ]
    manifest = {"manifestVersion": "2021-01-01", "dataFormat": "csv", "blobCount": 3}
    delivered([write(folder / "_manifest.json", json.dumps({**manifest, "blobs": blobs}))], 4)


# --- FOCUS -------------------------------------------------------------------------------

FOCUS = [
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "BillingCurrency",
    "BillingAccountId",
    "BillingPeriodStart",
    "ChargeCategory",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ProviderName",
    "ServiceName",
]


def focus_rows(account: str, lines) -> list[list]:
    return [
        [
            cost,
            cost,
            cost,
            "USD",
            account,
            "2024-03-01 00:00:00",
            "Usage" if cost > 0 else "Credit",
            "2024-03-05 00:00:00",
            "2024-03-06 00:00:00",
            "AWS",
            line,
        ]
        for line, cost in lines
    ]


def focus_run(folder: Path, account: str, parts, submitted: str) -> list[Path]:
    """An Azure FocusCost export run: its parts and the manifest.json listing them."""
    files = [
        write(folder / f"part_{n}_0001.csv.gz", csv_text(FOCUS, focus_rows(account, p)))
        for n, p in enumerate(parts)
    ]
    return [*files, azure_manifest(folder, files, submitted, "FocusCost")]


def write_focus(landing: Path) -> None:
    root = landing / "cloud_costs" / "focus"
    parts = [
        write(root / "SPLIT" / f"part-{n}.csv.gz", csv_text(FOCUS, focus_rows("SPLIT", p)))
        for n, p in enumerate(PARTS)
    ]
    delivered(parts, 3)
    delivered(
        [write(root / "REDO/export-1/part-0.csv", csv_text(FOCUS, focus_rows("REDO", FIRST)))], 2
    )
    delivered(
        [
            write(root / f"REDO/export-2/part-{n}.csv", csv_text(FOCUS, focus_rows("REDO", p)))
            for n, p in enumerate([LINES[:2], LINES[2:]])
        ],
        4,
    )
    # AWS Data Exports' FOCUS 1.0 with AWS columns, "overwrite" versioning: the first run
    # wrote the bill in 3 parts, the second in 2 over the first two; the first run's part 3
    # (l4 again) is left in the folder, and the manifest lists the second run's parts only.
    export = root / "aws" / "focus"
    folder = export / "data/BILLING_PERIOD=2024-03"
    first = [
        write(folder / f"focus-{n:05d}.csv.gz", csv_text(FOCUS, focus_rows("AWS-STALE", p)))
        for n, p in enumerate(PARTS, start=1)
    ]
    delivered(first, 2)
    second = [
        write(folder / f"focus-{n:05d}.csv.gz", csv_text(FOCUS, focus_rows("AWS-STALE", p)))
        for n, p in enumerate([LINES[:2], LINES[2:]], start=1)
    ]
    delivered([*second, data_export_manifest(export, "BILLING_PERIOD=2024-03", second)], 4)
    # Azure's FocusCost export: a second run folder re-delivers the month (its manifest's
    # submittedTime is later, whatever the files' times say) ...
    period = root / "azure" / "focuscost" / "20240301-20240331"
    delivered(focus_run(period / "run1", "AZ-REDO", [FIRST], "2024-04-02T06:00:00Z"), 5)
    second = focus_run(period / "run2", "AZ-REDO", [LINES[:2], LINES[2:]], "2024-04-04T06:00:00Z")
    delivered(second, 1)
    # ... and a part left in a run folder that the run's manifest does not list.
    folder = root / "azure" / "focusstale" / "20240301-20240331" / "run1"
    stray = write(
        folder / "part_9_0001.csv.gz", csv_text(FOCUS, focus_rows("AZ-STALE", [("x", 99.0)]))
    )
    delivered([*focus_run(folder, "AZ-STALE", PARTS, "2024-04-03T06:00:00Z"), stray], 3)


# --- One build ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> duckdb.DuckDBPyConnection:
    root = tmp_path_factory.mktemp("deliveries")
    landing, path = root / "landing", root / "w.duckdb"
    for writer in (write_aws, write_gcp, write_azure, write_focus):
        writer(landing)
    with duckdb.connect(str(path)) as con:
        for source in (aws.SOURCE, gcp.SOURCE, azure.SOURCE, focus.SOURCE):
            load_source(con, source, landing)
    folders = ["aws", "gcp", "azure", "focus", "ingest"]
    result = subprocess.run(
        [
            dbt_executable(),
            "build",
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--select",
            *(f"path:models/staging/{folder}" for folder in folders),
            "--target-path",
            str(root / "target"),
            "--log-path",
            str(root / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env={**os.environ, WAREHOUSE_ENV: str(path)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


STAGING = {
    "aws": "staging.stg_aws__cur",
    "gcp": "staging.stg_gcp__billing_export",
    "azure": "staging.stg_azure__costs",
    "focus": "staging.stg_focus__costs",
}


def staged(con, provider: str, account: str) -> tuple[int, float]:
    [(rows, billed)] = con.execute(
        f"select count(*), round(sum(billed_cost), 6) from {STAGING[provider]} "
        "where billing_account_id = ?",
        [account],
    ).fetchall()
    return rows, billed


def deliveries(con, provider: str, account: str) -> list[tuple]:
    return con.execute(
        f"select delivery, is_current, round(amount, 6), round(replaced_amount, 6), "
        f"superseded_reason from staging.stg_{provider}__deliveries "
        "where billing_account_id = ? order by is_current desc, delivery",
        [account],
    ).fetchall()


# GCP bills 16.00 - 1.00 (discount) - 0.50 (promotion) = 14.50 over 4 rows + 1 Credit row.
SPLIT = {
    ("aws", "111"): (4, WHOLE),
    ("aws", "444"): (4, WHOLE),
    ("gcp", "SPLIT"): (5, WHOLE - 1.5),
    ("azure", "SPLIT"): (4, WHOLE),
    ("azure", "LEGACY"): (4, WHOLE),
    ("focus", "SPLIT"): (4, WHOLE),
}


@pytest.mark.parametrize(("provider", "account"), sorted(SPLIT))
def test_a_bill_split_into_parts_loads_to_the_whole_bill(warehouse, provider, account):
    assert staged(warehouse, provider, account) == SPLIT[(provider, account)]
    [(_, is_current, amount, replaced, reason)] = deliveries(warehouse, provider, account)
    whole = WHOLE - 1.5 if provider == "gcp" else WHOLE  # GCP's raw measure is cost + credits
    assert (is_current, amount, replaced, reason) == (True, whole, None, None)


# (provider, account) -> the current delivery's id ends with, and what it replaced.
REDELIVERED = {
    ("aws", "222"): ("BILLING_PERIOD=2024-03/run2", "BILLING_PERIOD=2024-03/run1"),
    ("aws", "555"): ("20240301-20240401/bbbb", "20240301-20240401/aaaa"),
    ("gcp", "REDO"): ("REDO/second", "REDO/first"),
    ("azure", "REDO"): ("20240301-20240331/run2", "20240301-20240331/run1"),
    ("azure", "FIRSTGEN"): ("cost_2222.csv", "cost_1111.csv"),
    ("focus", "REDO"): ("REDO/export-2", "REDO/export-1"),
    ("focus", "AZ-REDO"): ("20240301-20240331/run2", "20240301-20240331/run1"),
}


@pytest.mark.parametrize(("provider", "account"), sorted(REDELIVERED))
def test_a_redelivery_replaces_the_earlier_one_whole(warehouse, provider, account):
    # GCP's FIRST holds l1 with its 1.50 of credits: 15.25 - 1.50 before, 16.00 - 1.50 now.
    credits = 1.5 if provider == "gcp" else 0.0
    rows = 5 if provider == "gcp" else 4
    assert staged(warehouse, provider, account) == (rows, WHOLE - credits)
    current, replaced = deliveries(warehouse, provider, account)
    new, old = REDELIVERED[(provider, account)]
    assert current[0].endswith(new) and current[1:4] == (
        True,
        WHOLE - credits,
        EARLIER - credits,
    )
    assert replaced[0].endswith(old) and replaced[1:3] == (False, EARLIER - credits)
    if account == "555":  # the legacy CUR's manifest names the assembly
        assert replaced[4].startswith("assembly aaaa superseded: ")
        assert replaced[4].endswith("report-Manifest.json names assembly bbbb")
    else:
        assert replaced[4] == f"replaced by the newer delivery {current[0]}"


def test_an_old_assembly_counts_nothing_even_when_written_later(warehouse):
    # The manifest names assembly cccc (the whole bill); dddd is newer on disk but not named.
    assert staged(warehouse, "aws", "666") == (4, WHOLE)
    current, superseded = deliveries(warehouse, "aws", "666")
    assert current[0].endswith("/cccc") and current[1]
    assert superseded[0].endswith("/dddd") and not superseded[1]
    assert "names assembly cccc" in superseded[4]


# (provider, account) -> the amount of the part the manifest does not list.
LEFT_OVER = {
    ("aws", "333"): 99.0,
    ("azure", "STALE"): 99.0,
    ("focus", "AWS-STALE"): -1.75,  # counted, l4 would count twice: 14.25 over 5 rows
    ("focus", "AZ-STALE"): 99.0,
}


@pytest.mark.parametrize(("provider", "account"), sorted(LEFT_OVER))
def test_a_part_the_manifest_does_not_list_is_left_out(warehouse, provider, account):
    # The listed parts hold the whole bill; the left-over part is not counted.
    assert staged(warehouse, provider, account) == (4, WHOLE)
    rows = deliveries(warehouse, provider, account)
    assert [(r[1], r[2]) for r in rows] == [(True, WHOLE), (False, LEFT_OVER[(provider, account)])]
    assert rows[1][4].startswith("not in the ") and "a part of an earlier run" in rows[1][4]


def test_the_focus_parts_no_manifest_lists_are_superseded_with_the_reason(warehouse):
    export = "cloud_costs/focus/aws/focus"
    run = "cloud_costs/focus/azure/focusstale/20240301-20240331/run1"
    assert warehouse.execute(
        "select landing_file, superseded_by from staging.stg_ingest__files "
        "where source_name = 'focus' and superseded_by is not null order by landing_file"
    ).fetchall() == [
        (
            f"{export}/data/BILLING_PERIOD=2024-03/focus-00003.csv.gz",
            f"not in the dataFiles of {export}/metadata/BILLING_PERIOD=2024-03/"
            "focus-Manifest.json: a part of an earlier run",
        ),
        (
            f"{run}/part_9_0001.csv.gz",
            f"not in the blobs of {run}/manifest.json: a part of an earlier run",
        ),
    ]


def test_delivery_times_come_from_manifests_and_files(warehouse):
    times = dict(
        warehouse.execute(
            "select delivery, max(delivered_at) from staging.stg_ingest__files "
            "where delivery is not null group by delivery"
        ).fetchall()
    )
    # Azure: the manifest's submittedTime, seven fractional digits cut to six.
    [run2] = [t for d, t in times.items() if d.endswith("REDO/20240301-20240331/run2")]
    assert run2 == datetime(2024, 4, 4, 6, 0, 0, 123456, tzinfo=UTC)
    # GCP: the newest modification time of the delivery's files.
    [second] = [t for d, t in times.items() if d.endswith("gcp/REDO/second")]
    assert second == datetime(2024, 4, 4, 6, tzinfo=UTC)
