"""Push-to-talk from anywhere on an X11 desktop: GlobalHotkey grabs the key on a private X
server (Xvfb) and xdotool presses it, as a person at the keyboard would, with no Keiko window
at all. One press and one release per hold, whichever lock keys are on; a key another program
holds, a display that is not there and a key X has no name for end as ``failed(reason)``,
never as a crash. Skipped where Xvfb or xdotool is missing (``make system-deps``)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from keiko_desktop.ui.voice.global_hotkey import WAYLAND, GlobalHotkey
from tests.helpers.qt_spin import spin, spin_until
from tests.helpers.xvfb import XServer


class Listener:
    def __init__(self, hotkey: GlobalHotkey) -> None:
        self.hotkey = hotkey
        self.seen: list[str] = []
        hotkey.started.connect(lambda: self.seen.append("started"))
        hotkey.pressed.connect(lambda: self.seen.append("pressed"))
        hotkey.released.connect(lambda: self.seen.append("released"))
        hotkey.failed.connect(lambda reason: self.seen.append(f"failed: {reason}"))

    def wait_for(self, what: str, timeout: float = 5.0) -> None:
        spin_until(lambda: any(s.startswith(what) for s in self.seen), timeout)

    def count(self, what: str) -> int:
        return sum(s == what for s in self.seen)


@pytest.fixture
def listeners(qapp: Any) -> Iterator[Callable[..., Listener]]:
    made: list[Listener] = []

    def make(display: str | None) -> Listener:
        listener = Listener(GlobalHotkey(display))
        made.append(listener)
        return listener

    yield make
    for listener in made:
        listener.hotkey.stop()
        listener.hotkey.deleteLater()


def test_a_hold_anywhere_is_one_press_and_one_release(
    xserver: XServer, listeners: Callable[..., Listener]
) -> None:
    ptt = listeners(xserver.display)
    ptt.hotkey.start("Ctrl+Space")
    ptt.wait_for("started")
    assert ptt.hotkey.active

    xserver.xdotool("keydown", "ctrl+space")
    ptt.wait_for("pressed")
    xserver.xdotool("keydown", "space")  # held: the keyboard repeats it
    xserver.xdotool("keydown", "space")
    spin(150)
    assert ptt.count("pressed") == 1
    xserver.xdotool("keyup", "space")
    ptt.wait_for("released")
    xserver.xdotool("keyup", "ctrl")
    spin(100)
    assert ptt.seen == ["started", "pressed", "released"]

    # Num Lock and Caps Lock on: still the same key.
    xserver.xdotool("key", "Num_Lock", "Caps_Lock")
    xserver.xdotool("keydown", "ctrl+space")
    spin_until(lambda: ptt.count("pressed") == 2)
    xserver.xdotool("keyup", "space", "ctrl")
    spin_until(lambda: ptt.count("released") == 2)
    xserver.xdotool("key", "Num_Lock", "Caps_Lock")

    # Letting go of Ctrl first ends the hold too.
    xserver.xdotool("keydown", "ctrl+space")
    spin_until(lambda: ptt.count("pressed") == 3)
    xserver.xdotool("keyup", "ctrl")
    spin_until(lambda: ptt.count("released") == 3)
    xserver.xdotool("keyup", "space")

    # Space alone, or with Shift too, is not the key.
    xserver.xdotool("key", "space", "ctrl+shift+space")
    spin(150)
    assert ptt.count("pressed") == 3


def test_a_key_another_program_holds_fails_with_the_reason(
    xserver: XServer, listeners: Callable[..., Listener]
) -> None:
    first = listeners(xserver.display)
    first.hotkey.start("Ctrl+Space")
    first.wait_for("started")
    second = listeners(xserver.display)  # its own X connection: another program, to X
    second.hotkey.start("Ctrl+Space")
    second.wait_for("failed")
    assert second.seen == [
        "failed: Ctrl+Space is already taken by another program; choose another push-to-talk "
        "key in Settings › Voice."
    ]
    assert not second.hotkey.active

    # Let go: the key is free again, and the stopped one hears nothing more.
    started = time.monotonic()
    first.hotkey.stop()
    assert time.monotonic() - started < 0.5
    assert not first.hotkey.active
    second.hotkey.start("Ctrl+Space")
    second.wait_for("started")
    xserver.xdotool("key", "ctrl+space")
    spin_until(lambda: second.count("released") == 1)
    assert first.seen == ["started"]


def test_failures_are_reasons_not_crashes(
    xserver: XServer, listeners: Callable[..., Listener], monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = threading.active_count()
    nowhere = listeners(":4242")
    nowhere.hotkey.start("Ctrl+Space")
    nowhere.wait_for("failed")
    assert nowhere.seen == ["failed: Cannot connect to the X display ':4242'."]

    bad = listeners(xserver.display)
    bad.hotkey.start("Ctrl+")
    bad.wait_for("failed")
    assert "Ctrl+" in bad.seen[0]

    odd = listeners(xserver.display)
    odd.hotkey.start("Ctrl+F35")  # Xvfb's keyboard has no F35
    odd.wait_for("failed")
    assert odd.seen == ["failed: Ctrl+F35 is not a key of this keyboard."]

    # Started and stopped again and again: no thread or grab is left behind.
    again = listeners(xserver.display)
    for _ in range(10):
        again.hotkey.start("Ctrl+Space")
        again.hotkey.stop()
    again.hotkey.start("Ctrl+Space")
    spin_until(lambda: again.count("started") >= 1)
    again.hotkey.stop()
    spin(100)
    assert threading.active_count() == threads

    # What the settings line says on each kind of session.
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("XDG_SESSION_TYPE", raising=False)
    monkeypatch.setenv("DISPLAY", xserver.display)
    assert GlobalHotkey.support() == (True, "")
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    assert GlobalHotkey.support() == (False, WAYLAND)
    on_wayland = listeners(None)
    on_wayland.hotkey.start("Ctrl+Space")
    on_wayland.wait_for("failed")
    assert on_wayland.seen == [f"failed: {WAYLAND}"]
    monkeypatch.delenv("XDG_SESSION_TYPE")
    monkeypatch.delenv("DISPLAY")
    supported, reason = GlobalHotkey.support()
    assert not supported
    assert "DISPLAY" in reason
    assert "focused" in reason
