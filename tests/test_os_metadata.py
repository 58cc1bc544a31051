"""What an operating system writes beside the files a person copies is never data: macOS's
AppleDouble `._<name>` companions (on an exFAT or FAT drive, an SMB share, in a tar), the
Finder's `.DS_Store`, the `__MACOSX/` folder a zip made on a Mac unpacks to, Windows
Explorer's `Thumbs.db` and `desktop.ini`; nor is a hidden file (an rsync copy under way, a
lock file, a sync tool's old versions). `Path.glob`'s `*` matches a name starting with '.'
(`*.csv` matches `._invoices-2024.csv`), so such a file failed the load as an unreadable
part, or loaded twice. Each is logged `ignored` with why; the rows are those of the landing
without them."""

from __future__ import annotations

import json
import os
import shutil
import struct
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from ingest.framework import IGNORED, RAW_SCHEMA, SourceError, load_source, unfinished
from ingest.sources import SOURCES

BY_NAME = {source.name: source for source in SOURCES}
FIXTURES = Path(__file__).parent / "fixtures"
BILLS = ("invoices", "gcp_billing", "aws_cur")
CUR2 = "cloud_costs/aws/cur2/data/BILLING_PERIOD=2024-03"
MANIFEST = "cloud_costs/aws/cur2/metadata/BILLING_PERIOD=2024-03/cur2-Manifest.json"
SHARD = "cloud_costs/gcp/202403/202403-000000000000.jsonl"


def apple_double() -> bytes:
    """The `._<name>` file macOS writes beside a file it copies to a volume that cannot keep
    its extended attributes: 4,096 bytes (xnu `bsd/vfs/vfs_xattr.c`: ATTR_FILE_PREFIX "._",
    ATTR_BUF_SIZE): the AppleDouble header (magic 0x00051607, version 2, filler "Mac OS X"),
    a Finder info entry whose 32 bytes are followed by an empty "ATTR" attribute header, and
    the 286-byte resource fork "This resource fork intentionally left blank" that Samba's
    vfs_fruit documents as the blob macOS writes."""
    fork = bytearray(286)
    for at in (0, 4, 256, 260):
        struct.pack_into(">I", fork, at, 256)
    for at in (12, 268):
        struct.pack_into(">I", fork, at, 30)
    fork[16:62] = b"This resource fork intentionally left blank   "
    fork[280:] = bytes([0, 28, 0, 30, 255, 255])
    data = bytearray(4096)
    struct.pack_into(">II16sH", data, 0, 0x00051607, 0x00020000, b"Mac OS X        ", 2)
    struct.pack_into(">III", data, 26, 9, 0x32, 0xEB0)  # Finder info (and attributes)
    struct.pack_into(">III", data, 38, 2, 0xEE2, 0x11E)  # resource fork
    data[0x54:0x58] = b"ATTR"
    struct.pack_into(">III", data, 0x5C, 0xEE2, 0x78, 0)  # total size, data start, length
    data[0xEE2:] = fork
    return bytes(data)


