"""The public samples of real exports (../shared/formats) reconcile to the cent from file to
mart: a world whose months cover them, with its bills replaced by the samples, is built by the
CLI, and the marts' USD totals equal what plain DuckDB reads from the files.

Samples: the FOCUS 1.0 sample (Sept 2024: AWS, Microsoft, Oracle rows), the legacy CUR sample
(Nov 2023), the Azure EA actual- and amortized-cost samples of one billing account (Sept 2023)
and the Azure EA sample billed in CAD (Sept 2023). None of their accounts is in the registry,
so all of it is unattributed ('no_cluster'), which leaves the totals to compare.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.demo import generate
from tests.conftest import build_cli

from .conftest import SHARED_FORMATS

pytestmark = [
    pytest.mark.slow(45, reason="a CLI build of the public samples"),
    pytest.mark.e2e,
    pytest.mark.skipif(
        not (SHARED_FORMATS / "focus-1.0-sample.csv").exists(),
        reason="shared public samples not beside the repository",
    ),
]

SAMPLES = {
    "focus-1.0-sample.csv": "cloud_costs/focus/sample",
    "aws-legacy-cur-anonymised-sample.csv": "cloud_costs/aws/legacy-sample",
    "azure-ea-actualcost-sample.csv": "cloud_costs/azure/ea/actualcost",
    "azure-ea-amortizedcost-sample.csv": "cloud_costs/azure/ea/amortizedcost",
    "azure-ea-cad-anonymised-sample.csv": "cloud_costs/azure/cad",
}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, cli_env: dict[str, str]):
    root = tmp_path_factory.mktemp("public_samples")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    # Months 2023-08 .. 2024-09 cover every sample's charges.
    generate(landing, seed=11, months=14, partners=6, as_of=date(2024, 10, 15))
    shutil.rmtree(landing / "cloud_costs")
    for name, folder in SAMPLES.items():
        (landing / folder).mkdir(parents=True)
        shutil.copy(SHARED_FORMATS / name, landing / folder / name)
    result = build_cli(landing, warehouse, cli_env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return landing, warehouse


def plain(sql: str) -> float:
    return duckdb.sql(sql).fetchall()[0][0]


def sample(name: str) -> str:
    return f"read_csv('{SHARED_FORMATS / name}', all_varchar = true, nullstr = 'NULL')"


def expected_by_provider(landing: Path) -> dict[str, tuple[float, float]]:
    """(billed, effective) USD per provider, read from the files by plain DuckDB."""
    focus = {
        provider: (billed, effective)
        for provider, billed, effective in duckdb.sql(
            "select case ProviderName when 'AWS' then 'aws' when 'Microsoft' then 'azure' "
            "else lower(ProviderName) end, sum(BilledCost::double), sum(EffectiveCost::double) "
            f"from {sample('focus-1.0-sample.csv')} group by 1"
        ).fetchall()
    }
    # Legacy CUR: unblended cost (no discount columns in the sample). Effective cost as AWS's
    # FOCUS mapping defines it per line item type.
    cur = plain(
        f'select sum("lineItem/UnblendedCost"::double) '
        f"from {sample('aws-legacy-cur-anonymised-sample.csv')}"
    )
    cur_effective = plain(
        f"""select sum(case "lineItem/LineItemType"
            when 'SavingsPlanCoveredUsage' then "savingsPlan/SavingsPlanEffectiveCost"::double
            when 'SavingsPlanNegation' then 0
            when 'SavingsPlanUpfrontFee' then 0
            when 'SavingsPlanRecurringFee' then "savingsPlan/TotalCommitmentToDate"::double
                - "savingsPlan/UsedCommitment"::double
            when 'DiscountedUsage' then "reservation/EffectiveCost"::double
            when 'RIFee' then coalesce(
                try_cast("reservation/UnusedAmortizedUpfrontFeeForBillingPeriod" as double), 0)
                + coalesce(try_cast("reservation/UnusedRecurringFee" as double), 0)
            else "lineItem/UnblendedCost"::double end)
        from {sample("aws-legacy-cur-anonymised-sample.csv")}"""
    )
    # Azure EA account 8611537, Sept 2023: billed = the actual export (its usage at actual
    # cost is the amortized export's on-demand rows) = amortized rows a commitment does not
    # cover + the actual reservation purchase; effective = the amortized export.
    amortized = sample("azure-ea-amortizedcost-sample.csv")
    actual = sample("azure-ea-actualcost-sample.csv")
    ea_billed = plain(
        f"select sum(Cost::double) from {amortized} "
        "where PricingModel not in ('Reservation', 'SavingsPlan')"
    ) + plain(
        f"select sum(Cost::double) from {actual} "
        "where ChargeType in ('Purchase', 'Refund') "
        "and PricingModel in ('Reservation', 'SavingsPlan')"
    )
    ea_effective = plain(f"select sum(Cost::double) from {amortized}")
    # The CAD sample (2 Sept 2023) at the latest CAD rate on or before that day.
    rate = plain(
        f"select usd_per_unit from read_csv('{landing / 'fx' / 'rates.csv'}') "
        "where currency = 'CAD' and date <= date '2023-09-02' order by date desc limit 1"
    )
    cad = plain(
        "select sum(CostInBillingCurrency::double) "
        f"from {sample('azure-ea-cad-anonymised-sample.csv')}"
    )
    aws_billed, aws_effective = focus.pop("aws")
    azure_billed, azure_effective = focus.pop("azure")
    return {
        "aws": (aws_billed + cur, aws_effective + cur_effective),
        "azure": (
            azure_billed + ea_billed + cad * rate,
            azure_effective + ea_effective + cad * rate,
        ),
        **focus,
    }


def test_every_sample_reaches_the_marts_to_the_cent(built):
    landing, warehouse = built
    expected = expected_by_provider(landing)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        mart = {
            provider: (billed, effective)
            for provider, billed, effective in con.execute(
                "select provider, sum(billed_cost_usd), sum(effective_cost_usd) "
                "from marts.fct_cloud_costs_monthly group by provider"
            ).fetchall()
        }
        [(mrc,)] = con.execute("select sum(mrc_usd) from marts.fct_mrc_monthly").fetchall()
    assert set(mart) == set(expected) == {"aws", "azure", "oracle"}
    for provider, (billed, effective) in expected.items():
        assert mart[provider][0] == pytest.approx(billed, abs=0.005), provider
        assert mart[provider][1] == pytest.approx(effective, abs=0.005), provider
    assert mrc == pytest.approx(sum(e for _, e in expected.values()), abs=0.005)


def test_nothing_of_the_samples_is_quarantined_superseded_or_skipped(built):
    _, warehouse = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select count(*) from raw._quarantine").fetchall() == [(0,)]
        assert con.execute(
            "select source, status, count(*) from raw._ingest_log "
            "where source in ('aws_cur', 'azure_costs', 'focus') group by all order by all"
        ).fetchall() == [
            ("aws_cur", "loaded", 1),
            ("azure_costs", "loaded", 3),
            ("focus", "loaded", 1),
        ]
        superseded = con.execute(
            "select count(*) from marts.fct_reconciliation where stage like 'superseded%'"
        ).fetchall()
        assert superseded == [(0,)]
