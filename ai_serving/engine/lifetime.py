"""Processes that die with their parent: workers, pack zygotes and the pack processes they fork.

``plan --all`` starts a tree of processes (workers -> a pack zygote each -> one pack process per
stack, each listening on 127.0.0.1). If a worker is killed, nothing would stop its zygote and pack
processes: they were orphaned and kept listening. Linux's ``prctl(PR_SET_PDEATHSIG)`` makes the kernel
send a signal to a process when its parent ends, so each process in the tree asks for SIGKILL when its
parent goes, right after it starts. Elsewhere it is a no-op (the parent's own clean-up still runs).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
"""From <linux/prctl.h>."""


def die_with_parent(expected_parent: int | None = None) -> bool:
    """Ask the kernel to SIGKILL this process when its parent ends; True when that is in place.

    ``expected_parent`` closes the race where the parent died before the call: the process then has
    been re-parented already and exits at once rather than living on unnoticed.
    """
    if not sys.platform.startswith("linux"):
        return False
    libc = _libc()
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)
    return True


@functools.cache
def _libc() -> ctypes.CDLL:
    # Resolved once per process: find_library runs `ldconfig -p`, and a pack zygote resolves it before
    # it forks, so the pack process it forks for every stack does not start that program again.
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
