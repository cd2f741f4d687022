"""`keiko mcp call` of a tool that asks the user (elicitation), as a person runs it: the real
command, the test server (elicit_server.py) over stdio, and a terminal (a pty) or none.

``--yes`` accepts the server's defaults and declines a form whose required field has none,
saying so; on a terminal the form is asked field by field (defaults in brackets, choices
numbered, a bad value asked again); without a terminal the question is cancelled."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers.cli import keiko_env, run_keiko
from tests.helpers.mcp_servers.elicit_server import configure


@pytest.fixture
def home(keiko_home: Path) -> Path:
    configure(keiko_home)
    return keiko_home


def test_yes_accepts_the_defaults(home: Path) -> None:
    done = run_keiko(home, "mcp", "call", "elicit.quick", "--yes", timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().removeprefix("accept ")) == {"count": 3, "note": "hello"}
    assert "--yes: sending the defaults to 'elicit'" in done.stderr
    assert "One quick question" in done.stderr


def test_yes_declines_when_a_required_field_has_no_default(home: Path) -> None:
    done = run_keiko(home, "mcp", "call", "elicit.book", "--yes", timeout=120)
    assert done.stdout.strip() == "decline", done.stderr
    assert "--yes cannot answer it: Your name has no default. Declined." in done.stderr
    assert "\\x1b[2J" in done.stderr  # the server's escape sequence, printed harmless
    assert "\x1b[2J" not in done.stderr


def test_no_terminal_cancels_with_a_hint(home: Path) -> None:
    allowed = run_keiko(home, "mcp", "policy", "elicit.quick", "always", timeout=120)
    assert allowed.returncode == 0, allowed.stderr
    done = run_keiko(home, "mcp", "call", "elicit.quick", stdin="", timeout=120)
    assert done.stdout.strip() == "cancel", done.stderr
    assert "stdin is not a terminal" in done.stderr
    assert "pass --yes" in done.stderr


class Terminal:
    """`keiko` on a pty: wait for text, type a line."""

    def __init__(self, home: Path, *args: str) -> None:
        self.main, child = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "keiko_desktop", *args],
            env=keiko_env(home),
            stdin=child,
            stdout=child,
            stderr=child,
            close_fds=True,
        )
        os.close(child)
        self.seen = b""

    def wait_for(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.seen:
            assert time.monotonic() < deadline, f"no {text!r} in {self.seen.decode()[-2000:]}"
            ready, _, _ = select.select([self.main], [], [], 0.5)
            if ready:
                try:
                    self.seen += os.read(self.main, 4096)
                except OSError:
                    break

    def line(self, text: str) -> None:
        os.write(self.main, text.encode() + b"\n")

    def close(self) -> int:
        try:
            code = self.proc.wait(timeout=60)
            while True:
                ready, _, _ = select.select([self.main], [], [], 0.2)
                if not ready:
                    break
                try:
                    chunk = os.read(self.main, 4096)
                except OSError:
                    break
                if not chunk:
                    break
                self.seen += chunk
            return code
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            os.close(self.main)


def test_a_person_fills_the_form_field_by_field(home: Path) -> None:
    allowed = run_keiko(home, "mcp", "policy", "elicit.book", "always", timeout=120)
    assert allowed.returncode == 0, allowed.stderr
    # The person's time counts toward the call's time limit (60 s): give them more.
    t = Terminal(home, "mcp", "call", "elicit.book", "--timeout", "300")
    answers = [
        ("Your name (required)", "A"),  # too short: asked again
        ("needs at least 2 characters", "Ann"),
        ("Email (email) [guest@example.com]", ""),  # the default
        ("Site (uri)", ""),
        ("Day (date) [2026-07-28]", ""),
        ("At (date-time)", ""),
        ("Guests (1…8) [2]", "9"),  # out of range: asked again
        ("Guests must be at most 8.", "4"),
        ("Budget (0…1000) [99.5]", ""),
        ("VIP (y/n) [no]", "y"),
        ("Seat (number) [aisle]", "1"),
        ("Meal (number) [Vegetarian]", ""),
        ("Cabin (number) [Economy]", "2"),
        ("Extras (numbers, comma separated) [wifi]", ""),
        ("Topics (numbers, comma separated)", "1,3"),
        ("[Y] send", ""),
    ]
    for prompt, reply in answers:
        t.wait_for(prompt)
        t.line(reply)
    code = t.close()
    text = t.seen.decode("utf-8", "replace")
    assert code == 0, text
    assert "1) Vegetarian" in text
    result = text[text.rindex("accept {") :].splitlines()[0]
    data = json.loads(result.removeprefix("accept "))
    assert data["name"] == "Ann"
    assert data["guests"] == 4
    assert data["vip"] is True
    assert data["seat"] == "window"
    assert data["meal"] == "veg"  # a default kept with Enter
    assert data["cabin"] == "biz"
    assert data["topics"] == ["art", "hiking"]
    assert data["email"] == "guest@example.com"
