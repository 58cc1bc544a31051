"""The ingestion framework: logged, idempotent, replace-on-change, all-or-nothing loads."""

from __future__ import annotations

import dataclasses
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from ingest import framework
from ingest.framework import Extract, RawTable, Source, SourceError, load_source
from ingest.fx import SOURCE as FX
from ingest.tabular import castable, csv_rows
from warehouse.build_state import raw_state

T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 1, 2, tzinfo=UTC)


def write_rates(landing: Path, name: str, text: str) -> None:
    path = landing / "fx" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def table(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


class FailingConnection:
    """A real connection that raises when it writes the ingest log the n-th time: a crash
    mid-load."""

    def __init__(self, con: duckdb.DuckDBPyConnection, fail_on_log_write: int):
        self._con = con
        self._fail_on = fail_on_log_write
        self._log_writes = 0

    def execute(self, sql: str, *args):
        if "into raw._ingest_log" in sql:
            self._log_writes += 1
            if self._log_writes == self._fail_on:
                raise RuntimeError("disk full")
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._con, name)


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield connection
    connection.close()


def test_first_load_logs_the_file_and_a_second_load_skips_it(tmp_path: Path, con):
    landing = tmp_path / "landing"
    write_rates(
        landing, "rates.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n2024-01-01,GBP,x\n"
    )
    first = load_source(con, FX, landing, now=T1)
    assert [(f.file, f.status, f.rows_loaded, f.rows_quarantined) for f in first.files] == [
        ("fx/rates.csv", "loaded", 1, 1)
    ]
    second = load_source(con, FX, landing, now=T2)
    assert [(f.status, f.rows_loaded) for f in second.files] == [("unchanged", 0)]
    assert table(
        con,
        "select file, size_bytes, loaded_at, rows_loaded, rows_quarantined from raw._ingest_log",
    ) == [("fx/rates.csv", 27 + 19 + 17, T1, 1, 1)]
    assert table(con, "select currency, _file, _record, _loaded_at from raw.fx_rates") == [
        ("EUR", "fx/rates.csv", "line 2", T1)
    ]
    assert table(
        con, "select source, file, record, reason, raw_record::varchar from raw._quarantine"
    ) == [
        (
            "fx",
            "fx/rates.csv",
            "line 3",
            "usd_per_unit is not a double: x",
            '{"date":"2024-01-01","currency":"GBP","usd_per_unit":"x"}',
        )
    ]


def test_a_changed_file_replaces_its_rows_and_its_quarantine(tmp_path: Path, con):
    landing = tmp_path / "landing"
    write_rates(
        landing, "rates.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n2024-01-01,GBP,x\n"
    )
    write_rates(landing, "other.csv", "date,currency,usd_per_unit\n2024-01-01,CAD,0.7\n")
    load_source(con, FX, landing, now=T1)
    write_rates(
        landing, "rates.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.2\n2024-01-01,GBP,1.3\n"
    )
    report = load_source(con, FX, landing, now=T2)
    assert sorted((f.file, f.status) for f in report.files) == [
        ("fx/other.csv", "unchanged"),
        ("fx/rates.csv", "replaced"),
    ]
    assert (report.rows_before, report.rows_after) == ({"fx_rates": 2}, {"fx_rates": 3})
    assert table(
        con, "select currency, usd_per_unit, _loaded_at from raw.fx_rates order by currency"
    ) == [("CAD", 0.7, T1), ("EUR", 1.2, T2), ("GBP", 1.3, T2)]
    assert table(con, "select count(*) from raw._quarantine") == [(0,)]
    assert table(
        con,
        "select file, rows_loaded, rows_quarantined, loaded_at from raw._ingest_log order by file",
    ) == [("fx/other.csv", 1, 0, T1), ("fx/rates.csv", 2, 0, T2)]


