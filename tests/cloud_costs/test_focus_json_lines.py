"""FOCUS as newline-delimited JSON: Google's FOCUS view (or its native FOCUS export table) has
repeated and nested columns (Tags, x_Project), which `bq extract` cannot write to CSV, so it
leaves BigQuery as Parquet or as JSON lines, gzip-compressed and sharded
(`focus-000000000000.json.gz`, `-000000000001`, ...), or as one JSON array from `bq query
--format=json`. The JSON rows read as the Parquet export of the same view does
(test_focus_typed_parquet.py): the same totals, Tags the same object, the project's id.

`focus/json/gcp-focus-view.jsonl` is `focus/parquet/gcp-focus-view.sql`'s rows as BigQuery's
JSON export writes them. Google's "Export table data to Cloud Storage" (docs.cloud.google.com/
bigquery/docs/exporting-data, "Export limitations"): nested and repeated data cannot be
exported to CSV but can to JSON, and INT64 is written as a JSON string to keep its 64 bits.
TIMESTAMP is written 'YYYY-MM-DD HH:MM:SS UTC' (bxparks/bigquery-schema-generator issue 19;
sonots' notes on the JSON export, qiita.com/sonots/items/fcdaa62145740b57ddd5, which also have
FLOAT as a JSON number). The fixture writes NUMERIC as a string ("6.000000000"); the docs found
do not say, so a JSON number is read too, as its text. A repeated STRUCT is an array of
objects; a NULL field is left out of its object."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import duckdb
import pytest

from ingest.cloud_costs.focus import SOURCE as FOCUS
from ingest.framework import SourceError, load_source

from .conftest import FIXTURES

VIEW_LINES = (FIXTURES / "focus" / "json" / "gcp-focus-view.jsonl").read_text().splitlines()
SHARDS = "cloud_costs/focus/gcp-focus/202503"
# Tags as the Parquet export of the same rows gives them (test_focus_typed_parquet.py): the
# resource's own `team` label, not the one it inherits from its project.
TAGS = ['{"k8s-namespace":"hub-e","team":"research"}', "{}", '{"team":"infra"}']


def land_shards(landing: Path, *shards: list[str]) -> list[str]:
    """Each shard's lines gzip-compressed where `bq extract` with a wildcard URI puts them."""
    names = []
    for number, lines in enumerate(shards):
        name = f"{SHARDS}/focus-{number:012d}.json.gz"
        target = landing / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(gzip.compress("".join(f"{line}\n" for line in lines).encode()))
        names.append(name)
    return names


def test_google_view_json_lines_in_gzip_shards_load_like_its_parquet(tmp_path: Path):
    # A fourth row, the storage row again with a cost that is not a number, is quarantined
    # with the reason a CSV or Parquet row gets.
    not_a_number = json.dumps({**json.loads(VIEW_LINES[1]), "BilledCost": "1.25 USD"})
    landing = tmp_path / "landing"
    first, second = land_shards(landing, VIEW_LINES[:2], [VIEW_LINES[2], not_a_number])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        report = load_source(con, FOCUS, landing)
        loaded = con.execute(
            "select _file, _record, tags, x_project_id, sub_account_id from raw.focus_costs "
            "order by _file, _record"
        ).fetchall()
        [(billed, effective)] = con.execute(
            "select sum(billed_cost), sum(effective_cost) from raw.focus_costs"
        ).fetchall()
        quarantined = con.execute("select file, record, reason from raw._quarantine").fetchall()
    assert [(f.file, f.status, f.rows_loaded, f.rows_quarantined) for f in report.files] == [
        (first, "loaded", 2, 0),
        (second, "loaded", 1, 1),
    ]
    assert [(file, record) for file, record, *_ in loaded] == [
        (first, "line 1"),
        (first, "line 2"),
        (second, "line 1"),
    ]
    # By hand: billed 6.00 + 1.25 - 0.50, effective the same (gcp-focus-view.sql).
    assert billed == pytest.approx(6.75, abs=1e-9)
    assert effective == pytest.approx(6.75, abs=1e-9)
    assert [tags for _, _, tags, _, _ in loaded] == TAGS
    assert {(project, account) for *_, project, account in loaded} == {
        ("hubs-project", "01ABCD-234567-89EFGH")
    }
    assert quarantined == [(second, "line 2", "BilledCost is not a finite number: 1.25 USD")]


def test_a_json_array_from_bq_query_reads_as_its_elements(tmp_path: Path):
    # Its costs written as JSON numbers rather than strings: they read the same.
    rows = [json.loads(line) for line in VIEW_LINES]
    for row in rows:
        row["BilledCost"] = float(row["BilledCost"])
    landing = tmp_path / "landing"
    results = landing / "cloud_costs" / "focus" / "gcp-focus" / "results.json"
    results.parent.mkdir(parents=True)
    results.write_text(json.dumps(rows, indent=2))
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        load_source(con, FOCUS, landing)
        loaded = con.execute(
            "select _record, billed_cost, tags from raw.focus_costs order by _record"
        ).fetchall()
    assert loaded == [
        ("element 1", 6.0, TAGS[0]),
        ("element 2", 1.25, TAGS[1]),
        ("element 3", -0.5, TAGS[2]),
    ]


def test_a_malformed_json_line_fails_the_load_naming_its_file_and_line(tmp_path: Path):
    landing = tmp_path / "landing"
    _, broken = land_shards(landing, VIEW_LINES[:2], [VIEW_LINES[2], VIEW_LINES[0][:-40]])
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        with pytest.raises(SourceError) as failure:
            load_source(con, FOCUS, landing)
        assert con.execute("select count(*) from raw.focus_costs").fetchall() == [(0,)]
    assert f"focus: {broken}, line 2: not valid JSON" in str(failure.value)
