"""Every file under a source's folder is accounted for: loaded, a manifest, ignored with why
(the files the project itself writes beside the data) or skipped with what to do, never
passed over in silence. Loads of the small demo world with files a person might drop in."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

import duckdb
import pytest

from ingest.framework import RAW_SCHEMA, SKIPPED, load_source, survey, unfinished, unread_reason
from ingest.hubspot import PULL_SCRATCH
from ingest.prometheus import ERRORS_FILE
from ingest.sources import SOURCES

BY_NAME = {source.name: source for source in SOURCES}
# The sources of the folders below (the cloud bills have their own tests).
CHECKED = ("registry", "fx", "prometheus", "hubspot", "invoices", "surveys", "freshdesk")


@pytest.fixture
def landing(small_landing: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "landing"
    shutil.copytree(small_landing, copy)
    return copy


def load(con: duckdb.DuckDBPyConnection, landing: Path) -> dict[str, dict[str, tuple]]:
    """Each checked source's files other than its data: file -> (status, rows, reason)."""
    reports = {name: load_source(con, BY_NAME[name], landing) for name in CHECKED}
    return {
        name: {
            f.file: (f.status, f.rows_loaded, f.reason)
            for f in report.files
            if f.status not in ("loaded", "unchanged")
        }
        for name, report in reports.items()
    }


def test_every_pattern_lies_in_a_folder_some_source_accounts_for():
    """A new source (or pattern) must say which folder it owns, or its stray files go
    unseen; registry/usage.yaml lies in the registry's folder, which the registry owns."""
    folders = [folder for source in SOURCES for folder in source.folders]
    outside = [
        pattern
        for source in SOURCES
        for pattern in source.patterns
        if not any(pattern.startswith(f"{folder}/") for folder in folders)
    ]
    assert outside == []


def test_the_demo_landing_has_no_file_a_source_does_not_read(small_landing: Path):
    """`make demo`'s build lists no skipped file: the demo writes only what is read (and
    registry/usage.yaml, which the registry's folder ignores as the usage settings')."""
    unread = {
        (source.name, path.relative_to(small_landing).as_posix(), status)
        for source in SOURCES
        for path, (status, _) in survey(source, small_landing).others.items()
    }
    assert unread == {("registry", "registry/usage.yaml", "ignored")}