def write_bills(landing: Path) -> None:
    """Three sources' real shapes, each with its rows worked out by hand:

    - invoices/invoices-2024.csv (fixture): lines 2, 3, 4 and 8 load (3000.00 + 910.00 +
      250.00 + 500.00 = 4660.00); 5 (a repeat), 6 (GL 4299) and 7 (amount 'ten') are
      quarantined.
    - the GCP shard (gcp/standard.jsonl, as BigQuery exports JSON lines): lines 1-4 and 7
      load, cost 10 + 4 - 1 + 0.5 + 3 = 16.5; two are quarantined.
    - a CUR 2.0 Data Export in two Parquet parts (typed as AWS's CUR 2.0 table dictionary
      types them: costs double, dates timestamp, resource_tags map<string, string>) and its
      manifest listing both: the first six lines of aws/cur2.csv, 2.00 + 3.00 - 3.00 in
      part 1 and 1.80 - 0.50 + 0.20 in part 2: 3.50.
    """
    (landing / "invoices").mkdir(parents=True)
    shutil.copy(FIXTURES / "revenue/invoices/invoices-2024.csv", landing / "invoices")
    (landing / SHARD).parent.mkdir(parents=True)
    shutil.copy(FIXTURES / "cloud_costs/gcp/standard.jsonl", landing / SHARD)
    (landing / CUR2).mkdir(parents=True)
    lines = FIXTURES / "cloud_costs/aws/cur2.csv"
    parts = []
    for n, offset in ((1, 0), (2, 3)):
        part = landing / CUR2 / f"cur2-0000{n}.snappy.parquet"
        duckdb.sql(f"""
            copy (
                select identity_line_item_id, identity_time_interval,
                       bill_billing_period_start_date::timestamp
                           as bill_billing_period_start_date,
                       bill_payer_account_id, line_item_usage_account_id,
                       line_item_line_item_type, line_item_product_code,
                       line_item_usage_start_date::timestamp as line_item_usage_start_date,
                       line_item_usage_end_date::timestamp as line_item_usage_end_date,
                       line_item_unblended_cost::double as line_item_unblended_cost,
                       line_item_currency_code,
                       json_transform(resource_tags, '"MAP(VARCHAR, VARCHAR)"')
                           as resource_tags
                from read_csv('{lines}', all_varchar = true) limit 3 offset {offset}
            ) to '{part}' (format parquet, compression snappy)
        """)
        parts.append(f"s3://bucket/exports/cur2/data/BILLING_PERIOD=2024-03/{part.name}")
    manifest = landing / MANIFEST
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"executionId": "run-1", "dataFiles": parts}))
    delivered = datetime(2024, 4, 3, 6, tzinfo=UTC).timestamp()
    os.utime(manifest, (delivered, delivered))


def copied_from_a_mac(landing: Path) -> dict[str, str]:
    """What a Mac leaves copying these folders to an exFAT drive or an SMB share: a `._`
    companion beside every file and the Finder's `.DS_Store` in each folder it showed; a zip
    of the GCP folder made on a Mac and unpacked where it was (`__MACOSX/` mirrors its
    folders); Windows Explorer's files in the invoices folder opened on a PC. Returns each
    file with the reason it is ignored."""
    files = sorted(p for p in landing.rglob("*") if p.is_file())
    made: dict[str, str] = {}
    for path in files:
        companion = path.with_name(f"._{path.name}")
        companion.write_bytes(apple_double())
        made[companion.relative_to(landing).as_posix()] = (
            f"macOS metadata (AppleDouble) of {path.name}"
        )
    for folder in ("invoices", "cloud_costs/gcp/202403", CUR2):
        (landing / folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(2040))
        made[f"{folder}/.DS_Store"] = "macOS metadata (.DS_Store): the Finder's view of the folder"
    unpacked = landing / "cloud_costs/gcp/__MACOSX/202403/._202403-000000000000.jsonl"
    unpacked.parent.mkdir(parents=True)
    unpacked.write_bytes(apple_double())
    made[unpacked.relative_to(landing).as_posix()] = (
        "macOS metadata (__MACOSX) of a zip archive made on a Mac"
    )
    (landing / "invoices/Thumbs.db").write_bytes(bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504))
    made["invoices/Thumbs.db"] = "Windows metadata (Thumbs.db): Explorer's thumbnails of the folder"
    (landing / "invoices/desktop.ini").write_text(
        "[.ShellClassInfo]\r\nIconResource=C:\\Windows\\System32\\imageres.dll,-3\r\n",
        encoding="utf-16",
    )
    made["invoices/desktop.ini"] = (
        "Windows metadata (desktop.ini): Explorer's settings of the folder"
    )
    # Excel's owner file while someone has invoices-2024.xlsx open on the share: 165 bytes,
    # the user's name first (length-prefixed), matching invoices/*.xlsx by its name.
    owner = b"\x0bFinance Ops".ljust(54, b" ") + bytes(111)
    (landing / "invoices/~$invoices-2024.xlsx").write_bytes(owner)
    made["invoices/~$invoices-2024.xlsx"] = (
        "Microsoft Office's owner file (~$): Excel's lock on a workbook someone has open"
    )
    return made


