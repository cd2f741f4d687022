"""The X server goes away under two grabbed hotkeys (push-to-talk and Quick ask, each with its
own thread and connection), as a test's Xvfb does at its end: both end as ``failed(reason)``,
``stop()`` returns at once, and the process goes on — Xlib's default there is ``exit()`` from
the hotkey's thread, which crashed or hung ``tests/qt/test_voice_flow.py`` at teardown. Once
with libX11's I/O-error exit handler, once as on a libX11 older than 1.7 (the hang-up is seen
on the socket). Skipped without Xvfb or xdotool."""

from __future__ import annotations

import time
from typing import Any

import pytest

from keiko_desktop.ui.voice import global_hotkey
from keiko_desktop.ui.voice.global_hotkey import GlobalHotkey
from tests.helpers.qt_spin import spin, spin_until
from tests.helpers.xvfb import XServer, missing_tools

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason="needs Xvfb and xdotool")


class Seen:
    def __init__(self, hotkey: GlobalHotkey) -> None:
        self.hotkey = hotkey
        self.events: list[str] = []
        hotkey.started.connect(lambda: self.events.append("started"))
        hotkey.pressed.connect(lambda: self.events.append("pressed"))
        hotkey.failed.connect(lambda reason: self.events.append(f"failed: {reason}"))


@pytest.fixture(params=["exit handler", "old libX11"])
def flavour(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    from keiko_desktop.ui.voice import xlib

    lib = xlib.load()
    if lib is None:
        pytest.skip("no libX11")
    global_hotkey._prepare(lib)
    if request.param == "exit handler" and not global_hotkey._prepared:
        pytest.skip("this libX11 has no XSetIOErrorExitHandler (older than 1.7)")
    if request.param == "old libX11":
        monkeypatch.setattr(global_hotkey, "_prepared", False)
    return str(request.param)


def test_the_server_going_away_is_a_failure_not_an_exit(qapp: Any, flavour: str) -> None:
    server = XServer().start()
    hotkeys: list[Seen] = []
    try:
        for key in ("Ctrl+Space", "Ctrl+Alt+Space"):
            seen = Seen(GlobalHotkey(server.display))
            seen.hotkey.start(key)
            hotkeys.append(seen)
        spin_until(lambda: all(s.hotkey.active for s in hotkeys), 5)
        server.xdotool("keydown", "ctrl+space")  # the grab works: the server is really there
        spin_until(lambda: "pressed" in hotkeys[0].events, 5)
        server.xdotool("keyup", "space", "keyup", "ctrl")
    finally:
        server.stop()  # with both keys still grabbed

    spin_until(lambda: all(len(s.events) >= 2 for s in hotkeys), 5)
    for seen in hotkeys:
        assert seen.events[-1] == (
            f"failed: The connection to the X display {server.display!r} was lost; "
            "push-to-talk works while Keiko's window is focused"
        )
        assert not seen.hotkey.active
        began = time.monotonic()
        seen.hotkey.stop()
        assert time.monotonic() - began < 0.5  # the thread had ended already
        seen.hotkey.deleteLater()
    assert not global_hotkey.broken  # nothing kept of the dead connections
    spin(50)
    assert len({s.events[-1] for s in hotkeys}) == 1


def test_starting_again_after_the_server_came_back_grabs(qapp: Any) -> None:
    """A hotkey whose server went away starts again on a new one (nothing stale is reused)."""
    first = XServer().start()
    seen = Seen(GlobalHotkey(first.display))
    try:
        seen.hotkey.start("Ctrl+Space")
        spin_until(lambda: seen.hotkey.active, 5)
    finally:
        first.stop()
    spin_until(lambda: any(e.startswith("failed") for e in seen.events), 5)
    with XServer() as second:
        seen.hotkey._display = second.display
        seen.hotkey.start("Ctrl+Space")
        spin_until(lambda: seen.hotkey.active, 5)
        second.xdotool("keydown", "ctrl+space")
        spin_until(lambda: seen.events.count("pressed") == 1, 5)
        second.xdotool("keyup", "space", "keyup", "ctrl")
        seen.hotkey.stop()
    seen.hotkey.deleteLater()
