"""Hub usage from Prometheus: `query_range` responses saved as `usage/<cluster>/<series>.json`.

The file is the HTTP API's JSON exactly (`{"status":"success","data":{"resultType":"matrix",
"result":[{"metric":{...},"values":[[<unix time>,"<value>"],...]}]}}`); the folder names the
cluster (also its Prometheus datasource) and the file stem names the series, one of
`SERIES`. An error response fails the file with Prometheus' own errorType and error; a
sample that is not a finite number is quarantined.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import duckdb

from ingest.framework import RECORD_COLUMN, Parsed, ParseError, RawTable, Source
from ingest.tabular import castable, finite, literal, not_empty, split_rows

# Series the pipeline understands: file stem -> the PromQL that produced it.
SERIES = {
    "daily_active_users": 'max(jupyterhub_active_users{period="24h"}) by (namespace)',
    "memory_requests_bytes": (
        'sum(kube_pod_container_resource_requests{resource="memory"}) by (namespace)'
    ),
}

SAMPLES = RawTable(
    "prometheus_samples",
    {
        "cluster": "varchar",
        "series": "varchar",
        "namespace": "varchar",
        "labels": "json",
        "sampled_at": "timestamptz",
        "value": "double",
    },
    "Samples of Prometheus range queries, one row per series, label set and timestamp.",
)

_READ = """
select status, data, "errorType", error
from read_json(?, format = 'auto', records = true, maximum_object_size = 1073741824,
               columns = {status: 'VARCHAR', data: 'JSON', errorType: 'VARCHAR', error: 'VARCHAR'})
"""


def parse_query_range(path: Path) -> Parsed:
    cluster, series = path.parent.name, path.stem
    if series not in SERIES:
        raise ParseError(f"unknown series {series!r}; expected one of {', '.join(sorted(SERIES))}")
    con = duckdb.connect()
    try:
        documents = con.execute(_READ, [str(path)]).fetchall()
    except duckdb.Error as error:
        raise ParseError(f"not a Prometheus JSON response: {str(error).strip()}") from error
    if len(documents) != 1:
        raise ParseError(f"expected one JSON object, found {len(documents)}")
    status, data, error_type, error = documents[0]
    if status != "success":
        raise ParseError(f"Prometheus answered status {status!r}: {error_type}: {error}")
    con.execute("create temp table doc as select ?::json as data", [data])
    [(result_type,)] = con.execute("select data->>'resultType' from doc").fetchall()
    if result_type != "matrix":
        raise ParseError(f"resultType is {result_type!r}, expected 'matrix' (a range query)")

    samples = con.sql(
        f"""
        with series as (
            select unnest(from_json(data->'result', '["json"]')) as s,
                   generate_subscripts(from_json(data->'result', '["json"]'), 1) as i
            from doc
        ),
        samples as (
            select i, s->'metric' as metric,
                   unnest(from_json(s->'values', '["json"]')) as v,
                   generate_subscripts(from_json(s->'values', '["json"]'), 1) as j
            from series
        )
        select {literal(cluster)} as cluster, {literal(series)} as series,
               metric->>'namespace' as namespace, metric::varchar as labels,
               v->>0 as sampled_at, v->>1 as value,
               'result[' || (i - 1) || '] values[' || (j - 1) || ']' as {RECORD_COLUMN},
               i * 1000000000 + j as _ordinal
        from samples
        """
    )
    valid, rejected = split_rows(
        con,
        samples,
        [castable("sampled_at", "DOUBLE"), not_empty("value"), finite("value")],
        {
            "cluster": "cluster",
            "series": "series",
            "namespace": "namespace",
            "labels": "labels::json",
            "sampled_at": "to_timestamp(sampled_at::double)",
            "value": "value::double",
        },
    )
    return Parsed(tables={SAMPLES.name: valid}, rejected=rejected)


SOURCE = Source(
    name="prometheus",
    group="usage",
    description="Hub usage: Prometheus query_range responses (usage/<cluster>/<series>.json).",
    patterns=("usage/*/*.json",),
    tables=(SAMPLES,),
    cadence=timedelta(days=2),
    parse=parse_query_range,
    by_month=True,
)
