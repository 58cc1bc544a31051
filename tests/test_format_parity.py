"""The same data delivered in another real format gives the same marts.

The small world's landing is copied with every source that reads another format delivering
the same records in it (tests/other_formats.py: invoices as workbooks and the live pull's
values.get, fx as workbooks, surveys as the form's zip and the sheet's XLSX, usage gzipped,
GCP re-compressed and its Parquet as BigQuery's JSON lines, FOCUS as typed Parquet and
gzipped, Azure's run uncompressed, legacy CUR zipped), built by the CLI for the same day, and
compared with the session's build of the original: every mart row for row, every source's
files and records. Unit tests read each format alone; this catches what only a whole build
sees, as when a UI deal export parsed fine and then failed the raw quality suite.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.conftest import SMALL_WORLD, BuiltWarehouse, build_cli
from tests.other_formats import convert_landing

pytestmark = pytest.mark.slow(35, reason="a CLI build of the small world in the other formats")

# The columns that may differ: they say when a build ran or what bytes it read, not what the
# data is.
NOT_COMPARED = {
    # each build's load time, and the landed files' size (a gzipped or workbook copy of the
    # same records has other bytes)
    "fct_source_loads": ("last_loaded_at", "landing_bytes"),
    # when and by which run each build published the month's snapshot
    "metric_snapshots": ("published_at", "superseded_at", "run_id"),
}


@pytest.fixture(scope="module")
def converted(
    tmp_path_factory: pytest.TempPathFactory,
    built_warehouse: BuiltWarehouse,
    cli_env: dict[str, str],
) -> tuple[Path, Path]:
    """The converted landing and its warehouse, built as the original was."""
    work = tmp_path_factory.mktemp("other-formats")
    landing, warehouse = work / "landing", work / "warehouse.duckdb"
    convert_landing(built_warehouse.landing, landing)
    result = build_cli(landing, warehouse, cli_env, as_of=SMALL_WORLD["as_of"])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return landing, warehouse


@pytest.fixture
def both(built_warehouse: BuiltWarehouse, converted: tuple[Path, Path]):
    with duckdb.connect() as con:
        con.execute(f"attach '{built_warehouse.warehouse}' as original (read_only)")
        con.execute(f"attach '{converted[1]}' as converted (read_only)")
        yield con


def test_every_source_with_another_format_delivers_in_it(converted: tuple[Path, Path]):
    """The conversion did its work: no file is left in a format it converts from, and each
    other format is there (a change to the demo cannot make it a copy unnoticed)."""
    landing, _ = converted

    def endings(folder: str) -> set[str]:
        return {
            "".join(path.suffixes)
            for path in (landing / folder).rglob("*")
            if path.is_file() and not path.name.endswith(("Manifest.json", "manifest.json"))
        }

    assert endings("invoices") == {".json", ".xlsx"}
    assert endings("fx") == {".xlsx"}
    assert endings("surveys") == {".yaml", ".csv.zip", ".xlsx"}
    assert endings("usage") == {".json.gz"}
    assert endings("cloud_costs/gcp") == {".jsonl", ".jsonl.gz"}
    assert endings("cloud_costs/focus") == {".parquet", ".csv.gz"}
    assert endings("cloud_costs/azure") == {".csv"}
    assert endings("cloud_costs/aws") == {".csv.zip", ".snappy.parquet"}


def test_every_mart_is_the_same_row_for_row(both: duckdb.DuckDBPyConnection):
    """Exactly equal: doubles to the bit, money as the DECIMAL the marts hold."""
    marts = both.execute(
        "select table_name, list(column_name order by ordinal_position) "
        "from information_schema.columns "
        "where table_catalog = 'original' and table_schema = 'marts' group by all order by all"
    ).fetchall()
    assert len(marts) > 25
    differing = {}
    for table, columns in marts:
        skipped = NOT_COMPARED.get(table, ())
        assert set(skipped) <= set(columns), table
        select = ", ".join(f'"{c}"' for c in columns if c not in skipped)
        here, there = f"original.marts.{table}", f"converted.marts.{table}"
        only = {
            side: both.execute(
                f"select {select} from {a} except all select {select} from {b} limit 3"
            ).fetchall()
            for side, a, b in (("original", here, there), ("converted", there, here))
        }
        if any(only.values()):
            differing[table] = only
    assert not differing, "\n".join(
        f"{table}: only in the original {only['original']}, in the converted {only['converted']}"
        for table, only in differing.items()
    )


def test_every_source_reads_the_same_files_and_records(both: duckdb.DuckDBPyConnection):
    """Per source: files by status (one converted file for one original), records loaded and
    quarantined."""
    query = (
        "select source, status, count(*), sum(rows_loaded), sum(rows_quarantined) "
        "from {}.raw._ingest_log group by all order by all"
    )
    original = both.execute(query.format("original")).fetchall()
    assert both.execute(query.format("converted")).fetchall() == original
    assert {row[0] for row in original} >= {"invoices", "fx", "surveys", "prometheus", "focus"}
