"""Gzipped JSON bills (GCP's `.jsonl.gz` export shards, FOCUS `.json.gz` from `bq extract`)
are checked whole before any row loads: DuckDB's own gzip reader checks neither the CRC nor
the length in a gzip trailer, so a flipped bit that still inflates would load wrong numbers
without a word. A damaged or cut file fails naming it ("not a readable gzip file: ...", as
every gzip the project reads says it) and loads nothing; a file of several gzip members
(`cat a.gz b.gz`; legal, RFC 1952 section 2.2) loads every member's lines, numbered on.

A "silent" flip is made in a stored deflate block (`compresslevel=0`), where the text is
written as is: one bit turns a digit into another, and the stream still inflates."""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest

from ingest.cloud_costs.focus import SOURCE as FOCUS
from ingest.cloud_costs.gcp import SOURCE as GCP
from ingest.framework import RAW_SCHEMA, SourceError, load_source
from tests.conftest import damaged_gzip

from .conftest import FIXTURES

GCP_LINES = (FIXTURES / "gcp" / "standard.jsonl").read_text().splitlines()
FOCUS_LINES = (FIXTURES / "focus" / "json" / "gcp-focus-view.jsonl").read_text().splitlines()

# Per bill: its source, where it lands, its lines, its cost column in the raw table, and what
# comes before the first digit of its first line's cost, with the bit turning it into another.
BILLS = {
    "gcp": (
        GCP,
        "cloud_costs/gcp/01A2B3-C4D5E6-F7A8B9/202403-000000000000.jsonl.gz",
        GCP_LINES,
        "cost",
        (b'"cost":', 0x08),  # '1' (0x31) -> '9' (0x39): 10.0 -> 90.0
    ),
    "focus": (
        FOCUS,
        "cloud_costs/focus/gcp-focus/202503/focus-000000000000.json.gz",
        FOCUS_LINES,
        "billed_cost",
        (b'"BilledCost":"', 0x01),  # '6' (0x36) -> '7' (0x37): 6.00 -> 7.00
    ),
}


def text(lines: list[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode()


def damaged(lines: list[str], how: str, digit: tuple[bytes, int]) -> bytes:
    """The lines gzipped, then damaged (`damaged_gzip`), or a digit's bit flipped in a
    stored block (`digit`), which still inflates."""
    if how == "digit":
        before, bit = digit
        data = bytearray(gzip.compress(text(lines), compresslevel=0, mtime=0))
        data[data.index(before) + len(before)] ^= bit
        return bytes(data)
    return damaged_gzip(gzip.compress(text(lines), mtime=0), how)


@pytest.mark.parametrize("bill", sorted(BILLS))
@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("crc", "CRC check failed 0x"),
        ("length", "Incorrect length of data produced"),
        # Without the check DuckDB loads it: 90.0 for GCP's 10.0, 7.00 for FOCUS's 6.00.
        ("digit", "CRC check failed 0x"),
        ("cut", "Compressed file ended before the end-of-stream marker was reached"),
        ("empty", "0 bytes, not even a gzip header"),
    ],
)
def test_a_damaged_gzip_bill_fails_naming_the_file_and_loads_nothing(
    tmp_path: Path, bill: str, how: str, problem: str
):
    """The bill's lines twenty times over (80-90 kB): a look at a file's first bytes through
    Python's gzip (is it one JSON array?) inflates a file of a few kB whole, trailer and all,
    which would check it by chance; past that, only a check of the whole stream sees it."""
    source, name, lines, _, digit = BILLS[bill]
    landing = tmp_path / "landing"
    (landing / name).parent.mkdir(parents=True)
    (landing / name).write_bytes(damaged(lines * 20, how, digit))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        with pytest.raises(SourceError) as failure:
            load_source(con, source, landing)
        table = source.tables[0].name
        assert con.execute(
            f"select (select count(*) from {RAW_SCHEMA}.{table}), "
            f"(select count(*) from {RAW_SCHEMA}._ingest_log)"
        ).fetchall() == [(0, 0)]
    assert str(failure.value).startswith(
        f"{source.name}: {name}, file: not a readable gzip file: {problem}"
    )


def test_duckdb_alone_loads_a_gzip_bill_with_a_flipped_digit_without_a_word(tmp_path: Path):
    """Why bills are decompressed by Python first. When DuckDB refuses this file, its gzip
    reader checks CRCs, and `tabular.plain` may let it read gzip files again."""
    path = tmp_path / "202403-000000000000.jsonl.gz"
    path.write_bytes(damaged(GCP_LINES, "digit", BILLS["gcp"][4]))
    with duckdb.connect() as con:
        [(cost,)] = con.execute(
            "select json->>'$.cost' from read_json_objects(?, format = 'newline_delimited') "
            "limit 1",
            [str(path)],
        ).fetchall()
    assert cost == "90.0"


