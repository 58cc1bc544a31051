"""Models stay portable: no DuckDB-only SQL outside the DuckDB side of a dispatched macro.

Every model, singular and generic test, unit-test fixture and shared macro of the dbt project
is read as written (Jinja comments, SQL comments and the contents of string literals left
out; the string arguments of macro calls checked, since they are SQL fragments) and searched
for the constructs in DUCKDB_ONLY. Only an engine's own side of an `adapter.dispatch`
(a macro named `<engine>__<name>`, such as `duckdb__day_spine` or `spark__day_spine`) may
use engine-specific SQL, and each `duckdb__` macro has an implementation for the other
engines beside it; `default__` macros are checked like models. The Spark build
(tests/spark/test_spark_parity.py) proves the portable SQL gives the same marts; this test
names the line to fix before any engine runs.

Why a list rather than "whatever Spark rejects": each entry is a construct DuckDB accepts
that Spark 3.5 (the engine proven here) rejects or reads differently, or that BigQuery (the
next likely one, README: Scaling out) rejects, with the portable way to write it. Left out
on purpose, because Spark runs them as DuckDB does: aggregate `FILTER (WHERE ...)`, `nulls
last`, `least`/`greatest`, `||` concatenation, `lower`/`substr`/`length`/`coalesce`/`nullif`,
`cast(x as date|double|bigint|boolean|decimal(p, s))`, window functions with `row_number`
and `lead`/`lag`. (BigQuery lacks `FILTER (WHERE ...)`: the README lists it as work to do
before a BigQuery run.)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from warehouse.paths import DBT_PROJECT_DIR

F = r"(?<![\w.])"  # a function name not preceded by a qualifier (dbt.date_trunc is fine)

DUCKDB_ONLY: list[tuple[str, str]] = [
    (r"::", "`x::type` casts: cast(x as type), dbt.cast or dbt.safe_cast"),
    (r"\bqualify\b", "QUALIFY: filter a row_number() column in an outer select"),
    (r"\basof\b", "ASOF joins: macro fx_rate_join (a rate's validity period elsewhere)"),
    (
        F + r"(range|generate_series)\s*\(",
        "range()/generate_series() spines: macros month_spine and day_spine",
    ),
    (
        F + r"(list|list_\w+|array_\w+|struct_\w+|struct_pack|map_\w+|unnest|flatten)\s*\(",
        "list, array, struct and map functions: a dispatched macro (json_object_entries)",
    ),
    (F + r"json\w*\s*\(|->>|->", "JSON functions and arrows: macro json_field"),
    (r"\b(group|order)\s+by\s+all\b", "GROUP BY ALL / ORDER BY ALL: name the columns"),
    (
        r"\*\s*(exclude|replace|rename)\s*\(|" + F + r"columns\s*\(",
        "star modifiers (* exclude, * replace, columns()): name the columns",
    ),
    (
        F + r"(median|mode|quantile\w*|percentile_cont|percentile_disc|approx_quantile)\s*\(",
        "percentiles: macro percentile (BigQuery has percentile_cont only as a window)",
    ),
    (F + r"try_cast\s*\(", "TRY_CAST: dbt.safe_cast"),
    (
        F + r"(string_agg|group_concat|listagg)\s*\(",
        "string aggregation: macro sorted_listagg (dbt.listagg loses its order on Spark)",
    ),
    (
        F + r"(datediff|date_diff|datesub|date_sub|date_add|date_part|datepart|date_trunc"
        r"|last_day|to_hours|to_days|to_months|to_years|epoch\w*|make_date|make_timestamp"
        r"|strftime|strptime|age|timezone|time_bucket)\s*\(",
        "date functions differ by engine (DuckDB datediff('month', a, b) is Spark's "
        "datediff(b, a) in days): dbt.datediff, dbt.dateadd, dbt.date_trunc, dbt.last_day, "
        "macro utc_date",
    ),
    (r"\binterval\b", "INTERVAL arithmetic: dbt.dateadd"),
    (
        r"\bas\s+(varchar|text|timestamptz|timestamp\s+with\s+time\s+zone|hugeint|ubigint"
        r"|uinteger|usmallint|utinyint|json|blob|uuid)\b",
        "DuckDB type names (Spark rejects varchar in a cast): dbt.type_string(), "
        "dbt.type_timestamp(), macro timestamp_tz_type",
    ),
    (F + r"(isfinite|isinf|isnan)\s*\(", "isfinite(): macro is_finite"),
    (
        F + r"(starts_with|ends_with|prefix|suffix|contains|regexp_matches|regexp_full_match"
        r"|string_split|str_split|string_to_array|split_part|sha256|hash|arg_max|arg_min)\s*\(",
        "DuckDB string and aggregate functions: substr/like, dbt.split_part, dbt.hash",
    ),
    (r"\bilike\b|\bglob\b", "ILIKE/GLOB: lower(x) like ..."),
    (
        r"\b(count|sum|avg|min|max)\s*\(\s*distinct\b[^()]*\)\s*over\b",
        "DISTINCT inside a window aggregate (Spark has none): aggregate, then join",
    ),
]

# Macro calls (in Jinja, not SQL) that are not portable although dbt ships them.
JINJA_CALLS: list[tuple[str, str]] = [
    (
        r"\bdbt\.listagg\s*\(",
        "dbt.listagg drops its order_by_clause on Spark: macro sorted_listagg",
    ),
]

PATTERNS = [(re.compile(p, re.IGNORECASE), why) for p, why in DUCKDB_ONLY]
JINJA_PATTERNS = [(re.compile(p), why) for p, why in JINJA_CALLS]
DOUBLED_QUOTE = (
    "a quote doubled inside a string literal ('it''s'): Spark reads two literals and joins "
    "them, dropping the quote; reword, or build the text with dbt.concat"
)

JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
PYTHON_STRING = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")
# An engine's own side of a dispatched macro: `duckdb__x`, `spark__x` (not `default__x`).
ENGINE_SIDE = re.compile(r"(duckdb|spark|databricks|bigquery|snowflake|postgres)__\w")
MACRO = re.compile(r"\{%-?\s*macro\s+(\w+)\s*\(.*?%\}(.*?)\{%-?\s*endmacro\s*-?%\}", re.DOTALL)


@dataclass(frozen=True)
class Finding:
    where: str
    line: int
    construct: str
    why: str

    def __str__(self) -> str:
        return f"{self.where}:{self.line}: {self.construct!r}: {self.why}"


def _blank(text: str) -> str:
    """Spaces for every character but newlines, so offsets and line numbers stay put."""
    return re.sub(r"[^\n]", " ", text)


def sql_code(sql: str) -> tuple[str, list[int]]:
    """`sql` with comments and the contents of string literals blanked out, and the offsets
    of quotes doubled inside a literal."""
    out, doubled, i = [], [], 0
    while i < len(sql):
        if sql.startswith("--", i):
            end = sql.find("\n", i)
            end = len(sql) if end == -1 else end
            out.append(_blank(sql[i:end]))
            i = end
        elif sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            end = len(sql) if end == -1 else end + 2
            out.append(_blank(sql[i:end]))
            i = end
        elif sql[i] == "'":
            j = i + 1
            while j < len(sql):
                if sql[j] == "'" and sql.startswith("''", j):
                    doubled.append(j)
                    j += 2
                elif sql[j] == "'":
                    break
                else:
                    j += 1
            out.append("'" + _blank(sql[i + 1 : j]) + "'")
            i = j + 1
        else:
            out.append(sql[i])
            i += 1
    return "".join(out), doubled


def find_duckdb_only(text: str, where: str, first_line: int = 1) -> list[Finding]:
    """The DuckDB-only constructs of a dbt SQL file (or macro body) starting at `first_line`."""
    text = JINJA_COMMENT.sub(lambda m: _blank(m.group()), text)
    pieces: list[tuple[str, int]] = []  # (SQL, offset in text)
    findings = []
    for tag in JINJA_TAG.finditer(text):
        for pattern, why in JINJA_PATTERNS:
            for match in pattern.finditer(tag.group()):
                line = first_line + text.count("\n", 0, tag.start() + match.start())
                findings.append(Finding(where, line, match.group(), why))
        # A macro call's string arguments are SQL fragments; other Jinja is not SQL.
        for fragment in PYTHON_STRING.finditer(tag.group()):
            pieces.append((fragment.group()[1:-1], tag.start() + fragment.start() + 1))
    pieces.insert(0, (JINJA_TAG.sub(lambda m: _blank(m.group()), text), 0))
    for sql, offset in pieces:
        code, doubled = sql_code(sql)

        def line_of(position: int, offset: int = offset) -> int:
            return first_line + text.count("\n", 0, offset + position)

        for position in doubled:
            findings.append(Finding(where, line_of(position), "''", DOUBLED_QUOTE))
        for pattern, why in PATTERNS:
            for match in pattern.finditer(code):
                findings.append(Finding(where, line_of(match.start()), match.group(), why))
    return findings


def project_findings(project: Path) -> list[Finding]:
    findings: list[Finding] = []
    for path in sorted([*project.glob("models/**/*.sql"), *project.glob("tests/**/*.sql")]):
        findings += find_duckdb_only(path.read_text(), str(path.relative_to(project)))
    for path in sorted(project.glob("macros/**/*.sql")):
        text = path.read_text()
        for macro in MACRO.finditer(text):
            if ENGINE_SIDE.match(macro.group(1)):
                continue
            first_line = 1 + text.count("\n", 0, macro.start(2))
            where = f"{path.relative_to(project)} ({macro.group(1)})"
            findings += find_duckdb_only(macro.group(2), where, first_line)
    for path in sorted(project.glob("models/**/*.yml")):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests", []):
            for fixture in [*test.get("given", []), test.get("expect", {})]:
                if fixture.get("format") == "sql":
                    where = f"{path.relative_to(project)} (unit test {test['name']})"
                    findings += find_duckdb_only(fixture["rows"], where)
    return findings


def test_no_duckdb_only_sql_outside_duckdb_macros():
    findings = project_findings(DBT_PROJECT_DIR)
    assert not findings, "DuckDB-only SQL:\n" + "\n".join(map(str, findings))


def test_every_duckdb_macro_has_an_implementation_for_other_engines():
    names = {
        macro.group(1)
        for path in DBT_PROJECT_DIR.glob("macros/**/*.sql")
        for macro in MACRO.finditer(path.read_text())
    }
    duckdb_sides = {name.removeprefix("duckdb__") for name in names if name.startswith("duckdb__")}
    assert duckdb_sides, "no dispatched macro found: the MACRO pattern no longer matches"
    alone = sorted(
        base
        for base in duckdb_sides
        if f"spark__{base}" not in names and f"default__{base}" not in names
    )
    assert not alone, f"DuckDB-only macros without a Spark or default implementation: {alone}"


def test_the_check_finds_each_construct_and_only_in_code():
    caught = {
        "select x::date": "::",
        "select * from t qualify row_number() over () = 1": "qualify",
        "from a asof left join b on a.d >= b.d": "asof",
        "select * from range(1, 3)": "range(",
        "select list_sum(xs)": "list_sum(",
        "select json_extract_string(j, '$.a')": "json_extract_string(",
        "select j ->> 'a'": "->>",
        "select a, count(*) from t group by all": "group by all",
        "select * exclude (a) from t": "* exclude (",
        "select median(x) from t": "median(",
        "select try_cast(x as int)": "try_cast(",
        "select string_agg(x, ',')": "string_agg(",
        "select {{ dbt.listagg('x', \"', '\", 'order by x') }}": "dbt.listagg(",
        "select datediff('month', a, b)": "datediff(",
        "select d + interval 1 day": "interval",
        "select cast(x as varchar)": "as varchar",
        "select isfinite(x)": "isfinite(",
        "select starts_with(x, 'a')": "starts_with(",
        "select count(distinct x) over (partition by y)": "count(distinct x) over",
        "select 'it''s'": "''",
        "{{ dbt.datediff('least(a, b)', 'date_trunc(\\'month\\', c)', 'day') }}": "date_trunc(",
    }
    for sql, construct in caught.items():
        found = [f.construct.lower() for f in find_duckdb_only(sql, "example")]
        assert construct in found, (sql, found)
    portable = [
        "select cast(x as date), {{ dbt.date_trunc('month', 'd') }} from t",
        "select 'group by all, qualify, x::int' as words -- range(1, 2) in a comment",
        "select '' as empty, coalesce(a, '') from t {# json_extract(j) #}",
        "select sum(case when a then x end), count(distinct x) from t",
        "select count(*) filter (where x > 0) from t",
        "select {{ percentile('x', 0.5) }}, {{ json_field('tags', 'user:hub-name') }}",
    ]
    for sql in portable:
        assert find_duckdb_only(sql, "example") == [], sql
