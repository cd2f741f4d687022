"""Regression: opening the store marked a reply another process was still writing `interrupted`.

Every process that opens the store (`keiko history`, a second window or `keiko ask`) runs
recovery at start, and recovery marked *every* `streaming` reply `interrupted`, including one
a live `keiko ask` was still streaming (which then set it back to `complete` when it ended, or
not, if it crashed). Now a streaming reply records its owner (pid, start time, open database)
and recovery leaves it alone while that owner lives (store/owners.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import db_rows, keiko_env, run_keiko, write_settings

pytestmark = pytest.mark.model

PROMPT = "Write a very long story about a dragon who learns to bake bread."


def _reply(home: Path) -> tuple[str, str, int | None] | None:
    rows = db_rows(
        home,
        "SELECT status, content, owner_pid FROM messages"
        " WHERE conversation_id = 1 AND role = 'assistant'",
    )
    return (str(rows[0][0]), str(rows[0][1]), rows[0][2]) if rows else None


def test_keiko_history_leaves_a_reply_that_is_still_streaming_alone(keiko_home: Path) -> None:
    # Greedy decoding makes this model repeat itself until max_tokens: a reply long enough to
    # outlast `keiko history` (about a second) on any machine, short enough to wait for.
    write_settings(keiko_home, max_tokens=800, temperature=0.0)
    ask = subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "ask", PROMPT],
        env=keiko_env(keiko_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            reply = _reply(keiko_home)
            if reply is not None and reply[0] == "streaming" and len(reply[1]) > 20:
                break
            assert ask.poll() is None, ask.communicate()
            assert time.monotonic() < deadline, "the reply never reached the database"
            time.sleep(0.1)
        assert reply[2] == ask.pid  # the writer owns its reply

        shown = run_keiko(keiko_home, "history", "1", "--json", timeout=60)
        assert shown.returncode == 0, shown.stderr
        assert ask.poll() is None, "the reply ended before history ran; make it longer"
        statuses = [(m["role"], m["status"]) for m in json.loads(shown.stdout)]
        assert statuses == [("user", "complete"), ("assistant", "streaming")]
        after = _reply(keiko_home)
        assert after is not None
        assert after[0] == "streaming"  # not interrupted in the database either

        stdout, stderr = ask.communicate(timeout=240)
    finally:
        if ask.poll() is None:
            ask.kill()
            ask.communicate(timeout=10)
    assert ask.returncode == 0, stderr
    status, content, owner = _reply(keiko_home) or ("", "", None)
    assert status == "complete"
    assert owner is None  # ownership ends with the reply
    assert content.startswith(after[1])
    assert content.strip() in stdout
