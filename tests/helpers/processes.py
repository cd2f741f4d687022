"""Is a process gone (for tests that check the tool servers leave nothing behind), and
stopping one a test started."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from typing import Any

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


def stop(proc: subprocess.Popen[Any], grace: float = 5.0) -> None:
    """Terminate ``proc`` if it still runs; kill it if it is not gone within ``grace`` s."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]
"""A process that just stays alive for a while (an owner that is alive)."""


def dead_process() -> tuple[int, float]:
    """The pid and start time of a process that has exited and been reaped."""
    proc = subprocess.Popen(SLEEPER)
    started = psutil.Process(proc.pid).create_time()
    proc.kill()
    proc.wait(10)
    return proc.pid, started
