"""The README lists every mart with one example query, and every example runs."""

from __future__ import annotations

import re

from tests.conftest import BuiltWarehouse
from warehouse.connection import connect_read_only
from warehouse.paths import PROJECT_ROOT

# A row of the marts table: | `marts.<name>` | grain | `<example query>` |
MART_ROW = re.compile(r"^\| `(marts\.\w+)` \| [^|]+ \| `(select [^`]+)` \|$", re.MULTILINE)


def test_every_mart_is_listed_with_an_example_query_that_runs(built_warehouse: BuiltWarehouse):
    examples = dict(MART_ROW.findall((PROJECT_ROOT / "README.md").read_text(encoding="utf-8")))
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
