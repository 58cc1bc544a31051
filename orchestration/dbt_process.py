"""`partner-metrics-dbt`: dbt bound to the life of the process that started it.

dagster-dbt runs dbt as a child process. When the build, or a run worker of the UI, is killed
with SIGKILL, nothing is left to stop that child: it would run on as an orphan, holding the
warehouse file open. This entry point first asks the Linux kernel to SIGKILL it as soon as its
parent dies (`prctl(PR_SET_PDEATHSIG)`), then runs dbt's own command line in the same process.
Elsewhere it runs dbt unchanged.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when its parent process dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if parent == 1 or os.getppid() != parent:  # the parent was gone before the request held
        os._exit(1)


def main() -> None:
    die_with_parent()
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
