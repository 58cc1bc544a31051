"""Prometheus query_range files: every series, per-user data hashed, bad input named."""

from __future__ import annotations

import gzip
import hashlib
import hmac
import json
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
import yaml

from ingest.framework import RAW_SCHEMA, ParseError, SourceError, load_source
from ingest.prometheus import SERIES, SOURCE
from ingest.usage_settings import DEMO_KEY, KEY_ENV, KEY_FILE_ENV
from tests.conftest import damaged_gzip

CLUSTER = "2i2c-shared"
KEY = "usage-test-key-0123456789"


@pytest.fixture(autouse=True)
def no_key_configured(monkeypatch):
    """Each test says which key it uses; none leaks in from the environment."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)


def landing(tmp_path: Path, usage: dict | None = None) -> Path:
    """A landing folder whose registry lists the cluster the tests write under."""
    registry = {
        "partners": [{"id": "p1", "name": "P1"}],
        "clusters": [
            {
                "name": CLUSTER,
                "provider": "gcp",
                "account": "proj",
                "paid_by_us": True,
                "hubs": [{"name": "prod", "partner": "p1", "launched_on": "2024-01-01"}],
            }
        ],
    }
    (tmp_path / "registry").mkdir(parents=True, exist_ok=True)
    (tmp_path / "registry" / "clusters.yaml").write_text(yaml.safe_dump(registry))
    if usage is not None:
        (tmp_path / "registry" / "usage.yaml").write_text(yaml.safe_dump(usage))
    return tmp_path


def write(
    folder: Path, body: object, series: str = "daily_active_users", cluster: str = CLUSTER
) -> Path:
    path = folder / "usage" / cluster / f"{series}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


def matrix(*series: tuple[dict, list]) -> dict:
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": m, "values": v} for m, v in series],
        },
    }


def rows(path: Path) -> list[dict]:
    return SOURCE.parse(path).tables["prometheus_samples"].to_pylist()


MATRIX = {
    **matrix(
        ({"namespace": "staging"}, [[1704067200, "3"], [1704153600, "NaN"]]),
        ({"namespace": "prod", "pod": "x"}, [[1704067200.5, "10.5"]]),
    ),
    "warnings": ["query touched many series"],
}


def test_samples_carry_cluster_series_namespace_time_and_value(tmp_path: Path):
    parsed = SOURCE.parse(write(landing(tmp_path), MATRIX))
    found = parsed.tables["prometheus_samples"].to_pylist()
    assert [
        (r["cluster"], r["series"], r["namespace"], r["sampled_at"], r["value"], r["_record"])
        for r in found
    ] == [
        (
            CLUSTER,
            "daily_active_users",
            "staging",
            datetime(2024, 1, 1, tzinfo=UTC),
            3.0,
            "result[0] values[0]",
        ),
        (
            CLUSTER,
            "daily_active_users",
            "prod",
            datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
            10.5,
            "result[1] values[0]",
        ),
    ]
    assert json.loads(found[1]["labels"]) == {"namespace": "prod", "pod": "x"}
    assert parsed.rejected.to_pylist()[0]["record"] == "result[0] values[1]"
    assert parsed.rejected.to_pylist()[0]["reason"] == "value is not a finite number: NaN"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (
            {"status": "error", "errorType": "bad_data", "error": "parse error at char 5"},
            "Prometheus answered status 'error': bad_data: parse error at char 5",
        ),
        (
            {"status": "success", "data": {"resultType": "vector", "result": []}},
            "resultType is 'vector', expected 'matrix' (a range query)",
        ),
    ],
)
def test_error_and_instant_responses_fail_the_file(tmp_path: Path, body, problem):
    with pytest.raises(ParseError) as failure:
        SOURCE.parse(write(landing(tmp_path), body))
    assert failure.value.problem == problem


FIXTURES = Path(__file__).parent / "fixtures" / "usage"


def test_a_saved_result_list_is_refused_saying_to_save_the_whole_response(tmp_path: Path):
    """prometheus-api-client saves `data.result` alone: two series, no status (a real file)."""
    body = (FIXTURES / "result-list-alone.json").read_text(encoding="utf-8")
    with pytest.raises(ParseError) as failure:
        SOURCE.parse(write(landing(tmp_path), body))
    assert failure.value.problem == (
        "expected one JSON object, found 2 (an array: the 'result' list saved alone?); save "
        'the whole query_range response, {"status", "data"}'
    )


def test_grafanas_data_frames_are_refused_as_not_a_prometheus_answer(tmp_path: Path):
    """Grafana's /api/ds/query answer has no Prometheus status: it is not 'Prometheus
    answered status None'."""
    body = (FIXTURES / "grafana-ds-query.json").read_text(encoding="utf-8")
    with pytest.raises(ParseError) as failure:
        SOURCE.parse(write(landing(tmp_path), body))
    assert failure.value.problem == (
        "not a Prometheus API response: 'status' is None, not 'success' or 'error' "
        "(Grafana's data frames are not read: save what the datasource proxy's "
        "/api/v1/query_range answers)"
    )


