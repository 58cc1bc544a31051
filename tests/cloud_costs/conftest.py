"""Where the cloud-cost fixtures live (see tests/fixtures/cloud_costs/README.md), and the
registry of the builds that land only a few bills."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cloud_costs"
# The public samples as published, beside the repository or a folder above it (a worktree)
# (not copied whole: the FOCUS one is 755 kB); tests on the full files skip when absent.
SHARED_FORMATS = next(
    (
        folder / "shared" / "formats"
        for folder in Path(__file__).resolve().parents[2:]
        if (folder / "shared" / "formats").is_dir()
    ),
    Path(__file__).resolve().parents[3] / "shared" / "formats",
)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


def write_registry(landing: Path, accounts: dict[str, str]) -> None:
    """registry/clusters.yaml of one cluster per provider, `cluster-<provider>` of that
    `provider`'s account (project, subscription), whose one hub `prod`, live from 2024,
    belongs to partner `uni-<provider>`: a build with only a few bills landed needs nothing
    else (no fx file for USD bills, no other source)."""
    registry = {
        "partners": [{"id": f"uni-{p}", "name": f"University {p.upper()}"} for p in accounts],
        "clusters": [
            {
                "name": f"cluster-{provider}",
                "provider": provider,
                "account": account,
                "paid_by_us": True,
                "hubs": [
                    {"name": "prod", "partner": f"uni-{provider}", "launched_on": "2024-01-01"}
                ],
            }
            for provider, account in accounts.items()
        ],
    }
    path = landing / "registry" / "clusters.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(registry, sort_keys=False), encoding="utf-8")


def write_typed_parquet(fixture: str, target: Path) -> Path:
    """The typed Parquet export `focus/parquet/<fixture>` (a DuckDB query of its rows, typed
    as the provider publishes them) written to `target`, where the export puts its part."""
    target.parent.mkdir(parents=True, exist_ok=True)
    query = (FIXTURES / "focus" / "parquet" / fixture).read_text(encoding="utf-8")
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"copy ({query}) to '{target}' (format parquet)")
    return target
