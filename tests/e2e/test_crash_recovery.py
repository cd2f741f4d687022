"""A reply cut off by kill -9 or Ctrl+C is kept and marked interrupted; a live one is not."""

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


def _wait_for_partial_reply(
    home: Path, proc: subprocess.Popen[str], timeout: float = 120, conversation: int = 1
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = db_rows(
            home,
            "SELECT content FROM messages WHERE role='assistant' AND status='streaming'"
            f" AND conversation_id={conversation:d}",
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


def _reply(home: Path, conversation: int) -> tuple[str, int | None]:
    rows = db_rows(
        home,
        "SELECT status, owner_pid FROM messages WHERE role='assistant'"
        f" AND conversation_id={conversation:d}",
    )
    return (str(rows[0][0]), rows[0][1]) if rows else ("", None)


def test_kill_9_interrupts_only_the_dead_writers_reply(home: Path) -> None:
    write_settings(home, max_tokens=2000, temperature=0.0)  # greedy: it never stops early
    first = _start_ask(home)
    second: subprocess.Popen[str] | None = None
    try:
        _wait_for_partial_reply(home, first, conversation=1)
        assert _reply(home, 1) == ("streaming", first.pid)
        second = _start_ask(home)  # its start-up recovery must leave the first reply alone
        _wait_for_partial_reply(home, second, conversation=2)
        assert _reply(home, 1) == ("streaming", first.pid)
        assert first.poll() is None, "the first reply ended too soon to tell"

        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=10)
        shown = run_keiko(home, "history", "--json")  # the next start recovers
        assert shown.returncode == 0, shown.stderr
        assert second.poll() is None, "the second reply ended too soon to tell"
        assert _reply(home, 1) == ("interrupted", None)
        assert _reply(home, 2) == ("streaming", second.pid)  # its writer is alive

        second.send_signal(signal.SIGINT)
        _, stderr = second.communicate(timeout=30)
        assert second.returncode == 130, stderr
        assert _reply(home, 2) == ("interrupted", None)  # stopped by its own writer
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=10)


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
