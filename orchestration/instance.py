"""The Dagster instance of a warehouse, and the runs that a killed process left behind.

Each warehouse file has its own Dagster instance in a folder beside it
(`data/warehouse.duckdb` -> `data/warehouse.dagster/`): run history, materialisations and
check results describe that warehouse only, so a build into a scratch folder never becomes
the UI's "latest materialisation" of the main warehouse. The CLI opens the instance from that
folder explicitly; `partner-metrics ui` points `dagster dev` at the same folder.

A process killed with SIGKILL cannot record that its run ended: the run stays STARTED, and
since the instance runs one run at a time, every run launched afterwards would wait behind
it. Every run records which process holds the warehouse lock (`PROCESS_TAG`); a run in
progress whose process no longer exists is marked failed by `fail_dead_runs`, which the CLI
calls when it takes the lock, `partner-metrics ui` when it starts, and the `dead_runs` sensor
every minute while the UI is up. A re-execution inherits its parent's tag, its parent's
process: until it records its own, it counts as having recorded none (`recorded_process`).

A CLI command (build, snapshot) runs its job in its own process (`execute_in_process`), and
names that process in its run's tags from the start: the run is created NOT_STARTED there, with
no launcher origin, then started. A command stopped in between (a disk too full to record the
run's start) leaves it NOT_STARTED, and nothing will ever start it: it is failed like a started
one. A run launched by the UI, a schedule or a sensor carries the origin its launcher starts it
from, and waits (NOT_STARTED, then QUEUED) for Dagster's daemon: it is left alone until it
starts.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._core.storage.sql import create_engine
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

INSTANCE_TEMPLATE = Path(__file__).with_name("dagster.yaml")
PROCESS_TAG = "partner_metrics/process"
# A run with no process recorded yet may be starting: it is only declared dead once it is this
# old and nobody holds the warehouse lock.
STARTUP_GRACE_SECONDS = 120
IN_PROGRESS = [DagsterRunStatus.STARTING, DagsterRunStatus.STARTED, DagsterRunStatus.CANCELING]


def instance_dir(warehouse: Path) -> Path:
    """`<folder>/<name>.dagster` beside the warehouse file `<folder>/<name>.duckdb`."""
    warehouse = Path(warehouse)
    return warehouse.with_name(warehouse.stem + ".dagster")


def prepare_instance_dir(warehouse: Path) -> Path:
    """Create the warehouse's instance folder with the project's dagster.yaml (telemetry off,
    one run at a time); an edited template replaces the copy."""
    folder = instance_dir(warehouse)
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "dagster.yaml"
    template = INSTANCE_TEMPLATE.read_text(encoding="utf-8")
    if not config.exists() or config.read_text(encoding="utf-8") != template:
        config.write_text(template, encoding="utf-8")
    return folder


class EngineKeepingEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log (the same files and tables, which `dagster dev` reads with
    Dagster's own class), keeping one SQLAlchemy engine and its open connections per file for
    the life of the instance, where Dagster's class makes, initialises and disposes of an
    engine and opens a connection for every event. A build stores some 1,400 events (a
    planned and a stored one per model and per dbt test): measured, an event took 6.5 ms with
    Dagster's class, 2 ms here. Each event is still its own committed transaction, and the
    files are in WAL mode (Dagster's `_initdb`), so another process (the UI) sees each write
    at once and an idle kept connection holds no lock."""

    def __init__(self, base_dir: str, inst_data: Any = None):
        self._engines: dict[str, Engine] = {}  # before Dagster's init, which connects
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data: Any, config_value: Any) -> EngineKeepingEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            if shard not in self._engines:
                self._engines[shard] = create_engine(
                    self.conn_string_for_shard(shard),
                    poolclass=QueuePool,
                    # The pool hands a connection to whichever thread stores the next event.
                    connect_args={
                        "timeout": SQLITE_BUSY_TIMEOUT_SECONDS,
                        "check_same_thread": False,
                    },
                )
            return self._engines[shard]

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        """Asked before each check evaluation is stored, inside another connection (so
        without `_db_lock`, as Dagster's class): its engine is kept too."""
        with self._engine(INDEX_SHARD_NAME).connect() as conn:
            return bool(conn.dialect.has_table(conn, table_name))

    def dispose(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()
        super().dispose()


@contextmanager
def open_instance(warehouse: Path) -> Iterator[DagsterInstance]:
    """The warehouse's own Dagster instance, made from its folder (no DAGSTER_HOME needed),
    its events stored by `EngineKeepingEventLogStorage` where Dagster's default keeps them."""
    folder = prepare_instance_dir(warehouse)
    event_log = {
        "module": __name__,
        "class": EngineKeepingEventLogStorage.__name__,
        "config": {"base_dir": str(folder / "history" / "runs")},
    }
    ref = InstanceRef.from_dir(str(folder), overrides={"event_log_storage": event_log})
    instance = DagsterInstance.from_ref(ref)
    try:
        yield instance
    finally:
        instance.dispose()


def _start_time(pid: int) -> str | None:
    """When the process started (clock ticks since boot), to tell it from a later process
    that reuses its id; None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return None
    except OSError:  # no /proc (not Linux): fall back to "does the id exist"
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass
        return "?"
    return stat.rsplit(")", 1)[1].split()[19]  # field 22, counted after the command name


def this_process() -> str:
    """`host:pid:start` of the calling process, the value of `PROCESS_TAG`."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or '?'}"


def process_is_gone(identity: str) -> bool:
    """True when the process named by `identity` (see `this_process`) has ended. A process on
    another host cannot be checked, so it counts as alive."""
    host, pid, started = identity.rsplit(":", 2)
    if host != socket.gethostname():
        return False
    now = _start_time(int(pid))
    if now is None:
        return True
    return "?" not in (started, now) and now != started


@dataclass(frozen=True)
class DeadRun:
    run_id: str
    job_name: str
    reason: str

    def __str__(self) -> str:
        return f"run {self.run_id[:8]} ({self.job_name}) marked failed: {self.reason}"


def recorded_process(instance: DagsterInstance, run: DagsterRun) -> str | None:
    """The process `run` recorded in `PROCESS_TAG`, or None while it has recorded none. A
    re-execution (from the UI, or Dagster's automatic retry) starts with a copy of its parent
    run's tags: until it takes the warehouse lock, a value equal to its parent's names the
    parent's process, which is not this run's and is usually gone."""
    identity = run.tags.get(PROCESS_TAG)
    if identity is None or run.parent_run_id is None:
        return identity
    parent = instance.get_run_by_id(run.parent_run_id)
    if parent is not None and parent.tags.get(PROCESS_TAG) == identity:
        return None
    return identity


def fail_dead_runs(instance: DagsterInstance, *, holding_lock: bool) -> list[DeadRun]:
    """Mark failed every run in progress, or created by a CLI command and never started,
    whose process is gone; return them.

    With `holding_lock` (the caller holds the warehouse's build lock, so no run can be
    working on the warehouse), a run that never recorded its process is dead too once it is
    older than the start-up grace period.
    """
    dead = []
    statuses = [*IN_PROGRESS, DagsterRunStatus.NOT_STARTED]
    for record in instance.get_run_records(filters=RunsFilter(statuses=statuses)):
        run = record.dagster_run
        if run.status == DagsterRunStatus.NOT_STARTED and run.remote_job_origin is not None:
            continue  # launched by the UI, a schedule or a sensor: the daemon will start it
        identity = recorded_process(instance, run)
        if identity is not None:
            if not process_is_gone(identity):
                continue
            reason = f"its process {identity.rsplit(':', 2)[1]} ended without finishing it"
        else:
            age = time.time() - record.create_timestamp.timestamp()
            if not (holding_lock and age > STARTUP_GRACE_SECONDS):
                continue
            reason = "it never took the warehouse lock and nothing is running it"
        instance.report_run_failed(run, f"Marked failed by partner-metrics: {reason}.")
        dead.append(DeadRun(run.run_id, run.job_name, reason))
    return dead
