"""Where the cloud-cost fixtures live (see tests/fixtures/cloud_costs/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
