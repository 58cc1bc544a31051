"""One pipeline run: demo bills plus hand-made bad files; the totals reconcile.

sum of raw net cost (every line of the current deliveries in landing, read with plain DuckDB
and the providers' own rules: a re-export replaces a month, the legacy CUR manifest names the
assembly) = sum of mart cost (marts.fct_cloud_costs_monthly.billed_cost_usd) + quarantined
cost. The world is the tests' small one with every partner in USD, so mart USD = billed.
"""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ingest.demo.world import build_world
from ingest.demo.writers import write_landing
from tests.conftest import build_cli

pytestmark = [pytest.mark.slow(50, reason="two CLI builds of the bills' fixtures"), pytest.mark.e2e]

WORLD = {"seed": 7, "months": 6, "partners": 8, "as_of": date(2026, 11, 15)}

# Hand-made files with bad rows, in USD, in September 2026, on accounts in no cluster.
BAD_FILES = {
    # valid b1 10.00; 'ten' not a number; b1 again (4.00, duplicate); b4 crosses into
    # October (3.00). Raw numeric 17.00, quarantined 7.00.
    "cloud_costs/aws/999999999999/bad-cur.csv": (
        "identity_line_item_id,identity_time_interval,bill_billing_period_start_date,"
        "line_item_usage_account_id,line_item_line_item_type,line_item_usage_start_date,"
        "line_item_usage_end_date,line_item_unblended_cost,line_item_currency_code\n"
        "b1,i1,2026-09-01T00:00:00Z,999999999999,Usage,2026-09-02T00:00:00Z,"
        "2026-09-02T01:00:00Z,10.00,USD\n"
        "b2,i1,2026-09-01T00:00:00Z,999999999999,Usage,2026-09-02T00:00:00Z,"
        "2026-09-02T01:00:00Z,ten,USD\n"
        "b1,i1,2026-09-01T00:00:00Z,999999999999,Usage,2026-09-02T00:00:00Z,"
        "2026-09-02T01:00:00Z,4.00,USD\n"
        "b4,i4,2026-09-01T00:00:00Z,999999999999,Usage,2026-09-30T12:00:00Z,"
        "2026-10-01T12:00:00Z,3.00,USD\n"
    ),
    # valid 5.00; ChargeCategory Spend (2.00); unparseable ChargePeriodStart (1.50).
    # Raw 8.50, quarantined 3.50.
    "cloud_costs/focus/bad/focus-bad.csv": (
        "BilledCost,EffectiveCost,ListCost,BillingCurrency,BillingAccountId,BillingPeriodStart,"
        "ChargeCategory,ChargePeriodStart,ChargePeriodEnd,ProviderName,ServiceName\n"
        "5.00,5.00,5.00,USD,BA-BAD,2026-09-01 00:00:00,Usage,2026-09-03 00:00:00,"
        "2026-09-04 00:00:00,AWS,Amazon EC2\n"
        "2.00,2.00,2.00,USD,BA-BAD,2026-09-01 00:00:00,Spend,2026-09-03 00:00:00,"
        "2026-09-04 00:00:00,AWS,Amazon EC2\n"
        "1.50,1.50,1.50,USD,BA-BAD,2026-09-01 00:00:00,Usage,yesterday,"
        "2026-09-04 00:00:00,AWS,Amazon EC2\n"
    ),
    # valid cost 6 with a -1 credit (net 5); cost 'x'; 2 - 0.5 crossing months (net 1.5).
    # Raw net 6.50, quarantined 1.50.
    "cloud_costs/gcp/BA-BAD/202609.jsonl": "\n".join(
        [
            '{"billing_account_id":"BA-BAD","service":{"description":"Compute Engine"},'
            '"project":{"id":"nowhere"},"usage_start_time":"2026-09-05 00:00:00 UTC",'
            '"usage_end_time":"2026-09-05 01:00:00 UTC","cost":6,"currency":"USD",'
            '"credits":[{"name":"SUD","amount":-1}],"invoice":{"month":"202609"},'
            '"cost_type":"regular"}',
            '{"billing_account_id":"BA-BAD","service":{"description":"Compute Engine"},'
            '"project":{"id":"nowhere"},"usage_start_time":"2026-09-05 00:00:00 UTC",'
            '"usage_end_time":"2026-09-05 01:00:00 UTC","cost":"x","currency":"USD",'
            '"credits":[],"invoice":{"month":"202609"},"cost_type":"regular"}',
            '{"billing_account_id":"BA-BAD","service":{"description":"Compute Engine"},'
            '"project":{"id":"nowhere"},"usage_start_time":"2026-09-30 23:00:00 UTC",'
            '"usage_end_time":"2026-10-01 01:00:00 UTC","cost":2,"currency":"USD",'
            '"credits":[{"name":"SUD","amount":-0.5}],"invoice":{"month":"202609"},'
            '"cost_type":"regular"}',
        ]
    )
    + "\n",
    # valid 3.00; a DD/MM/YYYY date (1.25). Raw 4.25, quarantined 1.25.
    "cloud_costs/azure/bad/actualcost.csv": (
        "\ufeffBillingAccountId,SubscriptionId,Date,CostInBillingCurrency,BillingCurrency,"
        "ChargeType,MeterCategory\n"
        "BAD,00000000-0000-0000-0000-00000000dead,09/10/2026,3.00,USD,Usage,Storage\n"
        "BAD,00000000-0000-0000-0000-00000000dead,25/09/2026,1.25,USD,Usage,Storage\n"
    ),
}
BAD_VALID = 10.0 + 5.0 + 5.0 + 3.0
BAD_QUARANTINED = 7.0 + 3.5 + 1.5 + 1.25


