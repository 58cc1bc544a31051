"""HubSpot deal pages, the pipelines file and invoice lines (CSV, Excel workbooks and Sheets
JSON), on fixtures in tests/fixtures/revenue whose expected values are worked out by hand."""

from __future__ import annotations

import codecs
import csv
import io
import json
import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest

from ingest.framework import ParseError, SourceError, load_source
from ingest.hubspot import SOURCE as HUBSPOT
from ingest.hubspot import parse_deals_export, parse_deals_page, parse_pipelines
from ingest.invoices import SOURCE as INVOICES
from ingest.invoices import parse_invoice_csv, parse_invoice_file, parse_sheet_values

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "revenue"


def test_deals_page_types_every_property_and_keeps_stage_history():
    parsed = parse_deals_page(FIXTURES / "crm" / "deals" / "page-0001.json")
    rows = {r["deal_id"]: r for r in parsed.tables["hubspot_deals"].to_pylist()}
    assert sorted(rows) == ["101", "102", "103"]
    alpha = rows["101"]
    assert alpha["company_id"] == "5001"
    assert alpha["stage_id"] == "closedwon"
    assert alpha["amount"] == 12000.0
    # An ISO timestamp with Z is a UTC instant; its date is the UTC date.
    assert alpha["close_date"] == date(2023, 12, 15)
    assert alpha["contract_start_date"] == date(2024, 1, 1)
    assert alpha["contract_end_date"] == date(2024, 12, 31)
    assert alpha["hs_is_closed_won"] is True
    history = json.loads(alpha["stage_history"])
    assert history["hs_v2_date_entered_closedwon"] == "2023-12-15T10:00:00.000Z"
    assert set(history) == {
        "hs_v2_date_entered_appointmentscheduled",
        "hs_v2_date_exited_appointmentscheduled",
        "hs_v2_date_entered_closedwon",
        "hs_v2_date_exited_closedwon",
    }
    # Lower-case currency is normalised; a custom pipeline's stage id is kept as is.
    assert rows["102"]["currency"] == "EUR"
    assert rows["102"]["amount"] == 6000.5
    assert rows["102"]["stage_id"] == "1002"
    # No associations: no company (dbt rejects it with that reason), currency null.
    assert rows["103"]["company_id"] is None
    assert rows["103"]["currency"] is None
    assert rows["103"]["forecast_probability"] == 0.9
    assert parsed.rejected.num_rows == 0


def test_deals_page_quarantines_bad_amount_and_end_before_start():
    parsed = parse_deals_page(FIXTURES / "crm" / "deals" / "page-0002.json")
    kept = [r["deal_id"] for r in parsed.tables["hubspot_deals"].to_pylist()]
    # Unknown company (9999) and unknown stage ('mystery') are kept here: they need other
    # sources, so dbt rejects them.
    assert kept == ["106", "107"]
    rejected = parsed.rejected.to_pylist()
    assert [(r["record"], r["reason"]) for r in rejected] == [
        ("page file, results[0]", "amount is not a double: lots"),
        (
            "page file, results[1]",
            "contract_end_date 2024-05-31 is before contract_start_date 2024-06-01",
        ),
    ]
    assert json.loads(rejected[0]["raw"])["id"] == "104"


def test_deals_page_with_broken_record_names_it(tmp_path):
    page = tmp_path / "page.json"
    page.write_text(
        json.dumps(
            {
                "results": [
                    {"id": "1", "properties": {"amount": "1"}},
                    {"id": "2", "properties": None},
                ]
            }
        )
    )
    with pytest.raises(ParseError) as error:
        parse_deals_page(page)
    assert error.value.where == "page file, results[1]"
    assert "properties" in error.value.problem


def test_deals_page_quarantines_a_deal_without_a_stage(tmp_path):
    """Every deal is in a stage; a page asked without `dealstage` among its properties (or a
    null one) cannot place it, so it is quarantined rather than left to fail the table's
    suite, which accepts a stage by id (pages) or by label (UI exports)."""
    page = tmp_path / "page.json"
    page.write_text(
        json.dumps(
            {
                "results": [
                    {"id": "1", "properties": {"dealstage": "closedwon", "amount": "1"}},
                    {"id": "2", "properties": {"amount": "2"}},
                    {"id": "3", "properties": {"dealstage": None}},
                ]
            }
        )
    )
    parsed = parse_deals_page(page)
    assert [r["deal_id"] for r in parsed.tables["hubspot_deals"].to_pylist()] == ["1"]
    assert {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()} == {
        "page file, results[1]": "dealstage is empty",
        "page file, results[2]": "dealstage is empty",
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"results": [', "not a HubSpot deals page"),
        ('{"status": "error", "message": "expired"}', "'results' is missing"),
        ("[1, 2]", "expected a JSON object, found ARRAY"),
    ],
)
def test_deals_page_that_is_not_a_page_fails(tmp_path, text, problem):
    page = tmp_path / "page.json"
    page.write_text(text)
    with pytest.raises(ParseError, match=problem):
        parse_deals_page(page)


