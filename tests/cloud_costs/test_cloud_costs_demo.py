"""The demo writes every bill format as providers deliver it (multi-part deliveries with
manifests, gzip, re-deliveries), and every file parses without quarantine."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from ingest.cloud_costs import aws, azure, focus, gcp
from ingest.demo.cloud_costs import OUR_GCP_BILLING_ACCOUNT, write_cloud_costs
from ingest.demo.world import build_world
from ingest.framework import survey
from ingest.tabular import open_bytes

WORLD = {"seed": 7, "months": 6, "partners": 8, "as_of": date(2026, 11, 15)}


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cloud_demo")
    write_cloud_costs(build_world(**WORLD), root)
    return root


def _parse_all(landing: Path, source):
    tables = []
    for path in source.files(landing):
        parsed = source.parse(path)
        assert parsed.rejected.num_rows == 0, (path, parsed.rejected.to_pylist()[:3])
        tables.append(parsed.tables[source.tables[0].name])
    return tables


def test_gcp_export_has_credits_and_a_restated_adjustment_month(landing: Path):
    tables = _parse_all(landing, gcp.SOURCE)
    files = [p.name for p in gcp.SOURCE.files(landing)]
    assert any(f.endswith(".parquet") for f in files) and any(f.endswith(".jsonl") for f in files)
    # Each month of 2i2c's account is exported in two shards (one delivery).
    account = landing / "cloud_costs" / "gcp" / OUR_GCP_BILLING_ACCOUNT
    assert (account / "202609-000000000000.jsonl").exists()
    assert (account / "202609-000000000001.jsonl").exists()
    # World months 2026-05..2026-10: September, the month before last, is re-exported
    # (gzip) into a folder of its own, a delivery that replaces the first.
    [restated] = account.glob("reexport-*/202609-000000000000.jsonl.gz")
    assert restated.exists()
    rows = [r for t in tables for r in t.to_pylist()]
    assert all(r["credits_amount"] <= 0 for r in rows)
    assert any(r["credits_amount"] < 0 for r in rows)
    assert {r["cost_type"] for r in rows} == {"regular", "adjustment"}
    [adjustment] = [r for r in rows if r["cost_type"] == "adjustment"]
    assert adjustment["invoice_month"] == "202609" and adjustment["cost"] < 0
    assert adjustment["adjustment_type"] == "USAGE_CORRECTION"
    credit_types = {
        r["type"]
        for t in (gcp.SOURCE.parse(p) for p in gcp.SOURCE.files(landing))
        for r in t.tables["gcp_billing_credits"].to_pylist()
    }
    assert credit_types == {"SUSTAINED_USAGE_DISCOUNT", "PROMOTION"}


def test_cur_has_savings_plan_and_credit_lines_and_negation_cancels_covered_usage(landing: Path):
    rows = [r for t in _parse_all(landing, aws.SOURCE) for r in t.to_pylist()]
    types = {r["line_item_line_item_type"] for r in rows}
    assert {
        "Usage",
        "SavingsPlanCoveredUsage",
        "SavingsPlanNegation",
        "SavingsPlanRecurringFee",
        "Credit",
    } <= types
    covered = sum(
        r["line_item_unblended_cost"]
        for r in rows
        if r["line_item_line_item_type"] == "SavingsPlanCoveredUsage"
    )
    negated = sum(
        r["line_item_unblended_cost"]
        for r in rows
        if r["line_item_line_item_type"] == "SavingsPlanNegation"
    )
    assert covered > 0 and covered + negated == pytest.approx(0, abs=1e-6)
    assert any("user:2i2c:hub-name" in (r["resource_tags"] or "") for r in rows)
    # EKS split cost allocation rows of the shared cluster's core nodes.
    assert any(r["split_line_item_parent_resource_id"] for r in rows)


def test_aws_deliveries_are_multi_part_with_manifests_and_a_legacy_cur_gzip(landing: Path):
    inventory = survey(aws.SOURCE, landing)
    names = [p.relative_to(landing).as_posix() for p in inventory.data]
    manifests = [p.relative_to(landing).as_posix() for p in inventory.manifests]
    # CUR 2.0: two parts per billing period and the metadata Manifest.json.
    assert any(n.endswith("BILLING_PERIOD=2026-05/cur2-00002.snappy.parquet") for n in names)
    assert any(m.endswith("metadata/BILLING_PERIOD=2026-05/cur2-Manifest.json") for m in manifests)
    # Legacy CUR: gzip CSV in assemblyId folders; October's estimate assembly is still there.
    october = [n for n in names if "/20261001-20261101/" in n]
    assert len(october) == 2 and all(n.endswith("-1.csv.gz") for n in october)
    assert any(m.endswith("20261001-20261101/2i2c-legacy-cur-Manifest.json") for m in manifests)
    assert inventory.others == {}


def test_azure_exports_have_a_bom_and_month_first_dates(landing: Path):
    paths = azure.SOURCE.files(landing)
    assert paths
    # Our subscription exports partitioned runs: two gzip parts and the run's manifest.json.
    assert len([p for p in paths if p.name.endswith(".csv.gz")]) == 2 * len(
        survey(azure.SOURCE, landing).manifests
    )
    with open_bytes(paths[0]) as handle:
        raw = handle.read()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b",05/01/2026," in raw or b",06/01/2026," in raw or b"/01/2026," in raw
    rows = [r for t in _parse_all(landing, azure.SOURCE) for r in t.to_pylist()]
    assert {r["date"].year for r in rows} == {2026}
    assert any(r["tags"] and "created-for-pvc-namespace" in r["tags"] for r in rows)


def test_focus_export_covers_months_the_cur_does_not(landing: Path):
    rows = [r for t in _parse_all(landing, focus.SOURCE) for r in t.to_pylist()]
    focus_months = {(r["sub_account_id"], r["billing_period_start"].date()) for r in rows}
    cur = [r for t in _parse_all(landing, aws.SOURCE) for r in t.to_pylist()]
    cur_months = {
        (r["line_item_usage_account_id"], r["bill_billing_period_start_date"].date()) for r in cur
    }
    assert focus_months and not focus_months & cur_months
    assert {r["charge_frequency"] for r in rows} >= {"Usage-Based"}
