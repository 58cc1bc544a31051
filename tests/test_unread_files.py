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

from ingest.framework import (
    IGNORED,
    LANDING,
    RAW_SCHEMA,
    SKIPPED,
    load_source,
    log_unowned,
    misplaced_reason,
    survey,
    unfinished,
    unowned,
    unread_reason,
)
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
    assert unowned(small_landing, SOURCES) == {}


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
    # HubSpot's export as a zip (read), copied from a share that upper-cases extensions.
    (landing / "crm/deals/hubspot-crm-exports-all-deals.ZIP").write_bytes(b"PK\x03\x04")
    usage = landing / "usage/2i2c-aws-us"
    with zipfile.ZipFile(usage / "running_servers.json.zip", "w") as archive:
        archive.write(usage / "running_servers.json", "running_servers.json")
    tickets = sorted((landing / "support/tickets").glob("*.json"))[0]
    shutil.copy(tickets, landing / "support/tickets/page1.json.txt")
    (landing / "surveys/README.md").write_text("Q3 survey: closed 30 Sep\n", encoding="utf-8")
    shutil.copy(landing / "surveys/questions.yaml", landing / "surveys/questions.yml")
    (landing / "fx/ECB.ZIP").write_bytes(b"PK\x03\x04")
    (landing / "registry/notes.md").write_text("clusters moved in May\n", encoding="utf-8")

    expected_invoices = "not a file invoices reads (expected invoices/*.{csv,xlsx,xls,json,txt})"
    surveys = (
        "not a file surveys reads "
        "(expected surveys/*.{csv,zip,xlsx,xls,json,txt}, surveys/questions.yaml)"
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
                    "not a file fx reads (expected fx/*.{csv,zip,xlsx,xls,txt}): .ZIP is not .zip "
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
                "crm/deals/hubspot-crm-exports-all-deals.ZIP": (
                    SKIPPED,
                    0,
                    "not a file hubspot reads (expected crm/deals/*.{json,csv,xlsx,xls,zip}, "
                    "crm/pipelines.json): .ZIP is not .zip (names are case-sensitive); rename "
                    "it to hubspot-crm-exports-all-deals.zip",
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
                    "support/satisfaction_ratings/*.json, support/*/tickets/*.json, "
                    "support/*/satisfaction_ratings/*.json)",
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
        # Nothing new: a second load finds the same files and writes nothing, not even the log
        # (but the identity of a file that has settled since, which spares hashing it again).
        logged = (
            f"select * exclude (file_identity, file_sha256) from {RAW_SCHEMA}._ingest_log "
            "order by all"
        )
        log = con.execute(logged).fetchall()
        assert load(con, landing) == found
        assert con.execute(logged).fetchall() == log


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
        "not a file hubspot reads (expected crm/deals/*.{json,csv,xlsx,xls,zip}, "
        "crm/pipelines.json)"
    )
    # Too deep for usage/*/*/*.json: no renaming makes it read.
    assert unread_reason(prometheus, Path("usage/c1/2024/02/running_servers.JSON")) == (
        "not a file prometheus reads (expected usage/*/*.{json,json.gz}, "
        "usage/*/*/*.{json,json.gz})"
    )


# Where a file outside every source's folder is said to go: by its folder when that is a
# source's folder misspelt, else by its name.
PLACES_OF_CSV = (
    "fx/, crm/deals/, invoices/, cloud_costs/gcp/, cloud_costs/aws/, cloud_costs/azure/, "
    "cloud_costs/focus/, surveys/"
)
MISPLACED = {
    # A folder differing only in case: the folder it is, and the path.
    "Invoices/jan.csv": (
        "Invoices/ is not invoices/ (names are case-sensitive); move it to invoices/jan.csv"
    ),
    "Cloud_Costs/AWS/cur.csv": (
        "Cloud_Costs/AWS/ is not cloud_costs/aws/ (names are case-sensitive); move it to "
        "cloud_costs/aws/cur.csv"
    ),
    # A near miss, at the first folder or below a right one; a provider's folder at the root.
    "invoice/feb.csv": "no source reads invoice/; move it to invoices/feb.csv",
    "costs/aws/cur2/data/part-1.parquet": (
        "no source reads costs/; move it to cloud_costs/aws/cur2/data/part-1.parquet"
    ),
    "aws/cur2/part-1.parquet": (
        "no source reads aws/; move it to cloud_costs/aws/cur2/part-1.parquet"
    ),
    # No folder near: where its kind goes, among the folders under the right part.
    "cloud_costs/oracle/bill.csv": (
        "no source reads cloud_costs/oracle/; move it into the folder of its source: "
        "cloud_costs/gcp/, cloud_costs/aws/, cloud_costs/azure/, cloud_costs/focus/"
    ),
    "archive/invoices-2023.csv": "no source reads archive/; move it into invoices/",
    # At the root: the file a pattern names, the one folder its words match, the folders
    # reading its kind, or every source's folder.
    "clusters.yaml": "no source reads files at the landing root; move it to registry/clusters.yaml",
    "invoices-2025.csv": "no source reads files at the landing root; move it into invoices/",
    "hubspot-deals.csv": "no source reads files at the landing root; move it into crm/deals/",
    "costs.csv": (
        "no source reads files at the landing root; move it into the folder of its source: "
        + PLACES_OF_CSV
    ),
    "notes.pdf": (
        "no source reads files at the landing root; move it into the folder of its source: "
        "registry/, fx/, usage/, crm/, invoices/, cloud_costs/gcp/, cloud_costs/aws/, "
        "cloud_costs/azure/, cloud_costs/focus/, surveys/, support/"
    ),
    "cloud_costs/bill.csv": (
        "no source reads files in cloud_costs/ itself; move it into the folder of its source: "
        "cloud_costs/gcp/, cloud_costs/aws/, cloud_costs/azure/, cloud_costs/focus/"
    ),
}


@pytest.mark.parametrize("relative", sorted(MISPLACED))
def test_a_file_outside_every_source_folder_is_told_where_it_goes(relative: str):
    assert misplaced_reason(SOURCES, Path(relative)) == (
        f"not in a source's folder: {MISPLACED[relative]}"
    )


def drop_files_no_source_owns(landing: Path) -> dict[str, tuple[str, str]]:
    """What a person drops beside the sources' folders, each holding real data of the
    folder it belongs in (a read would show as rows), and what a Mac writes beside them.
    Returns each file's status and reason."""
    invoices = sorted((landing / "invoices").glob("*.csv"))[0]
    dropped = {
        "invoices-2025.csv": invoices,
        "clusters.yaml": landing / "registry/clusters.yaml",
        "Invoices/jan.csv": invoices,
        "costs/aws/2026-10.csv": invoices,
    }
    for relative, original in dropped.items():
        (landing / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(original, landing / relative)
    (landing / "old-rates.csv").symlink_to(landing / "gone.csv")  # a link to nothing: no file
    (landing / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(2040))
    (landing / "._invoices-2025.csv").write_bytes(b"\x00\x05\x16\x07" + bytes(4092))
    return {
        ".DS_Store": (IGNORED, "macOS metadata (.DS_Store): the Finder's view of the folder"),
        "._invoices-2025.csv": (IGNORED, "macOS metadata (AppleDouble) of invoices-2025.csv"),
        "Invoices/jan.csv": (
            SKIPPED,
            "not in a source's folder: Invoices/ is not invoices/ (names are case-sensitive); "
            "move it to invoices/jan.csv",
        ),
        "clusters.yaml": (
            SKIPPED,
            "not in a source's folder: no source reads files at the landing root; move it to "
            "registry/clusters.yaml",
        ),
        "costs/aws/2026-10.csv": (
            SKIPPED,
            "not in a source's folder: no source reads costs/; move it to "
            "cloud_costs/aws/2026-10.csv",
        ),
        "invoices-2025.csv": (
            SKIPPED,
            "not in a source's folder: no source reads files at the landing root; move it "
            "into invoices/",
        ),
    }


def test_files_no_source_owns_are_logged_once_and_leave_the_log_when_they_go(
    landing: Path, tmp_path: Path
):
    expected = drop_files_no_source_owns(landing)
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        report = log_unowned(con, landing, SOURCES)
        assert {f.file: (f.status, f.reason) for f in report.files} == expected

        def log() -> list[tuple]:
            return con.execute(
                f"select source, file, status, reason from {RAW_SCHEMA}._ingest_log order by file"
            ).fetchall()

        assert log() == [
            (LANDING, file, status, reason) for file, (status, reason) in sorted(expected.items())
        ]
        # Found again: nothing is written, not even the time.
        before = con.execute(f"select * from {RAW_SCHEMA}._ingest_log order by file").fetchall()
        log_unowned(con, landing, SOURCES)
        assert (
            con.execute(f"select * from {RAW_SCHEMA}._ingest_log order by file").fetchall()
            == before
        )
        # Moved where it goes: it leaves the landing's rows, and its source loads it.
        shutil.move(landing / "Invoices/jan.csv", landing / "invoices/jan.csv")
        log_unowned(con, landing, SOURCES)
        assert [file for _, file, *_ in log()] == sorted(set(expected) - {"Invoices/jan.csv"})
        loaded = load_source(con, BY_NAME["invoices"], landing)
        assert ("invoices/jan.csv", "loaded") in [(f.file, f.status) for f in loaded.files]
