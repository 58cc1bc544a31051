"""The live usage pull through Grafana, against a local server on 127.0.0.1 that answers like
Grafana: its datasource list and Prometheus' query_range behind the datasource proxy, with
Prometheus' limit of points per series enforced, and one cluster whose Prometheus fails.

No mock of requests: the real client talks HTTP to pytest-httpserver; retry waits go
through an injected sleep that records them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from werkzeug import Request, Response

from ingest.framework import PullError, survey
from ingest.grafana_client import STEP_SECONDS, chunks, month_ranges, pull_if_configured, pull_usage
from ingest.prometheus import SERIES, SOURCE, USER_SERIES

TOKEN = "glsa_usage-test-token-9f8e7d"
NOW = datetime(2024, 3, 10, 12, 30, tzinfo=UTC)
LIMIT = 1000  # the test server's points-per-series limit (Prometheus: 11,000)
FEB, MAR = 1706745600, 1709251200  # 2024-02-01 and 2024-03-01, 00:00 UTC


def test_chunks_stay_under_the_limit_and_neither_overlap_nor_leave_a_step_out():
    # 0..20 in steps of 2 is 11 points; at most 4 points a chunk: 0-6, 8-14, 16-20.
    assert list(chunks(0, 20, 2, max_points=4)) == [(0, 6), (8, 14), (16, 20)]
    assert list(chunks(0, 6, 2, max_points=4)) == [(0, 6)]


def test_month_ranges_are_the_previous_and_the_current_month_up_to_now():
    assert list(month_ranges(NOW)) == [
        (
            "2024-02",
            datetime(2024, 2, 1, tzinfo=UTC),
            datetime(2024, 2, 29, 23, 59, 59, tzinfo=UTC),
        ),
        ("2024-03", datetime(2024, 3, 1, tzinfo=UTC), NOW),
    ]


def registry(landing: Path, clusters: list[str]) -> None:
    document = {
        "partners": [{"id": "p1", "name": "P1"}],
        "clusters": [
            {
                "name": name,
                "provider": "gcp",
                "account": f"{name}-project",
                "paid_by_us": True,
                "hubs": [{"name": "prod", "partner": "p1", "launched_on": "2023-01-01"}],
            }
            for name in clusters
        ],
    }
    (landing / "registry").mkdir(parents=True)
    (landing / "registry" / "clusters.yaml").write_text(yaml.safe_dump(document))
    (landing / "registry" / "usage.yaml").write_text("username_hash_key: demo\n")


class FakePrometheus:
    """Answers query_range like Prometheus: one point per step, 400 past the limit."""

    def __init__(self):
        self.ranges: list[tuple[str, int, int, int]] = []

    def __call__(self, request: Request) -> Response:
        query, step = request.args["query"], int(request.args["step"])
        start, end = int(request.args["start"]), int(request.args["end"])
        if (end - start) // step + 1 > LIMIT:
            return _json(
                {
                    "status": "error",
                    "errorType": "bad_data",
                    "error": "exceeded maximum resolution of 11,000 points per timeseries. "
                    "Try decreasing the query resolution (?step=XX)",
                },
                400,
            )
        self.ranges.append((query, start, end, step))
        metric = {"namespace": "prod"}
        if query == SERIES[USER_SERIES]:
            metric["annotation_hub_jupyter_org_username"] = "grace.hopper"
        values = [[moment, "1"] for moment in range(start, end + 1, step)]
        body = {"status": "success", "data": {"resultType": "matrix", "result": []}}
        body["data"]["result"].append({"metric": metric, "values": values})
        if query == SERIES["memory_requests_bytes"]:
            body["warnings"] = ["PromQL info: metric might not be a counter"]
        return _json(body)


def _json(body: object, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


def serve_grafana(httpserver, prometheus: FakePrometheus) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    httpserver.expect_request("/api/datasources", headers=auth).respond_with_json(
        [
            {"id": 1, "uid": "uid-c1", "name": "c1", "type": "prometheus"},
            {"id": 2, "uid": "uid-c2", "name": "c2", "type": "prometheus"},
            {"id": 3, "uid": "uid-logs", "name": "c1-logs", "type": "loki"},
            {"id": 4, "uid": "uid-x", "name": "not-a-cluster", "type": "prometheus"},
        ]
    )
    httpserver.expect_request(
        "/api/datasources/proxy/uid/uid-c1/api/v1/query_range", headers=auth
    ).respond_with_handler(prometheus)
    httpserver.expect_request(
        "/api/datasources/proxy/uid/uid-c2/api/v1/query_range", headers=auth
    ).respond_with_json(
        {"status": "error", "errorType": "execution", "error": "query timed out"}, status=422
    )


def pull(httpserver, landing: Path, **kwargs):
    return pull_usage(
        landing,
        httpserver.url_for("/").rstrip("/"),
        TOKEN,
        now=NOW,
        max_points=LIMIT,
        sleep=lambda seconds: None,
        **kwargs,
    )


def test_pull_lands_each_cluster_month_and_series_and_lists_what_failed(httpserver, tmp_path):
    registry(tmp_path, ["c1", "c2", "c3"])
    prometheus = FakePrometheus()
    serve_grafana(httpserver, prometheus)
    report = pull(httpserver, tmp_path)

    # c1: both months of every series, written where the connector reads them.
    assert sorted(p.relative_to(tmp_path).as_posix() for p in report.files) == sorted(
        f"usage/c1/{month}/{series}.json" for month in ("2024-02", "2024-03") for series in SERIES
    )
    # Every chunk was under the limit (the server refuses more). user_servers steps every
    # 5 minutes: February (2024-02-01 00:00 .. 02-29 23:55) is 29 x 288 = 8352 points, so
    # 9 chunks of at most 1000; the hourly series need one chunk a month (696 points).
    feb_users = [r for r in prometheus.ranges if r[0] == SERIES[USER_SERIES] and r[1] < MAR]
    assert len(feb_users) == 9
    assert feb_users[0][1] == FEB and feb_users[-1][2] == MAR - 300
    feb_hourly = [r for r in prometheus.ranges if r[0] == SERIES["running_servers"] and r[1] < MAR]
    assert feb_hourly == [(SERIES["running_servers"], FEB, MAR - 3600, 3600)]
    # The chunks join into one series with every step once, in order.
    landed = json.loads((tmp_path / "usage/c1/2024-02/user_servers.json").read_text())
    [series] = landed["data"]["result"]
    assert [v[0] for v in series["values"]] == list(range(FEB, MAR, STEP_SECONDS[USER_SERIES]))
    # The connector reads what the pull wrote; the username arrives hashed.
    parsed = SOURCE.parse(tmp_path / "usage/c1/2024-02/user_servers.json")
    rows = parsed.tables["prometheus_samples"].to_pylist()
    assert len(rows) == 8352 and parsed.rejected.num_rows == 0
    assert "grace.hopper" not in json.dumps(rows, default=str)

    # c2's Prometheus failed, c3 has no datasource, one datasource is no registry cluster:
    # listed as the operator's errors.txt does, and the pull went on.
    proxy = httpserver.url_for("/api/datasources/proxy/uid/uid-c2/api/v1/query_range")
    assert report.problems[0].startswith(f"c2: Grafana GET {proxy}?query=")
    assert report.problems[0].endswith("answered 422: query timed out")
    assert report.problems[1:] == [
        "c3: no Prometheus datasource named 'c3'",
        "not-a-cluster: a Prometheus datasource that is not a cluster of "
        "registry/clusters.yaml; not pulled",
    ]
    errors = (tmp_path / "usage" / "errors.txt").read_text()
    assert errors == "".join(f"{line}\n" for line in report.problems)
    assert not (tmp_path / "usage" / "c2").exists()
    # The connector accounts for every file the pull wrote: errors.txt holds no samples.
    assert survey(SOURCE, tmp_path).others == {
        tmp_path / "usage/errors.txt": (
            "ignored",
            "the Grafana pull's list of clusters it could not pull (no samples)",
        )
    }
    # Prometheus' warnings are reported and kept in the landed file.
    assert report.warnings == [
        "c1 2024-02 memory_requests_bytes: PromQL info: metric might not be a counter",
        "c1 2024-03 memory_requests_bytes: PromQL info: metric might not be a counter",
    ]
    memory = json.loads((tmp_path / "usage/c1/2024-03/memory_requests_bytes.json").read_text())
    assert memory["warnings"] == ["PromQL info: metric might not be a counter"]
    assert TOKEN not in errors + json.dumps(report.problems + report.warnings)


def test_infos_and_native_histograms_survive_the_join_of_chunks(httpserver, tmp_path):
    """Prometheus 2.54+ answers info-level annotations in `infos`, apart from `warnings`
    (prometheus/prometheus#14327), and native histogram samples in `histograms` beside or
    instead of `values` (docs/querying/api.md, "Range vectors"). Both are kept across chunks:
    the info is reported, and the connector quarantines each histogram sample it is shown."""
    registry(tmp_path, ["c1"])

    def answer(request: Request) -> Response:
        start = int(request.args["start"])
        body = {
            "status": "success",
            "data": {
                "resultType": "matrix",
                "result": [
                    {"metric": {"namespace": "prod"}, "values": [[start, "2"]]},
                    {
                        "metric": {"namespace": "staging"},
                        "histograms": [[start, {"count": "1", "sum": "1"}]],
                    },
                ],
            },
            "infos": ["PromQL info: ignored histogram in max aggregation"],
        }
        return _json(body)

    httpserver.expect_request("/api/datasources").respond_with_json(
        [{"id": 1, "uid": "uid-c1", "name": "c1", "type": "prometheus"}]
    )
    httpserver.expect_request(
        "/api/datasources/proxy/uid/uid-c1/api/v1/query_range"
    ).respond_with_handler(answer)
    # Three points of an hour: with at most 2 per request, two chunks (00:00-01:00, 02:00).
    url = httpserver.url_for("/").rstrip("/")
    month = datetime(2024, 3, 1).date()
    report = pull_usage(tmp_path, url, TOKEN, now=NOW, months=[month], max_points=2)
    info = "PromQL info: ignored histogram in max aggregation"
    assert f"c1 2024-03 running_servers: {info}" in report.warnings
    path = tmp_path / "usage/c1/2024-03/running_servers.json"
    landed = json.loads(path.read_text())
    assert landed["infos"] == [info]
    prod, staging = landed["data"]["result"]
    # 2024-03-01 00:00 .. 03-10 12:00 hourly, 2 points a chunk: each chunk's first point.
    starts = list(range(MAR, MAR + 9 * 86400 + 12 * 3600 + 1, 2 * 3600))
    assert [v[0] for v in prod["values"]] == starts
    assert [h[0] for h in staging["histograms"]] == starts and staging["values"] == []
    parsed = SOURCE.parse(path)
    assert parsed.tables["prometheus_samples"].num_rows == len(starts)
    assert parsed.rejected.num_rows == len(starts)


def test_a_200_answer_with_status_error_fails_that_cluster(httpserver, tmp_path):
    registry(tmp_path, ["c1", "c2"])
    httpserver.expect_request("/api/datasources").respond_with_json(
        [
            {"uid": "uid-c1", "name": "c1", "type": "prometheus"},
            {"uid": "uid-c2", "name": "c2", "type": "prometheus"},
        ]
    )
    httpserver.expect_request(
        "/api/datasources/proxy/uid/uid-c1/api/v1/query_range"
    ).respond_with_handler(FakePrometheus())
    httpserver.expect_request(
        "/api/datasources/proxy/uid/uid-c2/api/v1/query_range"
    ).respond_with_json({"status": "error", "errorType": "internal", "error": "out of memory"})
    report = pull(httpserver, tmp_path)
    [problem] = report.problems
    assert problem.endswith("Prometheus answered status 'error': internal: out of memory")
    assert {p.parent.parent.name for p in report.files} == {"c1"}


def test_a_pull_where_no_cluster_answers_fails_and_writes_no_usage(httpserver, tmp_path):
    registry(tmp_path, ["c2"])
    serve_grafana(httpserver, FakePrometheus())
    with pytest.raises(PullError, match="no cluster could be pulled: c2: Grafana GET"):
        pull(httpserver, tmp_path)
    assert [p.name for p in (tmp_path / "usage").iterdir()] == ["errors.txt"]


def test_a_refused_token_fails_the_pull_naming_the_request(httpserver, tmp_path):
    registry(tmp_path, ["c1"])
    httpserver.expect_request("/api/datasources").respond_with_json(
        {"message": "invalid API key"}, status=401
    )
    with pytest.raises(PullError) as failure:
        pull(httpserver, tmp_path)
    assert str(failure.value) == (
        f"Grafana GET {httpserver.url_for('/api/datasources')}: answered 401: invalid API key"
    )
    assert failure.value.status == 401
    assert not (tmp_path / "usage").exists()


def test_pull_runs_only_with_url_and_token(httpserver, tmp_path, monkeypatch):
    registry(tmp_path, ["c1"])
    monkeypatch.delenv("GRAFANA_URL", raising=False)
    monkeypatch.setenv("GRAFANA_TOKEN", TOKEN)
    assert pull_if_configured(tmp_path) is None
    assert httpserver.log == []