def hashes_counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files a load reads to hash, in order."""
    hashed: list[str] = []
    real = framework.file_sha256

    def counting(path: Path) -> str:
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(framework, "file_sha256", counting)
    return hashed


def test_an_unchanged_file_whose_identity_was_kept_is_not_read_again(
    tmp_path: Path, con, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(framework, "SETTLED_SECONDS", 0.0)  # the files below are settled
    landing = tmp_path / "landing"
    write_rates(landing, "a.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n")
    write_rates(landing, "b.csv", "date,currency,usd_per_unit\n2024-01-01,GBP,1.3\n")
    time.sleep(0.05)
    load_source(con, FX, landing, now=T1)
    time.sleep(0.05)
    write_rates(landing, "b.csv", "date,currency,usd_per_unit\n2024-01-01,GBP,1.4\n")
    hashed = hashes_counted(monkeypatch)
    report = load_source(con, FX, landing, now=T2)
    assert hashed == ["b.csv"]
    assert sorted((f.file, f.status) for f in report.files) == [
        ("fx/a.csv", "unchanged"),
        ("fx/b.csv", "replaced"),
    ]
    assert table(con, "select currency, usd_per_unit from raw.fx_rates order by 1") == [
        ("EUR", 1.1),
        ("GBP", 1.4),
    ]


def test_a_redelivery_of_the_same_size_and_modification_time_is_read(
    tmp_path: Path, con, monkeypatch: pytest.MonkeyPatch
):
    """As `cp -p` or `rsync -t` deliver a corrected file: its change time gives it away."""
    monkeypatch.setattr(framework, "SETTLED_SECONDS", 0.0)
    landing = tmp_path / "landing"
    write_rates(landing, "a.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n")
    path = landing / "fx" / "a.csv"
    time.sleep(0.05)
    load_source(con, FX, landing, now=T1)
    first = path.stat()
    time.sleep(0.05)
    write_rates(landing, "a.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.2\n")
    os.utime(path, ns=(first.st_atime_ns, first.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (first.st_size, first.st_mtime_ns)
    report = load_source(con, FX, landing, now=T2)
    assert [(f.file, f.status) for f in report.files] == [("fx/a.csv", "replaced")]
    assert table(con, "select usd_per_unit from raw.fx_rates") == [(1.2,)]


def test_a_file_changed_just_before_its_hash_is_hashed_again_until_settled(
    tmp_path: Path, con, monkeypatch: pytest.MonkeyPatch
):
    """A file written within SETTLED_SECONDS of its hash could change again unseen in the same
    clock tick: its identity is not kept until a load finds it settled, and keeping it then
    changes nothing of what the raw data's fingerprint covers."""
    landing = tmp_path / "landing"
    write_rates(landing, "a.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n")
    load_source(con, FX, landing, now=T1)
    assert table(con, "select file_identity from raw._ingest_log") == [(None,)]
    hashed = hashes_counted(monkeypatch)
    load_source(con, FX, landing, now=T2)
    assert hashed == ["a.csv"]
    fingerprint = raw_state(con)
    monkeypatch.setattr(framework, "SETTLED_SECONDS", 0.0)  # as if seconds had passed
    load_source(con, FX, landing, now=T2)
    assert hashed == ["a.csv", "a.csv"]
    assert table(con, "select file_identity is not null from raw._ingest_log") == [(True,)]
    assert raw_state(con) == fingerprint
    load_source(con, FX, landing, now=T2)
    assert hashed == ["a.csv", "a.csv"]


def test_a_broken_file_fails_the_load_and_writes_nothing(tmp_path: Path, con):
    landing = tmp_path / "landing"
    write_rates(landing, "a.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n")
    load_source(con, FX, landing, now=T1)
    before = (table(con, "select * from raw.fx_rates"), table(con, "select * from raw._ingest_log"))

    write_rates(landing, "a.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,9.9\n")
    write_rates(landing, "b.csv", "date,currency,usd_per_unit\n2024-02-01,EUR,1.1,extra\n")
    with pytest.raises(SourceError) as failure:
        load_source(con, FX, landing, now=T2)
    assert str(failure.value) == (
        "fx: fx/b.csv, line 2: malformed CSV: Expected Number of Columns: 3 Found: 4"
    )
    after = (table(con, "select * from raw.fx_rates"), table(con, "select * from raw._ingest_log"))
    assert after == before
    assert (landing / "fx" / "b.csv").exists(), "raw input is never destroyed"


