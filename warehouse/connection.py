"""Opening the warehouse: one writer at a time, any number of read-only analysts."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.paths import warehouse_path


class WarehouseBusyError(RuntimeError):
    """Another build holds the warehouse; raised at once instead of waiting or corrupting."""


def connect(path: Path | None = None, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (created on first write)."""
    path = path or warehouse_path()
    if not read_only:
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