def test_ui_export_csv_gives_labels_company_lists_and_percentages():
    parsed = parse_deals_export(FIXTURES / "crm_export" / "deals-export.csv")
    rows = parsed.tables["hubspot_deals"].to_pylist()
    assert [(r["deal_id"], r["stage_id"], r["stage_label"], r["pipeline_label"]) for r in rows] == [
        ("201", None, "Closed Won", "Sales Pipeline"),
        ("202", None, "Contract Sent", "Sales Pipeline"),
    ]
    assert rows[0]["forecast_probability"] == 1.0
    assert rows[1]["forecast_probability"] == 0.9
    assert rows[1]["company_ids"] == ["5003", "5001"]
    assert rows[1]["company_id"] == "5003"
    assert rows[0]["close_date"] == date(2024, 4, 20)
    assert rows[0]["contract_end_date"] == date(2025, 4, 30)
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("line 4", "amount is not a double: 12k"),
    ]


def _typed_workbook(path: Path, text: str, cell) -> Path:
    """A workbook of the CSV text's rows in its first sheet, each cell typed by `cell(label,
    text)` as a spreadsheet holds it (numbers, dates), an empty one left empty."""
    rows = list(csv.reader(io.StringIO(text)))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(rows[0])
    for row in rows[1:]:
        typed = zip(rows[0], row, strict=True)
        sheet.append([cell(label, value) if value else None for label, value in typed])
    book.save(path)
    return path


def _export_cell(label: str, text: str) -> object:
    """HubSpot's XLSX export as a workbook types it: ids and amounts numbers, dates date cells
    (`YYYY-MM-DD HH:mm` in the CSV); anything else, and a value that is no number, text."""
    if label.endswith("Date"):
        return datetime.fromisoformat(text)
    if label in ("Record ID", "Amount", "Associated Company IDs") and text.isdigit():
        return int(text)
    return text


def test_ui_export_xlsx_reads_like_its_csv(tmp_path):
    """The fixture export saved as XLSX: the same deals, the same quarantined row, named by
    the same line (the sheet's row)."""
    export = FIXTURES / "crm_export" / "deals-export.csv"
    workbook = _typed_workbook(
        tmp_path / "deals-export.xlsx", export.read_text(encoding="utf-8"), _export_cell
    )
    parsed, expected = parse_deals_export(workbook), parse_deals_export(export)
    deals = parsed.tables["hubspot_deals"].to_pylist()
    assert deals == expected.tables["hubspot_deals"].to_pylist()
    assert [(r["deal_id"], r["amount"], r["company_ids"]) for r in deals] == [
        ("201", 4800.0, ["5003"]),
        ("202", 1200.0, ["5003", "5001"]),
    ]
    assert deals[0]["created_at"] == datetime.fromisoformat("2024-02-01 09:00+00:00")
    assert parsed.rejected.to_pylist() == expected.rejected.to_pylist()
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("line 4", "amount is not a double: 12k"),
    ]


def test_pipelines_file_gives_stages_with_closed_flag_and_probability():
    stages = (
        parse_pipelines(FIXTURES / "crm" / "pipelines.json")
        .tables["hubspot_pipeline_stages"]
        .to_pylist()
    )
    by_id = {s["stage_id"]: s for s in stages}
    assert len(stages) == 7
    assert (by_id["closedwon"]["is_closed"], by_id["closedwon"]["probability"]) == (True, 1.0)
    assert (
        by_id["1002"]["pipeline_id"],
        by_id["1002"]["is_closed"],
        by_id["1002"]["probability"],
    ) == ("7654321", True, 1.0)
    assert (by_id["contractsent"]["is_closed"], by_id["contractsent"]["probability"]) == (
        False,
        0.9,
    )
    assert by_id["1003"]["_record"] == "results[1].stages[2]"


def test_pipelines_file_with_bad_probability_names_the_stage(tmp_path):
    path = tmp_path / "pipelines.json"
    path.write_text(
        json.dumps(
            {
                "results": [
                    {
                        "id": "default",
                        "stages": [
                            {"id": "a", "metadata": {"isClosed": "false", "probability": "0.1"}},
                            {"id": "b", "metadata": {"isClosed": "true", "probability": "high"}},
                        ],
                    }
                ]
            }
        )
    )
    with pytest.raises(ParseError) as error:
        parse_pipelines(path)
    assert error.value.where == "results[0].stages[1]"