def test_a_failure_while_writing_rolls_the_whole_source_back(tmp_path: Path, con):
    landing = tmp_path / "landing"
    write_rates(landing, "a.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n")
    load_source(con, FX, landing, now=T1)
    before = table(con, "select * from raw.fx_rates")
    write_rates(landing, "a.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,2.2\n")
    write_rates(landing, "b.csv", "date,currency,usd_per_unit\n2024-01-01,GBP,1.3\n")

    # Fail when the files' log rows are written, after both files' new rows are written.
    with pytest.raises(RuntimeError, match="disk full"):
        load_source(FailingConnection(con, fail_on_log_write=1), FX, landing, now=T2)
    assert table(con, "select * from raw.fx_rates") == before
    assert table(con, "select file from raw._ingest_log") == [("fx/a.csv",)]

    # The next run completes: both files load as they are now.
    report = load_source(con, FX, landing, now=T2)
    assert sorted((f.file, f.status) for f in report.files) == [
        ("fx/a.csv", "replaced"),
        ("fx/b.csv", "loaded"),
    ]
    assert table(con, "select currency, usd_per_unit from raw.fx_rates order by currency") == [
        ("EUR", 2.2),
        ("GBP", 1.3),
    ]


def test_rows_of_a_file_that_left_the_landing_folder_go_with_it(tmp_path: Path, con):
    landing = tmp_path / "landing"
    write_rates(landing, "a.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n")
    write_rates(
        landing, "b.csv", "date,currency,usd_per_unit\n2024-01-01,GBP,x\n2024-02-01,GBP,1.3\n"
    )
    load_source(con, FX, landing, now=T1)
    (landing / "fx" / "b.csv").unlink()
    report = load_source(con, FX, landing, now=T2)
    assert sorted((f.file, f.status) for f in report.files) == [
        ("fx/a.csv", "unchanged"),
        ("fx/b.csv", "removed"),
    ]
    assert (report.rows_before, report.rows_after) == ({"fx_rates": 2}, {"fx_rates": 1})
    assert table(con, "select currency from raw.fx_rates") == [("EUR",)]
    assert table(con, "select file from raw._ingest_log") == [("fx/a.csv",)]
    assert table(con, "select count(*) from raw._quarantine") == [(0,)]


def test_when_every_file_of_a_source_is_gone_its_rows_are_kept(tmp_path: Path, con):
    landing = tmp_path / "landing"
    write_rates(landing, "a.csv", "date,currency,usd_per_unit\n2024-01-01,EUR,1.1\n")
    load_source(con, FX, landing, now=T1)
    report = load_source(con, FX, tmp_path / "another-landing", now=T2)
    assert [(f.file, f.status) for f in report.files] == [("fx/a.csv", "missing, rows kept")]
    assert table(con, "select currency from raw.fx_rates") == [("EUR",)]
    # The report and the warehouse say so: no file found, the earlier rows kept.
    assert report.files_in_landing == 0
    assert report.note == "no files found, 1 row from earlier loads kept"
    assert table(con, "select files_in_landing from raw._sources where source = 'fx'") == [(0,)]


def test_a_source_never_delivered_says_no_files_found(tmp_path: Path, con):
    report = load_source(con, FX, tmp_path / "empty-landing", now=T1)
    assert (report.files, report.note) == ([], "no files found")


