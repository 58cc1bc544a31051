"""Live pull of hub usage through Grafana, as the operator does it.

`GET /api/datasources` lists one Prometheus datasource per cluster, named after it; each
registry cluster's series (`ingest.prometheus.SERIES`) are asked of
`/api/datasources/proxy/uid/<uid>/api/v1/query_range`, month by month (the previous and the
current month: a month is pulled again until it closes), and written as
`usage/<cluster>/<YYYY-MM>/<series>.json`, one query_range response, as the connector reads
any saved response.

- Prometheus refuses a range of more than 11,000 points per series, so a month is asked for
  in chunks under that limit and the chunks are joined series by series.
- `status: error` (in a 4xx/5xx or a 200 body) fails that cluster, with Prometheus' own
  errorType and error; `warnings` and Prometheus 3's info-level `infos` are kept in the
  written file and reported. A series' native histogram samples (`histograms`) are joined
  like its floats, for the connector to account for.
- A cluster that cannot be queried (no datasource, an error, a timeout) is listed, as the
  operator's `errors.txt` does, in `usage/errors.txt` and in the pull's report; the other
  clusters are pulled. The pull fails only when no cluster could be pulled at all.
- HTTP goes through `ingest.http.ApiClient` (retries, Retry-After, time budget, redaction).
  A cluster's files are written only once all of its answers arrived.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ingest.framework import ParseError, PullError, PullReport
from ingest.http import ApiClient
from ingest.prometheus import ERRORS_FILE, SERIES, USER_SERIES, registry_clusters
from ingest.secrets import read_secret

URL_ENV = "GRAFANA_URL"
TOKEN_ENV = "GRAFANA_TOKEN"
MAX_POINTS_PER_SERIES = 11_000
# Seconds between points. A user's server can live for minutes: the operator samples pods
# every 5 minutes; the per-hub gauges change slowly and are reduced to a daily maximum.
STEP_SECONDS = {series: 300 if series == USER_SERIES else 3600 for series in SERIES}
# What Prometheus says about a query that still answered: `warnings`, and since Prometheus
# 2.54 (prometheus/prometheus#14327) info-level annotations apart in `infos` ("PromQL info:
# ignored histogram in max aggregation"), which before came among the warnings.
NOTES = ("warnings", "infos")


def chunks(start: int, end: int, step: int, max_points: int = MAX_POINTS_PER_SERIES):
    """(start, end) ranges covering start..end, each of at most `max_points` points of
    `step` seconds (both ends included), not overlapping."""
    span = (max_points - 1) * step
    moment = start
    while moment <= end:
        stop = min(moment + span, end)
        yield moment, stop
        moment = stop + step


def month_ranges(
    now: datetime, months: Sequence[date] | None = None
) -> Iterator[tuple[str, datetime, datetime]]:
    """("YYYY-MM", first moment, last moment pulled) of each month of `months` (first days;
    default the previous and the current month), up to now; a month after now is skipped."""
    if months is None:
        current = now.date().replace(day=1)
        months = [(current - timedelta(days=1)).replace(day=1), current]
    for month in months:
        start = datetime(month.year, month.month, 1, tzinfo=UTC)
        if start > now:
            continue
        following = (start + timedelta(days=32)).replace(day=1)
        yield f"{start:%Y-%m}", start, min(following - timedelta(seconds=1), now)


class Grafana:
    """Grafana's datasource list and its Prometheus proxy, under the project's HTTP policy."""

    def __init__(self, client: ApiClient):
        self.client = client

    def prometheus_datasources(self) -> dict[str, str]:
        """Datasource name -> uid, for the Prometheus datasources."""
        body = self.client.get_json("/api/datasources")
        if not isinstance(body, list):
            raise self.client.error(
                self.client.describe("/api/datasources"), "answered without a datasource list"
            )
        return {
            str(item["name"]): str(item["uid"])
            for item in body
            if isinstance(item, dict) and item.get("type") == "prometheus" and item.get("uid")
        }

    def query_range(
        self,
        uid: str,
        query: str,
        start: int,
        end: int,
        step: int,
        max_points: int = MAX_POINTS_PER_SERIES,
    ) -> dict:
        """One query_range response for start..end, asked in chunks and joined."""
        path = f"/api/datasources/proxy/uid/{uid}/api/v1/query_range"
        joined: dict[str, dict[str, Any]] = {}
        notes: dict[str, list[str]] = {key: [] for key in NOTES}
        for first, last in chunks(start, end, step, max_points):
            params = {"query": query, "start": first, "end": last, "step": step}
            body = self.client.get_json(path, params)
            request = self.client.describe(path, params)
            if not isinstance(body, dict) or body.get("status") != "success":
                detail = body if not isinstance(body, dict) else body.get("error")
                error_type = body.get("errorType") if isinstance(body, dict) else None
                raise self.client.error(
                    request, f"Prometheus answered status 'error': {error_type}: {detail}"
                )
            data = body.get("data") or {}
            if data.get("resultType") != "matrix":
                raise self.client.error(
                    request, f"resultType is {data.get('resultType')!r}, expected 'matrix'"
                )
            for key, messages in notes.items():
                messages += [str(message) for message in body.get(key) or []]
            for item in data.get("result") or []:
                key = json.dumps(item.get("metric") or {}, sort_keys=True)
                entry = joined.setdefault(key, {"metric": item.get("metric") or {}, "values": []})
                entry["values"] += item.get("values") or []
                if item.get("histograms"):
                    entry.setdefault("histograms", []).extend(item["histograms"])
        response: dict[str, Any] = {
            "status": "success",
            "data": {"resultType": "matrix", "result": list(joined.values())},
        }
        for key, messages in notes.items():
            if messages:
                response[key] = sorted(set(messages))
        return response


def pull_usage(
    landing: Path,
    base_url: str,
    token: str,
    *,
    now: datetime | None = None,
    months: Sequence[date] | None = None,
    max_points: int = MAX_POINTS_PER_SERIES,
    max_seconds: float = 1800,
    max_retries: int = 5,
    backoff: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PullReport:
    """Pull every registry cluster's series for `months` (first days; default the previous and
    the current month) into `landing`."""
    client = ApiClient(
        "Grafana",
        base_url,
        headers={"Authorization": f"Bearer {token}"},
        max_seconds=max_seconds,
        max_retries=max_retries,
        backoff=backoff,
        sleep=sleep,
        clock=clock,
    )
    grafana = Grafana(client)
    try:
        clusters = registry_clusters(landing)
    except ParseError as error:
        raise PullError(f"Grafana pull: {error.problem}", "registry/clusters.yaml") from None
    datasources = grafana.prometheus_datasources()  # without it nothing can be pulled
    now = (now or datetime.now(UTC)).astimezone(UTC)
    report = PullReport(files=[])
    for cluster in sorted(clusters):
        uid = datasources.get(cluster)
        if uid is None:
            report.problems.append(f"{cluster}: no Prometheus datasource named {cluster!r}")
            continue
        try:
            answers = {
                (month, series): grafana.query_range(
                    uid,
                    query,
                    _aligned(start, STEP_SECONDS[series]),
                    _aligned(end, STEP_SECONDS[series]),
                    STEP_SECONDS[series],
                    max_points,
                )
                for month, start, end in month_ranges(now, months)
                for series, query in SERIES.items()
            }
        except PullError as error:
            report.problems.append(f"{cluster}: {error}")
            continue
        report.warnings += [
            f"{cluster} {month} {series}: {warning}"
            for (month, series), body in answers.items()
            for key in NOTES
            for warning in body.get(key, [])
        ]
        report.files += _write_cluster(landing, cluster, answers)
    report.problems += [
        f"{name}: a Prometheus datasource that is not a cluster of registry/clusters.yaml; "
        "not pulled"
        for name in sorted(set(datasources) - clusters)
    ]
    errors = landing / ERRORS_FILE
    errors.parent.mkdir(parents=True, exist_ok=True)
    errors.write_text("".join(f"{line}\n" for line in report.problems), encoding="utf-8")
    if clusters and not report.files:
        raise PullError(
            f"Grafana pull: no cluster could be pulled: {'; '.join(report.problems)}",
            client.describe("/api/datasources"),
        )
    return report


def _aligned(moment: datetime, step: int) -> int:
    """Unix seconds, down to a multiple of the step, so every chunk lands on the same grid."""
    seconds = int(moment.timestamp())
    return seconds - seconds % step


def _write_cluster(landing: Path, cluster: str, answers: dict[tuple[str, str], dict]) -> list[Path]:
    """Write a cluster's answers, then move them in: a cluster is landed whole or not."""
    folder = landing / "usage" / cluster
    # Outside usage/, so a crash never leaves a file the connector would read.
    scratch = Path(tempfile.mkdtemp(prefix=".pull-usage-", dir=landing))
    written = []
    try:
        for (month, series), body in answers.items():
            (scratch / f"{month}-{series}.json").write_text(
                json.dumps(body, separators=(",", ":")), encoding="utf-8"
            )
        for month, series in answers:
            target = folder / month / f"{series}.json"
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(scratch / f"{month}-{series}.json", target)
            written.append(target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return written


def pull_if_configured(
    landing: Path, months: Sequence[date] | None = None, **kwargs: Any
) -> PullReport | None:
    """Pull `months` when GRAFANA_URL and GRAFANA_TOKEN are set; otherwise do nothing (None)."""
    url = os.environ.get(URL_ENV)
    token = read_secret(TOKEN_ENV)
    if not (url and token):
        return None
    return pull_usage(landing, url, token, months=months or None, **kwargs)
