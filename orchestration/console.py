"""What a person sees while the CLI builds, and the log file that keeps the rest.

The terminal gets one line per stage of the run (ingest, dbt, snapshot, ...) with its elapsed
time; on a terminal the current stage's line updates in place. Everything else (Dagster's
event stream, dbt's line per node, library warnings) goes to the run's log file, and with
`--verbose` to the terminal as well. Every line of either passes through
`ingest.secrets.redact` first, so a secret a server echoed never reaches them.
"""

from __future__ import annotations

import io
import logging
import re
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from dagster import LoggerDefinition, logger

from ingest.secrets import redact
from ingest.sources import SOURCES
from warehouse.build_state import DBT_NOT_RUN, NOT_REBUILT

# The ingest stage counts sources by the raw tables it materialised (one step loads several).
SOURCE_OF_TABLE = {table.name: source.name for source in SOURCES for table in source.tables}
# dbt's own progress line for a node: "12 of 382 START sql table model marts.dim_hubs ..."
DBT_NODE = re.compile(r"^\s*(\d+) of (\d+) (START|OK|PASS|WARN|ERROR|FAIL|SKIP)")


class LogFile:
    """One run's log: every line redacted, timestamped, and (verbose) echoed to the terminal."""

    def __init__(self, path: Path, verbose: bool, terminal: TextIO):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.verbose = verbose
        self.terminal = terminal
        self._file = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()

    def line(self, text: str) -> None:
        text = redact(text.rstrip("\n"))
        stamp = datetime.now(UTC).strftime("%H:%M:%S")
        with self._lock:
            self._file.write(f"{stamp} {text}\n")
            self._file.flush()
            if self.verbose:
                self.terminal.write(text + "\n")
                self.terminal.flush()

    def close(self) -> None:
        self._file.close()


class _LineWriter(io.TextIOBase):
    """A stream for sys.stdout/sys.stderr that hands each complete line to the log, and to
    the progress display (which reads dbt's per-node lines)."""

    def __init__(self, log: LogFile, progress: Progress):
        self.log, self.progress, self._buffer = log, progress, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            self.log.line(line)
            self.progress.output_line(line)
        return len(text)

    def flush(self) -> None:
        pass


def stage_of(step_key: str) -> str:
    """The stage a Dagster step belongs to on the terminal: the ingest of every source and
    the quality gates on what it loaded are one stage, dbt another, each other asset its own."""
    if step_key.startswith("ingest_") or step_key == "great_expectations_suites":
        return "ingest"
    if step_key == "partner_metrics_dbt":
        return "dbt"
    return step_key.removeprefix("metric_")


@dataclass
class Stage:
    name: str
    started: float = field(default_factory=time.monotonic)
    sources: set[str] = field(default_factory=set)  # the ingest stage's, as they load
    failed: bool = False
    current: str = ""
    materialized: int = 0
    checks_passed: int = 0
    checks_warned: int = 0
    checks_failed: int = 0
    dbt_node: tuple[int, int] | None = None
    note: str = "done"
    skipped: bool = False  # the step ran nothing; `note` says why

    def detail(self) -> str:
        if self.failed:
            plural = "s" if self.checks_failed != 1 else ""
            failed_checks = (
                f", {self.checks_failed} check{plural} failed" if self.checks_failed else ""
            )
            return f"failed{failed_checks} (see below)"
        if self.skipped:
            return self.note
        if self.name == "ingest":
            gates = self.checks_passed + self.checks_warned + self.checks_failed
            return f"{len(self.sources)} sources, {gates} quality gates" + (
                f", {self.checks_warned} warned" if self.checks_warned else " passed"
            )
        if self.name == "dbt":
            tests = self.checks_passed + self.checks_warned + self.checks_failed
            warned = f", {self.checks_warned} warned" if self.checks_warned else ""
            return f"{self.materialized} models, {tests} tests{warned}"
        return self.note


