"""Where the cloud-cost fixtures live (see tests/fixtures/cloud_costs/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "cloud_costs"
# The public samples as published, beside the repository (not copied whole: the FOCUS one is
# 755 kB); tests on the full files skip when they are not there.
SHARED_FORMATS = Path(__file__).resolve().parents[3] / "shared" / "formats"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES
