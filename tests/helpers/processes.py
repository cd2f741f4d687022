"""Is a process gone? For tests that check the tool servers leave nothing behind."""

from __future__ import annotations

import contextlib
import time

import psutil


def wait_gone(pid: int, time_limit: float) -> bool:
    """Block (in a thread) until ``pid`` is gone or ``time_limit`` passes."""
    deadline = time.monotonic() + time_limit
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def gone(pid: int) -> bool:
    """True when the process no longer runs (a zombie waiting for its reaper counts as gone)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    return True
