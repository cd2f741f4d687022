"""The real `keiko` window under Xvfb, driven with xdotool as a person would drive it.

The app runs as a subprocess on the real xcb platform with the bundled model; keys go through
the X server exactly as typed. There is no window manager, so X's focus is ``PointerRoot`` and
Qt never counts the window as active: the case where the window's shortcuts used to do nothing
(tests/issues/test_window_shortcuts_from_the_message_box.py). What the app did is read from its
database (read-only) and from the X server's list of windows. Screenshots of every step go to
``screenshots/x11/``. Skipped only where no X server can be started (Xvfb or xdotool missing:
``make system-deps`` installs them).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import write_settings
from tests.helpers.x11_app import MAIN, SHOTS, Person, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

SEARCH = "^Search chats"
SETTINGS = "^Settings"


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    write_settings(keiko_home, max_tokens=64, temperature=0.0)
    with launched(xserver, keiko_home, tmp_path / "keiko.log") as person:
        yield person


def test_a_person_chats_and_uses_every_key(person: Person) -> None:
    p = person
    for old in SHOTS.glob("*.png"):
        old.unlink()
    window = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    left, top, width, height = p.x.geometry(window)
    # No window manager: the keys go to the window under the pointer (X's PointerRoot focus).
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    database = p.home / "data" / "keiko.sqlite3"
    p.wait("the core (its database)", database.exists, timeout=60)
    time.sleep(0.5)
    p.shot("window")

    # Enter sends; the reply of the real model is stored.
    p.type("What is the capital of France?")
    p.key("Return")
    p.wait("the first reply", p.reply_done, timeout=120)
    first_chat = p.last("user")
    assert first_chat is not None
    assert first_chat[1] == "What is the capital of France?"
    p.shot("first reply")

    # Ctrl+N from the message box: a new chat; Shift+Enter breaks the line, Enter sends.
    p.key("ctrl+n")
    time.sleep(0.3)
    p.shot("new chat")
    p.type("Name a colour")
    p.key("shift+Return")
    p.type("and a fruit")
    p.key("Return")
    p.wait("the second chat", lambda: p.conversations() == 2)
    p.wait("the second reply", p.reply_done, timeout=120)
    second = p.last("user")
    assert second is not None
    assert second[0] != first_chat[0], "Ctrl+N did not start a new chat"
    assert second[1] == "Name a colour\nand a fruit"

    # Up in the empty box edits the last message; Enter resends it.
    p.key("Up")
    time.sleep(0.3)
    p.shot("editing")
    p.type(" please")
    p.key("Return")
    p.wait(
        "the edited message",
        lambda: (m := p.last("user")) is not None and m[1].endswith("fruit please"),
    )
    p.wait("the reply to the edit", p.reply_done, timeout=120)
    assert p.rows("SELECT count(*) FROM messages WHERE role = 'user'")[0][0] == 2

    # Esc stops a reply: what was written is kept, marked interrupted.
    p.type("Write a very long story about a dragon who learns to bake bread.")
    p.key("Return")
    # at once: 64 tokens of a small model can be written in well under a second
    p.wait(
        "a reply streaming",
        lambda: (r := p.last("assistant")) is not None and r[2] == "streaming",
        every=0.02,
    )
    p.key("Escape")
    p.wait("the reply stopped", lambda: (r := p.last("assistant")) and r[2] == "interrupted")
    p.shot("stopped")

    # Ctrl+K from the message box opens the search; typing searches; Esc closes it.
    p.key("ctrl+k")
    p.wait("the search dialog", lambda: p.window_open(SEARCH), timeout=15)
    p.type("France")
    time.sleep(0.8)
    p.shot("search")
    p.key("Escape")
    p.wait("the search dialog closed", lambda: not p.window_open(SEARCH), timeout=15)

    # Ctrl+, opens Settings (after a dialog closed: X gave the focus back to the root window).
    p.key("ctrl+comma")
    p.wait("the settings dialog", lambda: p.window_open(SETTINGS), timeout=30)
    time.sleep(0.3)
    p.shot("settings")
    p.key("Escape")
    p.wait("the settings dialog closed", lambda: not p.window_open(SETTINGS), timeout=15)

    # From the sidebar list too: click the older chat (the second row), then Ctrl+K and Ctrl+N.
    p.x.xdotool("mousemove", "--sync", str(left + 150), str(top + 150), "click", "1")
    time.sleep(0.5)
    p.shot("sidebar")
    p.key("ctrl+k")
    p.wait("the search dialog from the sidebar", lambda: p.window_open(SEARCH), timeout=15)
    p.key("Escape")
    p.wait("the search dialog closed", lambda: not p.window_open(SEARCH), timeout=15)
    p.key("ctrl+n")
    p.type("Hello from the sidebar")
    p.key("Return")
    p.wait("a third chat", lambda: p.conversations() == 3)
    p.wait("the last reply", p.reply_done, timeout=120)
    p.shot("done")
    assert p.proc.poll() is None, p.output()
