"""The revenue demo writer: real formats, deterministic, and the business cases it promises."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

from ingest.demo.revenue import write_revenue
from ingest.demo.usage import simulate as simulate_usage
from ingest.demo.world import build_world
from ingest.hubspot import parse_crm_file
from ingest.invoices import parse_invoice_file

WORLD = {"seed": 7, "months": 12, "partners": 12, "as_of": date(2026, 11, 15)}


def _write(folder: Path) -> tuple[list[Path], object]:
    world = build_world(**WORLD)
    return write_revenue(world, folder, simulate_usage(world).billable_mau()), world


def test_demo_is_deterministic(tmp_path):
    first, _ = _write(tmp_path / "a")
    second, _ = _write(tmp_path / "b")
    assert [p.relative_to(tmp_path / "a") for p in first] == [
        p.relative_to(tmp_path / "b") for p in second
    ]
    for a, b in zip(first, second, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_demo_files_parse_without_quarantine_and_cover_the_cases(tmp_path):
    files, world = _write(tmp_path)
    names = {p.relative_to(tmp_path).as_posix() for p in files}
    assert "crm/pipelines.json" in names
    assert "crm/deals/page-0001.json" in names
    assert f"invoices/finance-sheet-{world.as_of.year}.json" in names
    assert any(n.startswith("invoices/invoices-") and n.endswith(".csv") for n in names)

    deals, lines, rejected = [], [], 0
    for path in files:
        if path.parts[-2] == "fx":
            continue
        parsed = (parse_crm_file if "crm" in path.parts else parse_invoice_file)(path)
        rejected += parsed.rejected.num_rows
        deals += parsed.tables.get("hubspot_deals", _Empty()).to_pylist()
        lines += parsed.tables.get("invoice_lines", _Empty()).to_pylist()
    assert rejected == 0

    # Pages link to each other and all but the last carry a cursor.
    pages = sorted(p for p in files if p.parent.name == "deals")
    bodies = [json.loads(p.read_text()) for p in pages]
    assert all("paging" in b for b in bodies[:-1]) and "paging" not in bodies[-1]

    stages = Counter(d["stage_id"] for d in deals)
    assert stages["closedwon"] > 0  # default pipeline wins
    assert stages["151627112"] > 0  # custom "Renewed" stage: closed won by probability 1
    assert stages["closedlost"] + stages["151627113"] > 0  # deals that never close
    open_stages = set(stages) - {"closedwon", "closedlost", "151627112", "151627113"}
    assert open_stages  # open deals in the pipeline
    assert {d["currency"] for d in deals} - {"USD"}  # non-USD deals
    # Multi-month sales cycles: some won deals were created 60+ days before closing.
    assert any((d["close_date"] - d["create_date"]).days >= 60 for d in deals)
    # The prospect that is not in the registry.
    companies = {p.hubspot_company_id for p in world.partners}
    assert [d["company_id"] for d in deals if d["company_id"] not in companies] == ["9001"]

    gl = Counter(line["gl_account"] for line in lines)
    assert gl["4221"] > 0 and gl["4222"] > 0 and gl["4223"] > 0
    deal_ids = {d["deal_id"] for d in deals}
    assert {line["hubspot_deal_id"] for line in lines} <= deal_ids


class _Empty:
    def to_pylist(self):
        return []
