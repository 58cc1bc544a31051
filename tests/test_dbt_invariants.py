"""Every singular dbt test, and the generic tests that guard a convention, catch the failure
they name: `dbt test` against a small warehouse holding just the relations they read, first
sound, then broken by hand. Each breakage is one row, so each test fails with exactly 1."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from dagster import AssetCheckResult

from orchestration.dbt import failing_tests_sql, with_failing_rows
from orchestration.resources import dbt_executable
from warehouse.connection import connect
from warehouse.paths import DBT_PROJECT_DIR, WAREHOUSE_ENV

pytestmark = pytest.mark.slow(
    20, reason="dbt test of every singular and convention test, sound and broken"
)

# As of 2024-04-10 the as-of month is March 2024.
AS_OF = "2024-04-10"
SINGULAR = (
    "assert_month_spine_has_no_gaps",
    "assert_month_spine_ends_at_the_as_of_month",
    "assert_cloud_cost_attribution_conserves_cost",
    "assert_cloud_cost_sub_account_months_come_in_one_format",
    "assert_revenue_mrr_movements_reconcile",
    "assert_revenue_deals_have_fx_rate",
    "assert_revenue_invoice_lines_have_fx_rate",
)
WARNINGS = (
    "assert_revenue_no_rejected_deals",
    "assert_revenue_no_rejected_invoice_lines",
    "assert_usage_namespaces_are_registry_hubs",
)
# (generic test, model, column) guarding the coverage convention, finite ratios and the
# columns a model requires (a model-level test: no column).
GENERIC = (
    ("null_unless", "fct_sustainability_monthly", "mrc_usd"),
    ("finite", "fct_sustainability_monthly", "mrc_to_mrr_ratio"),
    ("finite", "fct_partner_unit_economics_monthly", "cost_per_mau_usd"),
    ("not_null_columns", "fct_partner_unit_economics_monthly", None),
)


def make_warehouse(path: Path, broken: bool) -> None:
    with connect(path) as con:
        con.execute("create schema intermediate; create schema marts")
        # Broken: March is missing and April (after the as-of month) is there.
        last_month = "2024-04-01" if broken else "2024-03-01"
        con.execute(f"""create table intermediate.int_month_spine as
            select cast(m as date) as month_start,
                   cast(cast(m as date) + interval 1 month - interval 1 day as date) as month_end
            from (values ('2024-01-01'), ('2024-02-01'), ('{last_month}')) as t(m)""")
        # Broken: a dollar lost in attribution, and account 123's January landed as a CUR
        # and as a FOCUS export (its second line from the FOCUS one).
        second_source = "focus" if broken else "aws_cur"
        con.execute(f"""create table intermediate.int_cloud_costs__focus as select * from (values
            (date '2024-01-01', 60.0, 'aws', '123', 'aws_cur|9|2024-01-01'),
            (date '2024-01-01', 40.0, 'aws', '123', '{second_source}|9|2024-01-01')
            ) as t(charge_month, effective_cost_usd, provider, SubAccountId, delivery_scope)""")
        con.execute("""create table intermediate.int_cloud_costs__delivery_scopes as
            select * from (values
            ('aws_cur|9|2024-01-01', 'aws_cur', 'cloud_costs/aws/cur/data/BILLING_PERIOD=2024-01'),
            ('focus|9|2024-01-01', 'focus', 'cloud_costs/focus/aws/data/BILLING_PERIOD=2024-01')
            ) as t(delivery_scope, source_name, delivery)""")
        con.execute(f"""create table marts.fct_cloud_costs_monthly as
            select date '2024-01-01' as month, {99.0 if broken else 100.0} as effective_cost_usd""")
        # Contracts: p1 100/month for January and February, p2 50/month from February. MRR:
        # January 100, February 150, March 50 (p1 churned). Broken: March's churn is missing.
        con.execute("""create table intermediate.int_revenue__contracts as select * from (values
            ('c1', 'p1', date '2024-01-01', date '2024-02-29', 100.0),
            ('c2', 'p2', date '2024-02-01', date '2024-12-31', 50.0)
            ) as t(deal_id, partner_id, contract_start_date, contract_end_date, mrr_usd)""")
        churn = "" if broken else ", (date '2024-03-01', 'p1', 'churn', -100.0)"
        con.execute(f"""create table marts.fct_mrr_movements as select * from (values
            (date '2024-01-01', 'p1', 'new', 100.0), (date '2024-02-01', 'p2', 'new', 50.0)
            {churn}) as t(month, partner_id, movement, mrr_delta_usd)""")
        # Broken: a EUR deal and a CHF invoice line without a rate.
        rate = "null" if broken else "1.1"
        con.execute(f"""create table intermediate.int_revenue__deals as select
            '7' as deal_id, 'EUR' as currency, 1200.0 as amount,
            cast({rate} as double) as usd_per_unit, date '2024-01-01' as fx_date""")
        con.execute(f"""create table intermediate.int_revenue__invoice_lines as select
            'invoices/2024.csv' as landed_file, 'line 3' as landed_record,
            'INV-9' as invoice_number, 'CHF' as currency, date '2024-02-05' as invoice_date,
            cast({rate} as double) as usd_per_unit""")
        # Broken: one rejected deal and one rejected invoice line (warnings).
        where = "" if broken else "where false"
        con.execute(f"""create table intermediate.int_revenue__rejected_deals as select
            '8' as deal_id, '9999' as company_id, 'closedwon' as stage_id,
            'company 9999 is not a partner in the registry' as rejection_reason {where}""")
        con.execute(f"""create table intermediate.int_revenue__rejected_invoice_lines as select
            'invoices/2024.csv' as landed_file, 'line 4' as landed_record,
            'INV-10' as invoice_number, '888' as hubspot_deal_id,
            'invoice for deal 888 which does not exist in HubSpot' as rejection_reason {where}""")
        # February has no cloud bill: its cost must be null. Broken: it reads 0, and
        # January's ratio is infinite.
        february_cost = "0.0" if broken else "null"
        ratio = "'infinity'" if broken else "0.5"
        con.execute(f"""create table marts.fct_sustainability_monthly as select * from (values
            (date '2024-01-01', 'complete', 50.0, cast({ratio} as double), 'complete', 0.0,
             0.0),
            (date '2024-02-01', 'none', cast({february_cost} as double), cast(null as double),
             'complete', cast(null as double), 0.0)
            ) as t(month, mrc_coverage, mrc_usd, mrc_to_mrr_ratio, invoice_coverage,
                   recoverable_cost_usd, invoiced_recovery_usd)""")
        # Broken: a cost per MAU divided by zero, one of the two months without its partner
        # (not_null_columns: month and partner_id), and a namespace the registry lacks.
        cost_per_mau = "'infinity'" if broken else "2.5"
        partner = "null" if broken else "'p1'"
        con.execute(f"""create table marts.fct_partner_unit_economics_monthly as
            select cast(m as date) as month, cast(p as varchar) as partner_id,
                   cast(c as double) as cost_per_mau_usd,
                   cast(null as double) as revenue_per_mau_usd, 0.4 as cost_share_of_revenue
            from (values ('2024-01-01', 'p1', {cost_per_mau}), ('2024-02-01', {partner}, '2.5'))
                as t(m, p, c)""")
        unknown = "true" if broken else "false"
        con.execute(f"""create table marts.fct_hub_usage_daily as
            select date '2024-01-01' as date, 'c' as cluster, 'x' as hub,
            {unknown} as is_unknown_hub""")


def dbt_test(warehouse: Path, tmp_path: Path) -> str:
    env = {**os.environ, WAREHOUSE_ENV: str(warehouse)}
    generic = [f"test_name:{name},{model}" for name, model, _ in GENERIC]
    result = subprocess.run(
        [
            dbt_executable(),
            "test",
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--select",
            *SINGULAR,
            *WARNINGS,
            *generic,
            "--vars",
            json.dumps({"as_of": AS_OF}),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return result.stdout


def generic_test_name(target: Path, test: str, model: str, column: str) -> str:
    manifest = json.loads((target / "manifest.json").read_text())
    [name] = [
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        and (node.get("test_metadata") or {}).get("name") == test
        and node.get("attached_node", "").endswith(f".{model}")
        and node.get("column_name") == column
    ]
    return name


@pytest.mark.parametrize("broken", [False, True], ids=["sound", "broken"])
def test_each_invariant_passes_on_sound_data_and_fails_on_broken(tmp_path: Path, broken: bool):
    warehouse = tmp_path / "w.duckdb"
    make_warehouse(warehouse, broken)
    out = dbt_test(warehouse, tmp_path)
    generic = [generic_test_name(tmp_path / "target", *entry) for entry in GENERIC]
    for name in (*SINGULAR, *generic):
        outcome = "FAIL 1" if broken else "PASS"
        assert f"{outcome} {name} " in out, out[-3000:]
    for name in WARNINGS:
        outcome = "WARN 1" if broken else "PASS"
        assert f"{outcome} {name} " in out, out[-3000:]
    # Each failure's rows are kept for the check's description, with the problem in words;
    # those of a test that keeps none are asked again with its SQL from dbt's run results.
    if broken:
        failing_sql = failing_tests_sql(tmp_path / "target" / "run_results.json")
        [not_null_columns] = [name for name in generic if name.startswith("not_null_columns")]
        [unique_id] = [uid for uid in failing_sql if uid.split(".")[-2] == not_null_columns]
        check = AssetCheckResult(
            passed=False,
            metadata={"unique_id": unique_id, "dagster_dbt/failed_row_count": 1},
        )
        manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
        with connect(warehouse) as con:
            described = with_failing_rows(con, check, manifest, failing_sql)
            problems = con.execute(
                "select problem from test_failures.assert_revenue_invoice_lines_have_fx_rate"
            ).fetchall()
        assert described.description == "1 failing row, e.g. partner_id is null in 1 of 2 rows"
        assert problems == [
            (
                "invoices/2024.csv, line 3: invoice INV-9 in CHF has no fx rate on or before "
                "2024-02-05",
            )
        ]
