"""AWS CUR 2.0 (CSV and Parquet) and legacy CUR: every line item type kept with its sign."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ingest.cloud_costs.aws import legacy_name, parse_cur
from ingest.framework import ParseError

from .conftest import FIXTURES


def unblended(parsed) -> float:
    return round(sum(parsed.tables["aws_cur"].column("line_item_unblended_cost").to_pylist()), 10)


def test_cur2_csv_savings_plan_credit_tax_and_quarantine():
    parsed = parse_cur(FIXTURES / "aws" / "cur2.csv")
    # Valid: 2.00 usage + 3.00 SP-covered - 3.00 SP negation + 1.80 SP fee - 0.50 credit
    # + 0.20 tax = 3.50.
    assert unblended(parsed) == 3.5
    types = parsed.tables["aws_cur"].column("line_item_line_item_type").to_pylist()
    assert types == [
        "Usage",
        "SavingsPlanCoveredUsage",
        "SavingsPlanNegation",
        "SavingsPlanRecurringFee",
        "Credit",
        "Tax",
    ]
    first = parsed.tables["aws_cur"].to_pylist()[0]
    assert first["resource_tags"] == '{"user:2i2c:hub-name":"hub-a"}'
    rejected = {r["record"]: r["reason"] for r in parsed.rejected.to_pylist()}
    assert rejected == {
        "line 8": "line_item_unblended_cost is not a finite number: n/a",
        "line 9": "duplicate key (identity_line_item_id, identity_time_interval), first at line 2",
        "line 10": "line_item_usage_start_date is not a timestamp: 2024-13-03T00:00:00Z",
    }


def test_cur2_parquet_with_a_tag_map(tmp_path: Path):
    target = tmp_path / "cur.parquet"
    duckdb.sql(f"""
        copy (
            select *,
                   timestamp '2024-06-01 00:00:00' as bill_billing_period_start_date,
                   timestamp '2024-06-02 00:00:00' as line_item_usage_start_date,
                   timestamp '2024-06-02 01:00:00' as line_item_usage_end_date
            from (values
                ('l1', '111122223333', 'Usage', 4.0, 'AmazonEC2',
                 map(['user:2i2c:hub-name'], ['hub-b'])),
                ('l2', '111122223333', 'SavingsPlanNegation', -1.5, 'AmazonEC2',
                 map([], [])::map(varchar, varchar)),
                ('l3', '111122223333', 'Credit', -0.25, 'AmazonEC2',
                 map([], [])::map(varchar, varchar))
            ) as t(identity_line_item_id, line_item_usage_account_id, line_item_line_item_type,
                   line_item_unblended_cost, line_item_product_code, resource_tags)
        ) to '{target}' (format parquet)
    """)
    parsed = parse_cur(target)
    # 4.0 - 1.5 - 0.25 = 2.25
    assert unblended(parsed) == 2.25
    assert parsed.tables["aws_cur"].column("resource_tags").to_pylist()[0] == (
        '{"user:2i2c:hub-name":"hub-b"}'
    )
    assert parsed.tables["aws_cur"].column("line_item_currency_code").to_pylist() == ["USD"] * 3


def test_legacy_cur_headers_are_renamed_and_tag_columns_folded():
    assert legacy_name("lineItem/UnblendedCost") == "line_item_unblended_cost"
    assert legacy_name("savingsPlan/SavingsPlanEffectiveCost") == (
        "savings_plan_savings_plan_effective_cost"
    )
    parsed = parse_cur(FIXTURES / "aws" / "legacy-cur.csv")
    assert unblended(parsed) == 2.0  # 1.25 + 0.75
    tags = parsed.tables["aws_cur"].column("resource_tags").to_pylist()
    assert tags == [
        '{"user:2i2c:hub-name":"hub-x","user:team":"science"}',
        '{"user:2i2c:hub-name":null,"user:team":null}',
    ]


def test_missing_column_is_a_parse_error(tmp_path: Path):
    path = tmp_path / "cur.csv"
    path.write_text(
        "line_item_usage_account_id,line_item_unblended_cost,"
        "line_item_usage_start_date\n1,2,2024-01-01\n"
    )
    with pytest.raises(ParseError) as error:
        parse_cur(path)
    assert error.value.problem == (
        "missing required column(s): line_item_line_item_type, "
        "line_item_usage_end_date, bill_billing_period_start_date"
    )