class Progress:
    """One line per stage on `terminal`; redrawn in place once a second on a terminal."""

    def __init__(self, terminal: TextIO, live: bool):
        self.terminal = terminal
        self.live = live
        self.stage: Stage | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Progress:
        if self.live:
            self._ticker = threading.Thread(target=self._tick, daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        self.finish()

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            with self._lock:
                self._redraw()

    def _redraw(self) -> None:
        if self.live and self.stage is not None:
            stage = self.stage
            node = f" {stage.dbt_node[0]}/{stage.dbt_node[1]}" if stage.dbt_node else ""
            seconds = time.monotonic() - stage.started
            text = f"  {stage.name:<9} {stage.current}{node}"[:70]
            self.terminal.write(f"\r{text:<70} {seconds:5.0f} s\x1b[K")
            self.terminal.flush()

    def begin(self, name: str, current: str) -> None:
        """A stage before the run's first step (it ends when the first step starts)."""
        with self._lock:
            self._finish_stage()
            self.stage = Stage(name, current=current, note=current)
            self._redraw()

    def line(self, name: str, detail: str, seconds: float) -> None:
        """A finished stage (or a one-off step such as generating demo data)."""
        with self._lock:
            self._print(name, detail, seconds)

    def _print(self, name: str, detail: str, seconds: float) -> None:
        text = f"  {name:<9} {detail[:58]:<58} {seconds:6.1f} s"
        self.terminal.write(f"\r{text}\x1b[K\n" if self.live else f"{text}\n")
        self.terminal.flush()

    def _finish_stage(self) -> None:
        if self.stage is not None:
            stage, self.stage = self.stage, None
            self._print(stage.name, stage.detail(), time.monotonic() - stage.started)

    def finish(self) -> None:
        with self._lock:
            self._finish_stage()

    def event(self, step_key: str | None, event) -> None:
        """A Dagster event of the run."""
        if step_key is None:
            return
        kind = event.event_type_value
        with self._lock:
            name = stage_of(step_key)
            if self.stage is None or self.stage.name != name:
                self._finish_stage()
                self.stage = Stage(name)
            stage = self.stage
            if kind == "STEP_START":
                stage.current = step_key.removeprefix("ingest_")
            elif kind == "STEP_FAILURE":
                stage.failed = True
            elif kind == "STEP_SKIPPED":
                stage.skipped = True
                stage.note = "skipped: models unchanged, the month's report stands"
            elif kind == "ASSET_MATERIALIZATION" and step_key.startswith("ingest_"):
                table = event.event_specific_data.materialization.asset_key.path[-1]
                if table in SOURCE_OF_TABLE:  # not the log of the files no source owns
                    stage.sources.add(SOURCE_OF_TABLE[table])
            elif kind == "ASSET_MATERIALIZATION" and event.partition is None:
                metadata = event.event_specific_data.materialization.metadata
                stage.materialized += NOT_REBUILT not in metadata  # a mart a build kept
            elif kind == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                if evaluation.passed:
                    stage.checks_passed += 1
                elif evaluation.severity.value == "WARN":
                    stage.checks_warned += 1
                else:
                    stage.checks_failed += 1
            self._redraw()

    def skip(self, step_key: str, reason: str) -> None:
        """A step that decided to run nothing (dbt with nothing new): its line says why."""
        with self._lock:
            if self.stage is not None and self.stage.name == stage_of(step_key):
                self.stage.skipped = True
                self.stage.note = reason

    def output_line(self, line: str) -> None:
        """A line a step printed; dbt's per-node lines move the dbt stage's counter."""
        match = DBT_NODE.match(line)
        if match and self.stage is not None:
            with self._lock:
                self.stage.dbt_node = (int(match[1]), int(match[2]))


def run_logger(log: LogFile, progress: Progress, errors: list[str]) -> LoggerDefinition:
    """A Dagster logger for a CLI run: every message to the log file, events to progress,
    and errors that are no event (Dagster saying which steps it did not run) to `errors`."""

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            meta = getattr(record, "dagster_meta", None) or {}
            log.line(f"{record.levelname:<7} {record.getMessage()}")
            event = meta.get("dagster_event")
            message = str(meta.get("orig_message") or "")
            if event is not None:
                progress.event(meta.get("step_key") or event.step_key, event)
            elif meta.get("step_key") and message.startswith(DBT_NOT_RUN):
                progress.skip(meta["step_key"], message)
            elif record.levelno >= logging.ERROR:
                errors.append(redact(str(meta.get("orig_message") or record.getMessage())))

    @logger(description="The CLI's run log: a file, and one progress line per stage.")
    def cli_run_logger(_init_context) -> logging.Logger:
        run_log = logging.Logger("partner_metrics.run", level=logging.DEBUG)
        run_log.addHandler(Handler())
        return run_log

    return cli_run_logger


@contextmanager
def captured_output(log: LogFile, progress: Progress) -> Iterator[None]:
    """During a run, what libraries print or warn goes to the log, not the terminal."""
    stream = _LineWriter(log, progress)
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)-7s %(name)s: %(message)s"))
    root = logging.getLogger()
    saved_handlers = {name: logging.getLogger(name).handlers[:] for name in ("", "dagster")}
    for name in saved_handlers:
        logging.getLogger(name).handlers = []
    root.addHandler(handler)
    try:
        with redirect_stdout(stream), redirect_stderr(stream):
            logging.captureWarnings(True)
            yield
    finally:
        logging.captureWarnings(False)
        root.removeHandler(handler)
        for name, handlers in saved_handlers.items():
            logging.getLogger(name).handlers = handlers
        stream.write("\n")


def log_path(instance_folder: Path) -> Path:
    """A new log file for a CLI run, in the warehouse's instance folder."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return instance_folder / "logs" / f"build-{stamp}.log"


def is_terminal(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def terminal() -> TextIO:
    """The real standard output, even while `captured_output` redirects sys.stdout."""
    return sys.__stdout__ or sys.stdout
