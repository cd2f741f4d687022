"""A crash in native code leaves every thread's stack in <data>/logs/crash.log (0600)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

CRASH = """
import faulthandler, threading
from keiko_desktop.core.config import Paths
from keiko_desktop.core.logs import enable_crash_traces
paths = Paths.from_env()
paths.ensure()
enable_crash_traces(paths)
def the_crashing_function():
    faulthandler._sigsegv()
the_crashing_function()
"""


def _crash(home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONFAULTHANDLER"}
    env["KEIKO_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-c", CRASH], env=env, capture_output=True, text=True, timeout=60
    )


def test_a_crash_is_traced_into_the_private_crash_log(tmp_path: Path) -> None:
    done = _crash(tmp_path)
    assert done.returncode != 0
    log = next(tmp_path.rglob("crash.log"))
    text = log.read_text()
    assert "Segmentation fault" in text
    assert "the_crashing_function" in text
    assert stat.S_IMODE(log.stat().st_mode) == 0o600

    _crash(tmp_path)  # a second crash is added, not written over
    assert log.read_text().count("the_crashing_function") == 2


def test_a_large_crash_log_starts_afresh(tmp_path: Path) -> None:
    _crash(tmp_path)
    log = next(tmp_path.rglob("crash.log"))
    log.write_text("x" * 1_100_000)
    _crash(tmp_path)
    assert log.stat().st_size < 100_000
    assert "the_crashing_function" in log.read_text()
