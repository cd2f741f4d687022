"""The first start, as a person sees it: the real `keiko` window under Xvfb, a new home.

The welcome says what runs on this computer and where the data lives (its paths are this
home's); Alt+G (Got it) hides it and gives the message box the keys, and the next start does
not show it again. Screenshots in ``screenshots/x11-welcome/``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model


def _open(person: Person) -> None:
    p = person
    window = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    left, top, width, height = p.x.geometry(window)
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)  # keys go to the window under it
    p.wait("the core (its database)", (p.home / "data" / "keiko.sqlite3").exists, timeout=60)
    time.sleep(0.5)


def test_the_first_start_welcomes_once(xserver: XServer, keiko_home: Path, tmp_path: Path) -> None:
    shots = fresh_shots("x11-welcome")
    state = keiko_home / "config" / "window.ini"
    with launched(xserver, keiko_home, tmp_path / "first.log", shots=shots) as p:
        _open(p)
        assert p.logged("first start: the welcome is shown")
        p.shot("welcome")
        p.key("alt+g")  # Got it
        p.wait("the welcome dismissed", lambda: p.logged("the welcome was dismissed"))
        assert "welcome_seen=true" in state.read_text()
        time.sleep(0.3)
        p.shot("dismissed")
        p.type("Hello")  # the message box has the keys again
        p.key("Return")
        p.wait("the reply", p.reply_done, timeout=120)

    with launched(xserver, keiko_home, tmp_path / "second.log", shots=shots) as p:
        _open(p)
        p.shot("second start")
        log = (keiko_home / "data" / "logs" / "keiko.log").read_text()
        assert log.count("first start: the welcome is shown") == 1
