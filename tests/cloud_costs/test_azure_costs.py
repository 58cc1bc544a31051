"""Azure Cost Management exports: BOM, MM/DD/YYYY, braceless Tags, the real EA samples."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.cloud_costs.azure import parse_export
from ingest.framework import ParseError

from .conftest import FIXTURES, SHARED_FORMATS


def cost(parsed) -> float:
    values = parsed.tables["azure_costs"].column("cost_in_billing_currency").to_pylist()
    return round(sum(values), 10)


def test_hand_made_export_with_bom_dates_tags_and_bad_rows():
    parsed = parse_export(FIXTURES / "azure" / "ea-small.csv")
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
        parsed = parse_export(path)
        [(count, total)] = duckdb.sql(
            f"select count(*), sum(Cost::double) from read_csv('{path}', all_varchar = true)"
        ).fetchall()
        assert parsed.rejected.num_rows == 0
        assert parsed.tables["azure_costs"].num_rows == count == rows
        assert cost(parsed) == pytest.approx(total, abs=1e-9)
        assert set(parsed.tables["azure_costs"].column("dataset").to_pylist()) == {dataset}


def test_actual_sample_total_worked_by_hand():
    # 10 usage rows summing to 5.2950077867419365 plus one 3.25 reservation purchase.
    parsed = parse_export(FIXTURES / "azure" / "ea-actualcost-sample.csv")
    assert cost(parsed) == pytest.approx(8.5450077867, abs=1e-9)


def test_missing_cost_column_is_a_parse_error(tmp_path: Path):
    path = tmp_path / "export.csv"
    path.write_text("SubscriptionId,Date,BillingCurrency,ChargeType\nx,01/01/2024,USD,Usage\n")
    with pytest.raises(ParseError, match=r"missing required column\(s\): costinbillingcurrency"):
        parse_export(path)


def test_mca_camel_case_columns_and_iso_dates(tmp_path: Path):
    path = tmp_path / "mca.csv"
    path.write_text(
        "invoiceId,billingAccountId,subscriptionId,date,meterCategory,costInBillingCurrency,"
        "billingCurrencyCode,chargeType,tags\n"
        'I1,BA9,sub-1,2024-03-05,Storage,2.5,GBP,Usage,"{""2i2c:hub-name"": ""hub-z""}"\n'
        "I1,BA9,sub-1,2024-03-06,Storage,-0.5,GBP,Refund,\n",
        encoding="utf-8",
    )
    parsed = parse_export(path)
    rows = parsed.tables["azure_costs"].to_pylist()
    assert cost(parsed) == 2.0  # 2.5 - 0.5
    assert [r["date"] for r in rows] == [date(2024, 3, 5), date(2024, 3, 6)]
    assert rows[0]["billing_currency"] == "GBP"
    assert rows[0]["tags"] == '{"2i2c:hub-name": "hub-z"}'
    assert rows[0]["billing_period_start_date"] is None  # the model falls back to the month
