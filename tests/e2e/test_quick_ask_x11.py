"""Quick ask in the real `keiko` on a private X server (Xvfb, no window manager), with the
bundled model, as a person uses it: working in another window, they press Ctrl+Alt+Space
(xdotool, so the X server delivers it to Keiko's grab on the root window), the popup comes up
with the keyboard, they type a question and press Enter, the answer is written in the popup
and stored as a conversation, Esc hides the popup and the keyboard goes back to the window they
were in. ``keiko quick "…"`` from a terminal asks in the same popup. Ctrl+Q then quits cleanly.
Screenshots in ``screenshots/x11-quick-ask/``. Skipped without Xvfb/xdotool or the model.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import keiko_env, write_settings
from tests.helpers.processes import stop
from tests.helpers.x11_app import MAIN, ROOT, Person, launched
from tests.helpers.xvfb import XServer

pytestmark = [pytest.mark.model, pytest.mark.timeout(300)]

SHOTS = ROOT / "screenshots" / "x11-quick-ask"
POPUP = "^Quick ask"
BENCH = {"KEIKO_BENCH_QUICK_ASK": "1"}  # JSON lines in the log: the key grabbed, the popup shown


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    write_settings(keiko_home, max_tokens=32, temperature=0.0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()
    with launched(xserver, keiko_home, tmp_path / "keiko.log", SHOTS, env=BENCH) as person:
        yield person


@pytest.fixture
def other_window(xserver: XServer) -> Iterator[int]:
    """Another program's window (xmessage), where the person was typing."""
    proc = subprocess.Popen(
        ["xmessage", "-name", "other", "-title", "Other program", "-geometry", "+20+600",
         "The person was working here."],
        env={"DISPLAY": xserver.display, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        yield xserver.wait_for_window("^Other program$", timeout=15)
    finally:
        stop(proc)


def focused(x: XServer) -> int:
    return int(x.xdotool("getwindowfocus", "-f").strip())


def popup_window(p: Person) -> int | None:
    found = p.x.visible_windows(POPUP)
    return found[0] if found else None


def answered_rows(p: Person) -> int:
    rows = p.rows("SELECT count(*) FROM messages WHERE role = 'assistant' AND status = 'complete'")
    return int(rows[0][0]) if rows else 0


def test_hotkey_ask_answer_escape_and_keiko_quick(person: Person, other_window: int) -> None:
    p = person
    main = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    p.wait("the Quick ask key grabbed", lambda: "quick_hotkey_at" in p.output(), timeout=60)
    p.wait("the popup prepared", lambda: "quick_ready_at" in p.output(), timeout=30)
    assert popup_window(p) is None  # built, not shown

    # Working in another program; then the key, from anywhere.
    p.x.xdotool("windowfocus", "--sync", str(other_window))
    assert focused(p.x) == other_window
    p.key("ctrl+alt+space")
    window = p.wait("the popup on screen", lambda: popup_window(p), timeout=10)
    p.wait("the popup has the keyboard", lambda: focused(p.x) == window, timeout=5)
    left, top, width, height = p.x.geometry(window)
    assert width == 640
    assert top > 0  # near the top of the screen, not at its corner
    assert 0 < left < 1280 - width  # centred on the 1280-wide screen
    time.sleep(0.3)
    p.shot("popup opened by the key")

    p.type("What is the capital of France?")
    p.key("Return")
    p.wait("the answer stored", lambda: p.reply_done(), timeout=120)
    user, reply = p.last("user"), p.last("assistant")
    assert user is not None
    assert reply is not None
    assert user[1] == "What is the capital of France?"
    assert user[0] == reply[0]  # one conversation, stored like any chat
    taller = p.wait(
        "the answer shown", lambda: p.x.geometry(window)[3] > height + 20 or None, timeout=10
    )
    assert taller
    time.sleep(0.5)
    p.shot("popup with the answer")

    # Esc hides it and gives the keyboard back to the other program.
    p.key("Escape")
    p.wait("the popup hidden", lambda: popup_window(p) is None, timeout=10)
    p.wait("the focus back", lambda: focused(p.x) == other_window, timeout=5)
    assert p.x.visible_windows(MAIN) == [main]  # the main window stayed where it was

    # The key again: a fresh popup; and again: hidden.
    p.key("ctrl+alt+space")
    again = p.wait("the popup again", lambda: popup_window(p), timeout=10)
    assert p.x.geometry(again)[3] < p.x.geometry(window)[3] + 1
    time.sleep(0.3)
    p.shot("a fresh popup")
    p.key("ctrl+alt+space")
    p.wait("the popup hidden by the key", lambda: popup_window(p) is None, timeout=10)

    # `keiko quick "…"` from a terminal: the running Keiko asks in its popup.
    before = answered_rows(p)
    result = subprocess.run(
        [sys.executable, "-m", "keiko_desktop", "quick", "Name a colour."],
        env=keiko_env(p.home, **p.x.env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Quick ask is open" in result.stdout
    p.wait("the popup from keiko quick", lambda: popup_window(p), timeout=10)
    p.wait("its answer stored", lambda: answered_rows(p) == before + 1, timeout=120)
    assert p.last("user") is not None
    assert p.last("user")[1] == "Name a colour."  # type: ignore[index]
    time.sleep(0.5)
    p.shot("keiko quick answered")
    assert p.conversations() == 2

    # Ctrl+Q in the main window quits cleanly.
    p.key("Escape")
    p.wait("the popup hidden again", lambda: popup_window(p) is None, timeout=10)
    p.x.xdotool("windowfocus", "--sync", str(main))
    p.key("ctrl+q")
    deadline = time.monotonic() + 30
    while p.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert p.proc.returncode == 0, p.output()
    assert "Traceback" not in p.output()