def test_a_pipelines_v1_response_is_refused_naming_the_v3_endpoint():
    """HubSpot's demo portal's recorded v1 answer (hubspot_shapes/README.md): every pipeline
    has a `pipelineId`, so 'pipeline has no id' would mislead."""
    with pytest.raises(ParseError) as error:
        parse_pipelines(FIXTURES / "hubspot_shapes" / "pipelines-v1.json")
    assert (error.value.problem, error.value.where) == (
        "a CRM Pipelines v1 response ('pipelineId', 'stageId'), not v3: land "
        "GET /crm/v3/pipelines/deals",
        "results[0]",
    )


def test_invoice_csv_quarantines_duplicate_unknown_gl_and_bad_amount():
    parsed = parse_invoice_csv(FIXTURES / "invoices" / "invoices-2024.csv")
    lines = parsed.tables["invoice_lines"].to_pylist()
    assert [(r["_record"], r["invoice_number"], r["gl_account"], r["amount"]) for r in lines] == [
        ("line 2", "INV-001", "4221", 3000.0),
        ("line 3", "INV-001", "4222", 910.0),
        ("line 4", "INV-002", "4222", 250.0),
        ("line 8", "INV-005", "4224", 500.0),
    ]
    assert lines[0]["service_period_end"] == date(2024, 3, 31)
    assert lines[2]["paid_date"] is None
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("line 5", "duplicate invoice line, first at line 4"),
        ("line 6", "gl_account is not one of 4221, 4222, 4223, 4224: 4299"),
        ("line 7", "amount is not a double: ten"),
    ]


INVOICE_HEADER = (
    "invoice_number,customer,hubspot_deal_id,invoice_date,due_date,paid_date,gl_account,"
    "description,service_period_start,service_period_end,amount,currency"
)
# Six invoice lines as the accounting export writes them; the amounts sum to 3000.00 +
# 1234.56 - 250.50 + 0.75 + 12345.00 + 2000.00 = 18329.81.
COMMA_INVOICES = f"""{INVOICE_HEADER}
INV-101,Alpha,101,2024-01-05,2024-02-04,,4221,Membership Q1,2024-01-01,2024-03-31,3000.00,EUR
INV-102,Beta,102,2024-01-05,2024-02-04,,4222,"Cloud costs, January",,,1234.56,USD
CN-001,Beta,102,2024-02-05,2024-03-06,,4222,Credit for INV-102,,,-250.50,USD
INV-103,Beta,102,2024-02-05,2024-03-06,,4223,Usage; overage,,,0.75,USD
INV-104,Gamma,103,2024-03-05,2024-04-04,,4221,Membership,2024-01-01,2024-12-31,12345.00,GBP
INV-105,Gamma,103,2024-03-05,2024-04-04,,4224,Setup,,,2000.00,GBP
"""
# The same lines saved by a spreadsheet in a decimal-comma locale: ';' between fields (a
# comma in a description needs no quotes, a ';' does), amounts with a decimal comma.
SEMICOLON_INVOICES = f"""{INVOICE_HEADER.replace(",", ";")}
INV-101;Alpha;101;2024-01-05;2024-02-04;;4221;Membership Q1;2024-01-01;2024-03-31;3000,00;EUR
INV-102;Beta;102;2024-01-05;2024-02-04;;4222;Cloud costs, January;;;1234,56;USD
CN-001;Beta;102;2024-02-05;2024-03-06;;4222;Credit for INV-102;;;-250,50;USD
INV-103;Beta;102;2024-02-05;2024-03-06;;4223;"Usage; overage";;;0,75;USD
INV-104;Gamma;103;2024-03-05;2024-04-04;;4221;Membership;2024-01-01;2024-12-31;12345,00;GBP
INV-105;Gamma;103;2024-03-05;2024-04-04;;4224;Setup;;;2000,00;GBP
"""
# With thousands grouped: by '.' (German), a narrow no-break space and a no-break space
# (French), a space.
GROUPED_INVOICES = f"""{INVOICE_HEADER.replace(",", ";")}
INV-101;Alpha;101;2024-01-05;2024-02-04;;4221;Membership Q1;2024-01-01;2024-03-31;3.000,00;EUR
INV-102;Beta;102;2024-01-05;2024-02-04;;4222;Cloud costs, January;;;1\u202f234,56;USD
CN-001;Beta;102;2024-02-05;2024-03-06;;4222;Credit for INV-102;;;-250,50;USD
INV-103;Beta;102;2024-02-05;2024-03-06;;4223;"Usage; overage";;;0,75;USD
INV-104;Gamma;103;2024-03-05;2024-04-04;;4221;Membership;2024-01-01;2024-12-31;12\u00a0345,00;GBP
INV-105;Gamma;103;2024-03-05;2024-04-04;;4224;Setup;;;2 000,00;GBP
"""


