"""Writes refused for want of space, recognised whoever refused them and said in words.

A full disk (ENOSPC), a used-up quota (EDQUOT) and the process's file size limit (EFBIG,
`ulimit -f`) reach the build as Python's OSError (a file copy, a snapshot's files) or as a
DuckDB error that carries the system's words (`Could not write file "...": No space left on
device`). Whichever, the operator does the same: make room and run again.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass

# What ran out, by the error number of the refused write.
WHAT_RAN_OUT = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file size limit was reached",
}
DUCKDB_FILE = re.compile(r'file "([^"]+)"')


@dataclass(frozen=True)
class OutOfSpace:
    what: str  # what ran out, with the system's words: "the disk is full (No space left ...)"
    file: str | None  # the file being written, when the error names it

    def __str__(self) -> str:
        return f"{self.what} writing {self.file}" if self.file else self.what


def out_of_space(error: BaseException | str) -> OutOfSpace | None:
    """What ran out when `error` (or its message) is a write refused for want of space; None
    for any other."""
    for number, what in WHAT_RAN_OUT.items():
        words = os.strerror(number)
        if isinstance(error, OSError):
            if error.errno == number:
                return OutOfSpace(f"{what} ({words})", error.filename2 or error.filename)
        elif words in str(error):
            named = DUCKDB_FILE.search(str(error))
            return OutOfSpace(f"{what} ({words})", named[1] if named else None)
    return None
