"""README.md stays true where a claim can be checked cheaply: every mart is listed with one
example query and every example runs; the command line it shows is the CLI's; every table,
model, column, environment variable and report section it names exists."""

from __future__ import annotations

import json
import re
from contextlib import redirect_stdout
from io import StringIO

import pytest
import yaml

from orchestration.cli import _parser
from orchestration.cli import main as cli_main
from reporting.sections import SECTIONS
from tests.conftest import BuiltWarehouse
from warehouse.connection import connect_read_only
from warehouse.paths import DBT_PROJECT_DIR, PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")

# A row of the marts table: | `marts.<name>` | grain | `<example query>` |
MART_ROW = re.compile(r"^\| `(marts\.\w+)` \| ([^|]+) \| `(select [^`]+)` \|$", re.MULTILINE)
COMMANDS = ("demo", "build", "generate", "query", "reconcile", "ui", "docs", "snapshot", "bench")
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")


def section(title: str) -> str:
    """The README's text under `## title` (to the next heading of that level)."""
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def test_every_mart_is_listed_with_an_example_query_that_runs(built_warehouse: BuiltWarehouse):
    examples = {mart: query for mart, _, query in MART_ROW.findall(README)}
    with connect_read_only(built_warehouse.warehouse) as con:
        marts = {
            f"marts.{row[0]}"
            for row in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        assert set(examples) == marts
        for mart, query in examples.items():
            assert mart in query
            con.execute(query).fetchall()


def test_every_other_example_query_runs(built_warehouse: BuiltWarehouse):
    """The ```sql blocks, `partner-metrics query "..."` and the Python one-liner's `.sql('...')`."""
    queries = re.findall(r"^```sql\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
    queries += re.findall(r'partner-metrics query "([^"]+)"', README)
    queries += re.findall(r"\.sql\('([^']+)'\)", README)
    assert len(queries) >= 4
    with connect_read_only(built_warehouse.warehouse) as con:
        for query in queries:
            con.execute(query).fetchall()


def test_the_columns_a_mart_row_names_are_the_marts_columns_or_dbt_vars(
    built_warehouse: BuiltWarehouse,
):
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    with connect_read_only(built_warehouse.warehouse) as con:
        for mart, grain, _ in MART_ROW.findall(README):
            schema, name = mart.split(".")
            columns = {
                row[0]
                for row in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = ? and table_name = ?",
                    [schema, name],
                ).fetchall()
            }
            named = set(re.findall(r"`(\w+)`", grain))
            assert named <= columns | set(project["vars"]), (mart, named - columns)


def test_every_table_and_model_the_readme_names_exists(built_warehouse: BuiltWarehouse):
    with connect_read_only(built_warehouse.warehouse) as con:
        relations = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
    schemas = "raw|staging|intermediate|marts|audit|published"
    # `staging.stg_<provider>__deliveries`, `intermediate.int_*__rejected_*`: patterns, not names
    named = set(re.findall(rf"\b(?:{schemas})\.[a-z_]\w*\b(?![<*])", README))
    assert named - relations == set()
    manifest = json.loads((DBT_PROJECT_DIR / "target" / "manifest.json").read_text())
    models = {node["name"] for node in manifest["nodes"].values()}
    assert set(re.findall(r"\b(?:stg|int|fct|dim)_\w+", README)) - models == set()


def _flags(command: str) -> set[str]:
    """The flags `partner-metrics <command> --help` lists (bench has a parser of its own)."""
    out = StringIO()
    with redirect_stdout(out), pytest.raises(SystemExit):
        cli_main([command, "--help"])
    return set(FLAG.findall(out.getvalue())) - {"--help"}


def test_the_command_line_section_shows_every_flag_of_every_command():
    block = re.search(r"```sh\n(.*?)```", section("The command line"), re.DOTALL)[1]
    shown = {}
    for line in block.splitlines():
        usage = line.split("  #")[0]
        command = usage.split()[1]
        shown[command] = set(FLAG.findall(usage))
    assert list(shown) == list(COMMANDS)
    for command in COMMANDS:
        assert shown[command] == _flags(command), command


def test_every_command_with_flags_the_readme_writes_takes_them():
    """`partner-metrics ui --warehouse FILE --landing DIR` in the text, and `build
    --no-unit-tests` alike."""
    spans = re.findall(
        rf"`(?:\.venv/bin/)?(?:partner-metrics )?({'|'.join(COMMANDS)}) ([^`]*)`", README
    )
    written = [(command, flag) for command, rest in spans for flag in FLAG.findall(rest)]
    assert len(written) >= 10
    known = {command: _flags(command) for command in COMMANDS}
    assert [(c, f) for c, f in written if f not in known[c]] == []


def test_a_command_reading_a_warehouse_takes_the_environments_unless_told():
    """The Pointing section: `PARTNER_METRICS_WAREHOUSE` is the warehouse of every command but
    `build` (which requires --warehouse) when --warehouse is left out."""
    required = {"query": ["select 1"], "snapshot": ["--month", "2026-10"]}
    for command in ("query", "reconcile", "ui", "docs", "snapshot"):
        args = _parser().parse_args([command, *required.get(command, [])])
        assert args.warehouse is None, command  # main() then reads warehouse_path()


def test_every_environment_variable_the_readme_names_is_read_by_the_code():
    code = "\n".join(
        path.read_text(encoding="utf-8")
        for folder in ("ingest", "orchestration", "warehouse", "benchmarks")
        for path in (PROJECT_ROOT / folder).rglob("*.py")
    )
    credentials = section("Landing layout").split("### Live pulls and credentials")[1]
    table = "\n".join(line for line in credentials.splitlines() if line.startswith("| "))
    names = set(re.findall(r"`(PARTNER_METRICS_[A-Z_]+)`", README))
    names |= set(re.findall(r"`([A-Z][A-Z0-9]*_[A-Z0-9_]+)`", table))
    assert len(names) > 15
    assert {name for name in names if f'"{name}"' not in code} == set()


def test_the_report_sections_table_is_the_reports_sections():
    rows = re.findall(r"^\| ([^|]+) \| [^|]+ \| ([^|]+) \|$", section("Reading the report"), re.M)
    listed = {title.strip(): set(re.findall(r"`(\w+)`", source)) for title, source in rows}
    listed.pop("section")  # the header
    assert listed.pop("Headline numbers") == {"fct_headline_metrics"}
    assert listed == {s.title: {need.split(".")[1] for need in s.needs} for s in SECTIONS}


def test_every_project_path_and_make_target_the_readme_names_exists():
    folders = "ingest|orchestration|warehouse|reporting|dbt_project|tests|benchmarks|notebooks"
    paths = set(re.findall(rf"`((?:{folders}|docs|bench|\.ci)/[\w./-]*)`", README))
    assert len(paths) > 30
    assert {path for path in paths if not (PROJECT_ROOT / path).exists()} == set()
    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.MULTILINE))
    assert set(re.findall(r"`make ([a-z][\w-]*)", README)) - targets == set()
