"""Prometheus query_range files: samples in, NaN quarantined, error responses named."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.framework import ParseError
from ingest.prometheus import parse_query_range


def write(tmp_path: Path, body: object, series: str = "daily_active_users") -> Path:
    path = tmp_path / "usage" / "2i2c-shared" / f"{series}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body if isinstance(body, str) else json.dumps(body), encoding="utf-8")
    return path


MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {
                "metric": {"namespace": "staging"},
                "values": [[1704067200, "3"], [1704153600, "NaN"]],
            },
            {"metric": {"namespace": "prod", "pod": "x"}, "values": [[1704067200.5, "10.5"]]},
        ],
    },
    "warnings": ["query touched many series"],
}


def test_samples_carry_cluster_series_namespace_time_and_value(tmp_path: Path):
    parsed = parse_query_range(write(tmp_path, MATRIX))
    rows = parsed.tables["prometheus_samples"].to_pylist()
    assert [
        (r["cluster"], r["series"], r["namespace"], r["sampled_at"], r["value"], r["_record"])
        for r in rows
    ] == [
        (
            "2i2c-shared",
            "daily_active_users",
            "staging",
            datetime(2024, 1, 1, tzinfo=UTC),
            3.0,
            "result[0] values[0]",
        ),
        (
            "2i2c-shared",
            "daily_active_users",
            "prod",
            datetime(2024, 1, 1, 0, 0, 0, 500000, tzinfo=UTC),
            10.5,
            "result[1] values[0]",
        ),
    ]
    assert json.loads(rows[1]["labels"]) == {"namespace": "prod", "pod": "x"}
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
        parse_query_range(write(tmp_path, body))
    assert failure.value.problem == problem


def test_an_html_error_page_is_not_taken_for_data(tmp_path: Path):
    with pytest.raises(ParseError) as failure:
        parse_query_range(write(tmp_path, "<html><body>502 Bad Gateway</body></html>"))
    assert failure.value.problem.startswith("not a Prometheus JSON response: ")
    assert "Malformed JSON" in failure.value.problem


def test_an_unknown_series_name_is_refused(tmp_path: Path):
    with pytest.raises(ParseError) as failure:
        parse_query_range(write(tmp_path, MATRIX, series="cpu"))
    assert failure.value.problem == (
        "unknown series 'cpu'; expected one of daily_active_users, memory_requests_bytes"
    )
