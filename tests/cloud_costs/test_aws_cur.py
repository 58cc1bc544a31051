"""AWS CUR 2.0 (CSV and Parquet) and legacy CUR: every line item type kept with its sign."""

from __future__ import annotations

import gzip
import json
import zipfile
from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from ingest.cloud_costs.aws import SOURCE as AWS
from ingest.cloud_costs.aws import legacy_name
from ingest.framework import ParseError, SourceError, load_source

from .conftest import FIXTURES


def unblended(parsed) -> float:
    return round(sum(parsed.tables["aws_cur"].column("line_item_unblended_cost").to_pylist()), 10)


def test_cur2_csv_savings_plan_credit_tax_and_quarantine():
    parsed = AWS.parse(FIXTURES / "aws" / "cur2.csv")
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
    parsed = AWS.parse(target)
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
    parsed = AWS.parse(FIXTURES / "aws" / "legacy-cur.csv")
    assert unblended(parsed) == 2.0  # 1.25 + 0.75
    tags = parsed.tables["aws_cur"].column("resource_tags").to_pylist()
    assert tags == [
        '{"user:2i2c:hub-name":"hub-x","user:team":"science"}',
        '{"user:2i2c:hub-name":null,"user:team":null}',
    ]


def test_legacy_cur_whose_values_hold_semicolons_and_tabs_is_still_read_at_commas(
    tmp_path: Path,
):
    """The separator is told by the header alone: a provider export, always comma-separated,
    reads as it always has whatever its values hold."""
    text = (FIXTURES / "aws" / "legacy-cur.csv").read_text(encoding="utf-8")
    path = tmp_path / "legacy-cur.csv"
    path.write_text(text.replace(",hub-x,science", ",hub-x;staging,science\tops"))
    parsed = AWS.parse(path)
    assert parsed.rejected.num_rows == 0
    assert unblended(parsed) == 2.0  # 1.25 + 0.75
    tags = parsed.tables["aws_cur"].column("resource_tags").to_pylist()
    assert json.loads(tags[0]) == {
        "user:2i2c:hub-name": "hub-x;staging",
        "user:team": "science\tops",
    }


def test_missing_column_is_a_parse_error(tmp_path: Path):
    path = tmp_path / "cur.csv"
    path.write_text(
        "line_item_usage_account_id,line_item_unblended_cost,"
        "line_item_usage_start_date\n1,2,2024-01-01\n"
    )
    with pytest.raises(ParseError) as error:
        AWS.parse(path)
    assert error.value.problem == (
        "missing required column(s): line_item_line_item_type, "
        "line_item_usage_end_date, bill_billing_period_start_date"
    )


def test_cur2_discounts_split_cost_and_commitment_ids_are_kept(tmp_path: Path):
    # CUR 2.0 Parquet with the discount map (total_discount among its keys), the net cost,
    # EKS split cost allocation columns and a Savings Plan ARN.
    target = tmp_path / "cur.zstd.parquet"
    duckdb.sql(f"""
        copy (
            select *,
                   timestamp '2024-06-01 00:00:00' as bill_billing_period_start_date,
                   timestamp '2024-06-02 00:00:00' as line_item_usage_start_date,
                   timestamp '2024-06-02 01:00:00' as line_item_usage_end_date
            from (values
                ('l1', '111', 'Usage', 10.0, 9.0,
                 map(['total_discount', 'edp_discount'], [-1.0, -1.0]),
                 null, null, null, null),
                ('l2', '111', 'Usage', 0.0, null,
                 map([], [])::map(varchar, double),
                 'i-1', 1.25, 0.25, 'arn:aws:savingsplans::111:savingsplan/sp-1')
            ) as t(identity_line_item_id, line_item_usage_account_id, line_item_line_item_type,
                   line_item_unblended_cost, line_item_net_unblended_cost, discount,
                   split_line_item_parent_resource_id, split_line_item_split_cost,
                   split_line_item_unused_cost, savings_plan_savings_plan_a_r_n)
        ) to '{target}' (format parquet, compression zstd)
    """)
    rows = AWS.parse(target).tables["aws_cur"].to_pylist()
    assert [(r["line_item_net_unblended_cost"], r["discount_total_discount"]) for r in rows] == [
        (9.0, -1.0),
        (None, None),
    ]
    assert (
        rows[1]["split_line_item_parent_resource_id"],
        rows[1]["split_line_item_split_cost"],
        rows[1]["split_line_item_unused_cost"],
        rows[1]["savings_plan_savings_plan_a_r_n"],
    ) == ("i-1", 1.25, 0.25, "arn:aws:savingsplans::111:savingsplan/sp-1")
    # The delivery scope: payer account (none here: the usage account) and billing month.
    assert {(r["_billing_account_id"], r["_billing_period"].isoformat()) for r in rows} == {
        ("111", "2024-06-01")
    }


