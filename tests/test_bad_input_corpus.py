"""The bad-input corpus (tests/fixtures/bad/): each malformed input gets the outcome a person
expects, and no row loaded before it is lost."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
import yaml

from ingest.framework import RAW_SCHEMA, Source, SourceError, load_source
from ingest.quality import validate_table
from ingest.sources import SOURCES

pytestmark = pytest.mark.slow(15, reason="a baseline load per source and one per bad input")

CORPUS = Path(__file__).parent / "fixtures" / "bad"
CASES = yaml.safe_load((CORPUS / "cases.yaml").read_text(encoding="utf-8"))
SOURCE_OF_FOLDER = {
    "usage": "prometheus",
    "gcp": "gcp_billing",
    "aws": "aws_cur",
    "azure": "azure_costs",
    "support": "freshdesk",
}


def usage_file(case: Path) -> str:
    """`usage/<case>[__<series>].json[.gz]` lands in a folder of its own under a registry
    cluster (so no baseline file is replaced), as that series, gzipped or not; `unknown_cluster`
    under a cluster the registry does not list."""
    stem, ending = case.name.split(".", 1)
    name, _, series = stem.partition("__")
    cluster = "not-in-registry" if name == "unknown_cluster" else "2i2c-aws-us"
    return f"usage/{cluster}/{name}/{series or 'daily_active_users'}.{ending}"


# Where a corpus file lands, by corpus folder.
LANDED_AT = {
    "registry": lambda case: "registry/clusters.yaml",
    "fx": lambda case: f"fx/{case.name}",
    "usage": usage_file,
    "hubspot": lambda case: f"crm/deals/{case.name}",
    "invoices": lambda case: f"invoices/{case.name}",
    "surveys": lambda case: f"surveys/{case.name}",
    "support": lambda case: f"support/tickets/{case.name}",
    **{
        provider: (lambda case, provider=provider: f"cloud_costs/{provider}/{case.name}")
        for provider in ("gcp", "aws", "azure", "focus")
    },
}


@pytest.fixture(scope="module")
def loaded_baseline(
    small_landing: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[Source], Path]:
    """The small world's landing (every source, valid: the session's `generate(**SMALL_WORLD)`)
    loaded by a source into a database of its own, once per source: each case starts from a
    copy of that file, as it would from loading the same files into an empty database (the
    ingest log keys a file by its path in landing and its sha256, and a case's landing is a
    copy of these files with their times), without loading them again for each of its cases."""
    folder = tmp_path_factory.mktemp("baselines")
    loaded: dict[str, Path] = {}

    def database(source: Source) -> Path:
        if source.name not in loaded:
            path = folder / f"{source.name}.duckdb"
            with duckdb.connect(str(path)) as con:
                load_source(con, source, small_landing)
            loaded[source.name] = path
        return loaded[source.name]

    return database


def snapshot(con: duckdb.DuckDBPyConnection, tables: list[str]) -> dict[str, list[tuple]]:
    return {
        table: sorted(con.execute(f"select * from {RAW_SCHEMA}.{table}").fetchall(), key=repr)
        for table in tables
    }


def test_the_corpus_has_thirty_cases_and_every_file_an_expectation():
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*") if p.is_file()}
    assert files - {"cases.yaml"} == set(CASES)
    assert len(CASES) >= 30


@pytest.mark.parametrize("case_name", sorted(CASES))
def test_bad_input(
    case_name: str, small_landing: Path, loaded_baseline: Callable[[Source], Path], tmp_path: Path
):
    folder, _ = case_name.split("/", 1)
    case, expected = CORPUS / case_name, CASES[case_name]
    source = next(s for s in SOURCES if s.name == SOURCE_OF_FOLDER.get(folder, folder))
    landing = tmp_path / "landing"
    shutil.copytree(small_landing, landing)
    tables = [table.name for table in source.tables]
    shutil.copy(loaded_baseline(source), tmp_path / "w.duckdb")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        before = snapshot(con, [*tables, "_ingest_log", "_quarantine"])
        assert any(before[t] for t in tables), "the baseline loaded rows to lose"

        landed = LANDED_AT[folder](case)
        (landing / landed).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(case, landing / landed)

        if "error" in expected:
            with pytest.raises(SourceError) as failure:
                load_source(con, source, landing)
            assert expected["error"] in str(failure.value)
            assert snapshot(con, [*tables, "_ingest_log", "_quarantine"]) == before
        else:
            report = load_source(con, source, landing)
            quarantined = dict(
                con.execute(
                    f"select record, reason from {RAW_SCHEMA}._quarantine where file = ?",
                    [landed],
                ).fetchall()
            )
            assert quarantined == expected.get("quarantine", {})
            if "loaded" in expected:
                assert report.rows_loaded == expected["loaded"]
            if "skipped" in expected:
                assert [(f.file, f.reason) for f in report.skipped] == [
                    (landed, expected["skipped"])
                ]
            if "suite_fails" in expected:
                [table] = tables
                frame = con.execute(f"select * from {RAW_SCHEMA}.{table}").df()
                failed = [
                    f"{f.expectation}({f.column})" for f in validate_table(table, frame).failures
                ]
                assert failed == [expected["suite_fails"]]
            # Rows compared by repr, as a set: a large table (per-user usage) stays linear.
            after = {t: {repr(row) for row in rows} for t, rows in snapshot(con, tables).items()}
            kept = {t: [row for row in before[t] if repr(row) in after[t]] for t in tables}
            if folder != "registry":  # the registry file replaces the baseline's own
                assert kept == {t: before[t] for t in tables}, "no earlier row is lost"
        assert (landing / landed).read_bytes() == case.read_bytes(), "raw input untouched"
