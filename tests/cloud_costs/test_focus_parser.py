"""FOCUS files: the real sample's quirks accepted, bad values quarantined, totals kept."""

from __future__ import annotations

import gzip
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from ingest.cloud_costs.focus import SOURCE as FOCUS
from ingest.framework import ParseError, load_source

from .conftest import FIXTURES, SHARED_FORMATS, write_typed_parquet


def total(table, column: str) -> float:
    return round(sum(v for v in table.column(column).to_pylist() if v is not None), 10)


def test_quirks_accepted_and_bad_rows_quarantined_with_reasons():
    parsed = FOCUS.parse(FIXTURES / "focus" / "quirks.csv")
    rows = parsed.tables["focus_costs"].to_pylist()
    # Lines 2-5 are valid: 10 + 5.50 - 2 + 1.25 billed, 9 + 5.50 - 2 + 1.25 effective.
    assert [r["_record"] for r in rows] == ["line 2", "line 3", "line 4", "line 5"]
    assert total(parsed.tables["focus_costs"], "billed_cost") == 14.75
    assert total(parsed.tables["focus_costs"], "effective_cost") == 13.75
    assert total(parsed.tables["focus_costs"], "list_cost") == 18.75
    first, second, _, fourth = rows
    assert first["charge_frequency"] == "Usage-Based"  # 'Usage-based' in the file
    assert first["charge_class"] is None  # the literal NULL
    assert first["charge_period_start"] == datetime(2024, 3, 5)
    assert second["charge_period_start"] == datetime(2024, 3, 5)  # ISO 'T...Z' form
    assert first["tags"] == '{"user:2i2c:hub-name": "hub-a"}'
    assert second["tags"] is None
    assert fourth["charge_class"] == "Correction"
    assert fourth["billing_currency"] == "USD"  # 'usd' in the file
    assert first["line_id"] == "a1"
    rejected = {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()}
    assert rejected == {
        "line 6": "BilledCost is not a finite number: abc",
        "line 7": "ChargePeriodStart is not a timestamp: not-a-date",
        "line 8": "charge period crosses months: ChargePeriodStart 2024-03-31 12:00:00, "
        "ChargePeriodEnd 2024-04-01 12:00:00",
        "line 9": "duplicate key (Id), first at line 2",
        "line 10": "ChargeCategory is not one of Usage, Purchase, Tax, Credit, Adjustment: Spend",
    }


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("missing-column.csv", "missing required column(s): ListCost"),
        (
            "unknown-schema.csv",
            "unknown provider schema: expected a FOCUS file; columns are date, amount, what",
        ),
    ],
)
def test_structural_problems_are_parse_errors(name: str, problem: str):
    with pytest.raises(ParseError) as error:
        FOCUS.parse(FIXTURES / "focus" / name)
    assert error.value.problem == problem


def test_another_providers_file_is_named():
    with pytest.raises(ParseError, match="this is an Azure cost export, not a FOCUS file"):
        FOCUS.parse(FIXTURES / "azure" / "ea-small.csv")


def _plain_sums(path: Path) -> tuple[int, float, float, float]:
    [(rows, billed, effective, listed)] = duckdb.sql(
        f"select count(*), sum(BilledCost), sum(EffectiveCost), sum(ListCost) "
        f"from read_csv('{path}', nullstr = 'NULL')"
    ).fetchall()
    return rows, billed, effective, listed


def _assert_matches_plain_sum(path: Path) -> None:
    parsed = FOCUS.parse(path)
    table = parsed.tables["focus_costs"]
    rows, billed, effective, listed = _plain_sums(path)
    assert parsed.rejected.num_rows == 0
    assert table.num_rows == rows
    assert total(table, "billed_cost") == pytest.approx(billed, abs=1e-9)
    assert total(table, "effective_cost") == pytest.approx(effective, abs=1e-9)
    assert total(table, "list_cost") == pytest.approx(listed, abs=1e-9)