@pytest.mark.parametrize("text", [SEMICOLON_INVOICES, GROUPED_INVOICES], ids=["plain", "grouped"])
def test_semicolon_invoices_with_decimal_commas_read_like_their_comma_twin(tmp_path, text):
    twin = tmp_path / "comma.csv"
    twin.write_text(COMMA_INVOICES, encoding="utf-8")
    path = tmp_path / "semicolon.csv"
    path.write_text(text, encoding="utf-8")
    parsed, expected = parse_invoice_csv(path), parse_invoice_csv(twin)
    assert parsed.rejected.num_rows == expected.rejected.num_rows == 0
    lines = parsed.tables["invoice_lines"]
    assert lines.to_pylist() == expected.tables["invoice_lines"].to_pylist()
    assert lines.column("amount").to_pylist() == [3000.0, 1234.56, -250.5, 0.75, 12345.0, 2000.0]
    assert sum(lines.column("amount").to_pylist()) == pytest.approx(18329.81)
    assert lines.column("description").to_pylist()[1:4:2] == [
        "Cloud costs, January",
        "Usage; overage",
    ]


def test_semicolon_invoices_quarantine_an_ambiguous_amount_and_a_dotted_date(tmp_path):
    path = tmp_path / "semicolon.csv"
    path.write_text(
        f"""{INVOICE_HEADER.replace(",", ";")}
INV-101;Alpha;101;2024-01-05;2024-02-04;;4221;Membership Q1;2024-01-01;2024-03-31;3.000;EUR
INV-102;Beta;102;2024-01-05;2024-02-04;;4222;Cloud costs, January;;;1,234.56;USD
INV-103;Beta;102;2024-02-05;2024-03-06;;4223;Usage;;;0,75 EUR;USD
INV-105;Gamma;103;05.03.2024;2024-04-04;;4224;Setup;;;2.000,00;GBP
INV-106;Gamma;103;2024-03-05;2024-04-04;;4224;Training;;;1.500,50;GBP
""",
        encoding="utf-8",
    )
    parsed = parse_invoice_csv(path)
    ambiguous = (
        "amount is ambiguous: in a ';'-separated file ',' is the decimal separator and "
        "'.' only groups thousands before it (1.234,56): "
    )
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("line 2", ambiguous + "3.000"),
        ("line 3", ambiguous + "1,234.56"),
        ("line 4", "amount is not a number with a decimal comma: 0,75 EUR"),
        ("line 5", "invoice_date is not a date in %Y-%m-%d: 05.03.2024"),
    ]
    lines = parsed.tables["invoice_lines"].to_pylist()
    assert [(r["_record"], r["amount"]) for r in lines] == [("line 6", 1500.5)]


# One invoice file as Excel saves it: "CSV UTF-8" (UTF-8 behind a byte-order mark), "Unicode
# Text" (UTF-16 LE behind one, tab-separated), UTF-16 BE as some accounting tools write, and
# plain UTF-8; all with CRLF line ends.
ACCENTED_INVOICES = (
    f"{INVOICE_HEADER}\r\n"
    "INV-201,Universidad de Córdoba,104,2024-03-05,2024-04-04,,4221,Cuota \u2013 marzo €,"
    "2024-03-01,2024-03-31,1234.50,EUR\r\n"
    "CN-202,Université de Genève,105,2024-03-06,2024-04-05,,4224,Avoir sur « INV-199 »,"
    ",,-99.90,CHF\r\n"
)
SAVED_AS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "csv-utf-8": lambda text: text.encode("utf-8-sig"),
    "unicode-text": lambda text: codecs.BOM_UTF16_LE + text.replace(",", "\t").encode("utf-16-le"),
    "utf-16-be": lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
}


