"""HubSpot CRM deals and the deal pipelines that name their stages.

Landing layout (`<landing>/crm/`):

- `deals/*.json`: pages of `GET /crm/v3/objects/deals?properties=...&associations=companies`
  exactly as the API returns them (`{"results":[{"id","properties":{...},"createdAt",
  "updatedAt","archived","associations":{"companies":{"results":[{"id","type"}]}}}],
  "paging":{"next":{"after":...}}}`); every property value is a string or null.
- `deals/*.csv`, `deals/*.xlsx`: the deal export of HubSpot's UI, as CSV or XLSX (column
  labels such as `Record ID`, `Deal Stage`; stage and pipeline by label, resolved to ids in
  dbt through the pipelines file). An XLS export fails, saying to export CSV or XLSX.
- `deals/*.zip`: that export as HubSpot sends it when it is large or has associated records,
  a CSV or XLSX per object (`parse_deals_zip`): its deals file(s) read as landed alone, the
  others logged as skipped.
- `pipelines.json`: `GET /crm/v3/pipelines/deals` (`{"results":[{"id","label","stages":[{"id",
  "label","displayOrder","metadata":{"isClosed","probability"}}]}]}`).

`ingest.hubspot_client.pull_deals` writes both files from the live API; this module only reads
files, so live pulls and landed files go through one code path.

A page that is not JSON, or whose `results` is missing, fails the file; a deal whose values are
wrong (amount not a number, a date that is not a date, contract end before start, no id or
stage) is quarantined with the reason. Checks that need another source (is the stage in the pipeline
file, is the company a registry partner) are made in dbt: `int_revenue__rejected_deals`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingest.framework import (
    RECORD_COLUMN,
    Parsed,
    ParseError,
    PassedOver,
    RawTable,
    Source,
)
from ingest.tabular import (
    LONGEST_TERM_YEARS,
    Check,
    castable,
    csv_header,
    in_double_range,
    literal,
    matches,
    not_empty,
    plausible_time,
    quote,
    read_csv_strings,
    scratch_connection,
    split_rows,
    time_text,
    unique,
    unzipped,
    workbook,
    zip_members,
    zipped,
)

# Properties requested from HubSpot (`properties=` of the objects API), in that order.
DEAL_PROPERTIES = (
    "dealname",
    "dealstage",
    "pipeline",
    "amount",
    "closedate",
    "createdate",
    "contract_start_date",
    "contract_end_date",
    "hs_mrr",
    "deal_currency_code",
    "hs_forecast_probability",
    "hs_is_closed_won",
)
STAGE_HISTORY_PREFIXES = ("hs_v2_date_entered_", "hs_v2_date_exited_")
# The live pull gathers its pages in a folder of this prefix under crm/ and moves them in only
# when every page arrived (ingest.hubspot_client); a killed pull leaves the folder behind.
PULL_SCRATCH = ".pull-"
# Dates of a deal page and of the UI export (after renaming its labels to properties).
EXPORT_DATES = ("closedate", "createdate", "contract_start_date", "contract_end_date", "updatedAt")
PAGE_DATES = (*EXPORT_DATES, "createdAt")

DEALS = RawTable(
    "hubspot_deals",
    {
        "deal_id": "varchar",
        "company_id": "varchar",
        "company_ids": "varchar[]",
        "deal_name": "varchar",
        "pipeline_id": "varchar",
        "stage_id": "varchar",
        "pipeline_label": "varchar",
        "stage_label": "varchar",
        "amount": "double",
        "currency": "varchar",
        "close_date": "date",
        "create_date": "date",
        "contract_start_date": "date",
        "contract_end_date": "date",
        "hs_mrr": "double",
        "forecast_probability": "double",
        "hs_is_closed_won": "boolean",
        "stage_history": "json",
        "created_at": "timestamptz",
        "updated_at": "timestamptz",
        "archived": "boolean",
    },
    "HubSpot deals, one row per deal per landed page (CRM v3 objects API).",
    amount="amount",
    currency="currency",
)

STAGES = RawTable(
    "hubspot_pipeline_stages",
    {
        "pipeline_id": "varchar",
        "pipeline_label": "varchar",
        "stage_id": "varchar",
        "stage_label": "varchar",
        "display_order": "integer",
        "is_closed": "boolean",
        "probability": "double",
    },
    "Deal pipeline stages with HubSpot's closed flag and win probability.",
)


def _read_document(con: duckdb.DuckDBPyConnection, path: Path, what: str) -> None:
    """Load the file as one JSON value into temp table `doc(body json)`."""
    try:
        rows = con.execute("select json(content) from read_text(?)", [str(path)]).fetchall()
    except duckdb.Error as error:
        raise ParseError(f"not a {what}: {str(error).strip()}") from error
    body = rows[0][0] if rows else None
    [(kind,)] = con.execute("select json_type(?::json)", [body]).fetchall()
    if kind != "OBJECT":
        raise ParseError(f"not a {what}: expected a JSON object, found {kind}")
    con.execute("create or replace temp table doc as select ?::json as body", [body])


def _results(con: duckdb.DuckDBPyConnection, what: str) -> None:
    [(kind,)] = con.execute("select json_type(body, '$.results') from doc").fetchall()
    if kind != "ARRAY":
        raise ParseError(f"not a {what}: 'results' is {kind or 'missing'}, expected an array")


# --- deals -----------------------------------------------------------------------------------


def _date_or_timestamp(column: str) -> Check:
    """HubSpot dates are `YYYY-MM-DD` or ISO timestamps with `Z`."""
    col = quote(column)
    return Check(
        f"{col} is not null and trim({col}) <> '' and {_as_timestamp(column)} is null",
        f"{literal(f'{column} is not a date or ISO timestamp: ')} || {col}",
    )


def _as_timestamp(column: str) -> str:
    return f"try_cast({time_text(column)} as timestamptz)"


def _as_date(column: str) -> str:
    return f"cast({_as_timestamp(column)} as date)"


def _plausible_dates(columns: tuple[str, ...]) -> list[Check]:
    """Event dates within 2000 .. a year after the load day; a contract's end, a promise,
    may lie up to LONGEST_TERM_YEARS ahead (multi-year agreements)."""
    return [
        plausible_time(c, _as_date(c), LONGEST_TERM_YEARS if c == "contract_end_date" else 1)
        for c in columns
    ]


def _as_double(column: str) -> str:
    return f"try_cast(nullif(trim({quote(column)}), '') as double)"


def _probability_in_range(probability: str) -> Check:
    """A forecast probability (`probability`: SQL reading it) from 0 to 1: not NaN, not 1e300."""
    return Check(
        f"{probability} not between 0 and 1",
        "'hs_forecast_probability is not between 0 and 1: ' || hs_forecast_probability",
    )


# The deal's currency: HubSpot leaves it empty for the portal's own (counted in USD in dbt).
_CURRENCY_CODE = matches("deal_currency_code", "[A-Za-z]{3}", "an ISO 4217 code")


# A deal's companies (`associations=companies`). HubSpot lists a company once per association
# type, so the primary company comes twice, as `deal_to_company` (type 5, "Deal with Primary
# Company") and as `deal_to_company_unlabeled` (type 341), in no promised order:
# `[{"id":"9","type":"deal_to_company_unlabeled"},{"id":"7","type":"deal_to_company"},
# {"id":"7","type":"deal_to_company_unlabeled"}]` is primary company 7 and a second company 9.
# The deal's company is the primary one (the first listed only when none is primary); the list
# holds each company once, in the order given.
_ASSOCIATED = "coalesce(from_json(r->'associations'->'companies'->'results', '[\"json\"]'), [])"


def _each_once(items: str) -> str:
    """A SQL list without its repeats, in its order (DuckDB's list_distinct loses the order)."""
    return f"list_filter({items}, lambda c, i: list_position({items}, c) = i)"


_COMPANY_IDS = _each_once(f"list_transform({_ASSOCIATED}, lambda c: c->>'id')")
_PRIMARY_COMPANY = f"list_filter({_ASSOCIATED}, lambda c: c->>'type' = 'deal_to_company')[1]->>'id'"


def parse_deals_page(path: Path) -> Parsed:
    con = scratch_connection()
    _read_document(con, path, "HubSpot deals page")
    _results(con, "HubSpot deals page")
    bad = con.execute(
        """
        select i - 1, json_type(r), json_type(r, '$.properties'), r->>'id'
        from (select unnest(from_json(body->'results', '["json"]')) as r,
                     generate_subscripts(from_json(body->'results', '["json"]'), 1) as i
              from doc)
        where json_type(r) <> 'OBJECT' or json_type(r, '$.properties') is distinct from 'OBJECT'
        order by i
        """
    ).fetchall()
    if bad:
        index, kind, props, _ = bad[0]
        problem = (
            "a deal is not an object"
            if kind != "OBJECT"
            else f"'properties' is {props or 'missing'}, expected an object"
        )
        raise ParseError(problem, f"page file, results[{index}]")

    properties = ", ".join(f"r->'properties'->>{literal(p)} as {quote(p)}" for p in DEAL_PROPERTIES)
    history = " or ".join(f"starts_with(k, {literal(p)})" for p in STAGE_HISTORY_PREFIXES)
    deals = con.sql(
        f"""
        with deals as (
            select unnest(from_json(body->'results', '["json"]')) as r,
                   generate_subscripts(from_json(body->'results', '["json"]'), 1) as i
            from doc
        )
        select
            r->>'id' as id,
            {properties},
            r->>'createdAt' as "createdAt",
            r->>'updatedAt' as "updatedAt",
            r->>'archived' as archived,
            {_COMPANY_IDS} as company_ids,
            {_PRIMARY_COMPANY} as primary_company_id,
            coalesce(map_from_entries(list_transform(
                list_filter(json_keys(r->'properties'), lambda k: {history}),
                lambda k: struct_pack(k := k, v := r->'properties'->>k)
            ))::json, '{{}}'::json) as stage_history,
            'page file, results[' || (i - 1) || ']' as {RECORD_COLUMN},
            i as _ordinal
        from deals
        """
    )
    checks = [
        not_empty("id"),
        not_empty("dealstage"),
        castable("amount", "DOUBLE"),
        in_double_range("amount"),
        castable("hs_mrr", "DOUBLE"),
        in_double_range("hs_mrr"),
        castable("hs_forecast_probability", "DOUBLE"),
        _CURRENCY_CODE,
        *(_date_or_timestamp(c) for c in PAGE_DATES),
        *_plausible_dates(PAGE_DATES),
        Check(
            f"{_as_date('contract_end_date')} < {_as_date('contract_start_date')}",
            "'contract_end_date ' || contract_end_date || ' is before contract_start_date ' "
            "|| contract_start_date",
        ),
        _probability_in_range(_as_double("hs_forecast_probability")),
        unique(("id",)),
    ]
    valid, rejected = split_rows(
        con,
        deals,
        checks,
        {
            "deal_id": "trim(id)",
            "company_id": "coalesce(primary_company_id, company_ids[1])",
            "company_ids": "company_ids",
            "deal_name": "dealname",
            "pipeline_id": "nullif(trim(pipeline), '')",
            "stage_id": "nullif(trim(dealstage), '')",
            "pipeline_label": "null::varchar",
            "stage_label": "null::varchar",
            "amount": _as_double("amount"),
            "currency": "upper(nullif(trim(deal_currency_code), ''))",
            "close_date": _as_date("closedate"),
            "create_date": _as_date("createdate"),
            "contract_start_date": _as_date("contract_start_date"),
            "contract_end_date": _as_date("contract_end_date"),
            "hs_mrr": _as_double("hs_mrr"),
            "forecast_probability": _as_double("hs_forecast_probability"),
            "hs_is_closed_won": "try_cast(nullif(trim(hs_is_closed_won), '') as boolean)",
            "stage_history": "stage_history",
            "created_at": _as_timestamp("createdAt"),
            "updated_at": _as_timestamp("updatedAt"),
            "archived": "coalesce(try_cast(archived as boolean), false)",
        },
    )
    return Parsed(tables={DEALS.name: valid}, rejected=rejected)


# --- pipelines -------------------------------------------------------------------------------


# display_order is an INTEGER column.
_INT32 = range(-(2**31), 2**31)


def _display_order(value: object, at: str) -> int:
    """A stage's displayOrder: a whole number (HubSpot writes a JSON number; its text, "3",
    reads too); none is 0. Anything else fails the file, as every fault of it does."""
    if value is None or value == "":
        return 0
    text = str(value)
    if isinstance(value, bool | float) or not re.fullmatch(r"-?[0-9]+", text):
        raise ParseError(f"displayOrder is not a whole number: {text[:100]!r}", at)
    if len(text) > 11 or int(text) not in _INT32:
        raise ParseError(f"displayOrder is out of range: {text[:100]}", at)
    return int(text)


def parse_pipelines(path: Path) -> Parsed:
    """Small and strictly structured: read in Python, any breakage fails the file."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ParseError(f"not JSON: {error.msg}", f"line {error.lineno}") from error
    if not isinstance(document, dict) or not isinstance(document.get("results"), list):
        raise ParseError("not a HubSpot pipelines response: 'results' is missing")
    rows: list[dict] = []
    seen: dict[str, str] = {}
    for p, pipeline in enumerate(document["results"]):
        where = f"results[{p}]"
        if isinstance(pipeline, dict) and "pipelineId" in pipeline and "id" not in pipeline:
            # The retired CRM Pipelines v1 API names them pipelineId and stageId.
            raise ParseError(
                "a CRM Pipelines v1 response ('pipelineId', 'stageId'), not v3: land "
                "GET /crm/v3/pipelines/deals",
                where,
            )
        if not isinstance(pipeline, dict) or not pipeline.get("id"):
            raise ParseError("pipeline has no id", where)
        stages = pipeline.get("stages")
        if not isinstance(stages, list):
            raise ParseError("'stages' is missing", where)
        for s, stage in enumerate(stages):
            at = f"{where}.stages[{s}]"
            if not isinstance(stage, dict) or not stage.get("id"):
                raise ParseError("stage has no id", at)
            stage_id = str(stage["id"])
            if stage_id in seen:
                raise ParseError(f"stage id {stage_id!r} is also in {seen[stage_id]}", at)
            seen[stage_id] = at
            metadata = stage.get("metadata") or {}
            try:
                probability = float(metadata["probability"])
            except (KeyError, TypeError, ValueError) as error:
                raise ParseError("metadata.probability is not a number", at) from error
            if not 0 <= probability <= 1:
                raise ParseError(f"metadata.probability {probability} is not in [0, 1]", at)
            closed = str(metadata.get("isClosed", "false")).lower()
            if closed not in ("true", "false"):
                raise ParseError(f"metadata.isClosed is {closed!r}", at)
            rows.append(
                {
                    "pipeline_id": str(pipeline["id"]),
                    "pipeline_label": pipeline.get("label"),
                    "stage_id": stage_id,
                    "stage_label": stage.get("label"),
                    "display_order": _display_order(stage.get("displayOrder"), at),
                    "is_closed": closed == "true",
                    "probability": probability,
                    RECORD_COLUMN: at,
                }
            )
    schema = pa.schema(
        [
            ("pipeline_id", pa.string()),
            ("pipeline_label", pa.string()),
            ("stage_id", pa.string()),
            ("stage_label", pa.string()),
            ("display_order", pa.int32()),
            ("is_closed", pa.bool_()),
            ("probability", pa.float64()),
            (RECORD_COLUMN, pa.string()),
        ]
    )
    return Parsed(tables={STAGES.name: pa.Table.from_pylist(rows, schema=schema)})


# --- UI export -------------------------------------------------------------------------------

# Column labels of HubSpot's deal export (Deals > Export, "properties in view" or "all"),
# and the API property each one carries.
EXPORT_COLUMNS = {
    "Record ID": "id",
    "Deal Name": "dealname",
    "Pipeline": "pipeline",
    "Deal Stage": "dealstage",
    "Amount": "amount",
    "Close Date": "closedate",
    "Create Date": "createdate",
    "Contract Start Date": "contract_start_date",
    "Contract End Date": "contract_end_date",
    "Monthly recurring revenue": "hs_mrr",
    "Currency": "deal_currency_code",
    "Forecast probability": "hs_forecast_probability",
    "Is Closed Won": "hs_is_closed_won",
    "Last Modified Date": "updatedAt",
    "Associated Company IDs": "company_ids",
    # Exports that label the primary company carry it in a column of its own, often without
    # the plain one.
    "Associated Company IDs (Primary)": "primary_company_ids",
}
EXPORT_REQUIRED = ("Record ID", "Deal Stage", "Amount")


def parse_deals_export(path: Path) -> Parsed:
    """The UI export (CSV, or an XLSX workbook read as its CSV): labels rather than ids for
    pipeline and stage (resolved in dbt through the pipelines file), `;`-separated company
    ids, percentages for probability."""
    if not set(csv_header(path)) & set(EXPORT_REQUIRED):
        # HubSpot labels an export's columns in the language asked for when exporting.
        raise ParseError(
            f"none of the columns {', '.join(EXPORT_REQUIRED)}: HubSpot writes an export's "
            "column labels in the language chosen for it; export again in English",
            "line 1 (header)",
        )
    con = scratch_connection()
    optional = [c for c in EXPORT_COLUMNS if c not in EXPORT_REQUIRED]
    raw = read_csv_strings(con, path, required=EXPORT_REQUIRED, optional=optional)
    renamed = raw.select(
        ", ".join(f"{quote(label)} as {quote(name)}" for label, name in EXPORT_COLUMNS.items())
        + f", {RECORD_COLUMN}, _ordinal"
    )
    probability = (
        "case when trim(hs_forecast_probability) like '%\\%' escape '\\' "
        "then try_cast(rtrim(trim(hs_forecast_probability), '%') as double) / 100 "
        "else try_cast(nullif(trim(hs_forecast_probability), '') as double) end"
    )
    checks = [
        not_empty("id"),
        not_empty("dealstage"),
        castable("amount", "DOUBLE"),
        in_double_range("amount"),
        castable("hs_mrr", "DOUBLE"),
        in_double_range("hs_mrr"),
        _CURRENCY_CODE,
        Check(
            "hs_forecast_probability is not null and trim(hs_forecast_probability) <> '' "
            f"and {probability} is null",
            "'hs_forecast_probability is not a number or percentage: ' || hs_forecast_probability",
        ),
        _probability_in_range(probability),
        *(_date_or_timestamp(c) for c in EXPORT_DATES),
        *_plausible_dates(EXPORT_DATES),
        Check(
            f"{_as_date('contract_end_date')} < {_as_date('contract_start_date')}",
            "'contract_end_date ' || contract_end_date || ' is before contract_start_date ' "
            "|| contract_start_date",
        ),
        unique(("id",)),
    ]
    # The primary company first, then the others, each once (an id in both columns is the
    # same company).
    listed = (
        "list_filter(list_transform(string_split(concat_ws(';', primary_company_ids, "
        "company_ids), ';'), lambda c: trim(c)), lambda c: c <> '')"
    )
    companies = _each_once(listed)
    valid, rejected = split_rows(
        con,
        renamed,
        checks,
        {
            "deal_id": "trim(id)",
            "company_id": f"{companies}[1]",
            "company_ids": companies,
            "deal_name": "dealname",
            "pipeline_id": "null::varchar",
            "stage_id": "null::varchar",
            "pipeline_label": "nullif(trim(pipeline), '')",
            "stage_label": "trim(dealstage)",
            "amount": _as_double("amount"),
            "currency": "upper(nullif(trim(deal_currency_code), ''))",
            "close_date": _as_date("closedate"),
            "create_date": _as_date("createdate"),
            "contract_start_date": _as_date("contract_start_date"),
            "contract_end_date": _as_date("contract_end_date"),
            "hs_mrr": _as_double("hs_mrr"),
            "forecast_probability": probability,
            "hs_is_closed_won": "try_cast(nullif(trim(hs_is_closed_won), '') as boolean)",
            "stage_history": "'{}'::json",
            "created_at": _as_timestamp("createdate"),
            "updated_at": _as_timestamp("updatedAt"),
            "archived": "false",
        },
    )
    return Parsed(tables={DEALS.name: valid}, rejected=rejected)


# The column that tells a deals export among the files of HubSpot's zip: every object's
# export has `Record ID`, and line items' and quotes' an amount; only deals have a stage.
DEALS_COLUMN = "Deal Stage"
# What a file of the zip may be: the formats HubSpot exports (`.xls` is named, not read).
_EXPORT_FORMATS = (".csv", ".xlsx")


def parse_deals_zip(path: Path) -> Parsed:
    """The UI export as the zip HubSpot sends for a large export or one with associated
    records (a file per object: `all-deals-2024-01-15.csv` beside `all-companies-...`): each
    deals file in it (CSV or XLSX, with a Deal Stage column) read as it is landed alone,
    every record named `<member>, line N`; every other file passed over, to be logged as
    skipped with what it is. A zip without a deals file fails, naming what it holds."""
    read: list[Parsed] = []
    passed_over: list[PassedOver] = []
    for member in zip_members(path):
        name = member.filename
        if not name.lower().endswith(_EXPORT_FORMATS):
            passed_over.append(PassedOver(name, member.file_size, _not_an_export(name)))
            continue
        copy = unzipped(path, name)
        with _about(name):
            header = csv_header(copy)
            if DEALS_COLUMN in header:
                read.append(_records_named(parse_deals_export(copy), name))
                continue
        copy.unlink()  # the disk holds one other file of the zip beside the deals at a time
        passed_over.append(PassedOver(name, member.file_size, _not_deals(header)))
    if not read:
        held = "; ".join(f"{item.member} ({item.reason})" for item in passed_over) or "nothing"
        raise ParseError(
            f"no deals export in the zip (a CSV or XLSX with a {DEALS_COLUMN!r} column, whose "
            f"label HubSpot writes in the export's language: export in English); it holds: "
            f"{held}",
            "file",
        )
    return Parsed(
        tables={DEALS.name: pa.concat_tables(p.tables[DEALS.name] for p in read)},
        rejected=pa.concat_tables(p.rejected for p in read),
        passed_over=passed_over,
    )


def _not_an_export(name: str) -> str:
    if name.lower().endswith(".xls"):
        return "an Excel 97-2003 workbook (.xls), not read: export CSV or XLSX"
    return "not a CSV or XLSX export"


def _not_deals(header: list[str]) -> str:
    """Why a file of the zip is not deals, with the columns that say what it is."""
    shown = ", ".join(header[:4]) + (", ..." if len(header) > 4 else "")
    return (
        f"not a deals export, and only deals are read (no {DEALS_COLUMN!r} column; its "
        f"columns: {shown})"
    )


@contextmanager
def _about(member: str) -> Iterator[None]:
    """A ParseError raised inside names the file of the zip it is about."""
    try:
        yield
    except ParseError as error:
        where = f"{member}, {error.where}" if error.where else member
        raise ParseError(error.problem, where) from error


def _records_named(parsed: Parsed, member: str) -> Parsed:
    """The rows and rejections of one file of a zip, each record named `<member>, line N`
    (the zip is the landed file, `_file`)."""
    prefix = pa.scalar(f"{member}, ")
    deals = parsed.tables[DEALS.name]
    index = deals.schema.get_field_index(RECORD_COLUMN)
    named = pc.binary_join_element_wise(prefix, deals[RECORD_COLUMN], "")
    rejected = parsed.rejected
    records = pc.binary_join_element_wise(prefix, rejected["record"], "")
    return Parsed(
        tables={DEALS.name: deals.set_column(index, RECORD_COLUMN, named)},
        rejected=rejected.set_column(rejected.schema.get_field_index("record"), "record", records),
    )


def parse_crm_file(path: Path) -> Parsed:
    if path.name == "pipelines.json":
        return parse_pipelines(path)
    if zipped(path):
        return parse_deals_zip(path)
    if path.suffix.lower() == ".csv" or workbook(path):
        return parse_deals_export(path)
    return parse_deals_page(path)


def pull_if_configured(landing: Path) -> object:
    """The live pull (ingest.hubspot_client), when HUBSPOT_PRIVATE_APP_TOKEN is set."""
    from ingest import hubspot_client

    return hubspot_client.pull_if_configured(landing)


SOURCE = Source(
    name="hubspot",
    group="revenue",
    description="HubSpot CRM: deal pages (crm/deals/*.json), UI deal exports "
    "(crm/deals/*.csv, *.xlsx, or the zip HubSpot sends, *.zip) and deal pipelines "
    "(crm/pipelines.json).",
    # An .xls export is matched to fail saying to export CSV or XLSX, not to be passed over.
    patterns=(
        "crm/deals/*.json",
        "crm/deals/*.csv",
        "crm/deals/*.xlsx",
        "crm/deals/*.xls",
        "crm/deals/*.zip",
        "crm/pipelines.json",
    ),
    tables=(DEALS, STAGES),
    parse=parse_crm_file,
    cadence=timedelta(days=2),
    pull=pull_if_configured,
    folders=("crm",),
    ignored=(
        (
            f"crm/{PULL_SCRATCH}*/*",
            "pages of a HubSpot pull that was interrupted (never read; delete the folder)",
        ),
    ),
    # 2: a deal's company is its primary one; files landed before are parsed again.
    # 3: an amount or MRR NaN, infinite or past ±2^53, a currency not of three letters and an
    # export's probability outside 0..1 are quarantined; files landed before are parsed again.
    version=3,
)