def test_files_no_source_reads_are_skipped_saying_what_to_do_and_load_nothing(
    landing: Path, tmp_path: Path
):
    """Files a person might save into the landing folder: an invoice's PDF, HubSpot's zip of
    a large export, an upper-case extension (Path.glob is case-sensitive on Linux), a zipped
    Prometheus answer (Windows' "Send to compressed folder"), a browser's `.txt` suffix on a
    saved API page, notes. Each holds real data of its folder where it can, so a read would
    show as rows."""
    invoices = sorted((landing / "invoices").glob("*.csv"))[0]
    shutil.copy(invoices, landing / "invoices/JAN.CSV")
    (landing / "invoices/INV-0042.pdf").write_bytes(b"%PDF-1.7\n")  # the invoice itself
    (landing / "invoices/questions.yaml").write_text("questions: {}\n", encoding="utf-8")
    # HubSpot zips an export of over a million rows, several files in one archive.
    (landing / "crm/deals/hubspot-crm-exports-all-deals.zip").write_bytes(b"PK\x03\x04")
    usage = landing / "usage/2i2c-aws-us"
    with zipfile.ZipFile(usage / "running_servers.json.zip", "w") as archive:
        archive.write(usage / "running_servers.json", "running_servers.json")
    tickets = sorted((landing / "support/tickets").glob("*.json"))[0]
    shutil.copy(tickets, landing / "support/tickets/page1.json.txt")
    (landing / "surveys/README.md").write_text("Q3 survey: closed 30 Sep\n", encoding="utf-8")
    shutil.copy(landing / "surveys/questions.yaml", landing / "surveys/questions.yml")
    (landing / "fx/ECB.ZIP").write_bytes(b"PK\x03\x04")
    (landing / "registry/notes.md").write_text("clusters moved in May\n", encoding="utf-8")

    expected_invoices = "not a file invoices reads (expected invoices/*.{csv,xlsx,xls,json})"
    surveys = (
        "not a file surveys reads "
        "(expected surveys/*.{csv,zip,xlsx,xls,json}, surveys/questions.yaml)"
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        found = load(con, landing)
        assert found == {
            "registry": {
                "registry/notes.md": (
                    SKIPPED,
                    0,
                    "not a file registry reads (expected registry/clusters.yaml)",
                ),
                "registry/usage.yaml": (
                    "ignored",
                    0,
                    "the usage settings, read by the usage_settings source",
                ),
            },
            "fx": {
                "fx/ECB.ZIP": (
                    SKIPPED,
                    0,
                    "not a file fx reads (expected fx/*.{csv,zip,xlsx,xls}): .ZIP is not .zip "
                    "(names are case-sensitive); rename it to ECB.zip",
                )
            },
            "prometheus": {
                "usage/2i2c-aws-us/running_servers.json.zip": (
                    SKIPPED,
                    0,
                    "not a file prometheus reads (expected usage/*/*.{json,json.gz}, "
                    "usage/*/*/*.{json,json.gz})",
                )
            },
            "hubspot": {
                "crm/deals/hubspot-crm-exports-all-deals.zip": (
                    SKIPPED,
                    0,
                    "not a file hubspot reads (expected crm/deals/*.{json,csv,xlsx,xls}, "
                    "crm/pipelines.json)",
                )
            },
            "invoices": {
                "invoices/INV-0042.pdf": (SKIPPED, 0, expected_invoices),
                "invoices/JAN.CSV": (
                    SKIPPED,
                    0,
                    f"{expected_invoices}: .CSV is not .csv (names are case-sensitive); "
                    "rename it to JAN.csv",
                ),
                "invoices/questions.yaml": (SKIPPED, 0, expected_invoices),
            },
            "surveys": {
                "surveys/README.md": (SKIPPED, 0, surveys),
                "surveys/questions.yml": (SKIPPED, 0, surveys),
            },
            "freshdesk": {
                "support/tickets/page1.json.txt": (
                    SKIPPED,
                    0,
                    "not a file freshdesk reads (expected support/tickets/*.json, "
                    "support/satisfaction_ratings/*.json)",
                )
            },
        }
        skipped = [
            file for files in found.values() for file, (s, *_) in files.items() if s == SKIPPED
        ]
        for name in CHECKED:
            for table in BY_NAME[name].tables:
                assert con.execute(
                    f"select count(*) from {RAW_SCHEMA}.{table.name} where _file in "
                    "(select unnest(?))",
                    [skipped],
                ).fetchall() == [(0,)], table.name
        # Nothing new: a second load finds the same files and writes nothing, not even the log.
        log = con.execute(f"select * from {RAW_SCHEMA}._ingest_log order by all").fetchall()
        assert load(con, landing) == found
        assert con.execute(f"select * from {RAW_SCHEMA}._ingest_log order by all").fetchall() == log


def test_files_the_project_writes_beside_the_data_are_ignored_with_why(
    landing: Path, tmp_path: Path
):
    """The Grafana pull's errors.txt (as it writes it), and what a pull killed mid-write
    leaves: a Sheets or Freshdesk file under its unfinished name, HubSpot's scratch folder."""
    (landing / ERRORS_FILE).write_text("c2: no Prometheus datasource named 'c2'\n")
    sheet = unfinished(landing / "invoices/finance-sheet.json")
    sheet.write_text('{"range": "Invoices!A1:L')
    form = unfinished(landing / "surveys/form-responses.json")
    form.write_text('{"range": "Form Responses 1')
    tickets = unfinished(landing / "support/tickets/updated-since-2026-10-01.json")
    tickets.write_text('[{"id": 1')
    scratch = Path(tempfile.mkdtemp(prefix=PULL_SCRATCH, dir=landing / "crm"))
    (scratch / "page-0001.json").write_text('{"results": [')

    interrupted = (
        "an unfinished file of a live pull that was interrupted; the next pull replaces it"
    )
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert load(con, landing) == {
            "registry": {
                "registry/usage.yaml": (
                    "ignored",
                    0,
                    "the usage settings, read by the usage_settings source",
                )
            },
            "fx": {},
            "prometheus": {
                "usage/errors.txt": (
                    "ignored",
                    0,
                    "the Grafana pull's list of clusters it could not pull (no samples)",
                )
            },
            "hubspot": {
                f"crm/{scratch.name}/page-0001.json": (
                    "ignored",
                    0,
                    "pages of a HubSpot pull that was interrupted (never read; delete the folder)",
                )
            },
            "invoices": {"invoices/.finance-sheet.json.partial": ("ignored", 0, interrupted)},
            "surveys": {"surveys/.form-responses.json.partial": ("ignored", 0, interrupted)},
            "freshdesk": {
                "support/tickets/.updated-since-2026-10-01.json.partial": (
                    "ignored",
                    0,
                    interrupted,
                )
            },
        }


def test_a_skip_reason_names_the_places_relative_to_landing():
    """The kinds of one folder together; a name differing only in its extension's case gets
    the name to give it, at any depth under a `**`; a differing stem gets no such advice."""
    aws, prometheus = BY_NAME["aws_cur"], BY_NAME["prometheus"]
    assert unread_reason(aws, Path("cloud_costs/aws/a/b/part-1.CSV.GZ")) == (
        "not a file aws_cur reads (expected cloud_costs/aws/**/*.{parquet,csv,csv.gz,csv.zip}): "
        ".CSV.GZ is not .csv.gz (names are case-sensitive); rename it to part-1.csv.gz"
    )
    assert unread_reason(prometheus, Path("usage/c1/2024-02/Running.Servers.JSON")) == (
        "not a file prometheus reads (expected usage/*/*.{json,json.gz}, "
        "usage/*/*/*.{json,json.gz}): .JSON is not .json (names are case-sensitive); rename it "
        "to Running.Servers.json"
    )
    hubspot = BY_NAME["hubspot"]
    assert unread_reason(hubspot, Path("crm/Pipelines.JSON")) == (
        "not a file hubspot reads (expected crm/deals/*.{json,csv,xlsx,xls}, crm/pipelines.json)"
    )
    # Too deep for usage/*/*/*.json: no renaming makes it read.
    assert unread_reason(prometheus, Path("usage/c1/2024/02/running_servers.JSON")) == (
        "not a file prometheus reads (expected usage/*/*.{json,json.gz}, "
        "usage/*/*/*.{json,json.gz})"
    )
