"""Shared fixtures: quiet libraries, the CLI's environment, one small built warehouse."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from filelock import FileLock

from orchestration.cli import QUIET_ENV
from warehouse.paths import PROJECT_ROOT

os.environ.update(QUIET_ENV)

# The incremental models' build time: two builds of the same data differ in it and only in it.
BUILD_TIME_COLUMN = "built_at"
# The small world every end-to-end test builds: 8 partners over 6 months, fixed as-of day.
SMALL_WORLD = {"seed": 7, "months": 6, "partners": 8, "as_of": date(2026, 11, 15)}
CLI = [sys.executable, "-m", "orchestration.cli"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files marked `slow` first, the costliest first: pytest-xdist hands whole files to
    its workers in collection order (the Makefile turns off its reordering by test count,
    which put them last), so no long file runs alone at the end while the other worker idles.
    A file's cost is its `pytest.mark.slow(seconds, reason=...)`: about how long it keeps one
    of two workers busy, and why."""

    def cost(item: pytest.Item) -> int:
        marker = item.get_closest_marker("slow")
        if marker is None:
            return 0
        if len(marker.args) != 1 or not marker.kwargs.get("reason"):
            raise pytest.UsageError(f"{item.path}: slow(seconds, reason=...) wanted, {marker}")
        return marker.args[0]

    file_cost: dict[Path, int] = {}
    for item in items:
        file_cost[item.path] = max(file_cost.get(item.path, 0), cost(item))
    items.sort(key=lambda item: -file_cost[item.path])  # stable: the others keep their order


@pytest.fixture(scope="session")
def httpserver_listen_address() -> tuple[str, int]:
    """pytest-httpserver: the local API servers listen on loopback only, on a free port."""
    return ("127.0.0.1", 0)


@pytest.fixture(scope="session")
def cli_env() -> dict[str, str]:
    """The CLI's environment. No DAGSTER_HOME: each warehouse has its instance beside it."""
    return {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}


# dbt's unit tests check SQL on given rows, whatever the data: the small world's first build
# (`built_warehouse`) runs them; the tests that build other data with dbt or the CLI leave
# them out (`build_cli`).
WITHOUT_UNIT_TESTS = ("--exclude", "resource_type:unit_test")


def run_dbt(
    args: list[str], warehouse: Path, work: Path, as_of: str, profiles: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The project's dbt on `warehouse`, with its own target and log folders under `work` and
    the marts' as-of day pinned; `profiles` is a folder with another profiles.yml."""
    from warehouse.paths import DBT_PROJECT_DIR

    env = {
        **os.environ,
        "PARTNER_METRICS_WAREHOUSE": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        "DO_NOT_TRACK": "1",
    }
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("dbt")),
            *args,
            "--profiles-dir",
            str(profiles or DBT_PROJECT_DIR),
            "--target-path",
            str(work / "target"),
            "--log-path",
            str(work / "logs"),
            "--vars",
            f"{{as_of: {as_of}}}",
        ],
        cwd=DBT_PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def run_cli(
    args: list[str],
    env: dict[str, str],
    timeout: int = 600,
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """The CLI in a child process; `preexec_fn` runs in the child before it starts (a limit)."""
    return subprocess.run(
        [*CLI, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=PROJECT_ROOT,
        preexec_fn=preexec_fn,
    )


def build_cli(
    landing: Path,
    warehouse: Path,
    env: dict[str, str],
    *,
    snapshots: Path | None = None,
    as_of: date | None = None,
    options: Sequence[str] = (),
    unit_tests: bool = False,
    timeout: int = 900,  # a whole build, on a machine shared with the other worker's builds
    preexec_fn: Callable[[], None] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`partner-metrics build` of `landing` into `warehouse` (snapshots beside it unless
    given), for the day `as_of` (default today); dbt's unit tests only if `unit_tests`."""
    args = ["build", "--landing", str(landing), "--warehouse", str(warehouse)]
    args += ["--snapshots", str(snapshots or warehouse.parent / "snapshots")]
    if not unit_tests:
        args.append("--no-unit-tests")
    if as_of is not None:
        args += ["--as-of", as_of.isoformat()]
    return run_cli([*args, *options], env, timeout=timeout, preexec_fn=preexec_fn)


def damaged_gzip(stream: bytes, how: str) -> bytes:
    """A gzip stream damaged as a disk or a transfer damages one: its first deflate block's
    type made the reserved one (`deflate`: byte 10, after the 10-byte header, bits 1-2 = 11),
    its trailer's CRC (`crc`: the first four bytes) or length (`length`: the last four)
    changed while the deflate data stays whole, cut in half (`cut`), or cut to nothing."""
    data = bytearray(stream)
    if how == "deflate":
        data[10] |= 0b110
    elif how == "crc":
        data[-8] ^= 0x01
    elif how == "length":
        data[-4] ^= 0x01
    elif how == "cut":
        del data[len(data) // 2 :]
    else:
        data.clear()
    return bytes(data)


def stop_server(server: subprocess.Popen) -> None:
    """Stop a server started in its own session (`start_new_session=True`) and all it started.
    One still running a minute after SIGTERM (seen in CI before `exec_server` restored the
    signal) is killed and reported, not left behind."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=30)
        warnings.warn(
            f"{server.args[:4]} did not stop within 60 s of SIGTERM; killed", stacklevel=2
        )


@contextmanager
def built_once(tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[Path]:
    """A folder the first pytest-xdist worker to get here fills and the others reuse: `make
    test` runs the files on two workers, and the small world needs building only once. The
    folder is complete when its `done` marker exists."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # shared by the workers of this run
    folder = root / name
    with FileLock(str(folder) + ".lock"):
        yield folder


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from ingest.demo import generate

    with built_once(tmp_path_factory, "small-landing") as landing:
        if not (landing / "done").exists():
            shutil.rmtree(landing, ignore_errors=True)
            generate(landing / "files", **SMALL_WORLD)
            (landing / "done").touch()
    return landing / "files"


@dataclass
class BuiltWarehouse:
    landing: Path
    warehouse: Path
    snapshots: Path
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def built_warehouse(
    tmp_path_factory: pytest.TempPathFactory, small_landing: Path, cli_env: dict[str, str]
) -> BuiltWarehouse:
    """The small landing folder built once by the real CLI into a temporary warehouse. Tests
    read it; a test that builds again works on a copy."""
    with built_once(tmp_path_factory, "small-built") as out:
        warehouse, snapshots = out / "warehouse.duckdb", out / "snapshots"
        if not (out / "done").exists():
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            # The marts describe the world's as-of day, whatever day the tests run.
            result = build_cli(
                small_landing,
                warehouse,
                cli_env,
                snapshots=snapshots,
                as_of=SMALL_WORLD["as_of"],
                unit_tests=True,
            )
            assert result.returncode == 0, result.stderr[-3000:]
            (out / "stdout").write_text(result.stdout)
            (out / "stderr").write_text(result.stderr)
            (out / "done").touch()
    return BuiltWarehouse(
        small_landing,
        warehouse,
        snapshots,
        (out / "stdout").read_text(),
        (out / "stderr").read_text(),
    )
