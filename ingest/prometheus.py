"""Hub usage from Prometheus: `query_range` responses saved as `usage/<cluster>/<series>.json`.

The file is the HTTP API's JSON exactly (`{"status":"success","data":{"resultType":"matrix",
"result":[{"metric":{...},"values":[[<unix time>,"<value>"],...]}]}}`), or gzipped
(`<series>.json.gz`: `curl ... | gzip`, an archive job compressing old months). The first
folder under `usage/` names the cluster (also its Prometheus datasource and a cluster of the
registry); a live pull files each month in a folder of its own,
`usage/<cluster>/<YYYY-MM>/<series>.json`. The file name less `.json[.gz]` names the series,
one of `SERIES`.

- An error response, an instant query (`resultType` not `matrix`), an unknown series, a
  cluster folder the registry does not list or a damaged gzip stream fails the file, naming
  it.
- A series saved both plain and gzipped in one folder (an archive job gzipping a month the
  live pull still refreshes) loads from both files, and each file's load logs which one
  wins: where both hold a sample of one series at one time, staging counts the plain file's,
  which the live pull writes (macro counted_usage_samples); a sample only one holds counts.
- A sample that is not a finite number, a timestamp outside 2000 .. a year after the load
  (milliseconds read as seconds), or a series without the labels its query must give
  (`namespace`; `period` of `active_users`; the username of `user_servers`) is quarantined.
- A native histogram sample (Prometheus 3 answers `histograms: [[<time>, {count, sum,
  buckets}], ...]` beside or instead of `values`) is quarantined, one record each: every
  series here is a float gauge, so a histogram means the file holds another query.
- Every series is kept: `active_users` holds one per namespace and period, `user_servers`
  one per namespace and user. Samples may be sub-daily; staging takes each day's maximum.
- Usernames are matched against the exclusions of `registry/usage.yaml` and replaced by a
  keyed hash (`ingest.usage_settings`) before any row is built; `labels` keeps the rest,
  but for the labels that spell a username another way (escaped, or in a user's pod name).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa

from ingest.framework import RECORD_COLUMN, Extract, ParseError, RawTable, Rows, Source, read_error
from ingest.registry import registry_document
from ingest.tabular import (
    Check,
    castable,
    finite,
    gzipped,
    literal,
    not_empty,
    plain,
    plausible_time,
)
from ingest.usage_settings import read_settings, settings_fingerprint, username_hasher

# Series the pipeline understands: file stem -> the PromQL that produced it.
SERIES = {
    "active_users": "max(jupyterhub_active_users) by (namespace, period)",
    "daily_active_users": 'max(jupyterhub_active_users{period="24h"}) by (namespace)',
    # Hubs on JupyterHub releases before the `period` label.
    "jupyterhub_daily_active_users": "max(jupyterhub_daily_active_users) by (namespace)",
    "jupyterhub_monthly_active_users": "max(jupyterhub_monthly_active_users) by (namespace)",
    "running_servers": "max(jupyterhub_running_servers) by (namespace)",
    "memory_requests_bytes": (
        'sum(kube_pod_container_resource_requests{resource="memory"}) by (namespace)'
    ),
    "user_servers": (
        "max by (namespace, annotation_hub_jupyter_org_username) "
        '(kube_pod_annotations{pod=~"jupyter-.*"})'
    ),
}
USER_SERIES = "user_servers"
# Where the Grafana pull (ingest.grafana_client) lists the clusters it could not pull, as the
# operator's own errors.txt does: beside the responses, holding none.
ERRORS_FILE = "usage/errors.txt"
USERNAME_LABEL = "annotation_hub_jupyter_org_username"
# Labels that carry a username in the operator's other per-user queries (label_replace).
USERNAME_LABELS = (USERNAME_LABEL, "username")
# Labels that name a user in another spelling, never kept: kubespawner labels a user's pod
# with the escaped name (escapism, `alice-40example-2eorg`), which kube-state-metrics gives
# as `label_hub_jupyter_org_username`; jupyterhub_user_group_info has `username_escaped` and
# `username_safe`. The escaping is reversible, so they are names, not hashes.
OTHER_USERNAME_LABELS = ("label_hub_jupyter_org_username", "username_escaped", "username_safe")
# A per-user series' pods are users' servers, named `jupyter-<escaped name>[--<server>]`.
USER_POD_LABEL = "pod"
PERIODS = ("24h", "7d", "30d")
_LOG = logging.getLogger(__name__)

SAMPLES = RawTable(
    "prometheus_samples",
    {
        "cluster": "varchar",
        "series": "varchar",
        "namespace": "varchar",
        "period": "varchar",
        "user_hash": "varchar",
        "user_is_excluded": "boolean",
        "labels": "json",
        "sampled_at": "timestamptz",
        "value": "double",
    },
    "Samples of Prometheus range queries, one row per series, label set and timestamp; "
    "usernames are a keyed hash.",
)

# The response as one row, typed as far as a query needs (a FROM clause; `path` is a SQL
# literal): the header with `data` only as far as every resultType shares, then a matrix's
# labels, then its values. DuckDB converts while it parses: 3x faster than JSON text and
# `from_json` (measured on a 20 MB user_servers file). The response is one JSON object: the
# largest object read is the file (DuckDB allocates buffers of twice that size, within the
# warehouse's memory limit).
_READ = (
    "read_json({path}, format = 'auto', records = true, maximum_object_size = {size}, "
    "columns = {columns})"
)
_HEADER = (
    "{status: 'VARCHAR', data: 'STRUCT(resultType VARCHAR)', errorType: 'VARCHAR', "
    "error: 'VARCHAR'}"
)
_LABELS = "{data: 'STRUCT(result STRUCT(metric JSON)[])'}"
_VALUES = "{data: 'STRUCT(result STRUCT(\"values\" VARCHAR[][], histograms VARCHAR[][])[])'}"
MIN_OBJECT_SIZE = 1 << 24  # DuckDB's default maximum_object_size, 16 MiB
# The registered labels of the file being staged.
LABELS_VIEW = "_prometheus_series_labels"
# Seconds since 1970, clamped so a millisecond or microsecond time still converts (to a date
# the plausibility check refuses) instead of overflowing the timestamp type; null for none.
_SAMPLE_SECONDS = "try_cast(trim(sampled_at) as double)"
_SAMPLE_TIME = (
    f"case when {_SAMPLE_SECONDS} is not null "
    f"then to_timestamp(least(greatest({_SAMPLE_SECONDS}, 0), 1e11)) end"
)


def registry_clusters(landing: Path) -> set[str]:
    """Cluster names of the landing folder's registry (validated by its own connector)."""
    path = landing / "registry" / "clusters.yaml"
    if not path.exists():
        raise ParseError("no registry/clusters.yaml to check the cluster folder against")
    stat = path.stat()
    return set(_cluster_names(str(path), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=8)
def _cluster_names(path: str, mtime_ns: int, size: int) -> frozenset[str]:
    """Read once per version of the file: a load parses dozens of usage files against it."""
    try:
        document = registry_document(Path(path))
    except ParseError as error:
        raise ParseError(
            f"registry/clusters.yaml, {error.where or 'file'}: {error.problem}"
        ) from error
    clusters = document.get("clusters") if isinstance(document, dict) else None
    return frozenset(c.get("name") for c in clusters or [] if isinstance(c, dict))


def series_of(path: Path) -> str:
    """The series a response file holds: its name less `.json` or `.json.gz`."""
    return path.name.removesuffix(".gz").removesuffix(".json")


def landing_of(path: Path) -> tuple[Path, str]:
    """The landing folder and the cluster of `usage/<cluster>/[<month>/]<series>.json[.gz]`."""
    parts = path.parts
    if "usage" not in parts[:-2]:
        raise ParseError("not under a usage/<cluster>/ folder")
    index = len(parts) - 1 - parts[::-1].index("usage")
    return Path(*parts[:index]), parts[index + 1]


def _series_labels(metrics: list[tuple[int, str]], series: str, landing: Path) -> pa.Table:
    """Per series: namespace, period, keyed username hash, exclusion, the other labels and
    the problem with its labels, if any. Usernames go no further than this function."""
    settings = hasher = None
    rows = []
    for index, text in metrics:
        labels = json.loads(text) if text else {}
        labels = labels if isinstance(labels, dict) else {}
        username = next((labels[k] for k in USERNAME_LABELS if labels.get(k)), None)
        dropped = {*USERNAME_LABELS, *OTHER_USERNAME_LABELS}
        if series == USER_SERIES or username:
            dropped.add(USER_POD_LABEL)
        kept = {k: v for k, v in labels.items() if k not in dropped}
        problem, user_hash, excluded = None, None, None
        if not labels.get("namespace"):
            problem = "namespace label is missing"
        elif series == "active_users" and labels.get("period") not in PERIODS:
            problem = f"period label is not one of {', '.join(PERIODS)}: {labels.get('period')}"
        elif series == USER_SERIES and not username:
            problem = f"{USERNAME_LABEL} label is missing or empty"
        if username:
            if hasher is None:
                settings = read_settings(landing)
                hasher = username_hasher(settings)
                if hasher is None:
                    raise ParseError(
                        "holds usernames but no key to hash them: set "
                        "PARTNER_METRICS_USERNAME_KEY or PARTNER_METRICS_USERNAME_KEY_FILE"
                    )
            excluded = settings.is_excluded(username)  # before hashing: names, not hashes
            user_hash = hasher(username)
        rows.append(
            {
                "i": index,
                "namespace": labels.get("namespace"),
                "period": labels.get("period") if series == "active_users" else None,
                "user_hash": user_hash,
                "user_is_excluded": excluded,
                "labels": json.dumps(kept, sort_keys=True),
                "label_problem": problem,
            }
        )
    return pa.Table.from_pylist(
        rows,
        schema=pa.schema(
            [
                ("i", pa.int64()),
                ("namespace", pa.string()),
                ("period", pa.string()),
                ("user_hash", pa.string()),
                ("user_is_excluded", pa.bool_()),
                ("labels", pa.string()),
                ("label_problem", pa.string()),
            ]
        ),
    )


def _log_twin(landing: Path, path: Path, series: str) -> None:
    """Say, when a series is saved both plain and gzipped in one folder, which copy's samples
    count where both hold one: the plain file's, since the live pull writes `.json` and an
    archive job its gzipped copy (`gzip -k` keeps the original's time, so file times would
    not tell them apart). Both load; staging keeps one sample (counted_usage_samples)."""
    twin = path.with_name(f"{series}.json" if gzipped(path) else f"{series}.json.gz")
    if not twin.is_file():
        return
    relative = path.relative_to(landing).as_posix()
    winner = twin.name if gzipped(path) else "this file"
    _LOG.warning(
        f"{relative}: {twin.name} beside it holds the same series; both load, and a sample "
        f"both hold at one time counts from {winner}, the plain file the live pull writes"
    )


def extract_query_range(con: duckdb.DuckDBPyConnection, path: Path) -> Extract:
    """The file's samples as SQL over `read_json`, joined with its series' labels (hashed in
    Python, registered as `_prometheus_series_labels`); the framework stages them right away,
    so the registration of the next file may replace it. Only the labels pass through Python.
    A gzipped response is read from its decompressed copy (`plain`)."""
    series = series_of(path)
    if series not in SERIES:
        raise ParseError(f"unknown series {series!r}; expected one of {', '.join(sorted(SERIES))}")
    landing, cluster = landing_of(path)
    _log_twin(landing, path, series)
    response = plain(path)
    path_sql = literal(str(response))
    size = max(response.stat().st_size + 1, MIN_OBJECT_SIZE)
    try:
        header = con.execute(
            'select status, data.resultType, "errorType", error '
            f"from {_READ.format(path=path_sql, size=size, columns=_HEADER)}"
        ).fetchall()
    except duckdb.Error as error:
        raise ParseError(f"not a Prometheus JSON response: {str(error).strip()}") from error
    if len(header) > 1:
        # prometheus-api-client and others save the `result` list alone.
        raise ParseError(
            f"expected one JSON object, found {len(header)} (an array: the 'result' list "
            'saved alone?); save the whole query_range response, {"status", "data"}'
        )
    if not header:
        raise ParseError("expected one JSON object, found 0")
    status, result_type, error_type, error = header[0]
    if status not in ("success", "error"):
        # Grafana's own answer (/api/ds/query, the query inspector) is data frames.
        raise ParseError(
            f"not a Prometheus API response: 'status' is {status!r}, not 'success' or "
            "'error' (Grafana's data frames are not read: save what the datasource proxy's "
            "/api/v1/query_range answers)"
        )
    if status != "success":
        raise ParseError(f"Prometheus answered status {status!r}: {error_type}: {error}")
    if result_type != "matrix":
        raise ParseError(f"resultType is {result_type!r}, expected 'matrix' (a range query)")
    known = registry_clusters(landing)
    if cluster not in known:
        raise ParseError(
            f"unknown cluster folder {cluster!r}: not a cluster of registry/clusters.yaml "
            f"({', '.join(sorted(known)) or 'none listed'})"
        )
    try:
        metrics = con.execute(
            "select generate_subscripts(data.result, 1), unnest(data.result).metric::varchar "
            f"from {_READ.format(path=path_sql, size=size, columns=_LABELS)}"
        ).fetchall()
    except duckdb.Error as error:
        raise read_error(error) from error
    con.register(LABELS_VIEW, _series_labels(metrics, series, landing))
    samples = f"""
        with series as (
            select unnest(data.result) as s, generate_subscripts(data.result, 1) as i
            from {_READ.format(path=path_sql, size=size, columns=_VALUES)}
        ),
        samples as (
            select i, 'values' as kind, unnest(s.values) as v,
                   generate_subscripts(s.values, 1) as j
            from series
            union all
            select i, 'histograms' as kind, unnest(s.histograms) as v,
                   generate_subscripts(s.histograms, 1) as j
            from series
        )
        select {literal(cluster)} as cluster, {literal(series)} as series,
               l.namespace, l.period, l.user_hash, l.user_is_excluded, l.labels,
               l.label_problem, v[1] as sampled_at,
               case when kind = 'values' then v[2] end as value,
               case when kind = 'histograms' then v[2] end as histogram,
               'result[' || (samples.i - 1) || '] ' || kind || '[' || (j - 1) || ']'
                   as {RECORD_COLUMN},
               -- A series' histograms after its floats, in the order of the file.
               samples.i * 1000000000 + (kind = 'histograms')::int * 500000000 + j as _ordinal
        from samples
        join {LABELS_VIEW} as l on samples.i = l.i
    """
    value_checks = (not_empty("value"), finite("value"))
    checks = [
        Check("label_problem is not null", "label_problem"),
        not_empty("sampled_at"),
        castable("sampled_at", "DOUBLE"),
        plausible_time("sampled_at", _SAMPLE_TIME),
        Check(
            "histogram is not null",
            literal("a native histogram sample, not a float: every series here is a gauge"),
        ),
        # A histogram has no float value: its one reason is the line above.
        *(Check(f"histogram is null and ({c.fails})", c.reason) for c in value_checks),
    ]
    select = {
        "cluster": "cluster",
        "series": "series",
        "namespace": "namespace",
        "period": "period",
        "user_hash": "user_hash",
        "user_is_excluded": "user_is_excluded",
        "labels": "labels::json",
        "sampled_at": "to_timestamp(sampled_at::double)",
        "value": "value::double",
    }
    return Extract(Rows(samples), {SAMPLES.name: select}, checks)


def _pull(landing: Path, months: Sequence[date] = ()):
    from ingest.grafana_client import pull_if_configured

    return pull_if_configured(landing, months)


SOURCE = Source(
    name="prometheus",
    group="usage",
    description=(
        "Hub usage: Prometheus query_range responses (usage/<cluster>/<series>.json[.gz])."
    ),
    patterns=("usage/*/*.json", "usage/*/*.json.gz", "usage/*/*/*.json", "usage/*/*/*.json.gz"),
    tables=(SAMPLES,),
    cadence=timedelta(days=2),
    extract=extract_query_range,
    pull=_pull,
    settings_fingerprint=settings_fingerprint,
    by_month=True,
    folders=("usage",),
    ignored=((ERRORS_FILE, "the Grafana pull's list of clusters it could not pull (no samples)"),),
    # 2: labels that spell a username another way are dropped; files landed before are
    # parsed again, so no such label stays in raw.
    # 3: a value past ±2^53 is quarantined; files landed before are parsed again.
    version=3,
)