def test_a_source_whose_every_record_is_quarantined_fails_and_writes_nothing(tmp_path: Path, con):
    landing = tmp_path / "landing"
    # Every rate is a unit mistake: not a few bad records but a bad input; quarantining all
    # of it would leave a source that silently delivered nothing.
    write_rates(
        landing, "a.csv", "date,currency,usd_per_unit\n2024-02-01,EUR,-1\n2024-03-01,EUR,0\n"
    )
    with pytest.raises(SourceError) as caught:
        load_source(con, FX, landing, now=T1)
    assert str(caught.value) == (
        "fx: fx/a.csv, line 2: every record of the source is quarantined (2 in 1 file(s)), "
        "e.g. usd_per_unit is not a positive number: -1"
    )
    assert table(con, "select count(*) from raw._quarantine") == [(0,)]
    assert table(con, "select count(*) from raw._ingest_log") == [(0,)]
    # With one good record beside them, the bad ones are quarantined and the rest loads.
    write_rates(
        landing, "a.csv", "date,currency,usd_per_unit\n2024-02-01,EUR,-1\n2024-03-01,EUR,1.2\n"
    )
    report = load_source(con, FX, landing, now=T1)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    # A later file that is all bad, beside the rows the source holds, is quarantined.
    write_rates(landing, "b.csv", "date,currency,usd_per_unit\n2024-04-01,GBP,x\n")
    report = load_source(con, FX, landing, now=T2)
    assert (report.rows_loaded, report.rows_quarantined) == (0, 1)


# Scratch copies: a zipped CSV, or one mixing CRLF and LF line ends, is read from an LF copy.


@pytest.fixture
def temp_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tempfile's folder for this test, so what a load leaves there can be listed."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def temporary_files(folder: Path) -> list[bytes]:
    return sorted(path.read_bytes() for path in folder.rglob("*") if path.is_file())


def watched(step: Callable, folder: Path, seen: list[list[bytes]]) -> Callable:
    """A source's `parse` or `extract` that notes the temporary files there are as it ends."""

    def run(*args):
        try:
            return step(*args)
        finally:
            seen.append(temporary_files(folder))

    return run


def bills(folder: Path, seen: list[list[bytes]]) -> Source:
    """A streamed source of CSV bills (`bills/*`: id, amount), its extract `watched`."""

    def extract(con: duckdb.DuckDBPyConnection, path: Path) -> Extract:
        rows = csv_rows(path, ["id", "amount"])
        return Extract(
            rows,
            {"bills": {"id": "id", "amount": "amount::double"}},
            checks=[castable("amount", "DOUBLE")],
        )

    table = RawTable("bills", {"id": "varchar", "amount": "double"}, "A bill's lines.")
    return Source(
        "bills", "test", "Bills.", ("bills/*",), (table,), extract=watched(extract, folder, seen)
    )


def write_zip(path: Path, member: str, data: bytes, method: int = zipfile.ZIP_DEFLATED) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", method) as archive:
        archive.writestr(member, data)


def test_zipped_and_mixed_line_end_bills_are_read_from_copies_that_go_with_each_file(
    tmp_path: Path, con, temp_folder: Path
):
    landing = tmp_path / "landing"
    write_zip(landing / "bills/2024-01.csv.zip", "2024-01.csv", b"id,amount\r\na,1.00\r\nb,2\n")
    write_zip(landing / "bills/2024-02.csv.zip", "2024-02.csv", b"id,amount\nc,x\nd,4.00\n")
    (landing / "bills/2024-03.csv").write_bytes(b"id,amount\r\ne,5.00\nf,6.00\r\n")
    seen: list[list[bytes]] = []
    report = load_source(con, bills(temp_folder, seen), landing, now=T1)
    # While a file loads, its LF copy is the one temporary file: the previous file's is gone.
    assert seen == [
        [b"id,amount\na,1.00\nb,2\n"],
        [b"id,amount\nc,x\nd,4.00\n"],
        [b"id,amount\ne,5.00\nf,6.00\n"],
    ]
    # The copies were what DuckDB read (it reads no zip), with the files' line numbers.
    assert table(con, "select _file, _record, id, amount from raw.bills order by all") == [
        ("bills/2024-01.csv.zip", "line 2", "a", 1.0),
        ("bills/2024-01.csv.zip", "line 3", "b", 2.0),
        ("bills/2024-02.csv.zip", "line 3", "d", 4.0),
        ("bills/2024-03.csv", "line 2", "e", 5.0),
        ("bills/2024-03.csv", "line 3", "f", 6.0),
    ]
    assert table(con, "select file, record, reason from raw._quarantine") == [
        ("bills/2024-02.csv.zip", "line 2", "amount is not a double: x")
    ]
    assert [(f.status, f.rows_loaded, f.rows_quarantined) for f in report.files] == [
        ("loaded", 2, 0),
        ("loaded", 1, 1),
        ("loaded", 2, 0),
    ]
    assert list(temp_folder.iterdir()) == []