def test_an_html_error_page_is_not_taken_for_data(tmp_path: Path):
    with pytest.raises(ParseError) as failure:
        SOURCE.parse(write(landing(tmp_path), "<html><body>502 Bad Gateway</body></html>"))
    assert failure.value.problem.startswith("not a Prometheus JSON response: ")
    assert "Malformed JSON" in failure.value.problem


def test_an_unknown_series_name_is_refused(tmp_path: Path):
    with pytest.raises(ParseError) as failure:
        SOURCE.parse(write(landing(tmp_path), MATRIX, series="cpu"))
    assert failure.value.problem == (
        "unknown series 'cpu'; expected one of " + ", ".join(sorted(SERIES))
    )


def test_a_cluster_folder_the_registry_does_not_list_is_refused(tmp_path: Path):
    with pytest.raises(ParseError) as failure:
        SOURCE.parse(write(landing(tmp_path), MATRIX, cluster="2i2c-shraed"))
    assert failure.value.problem == (
        f"unknown cluster folder '2i2c-shraed': not a cluster of registry/clusters.yaml ({CLUSTER})"
    )


def test_the_cluster_folder_is_checked_against_a_registry_the_registry_would_refuse(
    tmp_path: Path,
):
    """The registry's own load names a hub launched on 2024-02-30; the usage load still knows
    its clusters (the registry read as the registry's connector reads it, `registry_document`),
    rather than failing with YAML's bare date error."""
    folder = landing(tmp_path)
    clusters = folder / "registry" / "clusters.yaml"
    clusters.write_text(clusters.read_text().replace("'2024-01-01'", "2024-02-30"))
    assert "launched_on: 2024-02-30" in clusters.read_text()
    assert [(row["namespace"], row["value"]) for row in rows(write(folder, MATRIX))] == [
        ("staging", 3.0),
        ("prod", 10.5),
    ]


def test_a_monthly_pull_folder_keeps_the_cluster_of_the_first_folder(tmp_path: Path):
    path = landing(tmp_path) / "usage" / CLUSTER / "2024-01" / "running_servers.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(matrix(({"namespace": "prod"}, [[1704067200, "2"]]))))
    assert [(r["cluster"], r["series"], r["value"]) for r in rows(path)] == [
        (CLUSTER, "running_servers", 2.0)
    ]


def gzipped_response(folder: Path, body: dict, relative: str) -> Path:
    """A response saved as `curl ... | gzip > <series>.json.gz` saves it."""
    path = folder / "usage" / CLUSTER / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(json.dumps(body).encode(), mtime=0))
    return path


def test_a_gzipped_response_loads_as_its_json_its_series_named_without_json_gz(
    tmp_path: Path,
):
    folder = landing(tmp_path)
    body = matrix(({"namespace": "prod"}, [[1704067200, "2"], [1704153600, "5"]]))
    gzipped_response(folder, body, "2024-01/running_servers.json.gz")
    with duckdb.connect() as con:
        report = load_source(con, SOURCE, folder)
        assert [(f.file, f.status, f.rows_loaded) for f in report.files] == [
            (f"usage/{CLUSTER}/2024-01/running_servers.json.gz", "loaded", 2)
        ]
        assert con.execute(
            f"select cluster, series, namespace, value from {RAW_SCHEMA}.prometheus_samples "
            "order by sampled_at"
        ).fetchall() == [
            (CLUSTER, "running_servers", "prod", 2.0),
            (CLUSTER, "running_servers", "prod", 5.0),
        ]