# A file nothing reads, which the build must list as skipped rather than pass over; and an
# invoice export saved with an upper-case extension, which Path.glob does not match on Linux.
UNKNOWN_FILE = "cloud_costs/aws/README.txt"
UPPER_CASE_INVOICES = "invoices/JAN.CSV"
# Invoices saved where no source reads (the root, a folder in the wrong case, a near miss of
# cloud_costs/), listed as skipped with where each goes; beside them the Finder's .DS_Store,
# ignored.
MISPLACED_INVOICES = {
    "Invoices/jan.csv": "Invoices/ is not invoices/ (names are case-sensitive); move it to "
    "invoices/jan.csv",
    "costs/aws/2026-10.csv": "no source reads costs/; move it to cloud_costs/aws/2026-10.csv",
    "invoices-2025.csv": "no source reads files at the landing root; move it into invoices/",
}


def _current_gcp_files(landing: Path) -> list[Path]:
    """Every GCP export file, less a month's first export when it was exported again."""
    files = sorted(p for p in (landing / "cloud_costs" / "gcp").rglob("*") if p.is_file())
    reexported = {
        (p.parent.parent, p.name.split("-")[0])
        for p in files
        if p.parent.name.startswith("reexport-")
    }
    return [
        p
        for p in files
        if p.parent.name.startswith("reexport-") or (p.parent, p.name[:6]) not in reexported
    ]


def _current_legacy_reports(landing: Path) -> list[Path]:
    """Legacy CUR report files of the assembly each period's manifest names."""
    current = []
    for manifest in (landing / "cloud_costs" / "aws").rglob("*-Manifest.json"):
        document = json.loads(manifest.read_text())
        if "reportKeys" in document and re.fullmatch(r"\d{8}-\d{8}", manifest.parent.name):
            current += [
                manifest.parent / "/".join(k.split("/")[-2:]) for k in document["reportKeys"]
            ]
    return current


def _landing_totals(landing: Path) -> float:
    """Net cost of every current landing line, read by plain DuckDB (no project code)."""
    con = duckdb.connect()
    cloud = landing / "cloud_costs"
    total = 0.0
    for path in _current_gcp_files(landing):
        if path.suffix == ".parquet":
            sql = (
                f"select sum(cost) + coalesce(sum((select sum(c.amount) "
                f"from unnest(credits) as t(c))), 0) from read_parquet('{path}')"
            )
        else:
            sql = (
                f"select sum(try_cast(json->>'cost' as double)) + coalesce(sum((select "
                f"sum(try_cast(c->>'amount' as double)) from unnest(from_json(json->'credits',"
                f" '[\"json\"]')) as t(c))), 0) from read_json_objects('{path}')"
            )
        total += con.execute(sql).fetchall()[0][0] or 0
    for path in sorted((cloud / "aws").rglob("*.parquet")):
        total += con.execute(
            f"select sum(line_item_unblended_cost) from read_parquet('{path}')"
        ).fetchall()[0][0]
    for path in sorted((cloud / "aws").rglob("*.csv")):
        total += con.execute(
            f"select sum(try_cast(line_item_unblended_cost as double)) "
            f"from read_csv('{path}', all_varchar = true)"
        ).fetchall()[0][0]
    for path in _current_legacy_reports(landing):
        total += con.execute(
            f'select sum(try_cast("lineItem/UnblendedCost" as double)) '
            f"from read_csv('{path}', all_varchar = true)"
        ).fetchall()[0][0]
    for pattern in ("*.csv", "*.csv.gz"):
        for path in sorted((cloud / "azure").rglob(pattern)):
            total += con.execute(
                f"select sum(try_cast(CostInBillingCurrency as double)) "
                f"from read_csv('{path}', all_varchar = true)"
            ).fetchall()[0][0]
    for path in sorted((cloud / "focus").rglob("*.csv")):
        total += con.execute(
            f"select sum(try_cast(BilledCost as double)) "
            f"from read_csv('{path}', all_varchar = true, nullstr = 'NULL')"
        ).fetchall()[0][0]
    return total