@pytest.mark.parametrize(
    ("saved_as", "name"),
    # Excel names a "Unicode Text" file .txt; a person may rename it .csv.
    [*((saved_as, "march.csv") for saved_as in SAVED_AS), ("unicode-text", "march.txt")],
)
def test_an_invoice_file_in_utf8_or_utf16_lands_the_same_raw_rows(tmp_path, saved_as, name):
    landing = tmp_path / "landing"
    (landing / "invoices").mkdir(parents=True)
    (landing / "invoices" / name).write_bytes(SAVED_AS[saved_as](ACCENTED_INVOICES))
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    report = load_source(con, INVOICES, landing)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 0)
    rows = con.execute(
        "select invoice_number, customer, description, amount, currency, service_period_end "
        "from raw.invoice_lines order by invoice_number desc"
    ).fetchall()
    assert rows == [
        (
            "INV-201",
            "Universidad de Córdoba",
            "Cuota \u2013 marzo €",
            1234.5,
            "EUR",
            date(2024, 3, 31),
        ),
        ("CN-202", "Université de Genève", "Avoir sur « INV-199 »", -99.9, "CHF", None),
    ]


def _invoice_cell(label: str, text: str) -> object:
    """A finance workbook's cell: dates date cells, ids, GL accounts and amounts numbers."""
    if label.endswith(("_date", "_start", "_end")):
        return date.fromisoformat(text)
    if label in ("hubspot_deal_id", "gl_account"):
        return int(text)
    if label == "amount":
        # INV-103's 0.80 as a formula's result: 0.1 + 0.7 is 0.7999999999999999 in a double.
        return 0.1 + 0.7 if text == "0.80" else float(text)
    return text


def test_invoice_workbook_reads_like_its_csv(tmp_path):
    """Typed cells come out as the CSV's text: a HubSpot deal id past 2^32 without '.0', a
    computed amount without float noise, dates as YYYY-MM-DD, an empty cell empty."""
    text = COMMA_INVOICES.replace(",101,", ",18345678901,").replace(",0.75,", ",0.80,")
    twin = tmp_path / "invoices.csv"
    twin.write_text(text, encoding="utf-8")
    workbook = _typed_workbook(tmp_path / "invoices.xlsx", text, _invoice_cell)
    parsed, expected = parse_invoice_file(workbook), parse_invoice_csv(twin)
    assert parsed.rejected.num_rows == expected.rejected.num_rows == 0
    lines = parsed.tables["invoice_lines"]
    assert lines.to_pylist() == expected.tables["invoice_lines"].to_pylist()
    assert lines.column("amount").to_pylist() == [3000.0, 1234.56, -250.5, 0.8, 12345.0, 2000.0]
    first = lines.to_pylist()[0]
    assert (first["hubspot_deal_id"], first["gl_account"], first["_record"]) == (
        "18345678901",
        "4221",
        "line 2",
    )
    assert (first["invoice_date"], first["paid_date"]) == (date(2024, 1, 5), None)


def test_sheet_values_reads_ragged_rows_and_skips_empty_ones():
    parsed = parse_sheet_values(FIXTURES / "invoices" / "sheet-2025.json")
    lines = parsed.tables["invoice_lines"].to_pylist()
    assert [(r["_record"], r["invoice_number"], r["amount"], r["currency"]) for r in lines] == [
        ("row 2", "INV-101", 920.0, "USD"),
        ("row 3", "INV-102", 1000.0, "EUR"),
    ]
    # An empty cell is null, like an omitted one.
    assert lines[1]["paid_date"] is None
    # Row 5 stops after 'description': its amount and currency cells are omitted.
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("row 5", "amount is empty; currency is empty"),
    ]


def test_sheet_values_row_numbers_follow_the_range(tmp_path):
    path = tmp_path / "sheet.json"
    header = [
        "invoice_number",
        "customer",
        "hubspot_deal_id",
        "invoice_date",
        "gl_account",
        "amount",
        "currency",
    ]
    path.write_text(
        json.dumps(
            {
                "range": "Invoices!A3:G5",
                "majorDimension": "ROWS",
                "values": [
                    header,
                    ["I-1", "A", "101", "2024-01-31", "4221", "10", "USD"],
                    ["I-2", "A", "101", "2024-13-01", "4221", "10", "USD"],
                ],
            }
        )
    )
    parsed = parse_sheet_values(path)
    assert [r["_record"] for r in parsed.tables["invoice_lines"].to_pylist()] == ["row 4"]
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("row 5", "invoice_date is not a date in %Y-%m-%d: 2024-13-01"),
    ]


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"range": "Invoices!A1:L1", "majorDimension": "ROWS"}, "no header row"),
        (
            {"range": "Invoices!A1:L2", "majorDimension": "COLUMNS", "values": [["a"]]},
            "majorDimension",
        ),
        (
            {"range": "Invoices!A1:B2", "values": [["invoice_number", "amount"]]},
            "missing required column",
        ),
    ],
)
def test_sheet_values_structural_problems_fail_the_file(tmp_path, body, problem):
    path = tmp_path / "sheet.json"
    path.write_text(json.dumps(body))
    with pytest.raises(ParseError, match=problem):
        parse_sheet_values(path)