def test_legacy_cur_written_for_athena_is_recognised_and_keeps_its_tags(tmp_path: Path):
    # Athena's legacy CUR: snake_case columns like CUR 2.0, but one resource_tags_user_<key>
    # column per tag and no resource_tags map (the tag's ':' and '-' became '_').
    target = tmp_path / "athena.snappy.parquet"
    duckdb.sql(f"""
        copy (
            select 'l1' as identity_line_item_id, '111' as line_item_usage_account_id,
                   'Usage' as line_item_line_item_type, 4.5 as line_item_unblended_cost,
                   timestamp '2024-06-01 00:00:00' as bill_billing_period_start_date,
                   timestamp '2024-06-02 00:00:00' as line_item_usage_start_date,
                   timestamp '2024-06-02 01:00:00' as line_item_usage_end_date,
                   'hub-a' as resource_tags_user_2i2c_hub_name,
                   'kube-system' as resource_tags_aws_eks_namespace,
                   '' as resource_tags_user_team
        ) to '{target}' (format parquet)
    """)
    [row] = AWS.parse(target).tables["aws_cur"].to_pylist()
    assert row["line_item_unblended_cost"] == 4.5
    assert row["resource_tags"] == (
        '{"user:2i2c_hub_name":"hub-a","aws:eks_namespace":"kube-system","user:team":null}'
    )


def test_a_real_athena_part_of_a_legacy_cur_loads_with_its_ri_lines_and_tags():
    """201 rows of a real December 2018 part of a CUR with Athena integration (AWS
    Well-Architected Labs' WorkshopCUR, fixtures README): 129 typed columns, timestamps as
    INT64 milliseconds, eight resource_tags_* columns, and the RI fee lines AWS writes for
    the whole month (ending 23:59:59)."""
    path = FIXTURES / "aws" / "athena" / "WorkshopCUR-Dec2018-subset.snappy.parquet"
    parsed = AWS.parse(path)
    assert parsed.rejected.num_rows == 0
    rows = parsed.tables["aws_cur"].to_pylist()
    # Plain DuckDB on the file: 9 RIFee lines 152.2968, 40 DiscountedUsage 0, 152 Usage 0.7912.
    expected = duckdb.sql(
        "select line_item_line_item_type, count(*), round(sum(line_item_unblended_cost), 6) "
        f"from read_parquet('{path}') group by 1 order by 1"
    ).fetchall()
    assert expected == [
        ("DiscountedUsage", 40, 0.0),
        ("RIFee", 9, 152.2968),
        ("Usage", 152, 0.7912),
    ]
    by_type: dict[str, list[float]] = {}
    for row in rows:
        by_type.setdefault(row["line_item_line_item_type"], []).append(
            row["line_item_unblended_cost"]
        )
    assert sorted((t, len(c), round(sum(c), 6)) for t, c in by_type.items()) == expected
    assert {(r["_billing_account_id"], r["_billing_period"].isoformat()) for r in rows} == {
        ("836060457634", "2018-12-01")
    }
    fee = next(r for r in rows if r["line_item_line_item_type"] == "RIFee")
    assert (fee["line_item_usage_start_date"], fee["line_item_usage_end_date"]) == (
        datetime(2018, 12, 1),
        datetime(2018, 12, 31, 23, 59, 59),
    )
    # Athena's column resource_tags_user_name is the tag user:name; empty tags are null.
    tags = [json.loads(r["resource_tags"]) for r in rows]
    assert len(tags[0]) == 8
    [(jump_box,)] = duckdb.sql(
        f"select count(*) from read_parquet('{path}') where resource_tags_user_name = 'JumpBox'"
    ).fetchall()
    assert jump_box == 40
    assert sum(t["user:name"] == "JumpBox" for t in tags) == jump_box