QUARANTINED_COST = """
select coalesce(sum(case source
    when 'gcp_billing' then try_cast(raw_record->>'cost' as double) + coalesce((
        select sum(try_cast(c->>'amount' as double))
        from unnest(from_json(raw_record->>'credits', '["json"]')) as t(c)), 0)
    when 'aws_cur' then try_cast(raw_record->>'line_item_unblended_cost' as double)
    when 'azure_costs' then try_cast(raw_record->>'cost_in_billing_currency' as double)
    when 'focus' then try_cast(raw_record->>'BilledCost' as double)
end), 0)
from raw._quarantine
where source in ('gcp_billing', 'aws_cur', 'azure_costs', 'focus')
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, cli_env: dict[str, str]):
    root = tmp_path_factory.mktemp("cloud_costs_pipeline")
    landing, warehouse = root / "landing", root / "warehouse.duckdb"
    world = build_world(**WORLD)
    for partner in world.partners:
        partner.currency = "USD"
    write_landing(world, landing)
    for relative, text in {**BAD_FILES, UNKNOWN_FILE: "notes about our AWS exports\n"}.items():
        path = landing / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    invoices = sorted((landing / "invoices").glob("*.csv"))[0]
    for relative in [UPPER_CASE_INVOICES, *MISPLACED_INVOICES]:
        (landing / relative).parent.mkdir(exist_ok=True, parents=True)
        shutil.copy(invoices, landing / relative)
    (landing / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1" + bytes(2040))
    result = build_cli(landing, warehouse, cli_env)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    return landing, warehouse, result.stdout


def test_raw_net_cost_equals_mart_cost_plus_quarantined_cost(built):
    landing, warehouse, _ = built
    con = duckdb.connect(str(warehouse), read_only=True)
    [(mart,)] = con.execute(
        "select sum(billed_cost_usd) from marts.fct_cloud_costs_monthly"
    ).fetchall()
    [(quarantined,)] = con.execute(QUARANTINED_COST).fetchall()
    assert quarantined == pytest.approx(BAD_QUARANTINED, abs=1e-9)
    assert _landing_totals(landing) == pytest.approx(mart + quarantined, abs=1e-6)
    # The bad files stay in landing and are logged with their quarantined rows.
    log = dict(
        con.execute(
            "select file, rows_quarantined from raw._ingest_log where file like '%bad%' "
            "or file like '%BA-BAD%'"
        ).fetchall()
    )
    assert log == {
        "cloud_costs/aws/999999999999/bad-cur.csv": 3,
        "cloud_costs/focus/bad/focus-bad.csv": 2,
        "cloud_costs/gcp/BA-BAD/202609.jsonl": 2,
        "cloud_costs/azure/bad/actualcost.csv": 1,
    }
    assert all((landing / relative).exists() for relative in BAD_FILES)


def test_cost_matching_no_cluster_is_unattributed_and_mrc_adds_up(built):
    landing, warehouse, _ = built
    con = duckdb.connect(str(warehouse), read_only=True)
    # The demo's sandbox project is in no cluster; September's current delivery is the
    # re-export.
    [reexport] = (landing / "cloud_costs/gcp/01A2B3-C4D5E6-2I2C00").glob("reexport-*/202609-*")
    [(sandbox,)] = duckdb.sql(
        f"select sum((json->>'cost')::double) from read_json_objects('{reexport}') "
        "where json->'project'->>'id' = '2i2c-sandbox'"
    ).fetchall()
    [(no_cluster,)] = con.execute(
        "select sum(billed_cost_usd) from marts.fct_cloud_costs_monthly "
        "where month = '2026-09-01' and attribution_method = 'no_cluster'"
    ).fetchall()
    assert no_cluster == pytest.approx(BAD_VALID + sandbox, abs=1e-9)
    [(costs, mrc, unattributed)] = con.execute(
        "select (select sum(effective_cost_usd) from marts.fct_cloud_costs_monthly), "
        "(select sum(mrc_usd) from marts.fct_mrc_monthly), "
        "(select sum(mrc_usd) from marts.fct_mrc_monthly where partner_id = 'unattributed')"
    ).fetchall()
    assert mrc == pytest.approx(costs, abs=1e-6)
    assert unattributed >= BAD_VALID
    methods = {
        m
        for (m,) in con.execute(
            "select distinct attribution_method from marts.fct_cloud_costs_monthly"
        ).fetchall()
    }
    assert {"hub_tag", "memory_share", "no_cluster"} <= methods


def test_an_unknown_file_is_skipped_in_the_log_and_the_summary(built):
    landing, warehouse, stdout = built
    con = duckdb.connect(str(warehouse), read_only=True)
    [(status, reason)] = con.execute(
        "select status, reason from raw._ingest_log where file = ?", [UNKNOWN_FILE]
    ).fetchall()
    assert (status, reason.split(" (")[0]) == ("skipped", "not a file aws_cur reads")
    # Listed alike, whichever source's folder holds them, with what to do; and the files no
    # source's folder holds, with where each goes.
    assert (
        "Skipped files (5; not read, nothing of them is counted):\n"
        f"  aws_cur: {UNKNOWN_FILE}: not a file aws_cur reads (expected "
        "cloud_costs/aws/**/*.{parquet,csv,csv.gz,csv.zip})\n"
        f"  invoices: {UPPER_CASE_INVOICES}: not a file invoices reads (expected "
        "invoices/*.{csv,xlsx,xls,json,txt}): .CSV is not .csv (names are case-sensitive); rename "
        "it to JAN.csv\n"
        + "".join(
            f"  landing: {file}: not in a source's folder: {reason}\n"
            for file, reason in sorted(MISPLACED_INVOICES.items())
        )
    ) in stdout
    assert con.execute(
        "select landing_file, status from staging.stg_ingest__files where source_name = 'landing'"
        " order by all"
    ).fetchall() == [
        (".DS_Store", "ignored"),
        *((f, "skipped") for f in sorted(MISPLACED_INVOICES)),
    ]
    assert con.execute(
        "select count(*) from raw.invoice_lines where _file in (select unnest(?))",
        [[UPPER_CASE_INVOICES, *MISPLACED_INVOICES]],
    ).fetchall() == [(0,)]
    # The log's 'landing' is no connector: no verdict of its own.
    assert con.execute(
        "select count(*) from marts.fct_reconciliation_verdicts where source = 'landing'"
    ).fetchall() == [(0,)]
    assert (landing / UNKNOWN_FILE).exists(), "raw input is never destroyed"


def test_a_second_build_lists_the_same_unread_files_and_changes_nothing(
    built, cli_env: dict[str, str], tmp_path: Path
):
    """Files left unread change no state: a build finding them again leaves the warehouse
    file as it was, dbt unrun, and lists them again."""
    landing, warehouse, _ = built
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(built_at,)] = con.execute("select max(built_at) from audit.dbt_builds").fetchall()
    if built_at.astimezone().date() != date.today():
        pytest.skip("the day changed since the first build: its as-of day (today) differs")
    copy = tmp_path / warehouse.name
    shutil.copy(warehouse, copy)
    shutil.copytree(warehouse.parent / "snapshots", tmp_path / "snapshots")
    before, mtime = copy.read_bytes(), copy.stat().st_mtime_ns
    result = build_cli(landing, copy, cli_env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"^  dbt +nothing changed since run", result.stdout, re.M), result.stdout
    assert (copy.read_bytes(), copy.stat().st_mtime_ns) == (before, mtime)
    assert "Skipped files (5; " in result.stdout
    assert "  landing: Invoices/jan.csv: not in a source's folder: " in result.stdout


def test_superseded_deliveries_stay_in_raw_and_raw_is_superseded_plus_current(built):
    """The legacy CUR estimate assembly and the first GCP export of the re-exported month are
    in raw and not counted; per source and currency, raw = superseded + current."""
    _, warehouse, _ = built
    con = duckdb.connect(str(warehouse), read_only=True)
    stages = {
        (source, stage.split(" ")[0].rstrip(":"), currency): amount
        for source, stage, currency, amount in con.execute(
            "select source, stage, currency, amount from marts.fct_reconciliation "
            "where source in ('gcp_billing', 'aws_cur', 'azure_costs', 'focus')"
        ).fetchall()
    }
    for source in ("gcp_billing", "aws_cur", "azure_costs", "focus"):
        raw = stages[(source, "raw", "USD")]
        superseded = stages.get((source, "superseded", "USD"), 0)
        assert raw == superseded + stages[(source, "current", "USD")], source
    assert stages[("aws_cur", "superseded", "USD")] > 0
    assert stages[("gcp_billing", "superseded", "USD")] > 0
    reasons = {
        reason.split(":")[0]
        for (reason,) in con.execute(
            "select superseded_reason from staging.stg_aws__deliveries where not is_current"
        ).fetchall()
    }
    assert len(reasons) == 1 and reasons.pop().startswith("assembly ")