def test_sources_load_fixture_landing_into_raw_tables_and_quarantine(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "crm", landing / "crm")
    shutil.copytree(FIXTURES / "invoices", landing / "invoices")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_source(con, HUBSPOT, landing)
    load_source(con, INVOICES, landing)
    counts = dict(
        con.execute(
            "select source, count(*) from raw._quarantine group by source order by source"
        ).fetchall()
    )
    # 2 bad deals; 3 bad CSV lines + 1 bad sheet row.
    assert counts == {"hubspot": 2, "invoices": 4}
    [(deals,)] = con.execute("select count(*) from raw.hubspot_deals").fetchall()
    [(stages,)] = con.execute("select count(*) from raw.hubspot_pipeline_stages").fetchall()
    [(lines,)] = con.execute("select count(*) from raw.invoice_lines").fetchall()
    assert (deals, stages, lines) == (7, 7, 6)
    [(ids,)] = con.execute(
        "select company_ids from raw.hubspot_deals where deal_id = '101'"
    ).fetchall()
    assert ids == ["5001"]


def test_broken_page_fails_the_source_and_leaves_earlier_loads(tmp_path):
    landing = tmp_path / "landing"
    shutil.copytree(FIXTURES / "crm", landing / "crm")
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    load_source(con, HUBSPOT, landing)
    (landing / "crm" / "deals" / "page-0099.json").write_text('{"results": [{"id": "9"')
    with pytest.raises(SourceError, match=r"hubspot: crm/deals/page-0099.json: not a HubSpot"):
        load_source(con, HUBSPOT, landing)
    [(deals,)] = con.execute("select count(*) from raw.hubspot_deals").fetchall()
    assert deals == 7


SHAPES = FIXTURES / "hubspot_shapes"


def _load_deals(tmp_path: Path, *files: str) -> tuple[list[dict], list[tuple]]:
    deals = tmp_path / "landing" / "crm" / "deals"
    deals.mkdir(parents=True)
    for name in files:
        shutil.copy(SHAPES / name, deals / name)
    con = duckdb.connect()
    load_source(con, HUBSPOT, tmp_path / "landing")
    rows = con.sql(
        "select deal_id, company_id, company_ids, amount, close_date, archived "
        "from raw.hubspot_deals order by _record"
    ).fetchall()
    columns = ("deal_id", "company_id", "company_ids", "amount", "close_date", "archived")
    quarantined = con.sql("select record, reason from raw._quarantine").fetchall()
    return [dict(zip(columns, row, strict=True)) for row in rows], quarantined


def test_deals_page_takes_the_primary_company_and_lists_each_company_once(tmp_path):
    rows, quarantined = _load_deals(tmp_path, "associations-page.json")
    assert quarantined == []
    by_id = {r["deal_id"]: r for r in rows}
    assert sorted(by_id) == ["2", "3", "498828505295"]
    # The primary company (type deal_to_company), listed first or not; each company once.
    first = by_id["498828505295"]
    assert first["company_id"] == "426487875793"
    assert first["company_ids"] == ["426487875793", "426418834661"]
    assert first["amount"] == 500000.0
    assert first["close_date"] is None
    second = by_id["2"]
    assert second["company_id"] == "7"
    assert second["company_ids"] == ["9", "7"]
    assert second["amount"] is None  # "" is no amount
    assert second["archived"] is True
    # No primary: the first listed.
    assert by_id["3"]["company_id"] == "31"
    assert by_id["3"]["company_ids"] == ["31", "30"]
    assert by_id["3"]["close_date"] == date(2025, 3, 1)


def test_ui_export_reads_the_primary_company_column(tmp_path):
    rows, quarantined = _load_deals(
        tmp_path, "primary-company-export.csv", "both-company-columns-export.csv"
    )
    assert quarantined == []
    by_id = {r["deal_id"]: r for r in rows}
    assert by_id["201"]["company_id"] == "5003"
    assert by_id["201"]["company_ids"] == ["5003"]
    assert by_id["201"]["amount"] == 4800.0
    assert by_id["201"]["close_date"] == date(2024, 4, 20)
    assert by_id["202"]["company_id"] == "5004"
    assert by_id["202"]["amount"] == 1234.56
    assert by_id["204"]["company_id"] is None
    assert by_id["204"]["company_ids"] == []
    # Primary first, then the others; 5001 is in both columns and listed once.
    assert by_id["301"]["company_id"] == "5001"
    assert by_id["301"]["company_ids"] == ["5001", "5002"]


