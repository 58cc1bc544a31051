"""Demo data: a simulated partnership history written in every source's real format."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from ingest.demo.world import World, build_world
from ingest.demo.writers import write_landing


def generate(
    out: Path, seed: int = 42, months: int = 36, partners: int = 30, as_of: date | None = None
) -> World:
    """Write the demo landing folder under `out` and return the world it describes."""
    world = build_world(seed=seed, months=months, partners=partners, as_of=as_of)
    write_landing(world, out)
    return world
