"""FOCUS exports in Parquet, typed as each provider publishes them (the fixtures' sources are
in tests/fixtures/cloud_costs/README.md): AWS Data Exports' FOCUS_1_0_AWS and FOCUS_1_2_AWS
(timestamp_milliseconds, double, Tags a map), Microsoft's FocusCost (Decimal, DateTimeOffset,
Tags JSON text) and Google's FOCUS view as BigQuery exports it (NUMERIC, TIMESTAMP, Tags a
list of key/value records). Each file loads whole with its hand-summed totals, and its Tags as
the JSON object stg_focus__costs passes on and int_cloud_costs__focus finds hub tags in."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest.cloud_costs.focus import SOURCE as FOCUS
from ingest.framework import load_source
from tests.conftest import run_dbt

from .conftest import write_typed_parquet

pytestmark = pytest.mark.slow(15, reason="a dbt build of typed FOCUS Parquet")

TIMESTAMP_MS = pa.timestamp("ms")
TIMESTAMP_UTC = pa.timestamp("us", tz="UTC")
STRING_MAP = pa.map_(pa.string(), pa.string())
AS_OF = "2025-04-15"  # dbt's as-of day, after the fixtures' month (March 2025)


@dataclass(frozen=True)
class Export:
    sql: str  # the fixture: a DuckDB query of the rows, typed as published
    landed_as: str  # a part's path as the provider's export writes it
    published: dict[str, pa.DataType]  # a few columns' Parquet types, as published
    billed: float  # the rows' sums, by hand (in the fixture's comment)
    effective: float
    tags: list[str | None]  # each row's Tags as raw.focus_costs keeps them
    hub_tags: list[str | None]  # the hub tag int_cloud_costs__focus finds in each row's Tags


EXPORTS = {
    "aws-focus-1.0": Export(
        "aws-focus-1.0.sql",
        "aws-focus/focus-1-0/data/BILLING_PERIOD=2025-03/focus-1-0-00001.snappy.parquet",
        {"BilledCost": pa.float64(), "ChargePeriodStart": TIMESTAMP_MS, "Tags": STRING_MAP},
        billed=13.95,
        effective=11.95,
        tags=[
            '{"user:2i2c:hub-name":"hub-a","user:team":"research"}',
            '{"aws:eks:namespace":"hub-b","aws:eks:cluster-name":"c1"}',
            "{}",
            None,
        ],
        hub_tags=["hub-a", "hub-b", None, None],
    ),
    "aws-focus-1.2": Export(
        "aws-focus-1.2.sql",
        "aws-focus/focus-1-2/data/BILLING_PERIOD=2025-03/focus-1-2-00001.snappy.parquet",
        {"BilledCost": pa.float64(), "ChargePeriodStart": TIMESTAMP_MS, "Tags": STRING_MAP},
        billed=7.70,
        effective=10.70,
        tags=['{"user:2i2c:hub-name":"hub-c"}', "{}", None],
        hub_tags=["hub-c", None, None],
    ),
    "azure-focuscost-1.0": Export(
        "azure-focuscost-1.0.sql",
        "azure-focus/focuscost/20250301-20250331/run-1/part_0_0001.snappy.parquet",
        {
            "BilledCost": pa.decimal128(38, 18),
            "ChargePeriodStart": TIMESTAMP_UTC,
            "Tags": pa.string(),
        },
        billed=110.00,
        effective=27.50,
        tags=['{"kubernetes.io-created-for-pvc-namespace":"hub-d","env":"prod"}', None, "{}"],
        hub_tags=["hub-d", None, None],
    ),
    "gcp-focus-view": Export(
        "gcp-focus-view.sql",
        "gcp-focus/202503/focus-000000000000.parquet",
        {
            "BilledCost": pa.decimal128(38, 9),
            "ChargePeriodStart": TIMESTAMP_UTC,
            "Tags": pa.list_(
                pa.struct(
                    [
                        ("key", pa.string()),
                        ("value", pa.string()),
                        ("x_type", pa.string()),
                        ("x_inherited", pa.bool_()),
                        ("x_namespace", pa.string()),
                    ]
                )
            ),
        },
        billed=6.75,
        effective=6.75,
        # The resource's own `team` label, not the one it inherits from its project.
        tags=['{"k8s-namespace":"hub-e","team":"research"}', "{}", '{"team":"infra"}'],
        hub_tags=["hub-e", None, None],
    ),
}
# The tag keys the fixtures use, of those int_cloud_costs__focus looks hub tags up by.
HUB_TAG_KEYS = (
    "user:2i2c:hub-name",
    "k8s-namespace",
    "kubernetes.io-created-for-pvc-namespace",
    "aws:eks:namespace",
)


def land(export: Export, landing: Path) -> Path:
    """The fixture written where the provider's export puts it, in the published types."""
    target = write_typed_parquet(export.sql, landing / "cloud_costs" / "focus" / export.landed_as)
    schema = pq.read_schema(target)
    assert {c: schema.field(c).type for c in export.published} == export.published
    return target


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_a_typed_export_loads_whole_with_its_totals_and_tags_as_objects(name: str, tmp_path: Path):
    export = EXPORTS[name]
    landing = tmp_path / "landing"
    rows = pq.read_metadata(land(export, landing)).num_rows
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        report = load_source(con, FOCUS, landing)
        [loaded] = report.files
        assert (loaded.rows_loaded, loaded.rows_quarantined) == (rows, 0)
        [(billed, effective)] = con.execute(
            "select sum(billed_cost), sum(effective_cost) from raw.focus_costs"
        ).fetchall()
        tags = con.execute("select tags from raw.focus_costs order by _record").fetchall()
    assert billed == pytest.approx(export.billed, abs=1e-9)
    assert effective == pytest.approx(export.effective, abs=1e-9)
    assert [t for (t,) in tags] == export.tags


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Every export loaded into one warehouse and built by dbt up to stg_focus__costs."""
    work = tmp_path_factory.mktemp("focus_typed_parquet")
    landing, warehouse = work / "landing", work / "warehouse.duckdb"
    for export in EXPORTS.values():
        land(export, landing)
    with duckdb.connect(str(warehouse)) as con:
        load_source(con, FOCUS, landing)
    result = run_dbt(["run", "--select", "+stg_focus__costs"], warehouse, work, AS_OF)
    assert result.returncode == 0, result.stdout[-3000:]
    return work, warehouse


@pytest.mark.e2e
def test_staging_keeps_every_row_and_total_and_finds_the_hub_tags(staged: tuple[Path, Path]):
    work, warehouse = staged
    keys = ", ".join(repr(k) for k in HUB_TAG_KEYS)
    # The hub tag by the macro int_cloud_costs__focus uses, on the staged rows.
    shown = run_dbt(
        [
            "show",
            "--inline",
            f"select _file, {{{{ first_json_field('tags', [{keys}]) }}}} as hub_tag "
            "from {{ ref('stg_focus__costs') }} order by line_key",
            "--limit",
            "-1",
            "--output",
            "json",
            "--log-format",
            "json",
        ],
        warehouse,
        work,
        AS_OF,
    )
    assert shown.returncode == 0, shown.stdout[-3000:]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        staged_rows = con.execute(
            "select _file, count(*), sum(billed_cost), sum(effective_cost) "
            "from staging.stg_focus__costs group by _file"
        ).fetchall()
    by_file = {file: (rows, billed, effective) for file, rows, billed, effective in staged_rows}
    hub_tags = _shown_rows(shown.stdout)
    for export in EXPORTS.values():
        file = f"cloud_costs/focus/{export.landed_as}"
        rows, billed, effective = by_file[file]
        assert rows == len(export.tags)
        assert billed == pytest.approx(export.billed, abs=1e-9)
        assert effective == pytest.approx(export.effective, abs=1e-9)
        assert [r["hub_tag"] for r in hub_tags if r["_file"] == file] == export.hub_tags


def _shown_rows(log: str) -> list[dict]:
    """The rows `dbt show --output json --log-format json` previews, from its log lines."""
    for line in log.splitlines():
        data = json.loads(line).get("data", {})
        if "preview" in data:
            return json.loads(data["preview"])
    raise AssertionError(f"no preview in dbt's output: {log[-2000:]}")