# HubSpot's UI export comes as a zip when it is large or carries associated records, a file
# per object. The names are HubSpot's: the zip `hubspot-crm-exports-all-deals-<date>-<date>.zip`
# holding `all-deals-<date>.csv` (Digication/hubspot-data-management,
# backups/CLOUD_BACKUP_LOCATIONS.md, commit facff9df2f044e55863a7aacd6f19e8c437ee2de, which lists
# such native export zips), `hubspot-crm-exports-all-companies-<date>.csv` beside the deals.
# The deals file is the hand-made fixture export; the companies file hand-made in its shape.
ZIPPED_DEALS = "all-deals-2024-01-15.csv"
COMPANIES = (
    "\ufeff"
    '"Record ID","Company name","Company Domain Name","Associated Deal IDs"\r\n'
    '"5003","Gamma Inc","gamma.example.org","201;202"\r\n'
)
COMPANIES_SKIPPED = (
    "not a deals export, and only deals are read (no 'Deal Stage' column; its columns: "
    "Record ID, Company name, Company Domain Name, Associated Deal IDs)"
)


def _zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _log(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    return con.sql(
        "select file, status, reason, rows_loaded, rows_quarantined from raw._ingest_log "
        "where source = 'hubspot' order by file"
    ).fetchall()


def test_a_zip_export_reads_its_deals_file_as_landed_alone_and_logs_the_others_skipped(
    tmp_path,
):
    """The zip (deals, companies, a Mac's __MACOSX entry, a folder) and its deals file
    unzipped beside it: the same three deals each, by hand 201 (company 5003, 4800), 202
    (5004, 1234.56), 204 (none, no amount), the zip's records named by the file in it; the
    companies file logged as skipped under the zip's name, with why, as long as the zip
    stays; staging counts each deal once (one deal id, one updated_at in both files)."""
    deals_csv = (SHAPES / "primary-company-export.csv").read_bytes()
    folder = tmp_path / "landing" / "crm" / "deals"
    zipped = "crm/deals/hubspot-crm-exports-all-deals-2024-01-15-2024-01-15.zip"
    _zip(
        tmp_path / "landing" / zipped,
        {
            ZIPPED_DEALS: deals_csv,
            "hubspot-crm-exports-all-companies-2024-01-15.csv": COMPANIES.encode(),
            f"__MACOSX/._{ZIPPED_DEALS}": b"\x00\x05\x16\x07",
            "exports/": b"",
        },
    )
    (folder / ZIPPED_DEALS).write_bytes(deals_csv)
    con = duckdb.connect()
    load_source(con, HUBSPOT, tmp_path / "landing")
    columns = "deal_id, company_id, company_ids, amount, close_date, updated_at, _record"
    by_file = {
        file: con.execute(
            f"select {columns} from raw.hubspot_deals where _file = ? order by _record", [file]
        ).fetchall()
        for file in (zipped, f"crm/deals/{ZIPPED_DEALS}")
    }
    assert [row[:5] for row in by_file[zipped]] == [
        ("201", "5003", ["5003"], 4800.0, date(2024, 4, 20)),
        ("202", "5004", ["5004"], 1234.56, date(2024, 9, 30)),
        ("204", None, [], None, None),
    ]
    assert [row[-1] for row in by_file[zipped]] == [f"{ZIPPED_DEALS}, line {n}" for n in (2, 3, 4)]
    assert [row[:-1] for row in by_file[zipped]] == [
        row[:-1] for row in by_file[f"crm/deals/{ZIPPED_DEALS}"]
    ]
    assert [row[-1] for row in by_file[f"crm/deals/{ZIPPED_DEALS}"]] == [
        f"line {n}" for n in (2, 3, 4)
    ]
    member = f"{zipped}/hubspot-crm-exports-all-companies-2024-01-15.csv"
    logged = [
        (f"crm/deals/{ZIPPED_DEALS}", "loaded", None, 3, 0),
        (zipped, "loaded", None, 3, 0),
        (member, "skipped", COMPANIES_SKIPPED, 0, 0),
    ]
    assert _log(con) == logged
    # Unchanged, the zip is not read again and its skipped file stays logged; rewritten
    # without the companies, the row of the companies goes.
    report = load_source(con, HUBSPOT, tmp_path / "landing")
    assert (member, "skipped") in [(f.file, f.status) for f in report.files]
    assert _log(con) == logged
    _zip(tmp_path / "landing" / zipped, {ZIPPED_DEALS: deals_csv})
    load_source(con, HUBSPOT, tmp_path / "landing")
    assert _log(con) == logged[:2]


def test_a_zip_of_xlsx_exports_reads_its_deals_workbook(tmp_path):
    """An export chosen as XLSX comes as a zip of workbooks: the deals workbook reads as it
    does landed alone (the fixture export: deals 201 and 202, line 4's 12k quarantined), the
    companies workbook is passed over."""
    export = (FIXTURES / "crm_export" / "deals-export.csv").read_text(encoding="utf-8")
    deals = _typed_workbook(tmp_path / "all-deals.xlsx", export, _export_cell)
    companies = _typed_workbook(tmp_path / "all-companies.xlsx", COMPANIES[1:], _export_cell)
    landing = tmp_path / "landing"
    _zip(
        landing / "crm" / "deals" / "export.zip",
        {"all-deals.xlsx": deals.read_bytes(), "all-companies.xlsx": companies.read_bytes()},
    )
    con = duckdb.connect()
    load_source(con, HUBSPOT, landing)
    assert con.sql(
        "select deal_id, amount, company_ids, _record from raw.hubspot_deals order by _record"
    ).fetchall() == [
        ("201", 4800.0, ["5003"], "all-deals.xlsx, line 2"),
        ("202", 1200.0, ["5003", "5001"], "all-deals.xlsx, line 3"),
    ]
    assert con.sql("select record, reason from raw._quarantine").fetchall() == [
        ("all-deals.xlsx, line 4", "amount is not a double: 12k")
    ]
    assert [row[:3] for row in _log(con)] == [
        ("crm/deals/export.zip", "loaded", None),
        ("crm/deals/export.zip/all-companies.xlsx", "skipped", COMPANIES_SKIPPED),
    ]


def _bad_crc(data: bytes) -> bytes:
    """A zip of one stored file whose first byte of data is changed: it opens, and its CRC
    fails when read, as a corrupted download does."""
    at = data.index(b"Record ID")
    return data[:at] + b"X" + data[at + 1 :]


@pytest.mark.parametrize(
    ("members", "damage", "where", "problem"),
    [
        (
            {
                "hubspot-crm-exports-all-companies-2024-01-15.csv": COMPANIES.encode(),
                "hubspot-crm-exports-all-deals-2024-01-15.xls": b"\xd0\xcf\x11\xe0",
                "README.txt": b"exported by HubSpot",
            },
            None,
            "file",
            "no deals export in the zip (a CSV or XLSX with a 'Deal Stage' column, whose label "
            "HubSpot writes in the export's language: export in English); it holds: "
            f"hubspot-crm-exports-all-companies-2024-01-15.csv ({COMPANIES_SKIPPED}); "
            "hubspot-crm-exports-all-deals-2024-01-15.xls (an Excel 97-2003 workbook (.xls), "
            "not read: export CSV or XLSX); README.txt (not a CSV or XLSX export)",
        ),
        ({}, None, "file", "no deals export in the zip (a CSV or XLSX"),
        (
            {ZIPPED_DEALS: b"Record ID,Deal Stage,Amount\n1,Won,5\n2,Won,6,extra\n"},
            None,
            f"{ZIPPED_DEALS}, line 3",
            "malformed CSV: Expected Number of Columns: 3 Found: 4",
        ),
        ({ZIPPED_DEALS: b"x"}, lambda data: data[:30], "file", "not a readable zip file: "),
        (
            {ZIPPED_DEALS: (SHAPES / "primary-company-export.csv").read_bytes()},
            _bad_crc,
            "file",
            f"not a readable zip file: Bad CRC-32 for file '{ZIPPED_DEALS}'",
        ),
    ],
)
def test_a_zip_without_deals_a_broken_deals_file_or_a_damaged_zip_fails_naming_it(
    tmp_path, members, damage, where, problem
):
    """Stored (not deflated) so that a changed byte of a file in it is that byte."""
    landing = tmp_path / "landing"
    path = _zip(landing / "crm" / "deals" / "export.zip", members, zipfile.ZIP_STORED)
    if damage:
        path.write_bytes(damage(path.read_bytes()))
    con = duckdb.connect()
    with pytest.raises(SourceError) as error:
        load_source(con, HUBSPOT, landing)
    assert str(error.value).startswith(f"hubspot: crm/deals/export.zip, {where}: {problem}")
    assert con.sql("select count(*) from raw.hubspot_deals").fetchall() == [(0,)]