def load(landing: Path, warehouse: Path) -> tuple[dict, dict, list]:
    """Each source's files by status, its raw rows, and the data files' deliveries."""
    with duckdb.connect(str(warehouse)) as con:
        reports = {name: load_source(con, BY_NAME[name], landing) for name in BILLS}
        files = {
            name: {f.file: (f.status, f.rows_loaded, f.rows_quarantined, f.reason) for f in r.files}
            for name, r in reports.items()
        }
        rows = {
            table.name: con.execute(
                f"select * exclude (_loaded_at) from {RAW_SCHEMA}.{table.name} order by all"
            ).fetchall()
            for name in BILLS
            for table in BY_NAME[name].tables
        }
        deliveries = con.execute(
            f"select file, delivery, delivered_at, superseded_by from {RAW_SCHEMA}._ingest_log "
            "where status = 'loaded' order by file"
        ).fetchall()
        assert [r.files_in_landing for r in reports.values()] == [1, 1, 2]
        assert all(r.skipped == [] for r in reports.values())
    return files, rows, deliveries


def test_a_landing_copied_from_a_mac_loads_the_rows_it_loads_without_the_companions(
    tmp_path: Path,
):
    plain, mac = tmp_path / "plain", tmp_path / "mac"
    write_bills(plain)
    shutil.copytree(plain, mac)  # file times kept: the manifest's is the delivery's
    companions = copied_from_a_mac(mac)

    files, rows, deliveries = load(plain, tmp_path / "plain.duckdb")
    mac_files, mac_rows, mac_deliveries = load(mac, tmp_path / "mac.duckdb")

    data = {
        "invoices": {"invoices/invoices-2024.csv": ("loaded", 4, 3, None)},
        "gcp_billing": {SHARD: ("loaded", 8, 2, None)},  # 5 lines, 1 + 2 credits (lines 1, 7)
        "aws_cur": {
            f"{CUR2}/cur2-00001.snappy.parquet": ("loaded", 3, 0, None),
            f"{CUR2}/cur2-00002.snappy.parquet": ("loaded", 3, 0, None),
            MANIFEST: ("manifest", 0, 0, None),
        },
    }
    assert files == data
    folder = {
        "invoices": "invoices/",
        "gcp_billing": "cloud_costs/gcp/",
        "aws_cur": "cloud_costs/aws/",
    }
    assert mac_files == {
        name: data[name]
        | {
            file: (IGNORED, 0, 0, why)
            for file, why in companions.items()
            if file.startswith(folder[name])
        }
        for name in BILLS
    }
    assert mac_rows == rows
    assert len(rows["invoice_lines"]) == 4
    assert len(rows["gcp_billing_export"]) == 5
    assert len(rows["aws_cur"]) == 6
    with duckdb.connect(str(tmp_path / "mac.duckdb")) as con:
        assert con.execute(
            "select (select sum(amount) from raw.invoice_lines), "
            "(select sum(cost) from raw.gcp_billing_export), "
            "(select round(sum(line_item_unblended_cost), 2) from raw.aws_cur)"
        ).fetchall() == [(4660.0, 16.5, 3.5)]
    # The delivery rule saw neither the parts' companions (else parts the manifest does not
    # list, superseded) nor the manifest's (else a manifest that is not JSON, a failed load):
    # both parts are the manifest's delivery, as of its time.
    assert mac_deliveries == deliveries
    delivered = datetime(2024, 4, 3, 6, tzinfo=UTC)
    assert [row[1:] for row in deliveries if row[0].startswith(CUR2)] == [
        (CUR2, delivered, None),
        (CUR2, delivered, None),
    ]


