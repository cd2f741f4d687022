"""A reply cut off by kill -9 or Ctrl+C is kept and marked interrupted."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import db_rows, keiko_env, run_keiko, write_settings

pytestmark = pytest.mark.model

PROMPT = "Write a very long story about a dragon who learns to bake bread."


def _start_ask(home: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "ask", PROMPT],
        env=keiko_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_partial_reply(home: Path, proc: subprocess.Popen[str], timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = db_rows(
            home, "SELECT content FROM messages WHERE role='assistant' AND status='streaming'"
        )
        if rows and len(rows[0][0]) > 20:
            return str(rows[0][0])
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the reply never reached the database while streaming")


@pytest.fixture
def home(keiko_home: Path) -> Path:
    write_settings(keiko_home, max_tokens=2000, temperature=0.8)
    return keiko_home


def test_kill_9_mid_reply_keeps_both_messages(home: Path) -> None:
    proc = _start_ask(home)
    partial = _wait_for_partial_reply(home, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    shown = run_keiko(home, "history", "1", "--json")
    assert shown.returncode == 0, shown.stderr
    messages = json.loads(shown.stdout)
    assert [m["role"] for m in messages] == ["user", "assistant"]
    assert messages[0]["content"] == PROMPT
    assert messages[1]["status"] == "interrupted"
    assert messages[1]["content"].startswith(partial)


def test_ctrl_c_stops_cleanly_and_keeps_the_text(home: Path) -> None:
    proc = _start_ask(home)
    _wait_for_partial_reply(home, proc)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "stopped" in stderr
    assert "Traceback" not in stderr
    rows = db_rows(home, "SELECT status, content FROM messages WHERE role='assistant'")
    assert rows[0][0] == "interrupted"
    # everything printed was stored
    assert rows[0][1].strip()
    assert rows[0][1].strip() in stdout