def test_public_sample_subset_ingests_with_the_plain_duckdb_totals():
    path = FIXTURES / "focus" / "focus-1.0-sample-subset.csv"
    _assert_matches_plain_sum(path)
    table = FOCUS.parse(path).tables["focus_costs"]
    categories = set(table.column("charge_category").to_pylist())
    assert categories == {"Usage", "Credit", "Adjustment"}
    assert set(table.column("charge_frequency").to_pylist()) == {"Usage-Based", "One-Time"}


@pytest.mark.skipif(
    not (SHARED_FORMATS / "focus-1.0-sample.csv").exists(),
    reason="shared public samples not beside the repository",
)
def test_full_public_sample_ingests_with_the_plain_duckdb_totals():
    path = SHARED_FORMATS / "focus-1.0-sample.csv"
    _assert_matches_plain_sum(path)
    # By hand from the published file: 1,000 rows, billed 20.52022672899.
    assert total(FOCUS.parse(path).tables["focus_costs"], "billed_cost") == pytest.approx(
        20.52022672899, abs=1e-9
    )


def test_parquet_reads_like_csv(tmp_path: Path):
    source = FIXTURES / "focus" / "quirks.csv"
    target = tmp_path / "quirks.parquet"
    # Typed columns as a FOCUS Parquet export has them (numbers, timestamps), NULL as null.
    duckdb.sql(
        f"copy (select * exclude (BilledCost), try_cast(BilledCost as double) as BilledCost "
        f"from read_csv('{source}', nullstr = 'NULL', all_varchar = true) "
        f"where Id in ('a1', 'a2', 'a3')) to '{target}' (format parquet)"
    )
    assert pq.read_schema(target).field("BilledCost").type == "double"
    parsed = FOCUS.parse(target)
    # a1 twice (10.00 and 7.00: the second is a duplicate), a2 5.50, a3 -2.00.
    assert total(parsed.tables["focus_costs"], "billed_cost") == 13.5
    assert [r["reason"] for r in parsed.rejected.to_pylist()] == [
        "duplicate key (Id), first at row 1"
    ]


def test_empty_provider_or_service_is_quarantined_and_commitment_columns_are_kept(tmp_path: Path):
    path = tmp_path / "focus-1.2.csv.gz"
    header = (
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,BillingPeriodStart,"
        "ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,ServiceName,"
        "CommitmentDiscountStatus,CommitmentDiscountId,CommitmentDiscountType,InvoiceId,"
        "ServiceSubcategory\n"
    )
    rows = [
        # Unused commitment, as FOCUS 1.2 writes it: billed 0, effective the idle part.
        "0,4.00,0,USD,BA,2024-09-01 00:00:00,Usage,2024-09-01 00:00:00,2024-09-02 00:00:00,"
        "AWS,Amazon EC2,Unused,arn:sp-1,Savings Plan,INV-7,Virtual Machines",
        "1.00,1.00,1.00,USD,BA,2024-09-01 00:00:00,Usage,2024-09-01 00:00:00,"
        "2024-09-02 00:00:00,,Amazon EC2,NULL,NULL,NULL,INV-7,NULL",
        "2.00,2.00,2.00,USD,BA,2024-09-01 00:00:00,Usage,2024-09-01 00:00:00,"
        "2024-09-02 00:00:00,AWS,NULL,NULL,NULL,NULL,INV-7,NULL",
        "3.00,3.00,3.00,USD,BA,2024-09-01 00:00:00,Usage,2024-09-01 00:00:00,"
        "2024-09-02 00:00:00,AWS,Amazon EC2,Idle,NULL,NULL,INV-7,NULL",
    ]
    path.write_bytes(gzip.compress((header + "\n".join(rows) + "\n").encode()))
    parsed = FOCUS.parse(path)
    [row] = parsed.tables["focus_costs"].to_pylist()
    assert (
        row["effective_cost"],
        row["commitment_discount_status"],
        row["commitment_discount_id"],
        row["commitment_discount_type"],
        row["invoice_id"],
        row["service_subcategory"],
    ) == (4.0, "Unused", "arn:sp-1", "Savings Plan", "INV-7", "Virtual Machines")
    assert {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()} == {
        "line 3": "ProviderName is empty",
        "line 4": "ServiceName is empty, and so are PublisherName and x_SkuMeterSubcategory",
        "line 5": "CommitmentDiscountStatus is not one of Used, Unused: Idle",
    }