def test_hidden_files_are_ignored_and_an_unfinished_pull_keeps_its_reason(tmp_path: Path):
    """A hidden file is a tool's own: Syncthing keeps the versions a sync replaced in a
    `.stversions` folder at the root of the synced folder, named with the time before the
    extension (its versioning documentation): read, the GCP bill would count twice; rsync
    copies into `.<name>.<random>` and renames when done; LibreOffice locks an open file
    with `.~lock.<name>#`. The invoices pull's unfinished `.partial` keeps its own reason."""
    landing = tmp_path / "landing"
    write_bills(landing)
    old = landing / "cloud_costs/gcp/.stversions/202403/202403-000000000000~20240405-060000.jsonl"
    old.parent.mkdir(parents=True)
    shutil.copy(landing / SHARD, old)
    copying = landing / "cloud_costs/gcp/202403/.202403-000000000001.jsonl.W4zvLi"
    copying.write_bytes((landing / SHARD).read_bytes()[:700])
    lock = landing / "invoices/.~lock.invoices-2024.csv#"
    lock.write_text(",Ana Ruiz,ana-laptop,27.01.2025 10:11,file:///home/ana/.config/libreoffice/4;")
    unfinished(landing / "invoices/finance-sheet.json").write_text('{"range": "Invoices!A1:L')

    hidden = "a hidden file, never read: name it without the leading '.' if it holds data"
    with duckdb.connect() as con:
        others = {
            f.file: (f.status, f.reason)
            for name in BILLS
            for f in load_source(con, BY_NAME[name], landing).files
            if f.status == IGNORED
        }
        assert others == {
            "invoices/.~lock.invoices-2024.csv#": (IGNORED, hidden),
            "invoices/.finance-sheet.json.partial": (
                IGNORED,
                "an unfinished file of a live pull that was interrupted; the next pull replaces it",
            ),
            "cloud_costs/gcp/202403/.202403-000000000001.jsonl.W4zvLi": (IGNORED, hidden),
            old.relative_to(landing).as_posix(): (
                IGNORED,
                "in a hidden folder (.stversions/), never read: name it without the leading "
                "'.' if it holds data",
            ),
        }
        assert con.execute("select count(*), sum(cost) from raw.gcp_billing_export").fetchall() == [
            (5, 16.5)
        ]


ECB = FIXTURES / "fx" / "eurofxref-hist.csv"


def test_a_zip_made_on_a_mac_is_the_one_file_it_holds(tmp_path: Path):
    """The Finder's Compress of one file writes the file, a `__MACOSX/` folder and the
    file's AppleDouble in it (as `unzip -l` lists such an archive): the ECB's history
    zipped again on a Mac loads its 87 rates (3 days x 29 quoted currencies, worked out in
    tests/test_fx.py)."""
    landing = tmp_path / "landing"
    (landing / "fx").mkdir(parents=True)
    with zipfile.ZipFile(landing / "fx/eurofxref-hist.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(ECB, "eurofxref-hist.csv")
        archive.writestr("__MACOSX/", b"")
        archive.writestr("__MACOSX/._eurofxref-hist.csv", apple_double())
    with duckdb.connect() as con:
        [report] = load_source(con, BY_NAME["fx"], landing).files
        assert (report.file, report.status, report.rows_loaded) == (
            "fx/eurofxref-hist.zip",
            "loaded",
            87,
        )


def test_a_zip_made_on_a_mac_of_two_files_is_still_not_one_export(tmp_path: Path):
    """A folder compressed on a Mac holds its `.DS_Store` too; its two CSVs are two files,
    and the error names them, not the metadata."""
    landing = tmp_path / "landing"
    (landing / "fx").mkdir(parents=True)
    with zipfile.ZipFile(landing / "fx/rates.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("rates/", b"")
        archive.write(ECB, "rates/eurofxref-hist.csv")
        archive.write(ECB, "rates/eurofxref-hist (1).csv")
        archive.writestr("rates/.DS_Store", b"\x00\x00\x00\x01Bud1" + bytes(2040))
        archive.writestr("__MACOSX/rates/._eurofxref-hist.csv", apple_double())
    with duckdb.connect() as con, pytest.raises(SourceError) as error:
        load_source(con, BY_NAME["fx"], landing)
    assert str(error.value) == (
        "fx: fx/rates.zip, file: a zip archive of 2 files (rates/eurofxref-hist.csv, "
        "rates/eurofxref-hist (1).csv), not of one export"
    )
