"""Which delivery each landed file belongs to, and files no parser reads: never in silence."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from ingest.cloud_costs import aws, azure, deliveries, focus, gcp
from ingest.framework import SourceError, load_source

CUR2_CSV = (
    "line_item_usage_account_id,line_item_line_item_type,line_item_unblended_cost,"
    "line_item_usage_start_date,line_item_usage_end_date,bill_billing_period_start_date\n"
    "111,Usage,2.00,2024-03-01T00:00:00Z,2024-03-01T01:00:00Z,2024-03-01T00:00:00Z\n"
)
FOCUS_CSV = (
    "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,BillingPeriodStart,"
    "ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,ServiceName\n"
    "2.00,2.00,2.00,USD,111,2024-03-01,Usage,2024-03-01,2024-03-02,AWS,EC2\n"
)
# AWS Data Exports' FOCUS_1_0_AWS table and Azure's FocusCost export, as their runs write them.
FOCUS_AWS = "cloud_costs/focus/aws/focus"
FOCUS_AZURE = "cloud_costs/focus/azure/focuscost/20240301-20240331/run1"


def put(landing: Path, relative: str, text: str, day: int = 1) -> Path:
    path = landing / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    moment = datetime(2024, 4, day, tzinfo=UTC).timestamp()
    os.utime(path, (moment, moment))
    return path


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def log(con) -> dict[str, tuple]:
    return {
        file: tuple(rest)
        for file, *rest in con.execute(
            "select file, status, reason, delivery, delivered_at, superseded_by "
            "from raw._ingest_log order by file"
        ).fetchall()
    }


def test_legacy_cur_manifest_names_the_assembly_and_older_ones_are_superseded(tmp_path: Path):
    landing = tmp_path
    period = "cloud_costs/aws/r/20240301-20240401"
    old = put(landing, f"{period}/a1/r-1.csv", CUR2_CSV)
    new = put(landing, f"{period}/b2/r-1.csv", CUR2_CSV, day=3)
    manifest = put(
        landing,
        f"{period}/r-Manifest.json",
        json.dumps({"assemblyId": "b2", "reportKeys": ["p/r/20240301-20240401/b2/r-1.csv"]}),
        day=5,
    )
    copy = put(landing, f"{period}/b2/r-Manifest.json", manifest.read_text())
    ruled = deliveries.aws(landing, [old, new], [manifest, copy])
    assert ruled[new].id == f"{period}/b2" and ruled[new].superseded_by is None
    # The delivery's time is the manifest's, not its file's.
    assert ruled[new].delivered_at == datetime(2024, 4, 5, tzinfo=UTC)
    assert ruled[old].superseded_by == (
        f"assembly a1 superseded: {period}/r-Manifest.json names assembly b2"
    )


def test_a_manifest_listing_a_missing_part_fails_the_load_naming_it(tmp_path: Path, con):
    landing = tmp_path / "landing"
    folder = "cloud_costs/aws/x/cur2/data/BILLING_PERIOD=2024-03"
    put(landing, f"{folder}/cur2-00001.csv", CUR2_CSV)
    put(
        landing,
        "cloud_costs/aws/x/cur2/metadata/BILLING_PERIOD=2024-03/cur2-Manifest.json",
        json.dumps(
            {
                "dataFiles": [
                    f"s3://b/p/cur2/data/BILLING_PERIOD=2024-03/cur2-0000{n}.csv" for n in (1, 2)
                ]
            }
        ),
    )
    with pytest.raises(SourceError) as failure:
        load_source(con, aws.SOURCE, landing)
    assert str(failure.value) == (
        "aws_cur: cloud_costs/aws/x/cur2/metadata/BILLING_PERIOD=2024-03/cur2-Manifest.json: "
        "delivery incomplete: the manifest lists 2 data file(s) and 1 are not in landing: "
        f"{folder}/cur2-00002.csv"
    )
    assert con.execute("select count(*) from raw.aws_cur").fetchall() == [(0,)]


def test_a_broken_manifest_fails_the_load_naming_it(tmp_path: Path, con):
    landing = tmp_path / "landing"
    put(landing, "cloud_costs/azure/run/part_0_0001.csv", "x")
    put(landing, "cloud_costs/azure/run/manifest.json", "{not json")
    with pytest.raises(
        SourceError,
        match=r"^azure_costs: cloud_costs/azure/run/manifest\.json: "
        r"manifest is not valid JSON",
    ):
        load_source(con, azure.SOURCE, landing)


def test_unknown_files_are_skipped_with_the_reason_and_known_ones_ignored(tmp_path: Path, con):
    landing = tmp_path / "landing"
    put(landing, "cloud_costs/aws/cur.csv", CUR2_CSV)
    put(landing, "cloud_costs/aws/notes.txt", "hello")
    put(landing, "cloud_costs/aws/report.zip", "PK")
    put(landing, "cloud_costs/aws/r/cost_and_usage_data_status/status.parquet", "PAR1")
    report = load_source(con, aws.SOURCE, landing)
    statuses = {f.file: (f.status, f.reason) for f in report.files}
    expected = (
        "not a file aws_cur reads (expected cloud_costs/aws/**/*.{parquet,csv,csv.gz,csv.zip})"
    )
    assert statuses == {
        "cloud_costs/aws/cur.csv": ("loaded", None),
        "cloud_costs/aws/notes.txt": ("skipped", expected),
        "cloud_costs/aws/report.zip": ("skipped", expected),
        "cloud_costs/aws/r/cost_and_usage_data_status/status.parquet": (
            "ignored",
            "status file of the CUR's Athena integration: no bill lines",
        ),
    }
    assert [f.file for f in report.skipped] == [
        "cloud_costs/aws/notes.txt",
        "cloud_costs/aws/report.zip",
    ]
    logged = log(con)
    assert logged["cloud_costs/aws/notes.txt"][:2] == ("skipped", expected)
    assert logged["cloud_costs/aws/cur.csv"][0] == "loaded"
    # A file that goes away leaves the log with it; nothing else changes on a second run.
    (landing / "cloud_costs/aws/notes.txt").unlink()
    second = load_source(con, aws.SOURCE, landing)
    assert "cloud_costs/aws/notes.txt" not in log(con)
    assert {f.file: f.status for f in second.files}["cloud_costs/aws/cur.csv"] == "unchanged"


def test_each_file_is_its_folders_delivery_and_the_log_follows_the_files(tmp_path: Path, con):
    landing = tmp_path / "landing"
    row = (
        '{"billing_account_id":"A","service":{"description":"x"},"usage_start_time":'
        '"2024-03-01 00:00:00 UTC","usage_end_time":"2024-03-01 01:00:00 UTC","cost":1,'
        '"currency":"USD","credits":[],"invoice":{"month":"202403"},"cost_type":"regular"}\n'
    )
    put(landing, "cloud_costs/gcp/A/202403-000000000000.jsonl", row, day=2)
    put(landing, "cloud_costs/gcp/A/202403-000000000001.jsonl", row, day=3)
    load_source(con, gcp.SOURCE, landing)
    logged = log(con)
    assert {v[2] for v in logged.values()} == {"cloud_costs/gcp/A"}
    assert [v[3].day for v in logged.values()] == [2, 3]
    # A part rewritten later moves only its own time; staging takes the delivery's newest.
    put(landing, "cloud_costs/gcp/A/202403-000000000000.jsonl", row, day=9)
    report = load_source(con, gcp.SOURCE, landing)
    assert [f.status for f in report.files] == ["unchanged", "unchanged"]
    assert [v[3].day for v in log(con).values()] == [9, 3]


def test_a_changed_parser_reads_every_file_again(tmp_path: Path, con):
    landing = tmp_path / "landing"
    put(landing, "cloud_costs/aws/cur.csv", CUR2_CSV)
    load_source(con, aws.SOURCE, landing)
    con.execute("update raw._ingest_log set parser_version = 'an older parser'")
    report = load_source(con, aws.SOURCE, landing)
    assert [(f.file, f.status, f.rows_loaded) for f in report.files] == [
        ("cloud_costs/aws/cur.csv", "replaced", 1)
    ]
    assert con.execute("select count(*) from raw.aws_cur").fetchall() == [(1,)]


def focus_exports(landing: Path, azure_blobs: list[str]) -> Path:
    """One FOCUS export of each provider: AWS overwrote 3 parts with 2 (part 3 is left over)
    and lists those 2; Azure's run of 1 part lists `azure_blobs`. Returns AWS's manifest."""
    data = f"{FOCUS_AWS}/data/BILLING_PERIOD=2024-03"
    for n, day in ((1, 3), (2, 3), (3, 2)):
        put(landing, f"{data}/focus-0000{n}.csv", FOCUS_CSV, day=day)
    put(landing, f"{FOCUS_AZURE}/part_0_0001.csv", FOCUS_CSV)
    put(
        landing,
        f"{FOCUS_AZURE}/manifest.json",
        json.dumps(
            {
                "exportConfig": {"type": "FocusCost"},
                "runInfo": {"submittedTime": "2024-04-02T06:00:00.0000000Z"},
                "blobs": [{"blobName": f"focus/focuscost/{name}"} for name in azure_blobs],
            }
        ),
    )
    return put(
        landing,
        f"{FOCUS_AWS}/metadata/BILLING_PERIOD=2024-03/focus-Manifest.json",
        json.dumps(
            {
                "dataFiles": [
                    f"s3://b/p/focus/data/BILLING_PERIOD=2024-03/focus-0000{n}.csv" for n in (1, 2)
                ]
            }
        ),
        day=3,
    )


def test_focus_export_manifests_are_read_not_skipped(tmp_path: Path, con):
    landing = tmp_path / "landing"
    focus_exports(landing, azure_blobs=["20240301-20240331/run1/part_0_0001.csv"])
    report = load_source(con, focus.SOURCE, landing)
    assert report.skipped == []
    assert {f.file: f.status for f in report.files if f.file.endswith(".json")} == {
        f"{FOCUS_AWS}/metadata/BILLING_PERIOD=2024-03/focus-Manifest.json": "manifest",
        f"{FOCUS_AZURE}/manifest.json": "manifest",
    }
    logged = log(con)
    assert logged[f"{FOCUS_AZURE}/part_0_0001.csv"][2:] == (
        FOCUS_AZURE,
        datetime(2024, 4, 2, 6, tzinfo=UTC),
        None,
    )


def test_a_focus_manifest_landed_after_its_parts_rules_them_without_parsing_again(
    tmp_path: Path, con
):
    landing = tmp_path / "landing"
    focus_exports(landing, azure_blobs=["20240301-20240331/run1/part_0_0001.csv"]).unlink()
    load_source(con, focus.SOURCE, landing)
    left_over = f"{FOCUS_AWS}/data/BILLING_PERIOD=2024-03/focus-00003.csv"
    assert log(con)[left_over][4] is None  # no manifest yet: the folder is one delivery
    focus_exports(landing, azure_blobs=["20240301-20240331/run1/part_0_0001.csv"])
    report = load_source(con, focus.SOURCE, landing)
    assert {f.status for f in report.files if not f.file.endswith(".json")} == {"unchanged"}
    assert log(con)[left_over][4] == (
        f"not in the dataFiles of {FOCUS_AWS}/metadata/BILLING_PERIOD=2024-03/"
        "focus-Manifest.json: a part of an earlier run"
    )


def test_a_focus_run_missing_a_listed_part_fails_the_load_naming_it(tmp_path: Path, con):
    landing = tmp_path / "landing"
    focus_exports(
        landing,
        azure_blobs=[f"20240301-20240331/run1/part_{n}_0001.csv" for n in (0, 1)],
    )
    with pytest.raises(SourceError) as failure:
        load_source(con, focus.SOURCE, landing)
    assert str(failure.value) == (
        f"focus: {FOCUS_AZURE}/manifest.json: delivery incomplete: the manifest lists 2 data "
        f"file(s) and 1 are not in landing: {FOCUS_AZURE}/part_1_0001.csv"
    )
    assert con.execute("select count(*) from raw.focus_costs").fetchall() == [(0,)]


def test_a_legacy_cur_manifest_in_the_focus_folder_fails_the_load_naming_it(tmp_path: Path, con):
    landing = tmp_path / "landing"
    period = "cloud_costs/focus/report/20240301-20240401"
    put(landing, f"{period}/a1/report-1.csv", FOCUS_CSV)
    put(
        landing,
        f"{period}/report-Manifest.json",
        json.dumps({"assemblyId": "a1", "reportKeys": [f"p/{period}/a1/report-1.csv"]}),
    )
    with pytest.raises(SourceError) as failure:
        load_source(con, focus.SOURCE, landing)
    assert str(failure.value) == (
        f"focus: {period}/report-Manifest.json: a legacy CUR manifest: legacy CUR writes no "
        "FOCUS; move the report to cloud_costs/aws"
    )
