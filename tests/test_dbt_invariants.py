"""The singular dbt tests catch the failure their header names: `dbt test` against a small
warehouse holding just the relations they read, first sound, then broken by hand."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from orchestration.resources import dbt_executable
from warehouse.connection import connect
from warehouse.paths import DBT_PROJECT_DIR, WAREHOUSE_ENV

TESTS = (
    "assert_month_spine_has_no_gaps",
    "assert_ratios_are_finite",
    "assert_cloud_cost_attribution_conserves_cost",
    "assert_usage_namespaces_are_registry_hubs",
)
WARNINGS = ("assert_usage_namespaces_are_registry_hubs",)


def make_warehouse(path: Path, broken: bool) -> None:
    third_month = "2024-04-01" if broken else "2024-03-01"  # broken: March is missing
    ratio = "'infinity'" if broken else "0.5"
    attributed = 99.0 if broken else 100.0  # broken: a dollar lost in attribution
    unknown = "true" if broken else "false"  # broken: a namespace the registry lacks
    with connect(path) as con:
        con.execute("create schema intermediate; create schema marts")
        con.execute(f"""create table intermediate.int_month_spine as
            select cast(m as date) as month_start from (values
            ('2024-01-01'), ('2024-02-01'), ('{third_month}')) as t(m)""")
        con.execute(f"""create table marts.fct_sustainability_monthly as
            select date '2024-01-01' as month, cast({ratio} as double) as mrc_to_mrr_ratio""")
        con.execute("""create table marts.fct_partner_sustainability_monthly as
            select date '2024-01-01' as month, cast(null as double) as mrc_to_mrr_ratio""")
        con.execute("""create table marts.fct_retention_monthly as select date '2024-01-01' as
            month, 0.1 as logo_churn_rate, 0.1 as gross_mrr_churn_rate,
            -0.05 as net_mrr_churn_rate, 0.9 as grr_12m, 1.05 as nrr_12m,
            cast(null as double) as renewal_6m""")
        con.execute("""create table intermediate.int_cloud_costs__focus as select * from (values
            (date '2024-01-01', 60.0), (date '2024-01-01', 40.0)) as t(charge_month,
            effective_cost_usd)""")
        con.execute(f"""create table marts.fct_cloud_costs_monthly as
            select date '2024-01-01' as month, {attributed} as effective_cost_usd""")
        con.execute("""create table marts.fct_partner_unit_economics_monthly as
            select date '2024-01-01' as month, 2.5 as cost_per_mau_usd,
            cast(null as double) as revenue_per_mau_usd, 0.4 as cost_share_of_revenue""")
        con.execute("""create table marts.fct_hub_usage_monthly as
            select date '2024-01-01' as month, 0.1 as avg_daily_active_users_mom_change,
            cast(null as double) as avg_daily_active_users_yoy_change,
            -0.2 as peak_monthly_active_users_mom_change,
            cast(null as double) as peak_monthly_active_users_yoy_change""")
        con.execute(f"""create table marts.fct_hub_usage_daily as
            select date '2024-01-01' as date, 'c' as cluster, 'x' as hub,
            {unknown} as is_unknown_hub""")


def dbt_test(warehouse: Path, tmp_path: Path) -> str:
    env = {**os.environ, WAREHOUSE_ENV: str(warehouse)}
    result = subprocess.run(
        [
            dbt_executable(),
            "test",
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--select",
            *TESTS,
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


@pytest.mark.parametrize("broken", [False, True], ids=["sound", "broken"])
def test_each_invariant_passes_on_sound_data_and_fails_on_broken(tmp_path: Path, broken: bool):
    warehouse = tmp_path / "w.duckdb"
    make_warehouse(warehouse, broken)
    out = dbt_test(warehouse, tmp_path)
    for name in TESTS:
        outcome = ("WARN 1" if name in WARNINGS else "FAIL 1") if broken else "PASS"
        assert f"{outcome} {name}" in out, out[-3000:]