@pytest.mark.parametrize(
    ("how", "problem"),
    [
        ("deflate", "Error -3 while decompressing data: invalid block type"),
        # DuckDB's own gzip reader does not check the CRC: the samples would load as read.
        ("crc", "CRC check failed"),
        ("cut", "Compressed file ended before the end-of-stream marker was reached"),
    ],
)
def test_a_damaged_gzip_fails_naming_the_file_and_loads_nothing(
    tmp_path: Path, how: str, problem: str
):
    folder = landing(tmp_path)
    body = matrix(({"namespace": "prod"}, [[1704067200, "2"]]))
    path = gzipped_response(folder, body, "running_servers.json.gz")
    path.write_bytes(damaged_gzip(path.read_bytes(), how))
    with duckdb.connect() as con:
        with pytest.raises(SourceError) as failure:
            load_source(con, SOURCE, folder)
        assert con.execute(
            f"select (select count(*) from {RAW_SCHEMA}.prometheus_samples), "
            f"(select count(*) from {RAW_SCHEMA}._ingest_log)"
        ).fetchall() == [(0, 0)]
    assert str(failure.value).startswith(
        f"prometheus: usage/{CLUSTER}/running_servers.json.gz, file: not a readable gzip file: "
        f"{problem}"
    )


def test_a_series_saved_plain_and_gzipped_in_one_folder_loads_both_saying_which_counts(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    """An archive job's `gzip -k` of a month the live pull still refreshes: the archive holds
    1 and 2 Jan, the pull since 2 and 3 Jan. Every sample of both files loads (raw mirrors
    the landing; staging counts the plain file's sample where both hold one, the dbt unit
    test prometheus_a_sample_landed_plain_and_gzipped_counts_once_from_the_plain_file), and
    each file's load says so. A second load changes nothing; a damaged archive fails the
    load and leaves the warehouse as it was, the refreshed pull's rows not written either."""
    folder = landing(tmp_path)
    jan1, jan2, jan3 = 1704067200, 1704153600, 1704240000
    month = folder / "usage" / CLUSTER / "2024-01"
    archive = gzipped_response(
        folder,
        matrix(({"namespace": "prod"}, [[jan1, "2"], [jan2, "5"]])),
        "2024-01/running_servers.json.gz",
    )
    pulled = month / "running_servers.json"
    pulled.write_text(json.dumps(matrix(({"namespace": "prod"}, [[jan2, "4"], [jan3, "6"]]))))

    def raw(con) -> list[tuple]:
        return con.execute(
            f"select _file, epoch(sampled_at)::bigint, value from {RAW_SCHEMA}.prometheus_samples "
            "order by all"
        ).fetchall()

    relative = f"usage/{CLUSTER}/2024-01/running_servers.json"
    with duckdb.connect() as con:
        with caplog.at_level("WARNING", logger="ingest.prometheus"):
            report = load_source(con, SOURCE, folder)
        assert [(f.file, f.status, f.rows_loaded) for f in report.files] == [
            (relative, "loaded", 2),
            (f"{relative}.gz", "loaded", 2),
        ]
        loaded = [
            (relative, jan2, 4.0),
            (relative, jan3, 6.0),
            (f"{relative}.gz", jan1, 2.0),
            (f"{relative}.gz", jan2, 5.0),
        ]
        assert raw(con) == loaded
        assert sorted(caplog.messages) == [
            f"{relative}.gz: running_servers.json beside it holds the same series; both load, "
            "and a sample both hold at one time counts from running_servers.json, the plain "
            "file the live pull writes",
            f"{relative}: running_servers.json.gz beside it holds the same series; both load, "
            "and a sample both hold at one time counts from this file, the plain file the live "
            "pull writes",
        ]
        assert {f.status for f in load_source(con, SOURCE, folder).files} == {"unchanged"}
        assert raw(con) == loaded
        log = con.execute(f"select * from {RAW_SCHEMA}._ingest_log order by all").fetchall()
        pulled.write_text(json.dumps(matrix(({"namespace": "prod"}, [[jan3, "7"]]))))
        archive.write_bytes(damaged_gzip(archive.read_bytes(), "crc"))
        with pytest.raises(
            SourceError, match=r"running_servers\.json\.gz, file: not a readable gzip"
        ):
            load_source(con, SOURCE, folder)
        assert raw(con) == loaded
        assert con.execute(f"select * from {RAW_SCHEMA}._ingest_log order by all").fetchall() == log


def test_active_users_keeps_each_period_and_quarantines_a_series_without_its_labels(
    tmp_path: Path,
):
    body = matrix(
        ({"namespace": "prod", "period": "24h"}, [[1704067200, "3"]]),
        ({"namespace": "prod", "period": "7d"}, [[1704067200, "9"]]),
        ({"namespace": "prod", "period": "30d"}, [[1704067200, "20"]]),
        ({"namespace": "prod", "period": "1h"}, [[1704067200, "1"]]),
        ({"period": "24h"}, [[1704067200, "4"]]),
    )
    parsed = SOURCE.parse(write(landing(tmp_path), body, series="active_users"))
    valid = parsed.tables["prometheus_samples"].to_pylist()
    assert [(r["namespace"], r["period"], r["value"]) for r in valid] == [
        ("prod", "24h", 3.0),
        ("prod", "7d", 9.0),
        ("prod", "30d", 20.0),
    ]
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("result[3] values[0]", "period label is not one of 24h, 7d, 30d: 1h"),
        ("result[4] values[0]", "namespace label is missing"),
    ]


