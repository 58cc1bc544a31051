"""Opening the warehouse: one writer at a time, any number of read-only analysts."""

from __future__ import annotations

import fcntl
import os
import shlex
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.paths import warehouse_path


class WarehouseBusyError(RuntimeError):
    """Another build holds the warehouse; raised at once instead of waiting or corrupting."""


class WarehouseMissingError(FileNotFoundError):
    """A command that reads the warehouse was given a file that does not exist."""


def require_warehouse(path: Path) -> Path:
    """`path`, if the warehouse file is there; else WarehouseMissingError naming it and how to
    build it. What only reads a warehouse checks this first, so a mistyped path never leaves
    an empty warehouse (or a Dagster instance) behind."""
    if not path.is_file():
        raise WarehouseMissingError(
            f"no warehouse at {path}; build it first: make demo (for data/warehouse.duckdb), "
            f"or partner-metrics build --landing DIR --warehouse {shlex.quote(str(path))}"
        )
    return path


def connect(path: Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file: created on first write; read-only, it must exist."""
    path = path or warehouse_path()
    if read_only:
        require_warehouse(path)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def connect_read_only(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The analysts' connection: any write through it is refused by DuckDB."""
    return connect(path, read_only=True)


@contextmanager
def build_lock(path: Path | None = None) -> Iterator[None]:
    """Hold the warehouse's build lock, or fail at once with WarehouseBusyError.

    DuckDB's own file lock only covers an open connection; a build opens and closes many
    (ingest, dbt, checks), so two builds could interleave between them. This lock spans the
    whole build.
    """
    path = path or warehouse_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_file = path.with_name(path.name + ".lock")
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise WarehouseBusyError(
                f"warehouse is busy: another build holds {lock_file}; try again when it ends"
            ) from None
        yield
    finally:
        os.close(fd)


def remove_database(path: Path) -> None:
    """Remove a DuckDB file and its write-ahead log, whichever exist."""
    for suffix in ("", ".wal"):
        Path(str(path) + suffix).unlink(missing_ok=True)


# A file with more free space than this share of its blocks is rewritten when swapped in.
MOST_FREE = 0.25


def compact(path: Path, config: dict[str, str] | None = None) -> bool:
    """Checkpoint the warehouse file and, when a rebuild left much of it free (dbt replaces
    every table: the old blocks stay in the file, free for reuse), rewrite it into a fresh
    file of only the live data (`copy from database`). Keeps its size stable across builds.
    Returns whether it rewrote the file."""
    with duckdb.connect(str(path), config=config or {}) as con:
        con.execute("checkpoint")
        [(total, free)] = con.execute(
            "select total_blocks, free_blocks from pragma_database_size() "
            "where database_name = current_database()"
        ).fetchall()
    if free <= total * MOST_FREE:
        return False
    fresh = path.with_name(path.name + ".compact")
    remove_database(fresh)
    try:
        with duckdb.connect(config=config or {}) as con:
            con.execute(f"attach '{path}' as used (read_only)")
            con.execute(f"attach '{fresh}' as fresh")
            con.execute("copy from database used to fresh")
            con.execute("detach fresh")
        os.replace(fresh, path)
    finally:  # a copy that failed half way leaves its write-ahead log too
        remove_database(fresh)
    return True