@pytest.mark.parametrize(
    ("bill", "first_member", "loaded", "total", "quarantined"),
    [
        # Lines 1-3, then 4-7: lines 1-4 and 7 load, 10 + 4 - 1 + 0.5 + 3 = 16.5; line 5
        # (cost 'abc') and line 6 (crossing months) are quarantined as the second member's.
        ("gcp", 3, 5, 16.5, ["line 5", "line 6"]),
        # Line 1, then lines 2-3: billed 6.00 + 1.25 - 0.50 = 6.75.
        ("focus", 1, 3, 6.75, []),
    ],
)
def test_a_gzip_bill_of_two_members_loads_both_its_lines_numbered_on(
    tmp_path: Path,
    bill: str,
    first_member: int,
    loaded: int,
    total: float,
    quarantined: list[str],
):
    source, name, lines, cost, _ = BILLS[bill]
    landing = tmp_path / "landing"
    (landing / name).parent.mkdir(parents=True)
    (landing / name).write_bytes(
        gzip.compress(text(lines[:first_member]), mtime=0)
        + gzip.compress(text(lines[first_member:]), mtime=0)
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        report = load_source(con, source, landing)
        table = source.tables[0].name
        [(rows, summed)] = con.execute(
            f"select count(*), sum({cost}) from {RAW_SCHEMA}.{table}"
        ).fetchall()
        records = [
            record
            for (record,) in con.execute(
                f"select record from {RAW_SCHEMA}._quarantine order by record"
            ).fetchall()
        ]
    assert [(f.file, f.status) for f in report.files] == [(name, "loaded")]
    assert rows == loaded
    assert summed == pytest.approx(total, abs=1e-9)
    assert records == quarantined


@pytest.mark.parametrize("lines", [None, 3], ids=["whole", "header-and-2-rows"])
@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("crc", "CRC check failed 0x"),
        # Bytes after the last member that are neither a member nor zero padding (above).
        ("junk", "Not a gzipped file (b'ju')"),
    ],
)
def test_a_gzipped_csv_bill_is_checked_whole_too(
    tmp_path: Path, how: str, problem: str, lines: int | None
):
    """A CSV is read whole through Python's gzip before DuckDB reads it (`tabular.csv_rows`),
    which checks the CRC and what follows the last member: the FOCUS sample (144 kB, far past
    any look at its header) with its CRC changed, or junk after it, fails as a JSON bill
    does. So does its header with two rows (2.3 kB), whose look at the header inflates it
    whole, trailer and junk too: the gzip file's fault, not its line 1's."""
    name = "cloud_costs/focus/aws/focus-2024-09.csv.gz"
    sample = (FIXTURES / "focus" / "focus-1.0-sample-subset.csv").read_bytes()
    if lines is not None:
        sample = b"".join(sample.splitlines(keepends=True)[:lines])
    data = bytearray(gzip.compress(sample, mtime=0))
    if how == "crc":
        data[-8] ^= 0x01
    else:
        data += b"junk"
    landing = tmp_path / "landing"
    (landing / name).parent.mkdir(parents=True)
    (landing / name).write_bytes(bytes(data))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        with pytest.raises(SourceError) as failure:
            load_source(con, FOCUS, landing)
        assert con.execute(f"select count(*) from {RAW_SCHEMA}.focus_costs").fetchall() == [(0,)]
    assert str(failure.value).startswith(
        f"focus: {name}, file: not a readable gzip file: {problem}"
    )


def test_a_gzipped_csv_bill_padded_with_zero_bytes_loads_as_the_unpadded_one(tmp_path: Path):
    """`dd` and some tape and object-store tools pad a file to its block with zero bytes after
    the last gzip member: gzip reads it ("trailing zero bytes ignored"), DuckDB's gzip reader
    refused it ("Input is not a GZIP stream"). GCP's flat CSV padded to 4 kB loads as
    test_gcp_billing reads it unpadded: lines 2-3, cost 2.00 + 1.00, credits -0.40; lines 4
    (credit 'lots') and 5 (cost type 'refund') quarantined."""
    name = "cloud_costs/gcp/01A2B3-C4D5E6-F7A8B9/202404-000000000000.csv.gz"
    data = gzip.compress((FIXTURES / "gcp" / "flat.csv").read_bytes(), mtime=0)
    landing = tmp_path / "landing"
    (landing / name).parent.mkdir(parents=True)
    (landing / name).write_bytes(data + bytes(4096 - len(data)))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        load_source(con, GCP, landing)
        assert con.execute(
            f"select count(*), sum(cost), sum(credits_amount) from {RAW_SCHEMA}.gcp_billing_export"
        ).fetchall() == [(2, 3.0, pytest.approx(-0.4))]
        assert con.execute(
            f"select record from {RAW_SCHEMA}._quarantine order by record"
        ).fetchall() == [("line 4",), ("line 5",)]