def test_a_timestamp_in_milliseconds_is_quarantined_not_read_as_a_far_future_year(
    tmp_path: Path,
):
    body = matrix(({"namespace": "prod"}, [[1704067200, "3"], [1704067200000, "4"]]))
    parsed = SOURCE.parse(write(landing(tmp_path), body))
    assert [r["value"] for r in parsed.tables["prometheus_samples"].to_pylist()] == [3.0]
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        (
            "result[0] values[1]",
            "sampled_at is outside 2000-01-01 .. a year after the load day: 1704067200000",
        )
    ]


def test_native_histogram_samples_are_quarantined_one_by_one_not_dropped(tmp_path: Path):
    """Prometheus 3 docs (docs/querying/api.md, "Range vectors"): a series holds `values`,
    `histograms` or both. The float loads; each histogram sample is a quarantined record."""
    bucket = [0, "1", "2", "10"]
    body = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [
                {
                    "metric": {"namespace": "prod"},
                    "values": [[1704067200, "4"]],
                    "histograms": [[1704070800, {"count": "10", "sum": "20", "buckets": [bucket]}]],
                },
                {
                    "metric": {"namespace": "staging"},
                    "histograms": [
                        [1704067200, {"count": "1", "sum": "1.5"}],
                        [1704070800, {"count": "2", "sum": "3"}],
                    ],
                },
            ],
        },
        "infos": ["PromQL info: ignored histogram in max aggregation"],
    }
    parsed = SOURCE.parse(write(landing(tmp_path), body, "running_servers"))
    assert [
        (r["namespace"], r["sampled_at"], r["value"])
        for r in parsed.tables["prometheus_samples"].to_pylist()
    ] == [("prod", datetime(2024, 1, 1, tzinfo=UTC), 4.0)]
    reason = "a native histogram sample, not a float: every series here is a gauge"
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("result[0] histograms[0]", reason),
        ("result[1] histograms[0]", reason),
        ("result[1] histograms[1]", reason),
    ]


USERS = matrix(
    (
        {"namespace": "prod", "annotation_hub_jupyter_org_username": "ada.lovelace"},
        [[1704067200, "1"], [1704070800, "1"], [1704074400, "NaN"]],
    ),
    (
        {"namespace": "staging", "annotation_hub_jupyter_org_username": "ada.lovelace"},
        [[1704067200, "1"]],
    ),
    (
        {"namespace": "prod", "annotation_hub_jupyter_org_username": "Staff.Member"},
        [[1704067200, "1"]],
    ),
    (
        {"namespace": "prod", "annotation_hub_jupyter_org_username": "deployment-service-check"},
        [[1704067200, "1"]],
    ),
    ({"namespace": "prod", "annotation_hub_jupyter_org_username": ""}, [[1704067200, "1"]]),
)


