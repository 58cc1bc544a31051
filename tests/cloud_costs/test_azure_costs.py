"""Azure Cost Management exports: BOM, MM/DD/YYYY, braceless Tags, the real EA samples."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.cloud_costs.azure import SOURCE as AZURE
from ingest.framework import ParseError, load_source

from .conftest import FIXTURES, SHARED_FORMATS


def cost(parsed) -> float:
    values = parsed.tables["azure_costs"].column("cost_in_billing_currency").to_pylist()
    return round(sum(values), 10)


def test_hand_made_export_with_bom_dates_tags_and_bad_rows():
    parsed = AZURE.parse(FIXTURES / "azure" / "ea-small.csv")
    # Valid lines 2-4: 12.00 + 5.00 - 1.50 = 15.50 EUR.
    assert cost(parsed) == 15.5
    rows = parsed.tables["azure_costs"].to_pylist()
    assert rows[0]["date"] == date(2024, 3, 5)
    assert rows[0]["billing_period_start_date"] == date(2024, 3, 1)
    assert rows[0]["tags"] == '{"2i2c:hub-name": "prod","env": "prod"}'
    assert rows[0]["subscription_id"] == "ab12cd34-0000-4000-8000-000000000001"
    assert rows[2]["charge_type"] == "Refund"
    assert {r["billing_currency"] for r in rows} == {"EUR"}
    assert {r["dataset"] for r in rows} == {"actual"}
    rejected = {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()}
    assert rejected == {
        "line 5": "date is not a date (MM/DD/YYYY or YYYY-MM-DD): 31/03/2024",
        "line 6": "cost_in_billing_currency is not a finite number: 12,5",
    }


@pytest.mark.parametrize(
    ("name", "rows", "dataset"),
    [("ea-actualcost-sample.csv", 11, "actual"), ("ea-amortizedcost-sample.csv", 28, "amortized")],
)
def test_public_ea_samples_ingest_with_the_plain_duckdb_totals(name: str, rows: int, dataset: str):
    for path in (FIXTURES / "azure" / name, SHARED_FORMATS / name.replace("ea-", "azure-ea-")):
        if not path.exists():
            continue
        parsed = AZURE.parse(path)
        [(count, total)] = duckdb.sql(
            f"select count(*), sum(Cost::double) from read_csv('{path}', all_varchar = true)"
        ).fetchall()
        assert parsed.rejected.num_rows == 0
        assert parsed.tables["azure_costs"].num_rows == count == rows
        assert cost(parsed) == pytest.approx(total, abs=1e-9)
        assert set(parsed.tables["azure_costs"].column("dataset").to_pylist()) == {dataset}


def test_actual_sample_total_worked_by_hand():
    # 10 usage rows summing to 5.2950077867419365 plus one 3.25 reservation purchase.
    parsed = AZURE.parse(FIXTURES / "azure" / "ea-actualcost-sample.csv")
    assert cost(parsed) == pytest.approx(8.5450077867, abs=1e-9)


def test_missing_cost_column_is_a_parse_error(tmp_path: Path):
    path = tmp_path / "export.csv"
    path.write_text("SubscriptionId,Date,BillingCurrency,ChargeType\nx,01/01/2024,USD,Usage\n")
    with pytest.raises(ParseError, match=r"missing required column\(s\): costinbillingcurrency"):
        AZURE.parse(path)


def test_mca_camel_case_columns_and_iso_dates(tmp_path: Path):
    path = tmp_path / "mca.csv"
    path.write_text(
        "invoiceId,billingAccountId,subscriptionId,date,meterCategory,costInBillingCurrency,"
        "billingCurrencyCode,chargeType,tags\n"
        'I1,BA9,sub-1,2024-03-05,Storage,2.5,GBP,Usage,"{""2i2c:hub-name"": ""hub-z""}"\n'
        "I1,BA9,sub-1,2024-03-06,Storage,-0.5,GBP,Refund,\n",
        encoding="utf-8",
    )
    parsed = AZURE.parse(path)
    rows = parsed.tables["azure_costs"].to_pylist()
    assert cost(parsed) == 2.0  # 2.5 - 0.5
    assert [r["date"] for r in rows] == [date(2024, 3, 5), date(2024, 3, 6)]
    assert rows[0]["billing_currency"] == "GBP"
    assert rows[0]["tags"] == '{"2i2c:hub-name": "hub-z"}'
    assert rows[0]["billing_period_start_date"] is None  # the model falls back to the month


def test_pay_as_you_go_header_set_reads_as_usage(tmp_path: Path):
    # The header set of Pay-As-You-Go subscriptions' usage export (opencost's azure tests).
    path = tmp_path / "payg.csv"
    path.write_text(
        "SubscriptionGuid,ResourceGroup,ResourceLocation,UsageDateTime,MeterCategory,"
        "MeterSubCategory,MeterId,MeterName,MeterRegion,UsageQuantity,ResourceRate,PreTaxCost,"
        "ConsumedService,ResourceType,InstanceId,Tags,OfferId,AdditionalInfo,ServiceInfo1,"
        "ServiceInfo2,ServiceName,ServiceTier,Currency,UnitOfMeasure\n"
        "AB12CD34-0000-4000-8000-000000000009,rg,westeurope,2025-06-18,Virtual Machines,D4s,m1,"
        'D4s v5,EU West,24,0.25,6.00,Microsoft.Compute,vm,/subscriptions/x/vm1,"{""k8s-namespace"":'
        '""hub-a""}",MS-AZR-0003P,,,,VM,Standard,EUR,1 Hour\n'
        "AB12CD34-0000-4000-8000-000000000009,rg,westeurope,2025-06-18,Storage,Disks,m2,P10,"
        "EU West,1,1.5,1.50,Microsoft.Compute,disk,/subscriptions/x/disk1,,MS-AZR-0003P,,,,"
        "Storage,Premium,EUR,1 Month\n",
        encoding="utf-8",
    )
    parsed = AZURE.parse(path)
    rows = parsed.tables["azure_costs"].to_pylist()
    assert parsed.rejected.num_rows == 0
    assert cost(parsed) == 7.5  # 6.00 + 1.50
    assert [(r["charge_type"], r["quantity"], r["unit_price"]) for r in rows] == [
        ("Usage", 24.0, 0.25),
        ("Usage", 1.0, 1.5),
    ]
    assert rows[0]["subscription_id"] == "ab12cd34-0000-4000-8000-000000000009"
    assert rows[0]["billing_currency"] == "EUR" and rows[0]["date"] == date(2025, 6, 18)
    assert rows[0]["tags"] == '{"k8s-namespace":"hub-a"}'
    # No billing account in the file: the scope is the subscription and the usage month.
    assert (rows[0]["_billing_account_id"], rows[0]["_billing_period"]) == (
        "ab12cd34-0000-4000-8000-000000000009",
        date(2025, 6, 1),
    )


def test_mixed_line_ends_are_read_and_an_unreadable_line_is_named(tmp_path: Path):
    header = "SubscriptionId,Date,CostInBillingCurrency,BillingCurrency,ChargeType\r\n"
    mixed = tmp_path / "mixed.csv"
    mixed.write_bytes(
        (header + "s1,03/05/2024,1.25,USD,Usage\ns1,03/06/2024,2.00,USD,Usage\r\n").encode()
    )
    assert cost(AZURE.parse(mixed)) == 3.25  # 1.25 + 2.00
    broken = tmp_path / "broken.csv"
    broken.write_bytes((header + 's1,03/05/2024,1.25,USD,Usage\ns1,"03/06/2024,2,USD\n').encode())
    with pytest.raises(ParseError) as error:
        AZURE.parse(broken)
    assert (error.value.where, error.value.problem) == (
        "line 3",
        "malformed CSV: Value with unterminated quote found.",
    )


def test_parquet_export_and_the_dataset_its_manifest_names(tmp_path: Path):
    run = tmp_path / "amortized-or-not" / "run1"
    run.mkdir(parents=True)
    target = run / "part_0_0001.snappy.parquet"
    duckdb.sql(f"""
        copy (
            select '100' as BillingAccountId, 's1' as SubscriptionId, date '2024-03-05' as Date,
                   3.5 as CostInBillingCurrency, 'USD' as BillingCurrency,
                   'Usage' as ChargeType, 'Reservation' as PricingModel, 'r1' as ReservationId
        ) to '{target}' (format parquet)
    """)
    (run / "manifest.json").write_text(
        json.dumps({"exportConfig": {"type": "AmortizedCost"}, "blobs": []}), encoding="utf-8"
    )
    [row] = AZURE.parse(target).tables["azure_costs"].to_pylist()
    assert (row["dataset"], row["cost_in_billing_currency"], row["reservation_id"]) == (
        "amortized",
        3.5,
        "r1",
    )
    (run / "manifest.json").write_text(
        json.dumps({"exportConfig": {"type": "ActualCost"}}), encoding="utf-8"
    )
    # The manifest's type wins over a path that says 'amortized'.
    assert AZURE.parse(target).tables["azure_costs"].to_pylist()[0]["dataset"] == "actual"


# opencost's Azure header sets (tests/fixtures/cloud_costs/README.md): one anonymised row each.
OPENCOST = {
    # A Pay-As-You-Go usage file downloaded in German: `Abonnement-GUID (SubscriptionGuid)`.
    "payg-german-headers.csv": ("PreTaxCost (PreTaxCost)", "11111111-12ab-34dc-56ef-123456abcdef"),
    # An MCA partner (CSP) export: camelCase, no billingAccountId, Tags in braces with spaces.
    "mca-partner-camel.csv": ("costInBillingCurrency", "11111111-1111-1111-1111-123456789012"),
    # An EA export with BillingCurrencyCode and ProductName, Tags without the outer braces.
    "ea-opencost.csv": ("CostInBillingCurrency", "12345678"),
}


@pytest.mark.parametrize("name", OPENCOST)
def test_opencost_header_sets_land_whole_with_the_plain_duckdb_totals(name: str, tmp_path: Path):
    column, account = OPENCOST[name]
    path = FIXTURES / "azure" / name
    folder = tmp_path / "cloud_costs" / "azure" / "opencost"
    folder.mkdir(parents=True)
    shutil.copy(path, folder / name)
    con = duckdb.connect()
    report = load_source(con, AZURE, tmp_path)
    [(count, total)] = duckdb.sql(
        f"select count(*), sum(\"{column}\"::double) from read_csv('{path}', all_varchar = true)"
    ).fetchall()
    assert (report.rows_loaded, report.rows_quarantined) == (count, 0) == (1, 0)
    assert con.sql("select count(*) from raw._quarantine").fetchall() == [(0,)]
    [(landed, accounts, tags)] = con.sql(
        "select sum(cost_in_billing_currency), list(distinct _billing_account_id), "
        "list(tags is not null) from raw.azure_costs"
    ).fetchall()
    assert landed == pytest.approx(total, abs=1e-12)
    assert accounts == [account]
    assert tags == [name != "payg-german-headers.csv"]  # the German row has no tags


def test_an_export_of_only_its_header_loads_as_a_file_without_rows(tmp_path: Path):
    # finops-toolkit's EA_NoRows.csv (fixtures README): the EA header with its byte-order
    # mark and no line, beside the EA actual-cost sample in the same date-range folder.
    folder = tmp_path / "cloud_costs" / "azure" / "ea" / "20230901-20230930"
    folder.mkdir(parents=True)
    for name in ("ea-no-rows.csv", "ea-actualcost-sample.csv"):
        shutil.copy(FIXTURES / "azure" / name, folder / name)
    assert AZURE.parse(folder / "ea-no-rows.csv").tables["azure_costs"].num_rows == 0
    con = duckdb.connect()
    report = load_source(con, AZURE, tmp_path)
    assert {Path(f.file).name: (f.status, f.rows_loaded) for f in report.files} == {
        "ea-no-rows.csv": ("loaded", 0),
        "ea-actualcost-sample.csv": ("loaded", 11),
    }
    assert (report.rows_quarantined, report.skipped) == (0, [])
    # The sample's 11 lines worked by hand (test_actual_sample_total_worked_by_hand).
    [(total,)] = con.sql("select sum(cost_in_billing_currency) from raw.azure_costs").fetchall()
    assert total == pytest.approx(8.5450077867, abs=1e-9)


def test_localised_headers_read_by_the_english_name_in_parentheses():
    [row] = (
        AZURE.parse(FIXTURES / "azure" / "payg-german-headers.csv")
        .tables["azure_costs"]
        .to_pylist()
    )
    # Line 2: 3 x 0.025 = 0.075 USD of load balancer rules on 2021-02-02.
    assert (row["date"], row["quantity"], row["unit_price"], row["cost_in_billing_currency"]) == (
        date(2021, 2, 2),
        3.0,
        0.025,
        0.075,
    )
    assert (row["billing_currency"], row["charge_type"], row["resource_group"]) == (
        "USD",
        "Usage",
        "Example-Resource-Group",
    )


def test_a_header_recognised_as_nothing_is_reported_as_written(tmp_path: Path):
    path = tmp_path / "odd.csv"
    path.write_text("Kosten (Cost),Datum (Day)\n1,2\n", encoding="utf-8")
    with pytest.raises(ParseError, match=r"columns are Kosten \(Cost\), Datum \(Day\)$"):
        AZURE.parse(path)


def test_an_older_partitioned_export_is_ruled_by_its_underscore_manifest(tmp_path: Path):
    # koku's fixture manifest (manifestVersion 2021-01-01) lists one part, 000001.csv, of the
    # run folder its blobName names; koku's MCA export stands in for the part.
    source = FIXTURES / "azure" / "legacy-partitioned"
    run = tmp_path.joinpath(
        "cloud_costs/azure/cost/partitioned/20230101-20230131/202301041442",
        "73746dc5-5dcc-4b83-b340-bb1bd2b1ca30",
    )
    run.mkdir(parents=True)
    for name in ("_manifest.json", "000001.csv"):
        shutil.copy(source / name, run / name)
    shutil.copy(source / "000001.csv", run / "000002.csv")  # a part the manifest does not list
    con = duckdb.connect()
    report = load_source(con, AZURE, tmp_path)
    assert (report.rows_loaded, report.rows_quarantined) == (8, 0)
    log = {
        Path(file).name: (status, delivery, superseded)
        for file, status, delivery, superseded in con.sql(
            "select file, status, delivery, superseded_by from raw._ingest_log"
        ).fetchall()
    }
    folder = run.relative_to(tmp_path).as_posix()
    assert log["_manifest.json"][0] == "manifest"
    assert log["000001.csv"] == ("loaded", folder, None)
    assert log["000002.csv"][:2] == ("loaded", folder)
    assert log["000002.csv"][2].startswith("not in the blobs of ")
    # The part, read by Python's csv module (its last line ends in LF, the others in CRLF,
    # which DuckDB's sniffer refuses): 4 rows, 0.0000204972 + 0.0000016 + 0.000004 +
    # 0.000000144 = 0.0000262412 USD.
    with (source / "000001.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    assert sum(float(r["costInBillingCurrency"]) for r in rows) == pytest.approx(2.62412e-05)
    [(count, total)] = con.sql(
        "select count(*), sum(cost_in_billing_currency) from raw.azure_costs "
        "where _file like '%/000001.csv'"
    ).fetchall()
    assert (count, total) == (4, pytest.approx(2.62412e-05, abs=1e-15))