def test_a_python_parser_reads_zipped_rates_from_copies_that_go_with_each_file(
    tmp_path: Path, con, temp_folder: Path
):
    landing = tmp_path / "landing"
    header = b"date,currency,usd_per_unit"
    write_zip(landing / "fx/2024-01.zip", "rates.csv", header + b"\r\n2024-01-01,EUR,1.1\n")
    write_zip(landing / "fx/2024-02.zip", "rates.csv", header + b"\n2024-02-01,EUR,1.2\n")
    (landing / "fx/2024-03.csv").write_bytes(header + b"\r\n2024-03-01,EUR,1.3\n")
    seen: list[list[bytes]] = []
    fx = dataclasses.replace(FX, parse=watched(FX.parse, temp_folder, seen))
    load_source(con, fx, landing, now=T1)
    assert seen == [
        [header + b"\n2024-01-01,EUR,1.1\n"],
        [header + b"\n2024-02-01,EUR,1.2\n"],
        [header + b"\n2024-03-01,EUR,1.3\n"],
    ]
    assert table(con, "select _file, _record, usd_per_unit from raw.fx_rates order by all") == [
        ("fx/2024-01.zip", "line 2", 1.1),
        ("fx/2024-02.zip", "line 2", 1.2),
        ("fx/2024-03.csv", "line 2", 1.3),
    ]
    assert list(temp_folder.iterdir()) == []


def damaged_zip(path: Path) -> str:
    """A zip whose one file fails its CRC past the header, as a cut or corrupted download."""
    data = b"id,amount\n" + b"".join(b"x%d,1.00\n" % n for n in range(2000))
    write_zip(path, "2024-02.csv", data, zipfile.ZIP_STORED)  # stored: the bytes as they are
    archive = path.read_bytes()
    path.write_bytes(archive.replace(b"x1999,1.00", b"x1999,9.00"))
    return "file: not a readable zip file: Bad CRC-32 for file '2024-02.csv'"


def broken_line(path: Path) -> str:
    write_zip(path, "2024-02.csv", b"id,amount\r\nc,3.00\r\nd,4.00,extra\n")
    return "line 3: malformed CSV: Expected Number of Columns: 2 Found: 3"


@pytest.mark.parametrize("broken", [broken_line, damaged_zip])
def test_a_file_that_fails_to_load_leaves_no_copy(
    tmp_path: Path, con, temp_folder: Path, broken: Callable[[Path], str]
):
    landing = tmp_path / "landing"
    write_zip(landing / "bills/2024-01.csv.zip", "2024-01.csv", b"id,amount\na,1.00\n")
    problem = broken(landing / "bills/2024-02.csv.zip")
    seen: list[list[bytes]] = []
    with pytest.raises(SourceError) as failure:
        load_source(con, bills(temp_folder, seen), landing, now=T1)
    assert str(failure.value) == f"bills: bills/2024-02.csv.zip, {problem}"
    # The failing file's copy was made (the first file's gone by then), and went with the load.
    assert [len(files) for files in seen] == [1, 1]
    assert list(temp_folder.iterdir()) == []