def expected_hash(key: bytes, username: str) -> str:
    """HMAC-SHA256 as the standard library computes it, the first 128 bits in hex."""
    return hmac.new(key, username.encode(), hashlib.sha256).hexdigest()[:32]


def test_usernames_are_hashed_and_exclusions_matched_on_the_name_before(
    tmp_path: Path, monkeypatch
):
    monkeypatch.setenv(KEY_ENV, KEY)
    folder = landing(tmp_path, {"excluded_usernames": ["staff.member"]})
    path = write(folder, USERS, series="user_servers")
    parsed = SOURCE.parse(path)
    valid = parsed.tables["prometheus_samples"].to_pylist()
    ada, staff, check = (
        expected_hash(KEY.encode(), name)
        for name in ("ada.lovelace", "Staff.Member", "deployment-service-check")
    )
    # Several series per namespace are several users; the same person on two hubs has one
    # hash; staff matches its listed name ignoring case; the health check is always out.
    assert [(r["namespace"], r["user_hash"], r["user_is_excluded"]) for r in valid] == [
        ("prod", ada, False),
        ("prod", ada, False),
        ("staging", ada, False),
        ("prod", staff, True),
        ("prod", check, True),
    ]
    assert all(json.loads(r["labels"]) == {"namespace": r["namespace"]} for r in valid)
    assert [(r["record"], r["reason"]) for r in parsed.rejected.to_pylist()] == [
        ("result[0] values[2]", "value is not a finite number: NaN"),
        (
            "result[4] values[0]",
            "annotation_hub_jupyter_org_username label is missing or empty",
        ),
    ]
    everything = json.dumps(valid, default=str) + json.dumps(parsed.rejected.to_pylist())
    for name in ("ada.lovelace", "Staff.Member", "deployment-service-check"):
        assert name not in everything


def test_a_username_in_another_label_or_in_a_user_pod_name_reaches_no_row(
    tmp_path: Path, monkeypatch
):
    """kubespawner labels a user's pod `hub.jupyter.org/username` with the escaped name
    (escapism: `@` is `-40`, `.` is `-2e`) and names it `jupyter-<escaped name>[--<server>]`;
    kube-state-metrics turns the label into `label_hub_jupyter_org_username`, and
    jupyterhub_user_group_info carries `username_escaped` and `username_safe`. A per-user,
    per-pod query (as jupyterhub/grafana-dashboards groups by pod, namespace and username)
    brings them along: none may land, in a row or in the quarantine."""
    monkeypatch.setenv(KEY_ENV, KEY)
    escaped = "alice-40example-2eorg"
    body = matrix(
        *(
            (
                {
                    "namespace": "prod",
                    "annotation_hub_jupyter_org_username": "alice@example.org",
                    "label_hub_jupyter_org_username": escaped,
                    "pod": pod,
                    "container": "notebook",
                },
                [[1704067200, "1"]],
            )
            for pod in (f"jupyter-{escaped}", f"jupyter-{escaped}--gpu")
        ),
        (
            {"namespace": "prod", "label_hub_jupyter_org_username": escaped, "pod": "jupyter-x"},
            [[1704067200, "1"]],
        ),
        (
            {
                "namespace": "prod",
                "username": "bob",
                "username_escaped": "bob-2e",
                "username_safe": "bob-2e---1a2b3c4d",
            },
            [[1704067200, "1"]],
        ),
    )
    parsed = SOURCE.parse(write(landing(tmp_path), body, series="user_servers"))
    valid = parsed.tables["prometheus_samples"].to_pylist()
    alice, bob = (expected_hash(KEY.encode(), n) for n in ("alice@example.org", "bob"))
    # Two pods of one user (a named server beside the default one): one hash, two series.
    assert [(r["user_hash"], json.loads(r["labels"])) for r in valid] == [
        (alice, {"container": "notebook", "namespace": "prod"}),
        (alice, {"container": "notebook", "namespace": "prod"}),
        (bob, {"namespace": "prod"}),
    ]
    rejected = parsed.rejected.to_pylist()
    assert [(r["record"], r["reason"]) for r in rejected] == [
        ("result[2] values[0]", "annotation_hub_jupyter_org_username label is missing or empty")
    ]
    everything = json.dumps(valid, default=str) + json.dumps(rejected)
    for name in ("alice", "bob", "jupyter-x"):
        assert name not in everything


