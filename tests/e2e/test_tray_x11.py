"""The real `keiko` in a real X11 tray: trayer (an XEmbed tray host owning
``_NET_SYSTEM_TRAY_S0``) on Xvfb, with no D-Bus session, so Qt docks its icon the XEmbed way.

A person closes the window (the window manager's WM_DELETE_WINDOW, sent as a window manager
would: there is none here), sees that Keiko keeps running with its icon docked and the hint
balloon, clicks the balloon to get the window back, clicks the icon to hide and show it, opens
the icon's menu with a right click, points at Pause tasks (its tip says the pause lasts until
Keiko quits) and picks Quit: Keiko exits cleanly (status 0, its database intact). (A click on
the icon while the balloon shows only closes the balloon: Qt's way.) Without a tray host the
same close button quits, as it did before there was a tray. Screenshots in
``screenshots/x11-tray/`` and ``screenshots/x11-no-tray/``. Skipped without trayer (``make
system-deps`` installs it) or an X server.
"""

from __future__ import annotations

import ctypes
import re
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from ctypes import POINTER, c_char_p, c_int, c_long, c_ulong, c_void_p
from pathlib import Path

import pytest

from tests.helpers.cli import write_settings
from tests.helpers.processes import stop
from tests.helpers.x11_app import MAIN, ROOT, Person, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

SHOTS = ROOT / "screenshots" / "x11-tray"
NO_TRAY_SHOTS = ROOT / "screenshots" / "x11-no-tray"
# No session bus: Qt's tray then uses XEmbed, whatever the machine running the test has.
NO_DBUS = {"DBUS_SESSION_BUS_ADDRESS": "unix:path=/nonexistent/keiko-test-bus"}
TREE_LINE = re.compile(
    r'^(?P<indent>\s+)(?P<id>0x[0-9a-f]+) "(?P<name>[^"]*)".*?(?P<w>\d+)x(?P<h>\d+)'
    r"[+-]-?\d+[+-]-?\d+\s+\+(?P<x>-?\d+)\+(?P<y>-?\d+)"
)