def test_legacy_cur_gzip_with_net_cost_discount_and_arn_columns(tmp_path: Path):
    path = tmp_path / "report-1.csv.gz"
    text = (
        "identity/LineItemId,lineItem/UsageAccountId,lineItem/LineItemType,"
        "lineItem/UnblendedCost,lineItem/NetUnblendedCost,discount/TotalDiscount,"
        "lineItem/UsageStartDate,lineItem/UsageEndDate,bill/BillingPeriodStartDate,"
        "bill/PayerAccountId,savingsPlan/SavingsPlanARN,resourceTags/aws:eks:namespace\n"
        "l1,111,Usage,10.00,9.50,-0.50,2024-03-01T00:00:00Z,2024-03-01T01:00:00Z,"
        "2024-03-01T00:00:00Z,999,arn:sp,hub-a\n"
    )
    path.write_bytes(gzip.compress(text.encode()))
    [row] = AWS.parse(path).tables["aws_cur"].to_pylist()
    assert (
        row["line_item_unblended_cost"],
        row["line_item_net_unblended_cost"],
        row["discount_total_discount"],
        row["savings_plan_savings_plan_a_r_n"],
        row["resource_tags"],
        row["_billing_account_id"],
    ) == (10.0, 9.5, -0.5, "arn:sp", '{"aws:eks:namespace":"hub-a"}', "999")


def _cur2_part(target: Path, ids: list[str], costs: list[str], extra: str = "") -> None:
    """A CUR 2.0 Parquet part: one line item per id, its cost as text (so a bad one can be
    written), every line on 2024-06-02."""
    target.parent.mkdir(parents=True, exist_ok=True)
    rows = ", ".join(f"('{i}', '{c}')" for i, c in zip(ids, costs, strict=True))
    duckdb.sql(f"""
        copy (
            select identity_line_item_id, '111122223333' as line_item_usage_account_id,
                   'Usage' as line_item_line_item_type, cost as line_item_unblended_cost,
                   timestamp '2024-06-01' as bill_billing_period_start_date,
                   timestamp '2024-06-02 00:00:00' as line_item_usage_start_date,
                   timestamp '2024-06-02 01:00:00' as line_item_usage_end_date {extra}
            from (values {rows}) as t(identity_line_item_id, cost)
        ) to '{target}' (format parquet, compression zstd)
    """)


def test_parquet_parts_read_together_keep_their_own_files_and_rows(tmp_path: Path):
    # Parts of one schema are read by one statement; each record still names its own file
    # and row. Part 2 repeats its row 1 id in row 2 and has a cost that is not a number in
    # row 3; part 3 has one more column (another schema, read apart).
    folder = tmp_path / "cloud_costs" / "aws" / "cur" / "data" / "BILLING_PERIOD=2024-06"
    _cur2_part(folder / "part-1.parquet", ["a", "b"], ["1.5", "2.0"])
    _cur2_part(folder / "part-2.parquet", ["c", "c", "d", "e"], ["1.0", "1.0", "lots", "0.5"])
    _cur2_part(folder / "part-3.parquet", ["f"], ["4.0"], ", 'RunInstances' as line_item_operation")
    with duckdb.connect() as con:
        report = load_source(con, AWS, tmp_path)
        counts = {Path(f.file).name: (f.rows_loaded, f.rows_quarantined) for f in report.files}
        assert counts == {
            "part-1.parquet": (2, 0),
            "part-2.parquet": (2, 2),
            "part-3.parquet": (1, 0),
        }
        by_file = con.execute(
            "select regexp_extract(_file, '[^/]+$'), _record, line_item_unblended_cost "
            "from raw.aws_cur order by 1, 2"
        ).fetchall()
        assert by_file == [
            ("part-1.parquet", "row 1", 1.5),
            ("part-1.parquet", "row 2", 2.0),
            ("part-2.parquet", "row 1", 1.0),
            ("part-2.parquet", "row 4", 0.5),
            ("part-3.parquet", "row 1", 4.0),
        ]
        quarantined = con.execute(
            "select regexp_extract(file, '[^/]+$'), record, reason from raw._quarantine "
            "order by 1, 2"
        ).fetchall()
        assert quarantined == [
            (
                "part-2.parquet",
                "row 2",
                "duplicate key (identity_line_item_id, identity_time_interval), first at row 1",
            ),
            ("part-2.parquet", "row 3", "line_item_unblended_cost is not a finite number: lots"),
        ]