def test_usernames_without_a_key_fail_the_file_and_only_the_demo_may_use_the_demo_key(
    tmp_path: Path,
):
    path = write(landing(tmp_path), USERS, series="user_servers")
    with pytest.raises(ParseError) as failure:
        SOURCE.parse(path)
    assert failure.value.problem == (
        "holds usernames but no key to hash them: set PARTNER_METRICS_USERNAME_KEY or "
        "PARTNER_METRICS_USERNAME_KEY_FILE"
    )
    landing(tmp_path, {"username_hash_key": "demo"})
    assert rows(path)[0]["user_hash"] == expected_hash(DEMO_KEY, "ada.lovelace")


def test_a_key_file_must_live_outside_the_repository(tmp_path: Path, monkeypatch):
    path = write(landing(tmp_path), USERS, series="user_servers")
    inside = Path(__file__).resolve().parent / "fixtures" / "username.key"
    monkeypatch.setenv(KEY_FILE_ENV, str(inside))
    with pytest.raises(ParseError, match="names a file inside the repository"):
        SOURCE.parse(path)
    outside = tmp_path / "secrets" / "username.key"
    outside.parent.mkdir()
    outside.write_text(KEY + "\n")
    monkeypatch.setenv(KEY_FILE_ENV, str(outside))
    assert rows(path)[0]["user_hash"] == expected_hash(KEY.encode(), "ada.lovelace")


def test_changed_exclusions_reload_the_usage_files_they_apply_to(tmp_path: Path, monkeypatch):
    monkeypatch.setenv(KEY_ENV, KEY)
    folder = landing(tmp_path, {"excluded_usernames": []})
    write(folder, USERS, series="user_servers")
    con = duckdb.connect()

    def excluded() -> int:
        return con.execute(
            "select count(distinct user_hash) from raw.prometheus_samples where user_is_excluded"
        ).fetchone()[0]

    load_source(con, SOURCE, folder)
    assert excluded() == 1  # the health check only
    assert [f.status for f in load_source(con, SOURCE, folder).files] == ["unchanged"]
    landing(tmp_path, {"excluded_usernames": ["STAFF.MEMBER"]})
    assert [f.status for f in load_source(con, SOURCE, folder).files] == ["replaced"]
    assert excluded() == 2
    monkeypatch.setenv(KEY_ENV, KEY + "-rotated")  # a new key: every hash is recomputed
    assert [f.status for f in load_source(con, SOURCE, folder).files] == ["replaced"]
    [(hashes,)] = con.execute(
        "select list(distinct user_hash order by user_hash) from raw.prometheus_samples"
    ).fetchall()
    assert expected_hash((KEY + "-rotated").encode(), "ada.lovelace") in hashes


def test_a_response_larger_than_duckdbs_default_object_size_loads_within_a_memory_limit(
    tmp_path: Path,
):
    # One series per namespace, 200 namespaces of 5,000 hourly samples: about 20 MB of JSON
    # in one object (DuckDB's default maximum_object_size is 16 MiB), loaded by a warehouse
    # connection limited to 512 MB, a quarter of a build's (a 1 GB object size would ask DuckDB
    # for 2 GB of buffers).
    start = 1704067200
    body = matrix(
        *(
            ({"namespace": f"ns-{n}"}, [[start + 3600 * h, str(h % 7)] for h in range(5000)])
            for n in range(200)
        )
    )
    path = write(landing(tmp_path), body)
    assert path.stat().st_size > 16 * 1024 * 1024
    with duckdb.connect(str(tmp_path / "w.duckdb"), config={"memory_limit": "512MB"}) as con:
        report = load_source(con, SOURCE, tmp_path)
        assert (report.rows_loaded, report.rows_quarantined) == (1_000_000, 0)
        [(total,)] = con.execute("select sum(value) from raw.prometheus_samples").fetchall()
    # Hours 0..4999 are 714 whole weeks (0+1+..+6 = 21 each) and hours 4998, 4999 (0 and 1):
    # 14,995 per namespace.
    assert total == 200 * 14_995
