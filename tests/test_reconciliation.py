"""The reconciliation report on a built warehouse: every record and every unit of money is
accounted for from landing to marts."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from tests.conftest import BuiltWarehouse
from warehouse.connection import connect_read_only

CLOUD = ("gcp_billing", "aws_cur", "azure_costs", "focus")


@pytest.fixture(scope="module")
def report(built_warehouse: BuiltWarehouse) -> list[tuple]:
    with connect_read_only(built_warehouse.warehouse) as con:
        return con.execute(
            "select source, stage, currency, row_count, amount from marts.fct_reconciliation"
        ).fetchall()


def stage_rows(report, source: str, prefix: str) -> int:
    return sum(n for s, stage, _, n, _ in report if s == source and stage.startswith(prefix))


def money(report, sources, prefix: str, exact: bool = False) -> dict[str, Decimal]:
    """Money per currency of the stages named `prefix` (or exactly `prefix`)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for source, stage, currency, _, amount in report:
        matches = stage == prefix if exact else stage.startswith(prefix)
        if source in sources and matches and amount is not None:
            totals[currency] += amount
    return dict(totals)


def test_every_record_read_is_in_a_raw_table_or_in_quarantine(report):
    sources = {s for s, stage, *_ in report if stage == "landing: records read"}
    assert {"registry", "fx", "prometheus", "hubspot", "invoices", *CLOUD} <= sources
    for source in sources:
        assert stage_rows(report, source, "landing") == stage_rows(
            report, source, "raw"
        ) + stage_rows(report, source, "quarantined"), source


def test_cloud_money_carries_from_staging_to_the_normalised_model_per_currency(report):
    staged = money(report, CLOUD, "staging")
    normalised = money(report, ("cloud costs, all",), "normalised: billed cost", exact=True)
    assert set(staged) >= {"USD"}
    assert staged == normalised


def test_the_usd_total_reaches_the_marts_to_the_cent(report):
    converted = money(report, ("cloud costs, all",), "normalised: billed cost in USD")["USD"]
    mart = money(report, ("cloud costs, all",), "mart: billed cost in USD")["USD"]
    assert converted > 0
    assert abs(converted - mart) < Decimal("0.01")


def test_invoice_money_is_unchanged_from_raw_to_staging(report):
    assert money(report, ("invoices",), "raw") == money(report, ("invoices",), "staging")