def test_a_damaged_part_read_with_others_is_named_and_nothing_is_written(tmp_path: Path):
    folder = tmp_path / "cloud_costs" / "aws" / "cur" / "data" / "BILLING_PERIOD=2024-06"
    for n in (1, 2, 3):
        _cur2_part(folder / f"part-{n}.parquet", [f"id-{n}"], ["1.0"])
    damaged = folder / "part-2.parquet"
    data = bytearray(damaged.read_bytes())
    data[40:56] = bytes(b ^ 0xFF for b in data[40:56])  # a data page; the footer is intact
    damaged.write_bytes(bytes(data))
    with duckdb.connect() as con:
        with pytest.raises(SourceError) as error:
            load_source(con, AWS, tmp_path)
        assert error.value.file.endswith("BILLING_PERIOD=2024-06/part-2.parquet")
        # Found after the read of all three failed: part 2 was then read alone.
        assert isinstance(error.value.__cause__, duckdb.Error)
        assert error.value.problem.startswith("cannot be read: ")
        assert con.execute("select count(*) from raw.aws_cur").fetchall() == [(0,)]
        assert con.execute("select count(*) from raw._ingest_log").fetchall() == [(0,)]


def test_the_athena_table_definition_beside_the_parts_is_ignored_not_skipped(tmp_path: Path):
    # A CUR with Athena integration writes <report>-create-table.sql beside its Parquet parts
    # (a real one: fixtures README); it holds no bill lines and is not an unknown file.
    month = tmp_path / "cloud_costs/aws/cur/WorkshopCUR/WorkshopCUR/year=2018/month=10"
    _cur2_part(month / "WorkshopCUR-00001.snappy.parquet", ["a", "b"], ["1.25", "0.75"])
    definition = FIXTURES / "aws" / "athena" / "WorkshopCUR-create-table.sql"
    (month / definition.name).write_bytes(definition.read_bytes())
    with duckdb.connect() as con:
        report = load_source(con, AWS, tmp_path)
        statuses = {Path(f.file).name: (f.status, f.reason) for f in report.files}
        assert statuses == {
            "WorkshopCUR-00001.snappy.parquet": ("loaded", None),
            "WorkshopCUR-create-table.sql": ("ignored", "the CUR's Athena table definition"),
        }
        assert report.skipped == []
        assert con.execute("select sum(line_item_unblended_cost) from raw.aws_cur").fetchall() == [
            (2.0,)
        ]


def test_legacy_cur_zipped_as_its_zip_option_writes_it_loads_like_the_csv(tmp_path: Path):
    """Legacy CUR's ZIP compression: <report>-N.csv.zip in the assembly its period manifest
    names. It loads the lines of the CSV inside, counted and summed by plain DuckDB."""
    source = FIXTURES / "aws" / "legacy-cur.csv"
    period = tmp_path / "landing/cloud_costs/aws/cur/report/20240301-20240401"
    assembly = period / "asm-1"
    assembly.mkdir(parents=True)
    with zipfile.ZipFile(assembly / "report-1.csv.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(source, "report-1.csv")
    (period / "report-Manifest.json").write_text(
        json.dumps(
            {
                "assemblyId": "asm-1",
                "reportKeys": ["cur/report/20240301-20240401/asm-1/report-1.csv.zip"],
            }
        )
    )
    with duckdb.connect() as con:
        report = load_source(con, AWS, tmp_path / "landing")
        [(lines, total)] = duckdb.sql(
            f'select count(*), sum("lineItem/UnblendedCost"::double) '
            f"from read_csv('{source}', all_varchar = true)"
        ).fetchall()
        [loaded] = [f for f in report.files if f.file.endswith(".zip")]
        assert (loaded.file, loaded.status) == (
            "cloud_costs/aws/cur/report/20240301-20240401/asm-1/report-1.csv.zip",
            "loaded",
        )
        assert (loaded.rows_loaded, loaded.rows_quarantined) == (lines, 0)
        landed = con.execute("select sum(line_item_unblended_cost) from raw.aws_cur").fetchall()
        assert round(landed[0][0], 10) == round(total, 10)