def test_rows_microsoft_leaves_without_service_name_land_with_its_stand_ins(tmp_path: Path):
    """Microsoft's FOCUS conformance summary: ServiceName is empty for EA Marketplace
    purchases (use PublisherName) and for MCA reservation purchases and Azure credits (use
    x_SkuMeterSubcategory). Those rows carry money and land; stg_focus__costs takes the
    stand-in (its unit test). A row with none of the three, or a BillingPeriodStart written
    M/D/YY (which DuckDB reads as the year 3), is quarantined."""
    path = tmp_path / "part_0_0001.csv"
    header = (
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,BillingPeriodStart,"
        "ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,PublisherName,"
        "ServiceName,x_SkuMeterSubcategory\n"
    )
    period = "2025-03-01T00:00:00Z,{category},2025-03-04T00:00:00Z,2025-03-05T00:00:00Z"
    rows = [
        f"120.00,120.00,0,USD,BA,{period.format(category='Purchase')},Microsoft,Contoso Ltd,,",
        f"900.00,0,900.00,USD,BA,{period.format(category='Purchase')},Microsoft,,,Reservation-Base",
        f"-50.00,-50.00,-50.00,USD,BA,{period.format(category='Credit')},Microsoft,Microsoft,,"
        "Azure Credit",
        f"7.00,7.00,7.00,USD,BA,{period.format(category='Adjustment')},Microsoft,,,",
        "8.00,8.00,8.00,USD,BA,3/1/25,Usage,2025-03-04T00:00:00Z,2025-03-05T00:00:00Z,"
        "Microsoft,Microsoft,Virtual Machines,Dv3 Series",
    ]
    path.write_text(header + "\n".join(rows) + "\n")
    parsed = FOCUS.parse(path)
    landed = [
        (r["_record"], r["service_name"], r["publisher_name"], r["x_sku_meter_subcategory"])
        for r in parsed.tables["focus_costs"].to_pylist()
    ]
    assert landed == [
        ("line 2", None, "Contoso Ltd", None),
        ("line 3", None, None, "Reservation-Base"),
        ("line 4", None, "Microsoft", "Azure Credit"),
    ]
    assert total(parsed.tables["focus_costs"], "billed_cost") == 970.0  # 120 + 900 - 50
    assert {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()} == {
        "line 5": "ServiceName is empty, and so are PublisherName and x_SkuMeterSubcategory",
        "line 6": "BillingPeriodStart is outside 2000-01-01 .. a year after the load day: 3/1/25",
    }


def test_files_checked_in_one_batch_keep_their_own_lines_keys_and_counts(tmp_path: Path):
    """Files of one shape are checked in one statement: each keeps its own line numbers,
    its duplicate keys are found within it only, and its log row counts its own records."""
    landing = tmp_path / "landing"
    for folder in ("a", "b"):
        target = landing / "cloud_costs" / "focus" / folder / "quirks.csv"
        target.parent.mkdir(parents=True)
        target.write_bytes((FIXTURES / "focus" / "quirks.csv").read_bytes())
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        report = load_source(con, FOCUS, landing)
        # Each copy: lines 2-5 valid (14.75 billed, as worked out above), lines 6-10 bad.
        # Id a1 appears in both files: not a duplicate across files, only line 9 within each.
        assert sorted((f.file, f.rows_loaded, f.rows_quarantined) for f in report.files) == [
            ("cloud_costs/focus/a/quirks.csv", 4, 5),
            ("cloud_costs/focus/b/quirks.csv", 4, 5),
        ]
        per_file = con.execute(
            "select _file, list(_record order by _record), sum(billed_cost) "
            "from raw.focus_costs group by _file order by _file"
        ).fetchall()
        lines = ["line 2", "line 3", "line 4", "line 5"]
        assert per_file == [
            ("cloud_costs/focus/a/quirks.csv", lines, 14.75),
            ("cloud_costs/focus/b/quirks.csv", lines, 14.75),
        ]
        duplicates = con.execute(
            "select file, record, reason from raw._quarantine "
            "where reason like 'duplicate%' order by file"
        ).fetchall()
        assert duplicates == [
            ("cloud_costs/focus/a/quirks.csv", "line 9", "duplicate key (Id), first at line 2"),
            ("cloud_costs/focus/b/quirks.csv", "line 9", "duplicate key (Id), first at line 2"),
        ]
        logged = con.execute(
            "select file, rows_loaded, rows_quarantined from raw._ingest_log order by file"
        ).fetchall()
        assert logged == [
            ("cloud_costs/focus/a/quirks.csv", 4, 5),
            ("cloud_costs/focus/b/quirks.csv", 4, 5),
        ]


