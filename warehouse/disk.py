"""Writes refused for want of space, recognised whoever refused them and said in words.

A full disk (ENOSPC), a used-up quota (EDQUOT) and the process's file size limit (EFBIG,
`ulimit -f`) reach the build as Python's OSError (a file copy, a snapshot's files), as a
DuckDB error that carries the system's words (`Could not write file "...": No space left on
device`) or as an SQLite error (the Dagster instance's storage, through SQLAlchemy), which
does not. Whichever, the operator does the same: make room and run again.
"""

from __future__ import annotations

import errno
import os
import re
import resource
import sqlite3
from dataclasses import dataclass

# What ran out, by the error number of the refused write.
WHAT_RAN_OUT = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file size limit was reached",
}
DUCKDB_FILE = re.compile(r'file "([^"]+)"')
# SQLite says SQLITE_FULL for ENOSPC; for any other refused write (EFBIG, EDQUOT, and EIO
# alike), and for ENOSPC too when growing a WAL database's shared-memory file, a "disk I/O
# error" (IOERR_WRITE, IOERR_SHMSIZE). Its exception names neither the file nor the errno.
SQLITE_DISK_FULL = "SQLITE_FULL"
SQLITE_WRITE_REFUSED = ("SQLITE_IOERR_WRITE", "SQLITE_IOERR_SHMSIZE")


@dataclass(frozen=True)
class OutOfSpace:
    what: str  # what ran out, with the system's words: "the disk is full (No space left ...)"
    file: str | None  # the file being written, when the error names it

    def __str__(self) -> str:
        return f"{self.what} writing {self.file}" if self.file else self.what


def out_of_space(error: BaseException | str) -> OutOfSpace | None:
    """What ran out when `error` (or its message) is a write refused for want of space; None
    for any other."""
    sqlite = _sqlite_cause(error)
    if sqlite is not None:
        return _sqlite_out_of_space(sqlite)
    for number, what in WHAT_RAN_OUT.items():
        words = os.strerror(number)
        if isinstance(error, OSError):
            if error.errno == number:
                return OutOfSpace(f"{what} ({words})", error.filename2 or error.filename)
        elif words in str(error):
            named = DUCKDB_FILE.search(str(error))
            return OutOfSpace(f"{what} ({words})", named[1] if named else None)
    return None


def _sqlite_cause(error: BaseException | str) -> sqlite3.Error | None:
    """The SQLite error `error` is or was raised from (SQLAlchemy raises its own from it)."""
    while isinstance(error, BaseException):
        if isinstance(error, sqlite3.Error):
            return error
        error = error.__cause__
    return None


def _sqlite_out_of_space(error: sqlite3.Error) -> OutOfSpace | None:
    """What ran out, by an SQLite error, which names neither the file nor the system's error
    number: a write refused while a file size limit is set is taken for that limit; without
    one, for a full disk or quota (or a failing disk: SQLite's words are the same)."""
    name = error.sqlite_errorname
    if name == SQLITE_DISK_FULL:
        return OutOfSpace(f"{WHAT_RAN_OUT[errno.ENOSPC]} (SQLite: {error})", None)
    if name not in SQLITE_WRITE_REFUSED:
        return None
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        what = f"{WHAT_RAN_OUT[errno.EFBIG]} (SQLite: {error}, under a limit of {limit:,} bytes)"
        return OutOfSpace(what, None)
    return OutOfSpace(f"the disk is full, its quota used up, or it failed (SQLite: {error})", None)