@pytest.fixture
def tray_host(xserver: XServer) -> Iterator[subprocess.Popen[bytes]]:
    if shutil.which("trayer") is None:
        pytest.skip("no tray host: trayer is not installed (`make system-deps` installs it)")
    host = subprocess.Popen(
        [
            "trayer",
            "--edge",
            "top",
            "--align",
            "right",
            "--widthtype",
            "pixel",
            "--width",
            "120",
            "--heighttype",
            "pixel",
            "--height",
            "32",
        ],
        env={"DISPLAY": xserver.display, "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        xserver.wait_for_window("^panel$", timeout=15)
        yield host
    finally:
        stop(host)


def _launch(xserver: XServer, home: Path, tmp_path: Path, shots: Path) -> Iterator[Person]:
    write_settings(home, max_tokens=32, temperature=0.0)
    shots.mkdir(parents=True, exist_ok=True)
    for old in shots.glob("*.png"):
        old.unlink()
    with launched(xserver, home, tmp_path / "keiko.log", shots, env=NO_DBUS) as person:
        yield person


@pytest.fixture
def person(
    xserver: XServer, tray_host: subprocess.Popen[bytes], keiko_home: Path, tmp_path: Path
) -> Iterator[Person]:
    yield from _launch(xserver, keiko_home, tmp_path, SHOTS)


@pytest.fixture
def person_without_tray(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    yield from _launch(xserver, keiko_home, tmp_path, NO_TRAY_SHOTS)


def windows(x: XServer) -> list[tuple[int, int, str, tuple[int, int, int, int]]]:
    """Every window: its depth in the tree (1: the root's child), id, name and absolute x, y,
    width, height (``xwininfo -tree`` lists unmapped windows too: see ``shown``)."""
    out = x.run("xwininfo", "-root", "-tree")
    found = []
    for line in out.splitlines():
        match = TREE_LINE.match(line)
        if match:
            depth = (len(match["indent"]) - 5) // 3 + 1
            box = (int(match["x"]), int(match["y"]), int(match["w"]), int(match["h"]))
            found.append((depth, int(match["id"], 16), match["name"], box))
    return found


def shown(x: XServer, window: int) -> bool:
    return "IsViewable" in x.run("xwininfo", "-id", str(window), check=False)


def docked_icon(x: XServer) -> tuple[int, int, int, int] | None:
    """Where Keiko's tray icon is, when it is docked in the tray host (a "Keiko" window
    embedded below the top level), else None."""
    for depth, window, name, box in windows(x):
        if name == "Keiko" and depth > 1 and box[2] > 4 and shown(x, window):
            return box
    return None


def popups(x: XServer, main: int) -> list[tuple[int, int, int, int]]:
    """Where Keiko's shown top-level windows other than the main one (and its 1x1 helpers)
    are: the tray's menu or its balloon."""
    return [
        box
        for depth, window, name, box in windows(x)
        if depth == 1 and name == "Keiko" and window != main and box[2] > 4 and shown(x, window)
    ]


def send_wm_delete(x: XServer, window: int) -> None:
    """What a window manager's close button does: a WM_DELETE_WINDOW client message."""

    class XClientMessageEvent(ctypes.Structure):
        _fields_ = [
            ("type", c_int),
            ("serial", c_ulong),
            ("send_event", c_int),
            ("display", c_void_p),
            ("window", c_ulong),
            ("message_type", c_ulong),
            ("format", c_int),
            ("data", c_long * 5),
        ]

    class XEvent(ctypes.Union):
        _fields_ = [("xclient", XClientMessageEvent), ("pad", c_long * 24)]

    lib = ctypes.CDLL("libX11.so.6")
    lib.XOpenDisplay.restype = c_void_p
    lib.XOpenDisplay.argtypes = [c_char_p]
    lib.XInternAtom.restype = c_ulong
    lib.XInternAtom.argtypes = [c_void_p, c_char_p, c_int]
    lib.XSendEvent.argtypes = [c_void_p, c_ulong, c_int, c_long, POINTER(XEvent)]
    lib.XFlush.argtypes = [c_void_p]
    lib.XCloseDisplay.argtypes = [c_void_p]
    display = lib.XOpenDisplay(x.display.encode())
    assert display, f"cannot open {x.display}"
    try:
        event = XEvent()
        message = event.xclient
        message.type = 33  # ClientMessage
        message.window = window
        message.message_type = lib.XInternAtom(display, b"WM_PROTOCOLS", 0)
        message.format = 32
        message.data[0] = lib.XInternAtom(display, b"WM_DELETE_WINDOW", 0)
        message.data[1] = 0  # CurrentTime
        assert lib.XSendEvent(display, window, 0, 0, ctypes.byref(event))
        lib.XFlush(display)
    finally:
        lib.XCloseDisplay(display)


def test_close_to_the_tray_and_quit_from_its_menu(person: Person) -> None:
    p = person
    window = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    p.wait("the core (its database)", (p.home / "data" / "keiko.sqlite3").exists, timeout=60)
    icon = p.wait("the icon docked in the tray", lambda: docked_icon(p.x), timeout=30)
    time.sleep(0.5)
    p.shot("window and tray icon")

    # The close button (WM_DELETE_WINDOW): the window goes, Keiko and its icon stay.
    send_wm_delete(p.x, window)
    p.wait("the window hidden", lambda: not p.x.visible_windows(MAIN), timeout=10)
    time.sleep(1.0)
    assert p.proc.poll() is None, p.output()
    assert docked_icon(p.x) is not None
    hint = p.home / "config" / "window.ini"
    p.wait("the hint remembered", lambda: "tray_hint_shown=true" in _read(hint), timeout=5)

    # The hint is a balloon from the icon; clicking it brings the window back.
    balloon = p.wait("the hint balloon", lambda: popups(p.x, window), timeout=5)[0]
    p.shot("closed into the tray with the hint")
    b_left, b_top, b_width, b_height = balloon
    p.x.pointer_into(b_left + b_width // 2, b_top + b_height - 20)
    p.x.xdotool("click", "1")
    p.wait("the window back", lambda: p.x.visible_windows(MAIN), timeout=10)
    p.wait("the balloon gone", lambda: not popups(p.x, window), timeout=10)
    time.sleep(0.5)
    p.shot("window back from the balloon")

    # A left click on the icon hides the window; another brings it back.
    left, top, width, height = icon
    p.x.pointer_into(left + width // 2, top + height // 2)
    p.x.xdotool("click", "1")
    p.wait("the window hidden by the icon", lambda: not p.x.visible_windows(MAIN), timeout=10)
    time.sleep(0.3)
    p.shot("hidden by a click on the icon")
    p.x.xdotool("click", "1")
    p.wait("the window back from the icon", lambda: p.x.visible_windows(MAIN), timeout=10)
    time.sleep(0.5)
    p.shot("window back from the icon")

    # A right click opens the icon's menu; Quit is its last entry.
    p.x.xdotool("click", "3")
    menu = p.wait("the tray menu", lambda: popups(p.x, window), timeout=10)[0]
    time.sleep(0.3)
    p.shot("tray menu")
    m_left, m_top, m_width, m_height = menu
    # Pause tasks is the entry above the last separator: its tip shows after a moment.
    p.x.xdotool("mousemove", "--sync", str(m_left + m_width // 3), str(m_top + m_height - 36))
    time.sleep(1.5)
    p.shot("pointing at Pause tasks")
    p.x.xdotool("mousemove", "--sync", str(m_left + m_width // 3), str(m_top + m_height - 12))
    time.sleep(0.2)
    p.shot("pointing at Quit")
    p.x.xdotool("click", "1")
    deadline = time.monotonic() + 30
    while p.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert p.proc.returncode == 0, p.output()
    assert "Traceback" not in p.output()
    assert docked_icon(p.x) is None  # the icon left the tray with Keiko
    p.shot("quit")
    assert_intact(p)


def test_without_a_tray_host_closing_quits(person_without_tray: Person) -> None:
    p = person_without_tray
    window = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    p.wait("the core (its database)", (p.home / "data" / "keiko.sqlite3").exists, timeout=60)
    time.sleep(1.0)
    assert docked_icon(p.x) is None  # no tray: no icon anywhere
    p.shot("window without a tray")
    send_wm_delete(p.x, window)
    deadline = time.monotonic() + 30
    while p.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert p.proc.returncode == 0, p.output()
    assert "Traceback" not in p.output()
    assert "tray_hint_shown=true" not in _read(p.home / "config" / "window.ini")
    assert_intact(p)


def assert_intact(p: Person) -> None:
    """The database Keiko left behind opens and passes SQLite's own check."""
    database = p.home / "data" / "keiko.sqlite3"
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("SELECT count(*) FROM conversations").fetchone() is not None


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return ""