def test_a_purchase_may_cover_its_term_but_usage_may_not_cross_months(tmp_path: Path):
    """FOCUS 1.2's virtual-currency example (appendix, saas_examples): a one-time purchase
    whose charge period is 2025-04-01 to 2026-04-01. It lands; usage over the same period is
    still quarantined as crossing months."""
    path = tmp_path / "focus.csv"
    header = (
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,BillingPeriodStart,"
        "ChargeCategory,ChargeFrequency,ChargePeriodStart,ChargePeriodEnd,ProviderName,"
        "ServiceName\n"
    )
    term = "2025-04-01T00:00:00Z,2026-04-01T00:00:00Z,ACME,Credits"
    rows = [
        f"10000.00,0,10000.00,USD,BA,2025-04-01T00:00:00Z,Purchase,One-Time,{term}",
        f"12.00,12.00,12.00,USD,BA,2025-04-01T00:00:00Z,Usage,Usage-Based,{term}",
    ]
    path.write_text(header + "\n".join(rows) + "\n")
    parsed = FOCUS.parse(path)
    [purchase] = parsed.tables["focus_costs"].to_pylist()
    assert (
        purchase["charge_category"],
        purchase["billed_cost"],
        purchase["charge_period_start"],
        purchase["charge_period_end"],
    ) == ("Purchase", 10000.0, datetime(2025, 4, 1), datetime(2026, 4, 1))
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        (
            "line 3",
            "charge period crosses months: ChargePeriodStart 2025-04-01T00:00:00Z, "
            "ChargePeriodEnd 2026-04-01T00:00:00Z",
        )
    ]


def test_googles_project_lands_from_x_project_in_parquet_or_csv(tmp_path: Path):
    """Google's FOCUS view gives the billing account as SubAccountId and the project in
    x_Project: a record in its Parquet export (the fixture), JSON text in CSV. The project's
    id lands as x_project_id, whether the field is `id` (the view) or `Id`; a row without
    x_Project lands without it, and one whose x_Project is not JSON is quarantined."""
    view = write_typed_parquet("gcp-focus-view.sql", tmp_path / "focus-000000000000.parquet")
    assert [
        (r["sub_account_id"], r["x_project_id"])
        for r in FOCUS.parse(view).tables["focus_costs"].to_pylist()
    ] == [("01ABCD-234567-89EFGH", "hubs-project")] * 3

    path = tmp_path / "focus.csv"
    header = (
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,BillingPeriodStart,"
        "ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,ServiceName,"
        "SubAccountId,x_Project\n"
    )
    row = (
        "1.00,1.00,1.00,USD,BA,2025-03-01T08:00:00Z,usage,2025-03-05T00:00:00Z,"
        "2025-03-05T01:00:00Z,Google Cloud,Compute Engine,01ABCD-234567-89EFGH,"
    )
    projects = (
        '{"id": "view-project", "number": "1", "ancestors": [{"resource_name": "folders/2"}]}',
        '{"Id": "native-project", "Number": "3"}',
        "NULL",
        "view-project",
    )
    # A CSV field holding JSON is quoted, its quotes doubled.
    quoted = ['"' + project.replace('"', '""') + '"' for project in projects]
    path.write_text(header + "".join(f"{row}{project}\n" for project in quoted))
    parsed = FOCUS.parse(path)
    assert [
        (r["_record"], r["x_project_id"]) for r in parsed.tables["focus_costs"].to_pylist()
    ] == [
        ("line 2", "view-project"),
        ("line 3", "native-project"),
        ("line 4", None),
    ]
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("line 5", "x_Project is not JSON: view-project")
    ]
