"""The code stays ruff and sqlfluff clean: `make lint`, enforced by `make test`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from warehouse.paths import PROJECT_ROOT, WAREHOUSE_ENV

pytestmark = pytest.mark.slow(
    60, reason="sqlfluff's dbt templater: a dbt parse, then every model compiled and linted"
)

BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, WAREHOUSE_ENV: ":memory:"}  # sqlfluff's dbt templater connects
    return subprocess.run(
        command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def test_python_is_ruff_clean_and_formatted():
    check = run(str(BIN / "ruff"), "check", ".")
    assert check.returncode == 0, check.stdout
    formatted = run(str(BIN / "ruff"), "format", "--check", ".")
    assert formatted.returncode == 0, formatted.stdout


def test_sql_is_sqlfluff_clean():
    lint = run(str(BIN / "sqlfluff"), "lint", "dbt_project")
    assert lint.returncode == 0, lint.stdout[-5000:]
