"""The manifest every build reads (dbt_project/target/manifest.json) is parsed again when a
model is newer than it, and replaced in one rename: a build of another warehouse reading it
meanwhile sees the old file or the new one, never half of one."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from orchestration import cli
from warehouse.paths import DBT_PROJECT_DIR


def test_a_stale_manifest_is_parsed_again_and_renamed_into_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    project = tmp_path / "dbt_project"
    shutil.copytree(
        DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", ".user.yml")
    )
    target = project / "target"
    target.mkdir()
    stale = target / "manifest.json"
    stale.write_text("{}")
    os.utime(stale, (0, 0))  # older than every model
    monkeypatch.setattr(cli, "DBT_PROJECT_DIR", project)
    renamed: list[tuple[str, str]] = []
    real_replace = os.replace

    def replace(source, destination):
        renamed.append((Path(source).parent.name, Path(destination).name))
        real_replace(source, destination)

    monkeypatch.setattr(cli.os, "replace", replace)

    cli.ensure_dbt_manifest()

    manifest = json.loads(stale.read_text())
    assert any(key.startswith("model.partner_metrics.") for key in manifest["nodes"])
    # Parsed in a folder of its own, then renamed over the old file, manifest last.
    assert renamed[-1][1] == "manifest.json"
    assert renamed[-1][0].startswith("parse-")
    assert [p.name for p in target.iterdir() if p.name.startswith("parse-")] == []

    renamed.clear()
    cli.ensure_dbt_manifest()  # now newer than every model: nothing to do
    assert renamed == []
