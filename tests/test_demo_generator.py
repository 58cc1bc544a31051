"""The demo generator: deterministic, and as varied as the partnerships it imitates."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

from ingest.demo import generate
from ingest.demo.world import build_world
from ingest.prometheus import SERIES


def digest(folder: Path) -> dict[str, str]:
    return {
        path.relative_to(folder).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_same_seed_and_day_write_the_same_bytes(tmp_path: Path):
    options = {"seed": 3, "months": 4, "partners": 6, "as_of": date(2026, 5, 10)}
    generate(tmp_path / "a", **options)
    generate(tmp_path / "b", **options)
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    generate(tmp_path / "c", **{**options, "seed": 4})
    assert digest(tmp_path / "c") != digest(tmp_path / "a")


def test_default_world_has_the_shape_of_the_real_partnerships():
    world = build_world(seed=42, as_of=date(2026, 11, 26))
    assert len(world.months) == 36
    assert world.months[0] == date(2023, 11, 1)
    assert world.months[-1] == date(2026, 10, 1)
    assert len(world.partners) == 30
    assert 40 <= len(world.hubs) <= 55
    assert {c.provider for c in world.clusters} == {"gcp", "aws", "azure"}
    shared = [c for c in world.clusters if len({h.partner_id for h in c.hubs}) > 1]
    assert len(shared) >= 2
    churned = [p for p in world.partners if p.churned_on]
    assert len(churned) == 5
    assert len([p for p in churned if p.reactivated_on]) == 2
    assert any(not c.paid_by_us for c in world.clusters)


def test_landing_layout_matches_the_contract(tmp_path: Path):
    world = generate(tmp_path, seed=1, months=3, partners=4, as_of=date(2026, 2, 1))
    files = digest(tmp_path)
    assert "registry/clusters.yaml" in files
    assert "registry/usage.yaml" in files
    assert "fx/rates.csv" in files
    for cluster in world.clusters:  # every series for every cluster, even one without hubs
        for series in SERIES:
            assert f"usage/{cluster.name}/{series}.json" in files
