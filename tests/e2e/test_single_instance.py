"""Two real Keiko processes on one home: the second launch hands over and exits, `keiko quick`
and `keiko ask --gui` are forwarded, and after a kill -9 the next start replaces the stale
socket. The window runs offscreen; what it was asked is read from its log."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.instance_protocol import socket_path
from tests.helpers.cli import keiko_env
from tests.helpers.processes import stop

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="Unix sockets")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))  # this test's processes see it too
    return tmp_path / "home"


def _env(home: Path) -> dict[str, str]:
    env = keiko_env(home, QT_QPA_PLATFORM="offscreen")
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    return env


def _keiko(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keiko_desktop", *args],
        env=_env(home),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _log(home: Path) -> str:
    path = home / "data" / "logs" / "keiko.log"
    return path.read_text(errors="replace") if path.exists() else ""


def _wait(what: str, check: object, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        if proc.poll() is not None:
            pytest.fail(f"keiko exited ({proc.returncode}) waiting for {what}")
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {timeout:.0f} s")


@pytest.fixture
def start(home: Path, tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []

    def launch() -> subprocess.Popen[bytes]:
        out = (tmp_path / f"window-{len(started)}.out").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "keiko_desktop"],
            env=_env(home),
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        started.append(proc)
        return proc

    yield launch
    for proc in started:
        stop(proc, grace=20)


def _listening(home: Path, path: str, times: int) -> object:
    def check() -> bool:
        try:
            is_socket = stat.S_ISSOCK(os.lstat(path).st_mode)
        except FileNotFoundError:
            return False
        return is_socket and _log(home).count("listening for other launches") >= times

    return check


def test_second_launch_quick_and_ask_gui_are_forwarded_and_a_crash_is_recovered(
    home: Path, tmp_path: Path, start: object
) -> None:
    path = socket_path(Paths(home / "config", home / "data", home / "cache"))
    first = start()  # type: ignore[operator]
    _wait("the first window's socket", _listening(home, path, 1), first)
    assert stat.S_IMODE(os.lstat(path).st_mode) & 0o077 == 0

    began = time.monotonic()
    second = _keiko(home)
    seconds = time.monotonic() - began
    print(f"\nsecond launch while the first starts: exit {second.returncode} in {seconds:.2f} s")
    assert second.returncode == 0, second.stderr
    assert seconds < 5
    _wait("asked to show", lambda: "asked to show" in _log(home), first)
    assert first.poll() is None

    quick = _keiko(home, "quick", "hi")
    assert quick.returncode == 0, quick.stderr
    assert "Sent to the running Keiko" in quick.stdout
    _wait("asked to quick", lambda: "asked to quick" in _log(home), first)
    settled = time.monotonic() + 30  # the first one settled: its CPU probe (children) done
    while "CPU probe" not in _log(home) and time.monotonic() < settled:
        time.sleep(0.2)
    times = []
    for _ in range(3):
        began = time.monotonic()
        assert _keiko(home).returncode == 0
        times.append(time.monotonic() - began)
    print(f"second launch, the first settled: median {sorted(times)[1]:.2f} s")

    notes = tmp_path / "notes.txt"
    notes.write_text("The vault code is 4417.\n")
    gui = _keiko(home, "ask", "--gui", "--attach", str(notes), "what is the vault code?")
    assert gui.returncode == 0, gui.stderr
    _wait("asked to ask", lambda: "asked to ask" in _log(home), first)
    many = _keiko(home, "ask", "--gui", *(["--attach", str(notes)] * 21), "too many")
    assert many.returncode == 2
    assert "at most 20 files" in many.stderr

    first.send_signal(signal.SIGKILL)
    first.wait(10)
    assert stat.S_ISSOCK(os.lstat(path).st_mode)  # what the crash left behind
    began = time.monotonic()
    third = start()  # type: ignore[operator]
    _wait("the restarted window's socket", _listening(home, path, 2), third)
    print(f"restart after kill -9: listening after {time.monotonic() - began:.2f} s")
    quick = _keiko(home, "quick", "again")
    assert quick.returncode == 0, quick.stderr
    _wait("asked to quick again", lambda: _log(home).count("asked to quick") >= 2, third)


@pytest.mark.model
def test_with_nobody_running_quick_and_ask_gui_answer_here_without_a_display(
    home: Path, tmp_path: Path
) -> None:
    from tests.helpers.cli import db_rows, write_settings

    write_settings(home, max_tokens=16, temperature=0.0)
    env = keiko_env(home)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        env.pop(name, None)

    def keiko(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "keiko_desktop", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    quick = keiko("quick", "Name a colour.")
    assert quick.returncode == 0, quick.stderr
    assert quick.stdout.strip()
    assert "Sent to the running Keiko" not in quick.stdout
    notes = tmp_path / "notes.txt"
    notes.write_text("The vault code is 4417.\n")
    gui = keiko("ask", "--gui", "--attach", str(notes), "What is the vault code?")
    assert gui.returncode == 0, gui.stderr
    assert "no display" in gui.stderr
    assert "Sources: [notes.txt]" in gui.stdout
    users = db_rows(home, "SELECT content FROM messages WHERE role = 'user' ORDER BY id")
    assert users == [("Name a colour.",), ("What is the vault code?",)]
    assert db_rows(home, "SELECT count(*) FROM message_attachments") == [(1,)]


def test_sigterm_quits_cleanly_and_removes_the_socket(home: Path, start: object) -> None:
    """A session logging out sends SIGTERM: Keiko quits as from the tray's Quit (exit 0, its
    socket gone, the database whole), rather than dying with a stale socket behind."""
    path = socket_path(Paths(home / "config", home / "data", home / "cache"))
    first = start()  # type: ignore[operator]
    _wait("the window's socket", _listening(home, path, 1), first)
    time.sleep(1.0)  # the core starting, or started: either way a clean quit
    first.send_signal(signal.SIGTERM)
    assert first.wait(60) == 0
    log = _log(home)
    assert "quitting on SIGTERM" in log
    assert "Traceback" not in log
    assert not os.path.lexists(path)
    with sqlite3.connect(home / "data" / "keiko.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
