"""InstanceServer over a real local socket: requests from the CLI's client (a thread, another
process), a crash's stale socket replaced, bad input answered and survived, owner-only."""

from __future__ import annotations

import functools
import json
import os
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from keiko_desktop.cli.instance_client import forward
from keiko_desktop.core.config import Paths
from keiko_desktop.core.instance_protocol import MAX_LINE, InstanceRequest, socket_path
from keiko_desktop.ui import single_instance
from keiko_desktop.ui.single_instance import InstanceServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="AF_UNIX client")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Paths:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    home = tmp_path / "home"
    return Paths(home / "config", home / "data", home / "cache")


@pytest.fixture
def server(paths: Paths) -> Iterator[InstanceServer]:
    made = InstanceServer()
    yield made
    made.close()


def in_thread(qtbot: QtBot, fn: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Run the blocking ``fn`` in a thread while the Qt loop serves; its result."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    qtbot.waitUntil(lambda: not thread.is_alive(), timeout=int(timeout * 1000))
    if "error" in box:
        raise box["error"]
    return box["value"]


def raw(path: str, data: bytes, *, close_write: bool = False) -> bytes:
    """Send ``data`` as is and read the whole answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(path)
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        out = b""
        while chunk := sock.recv(4096):
            out += chunk
        return out


def test_a_request_from_the_cli_client_arrives(
    qtbot: QtBot, paths: Paths, server: InstanceServer
) -> None:
    assert server.listen(socket_path(paths))
    request = InstanceRequest("ask", "what is in it?", ("/tmp/notes.txt", "/tmp/é b.pdf"))
    with qtbot.waitSignal(server.request_received, timeout=5000) as got:
        ok = in_thread(qtbot, lambda: forward(paths, request))
    assert ok is True
    assert got.args == [request]


def test_a_request_from_another_process_arrives_without_qt(
    qtbot: QtBot, paths: Paths, server: InstanceServer
) -> None:
    assert server.listen(socket_path(paths))
    code = (
        "import sys\n"
        "from keiko_desktop.cli.instance_client import forward\n"
        "from keiko_desktop.core.config import Paths\n"
        "from keiko_desktop.core.instance_protocol import InstanceRequest\n"
        f"p = Paths(*(__import__('pathlib').Path(x) for x in {[str(paths.config_dir), str(paths.data_dir), str(paths.cache_dir)]!r}))\n"  # noqa: E501
        "ok = forward(p, InstanceRequest('quick', 'hi there'))\n"
        "print(ok, any(m.startswith('PySide6') for m in sys.modules))\n"
    )
    received: list[InstanceRequest] = []
    server.request_received.connect(received.append)
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=20_000)
    assert proc.stdout is not None
    assert proc.stdout.read().split() == ["True", "False"]  # ok, and no Qt imported
    assert received == [InstanceRequest("quick", "hi there")]


def test_nobody_listening_is_false_at_once(paths: Paths) -> None:
    started = time.monotonic()
    assert forward(paths, InstanceRequest("show")) is False
    assert time.monotonic() - started < 0.5


def test_a_stale_socket_is_replaced(qtbot: QtBot, paths: Paths, server: InstanceServer) -> None:
    path = socket_path(paths)
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)  # what a kill -9 leaves: the file, and nobody accepting on it
    dead.close()
    assert stat.S_ISSOCK(os.lstat(path).st_mode)
    assert forward(paths, InstanceRequest("show")) is False  # refused, not hanging
    assert server.listen(path)
    with qtbot.waitSignal(server.request_received, timeout=5000):
        assert in_thread(qtbot, lambda: forward(paths, InstanceRequest("show")))


def test_a_second_server_sees_the_first_and_leaves_it_alone(
    qtbot: QtBot, paths: Paths, server: InstanceServer
) -> None:
    path = socket_path(paths)
    assert server.listen(path)
    second = InstanceServer()
    try:
        assert in_thread(qtbot, lambda: False) is False  # (the loop runs between the two)
        assert second.listen(path) is False
        assert not second.listening
    finally:
        second.close()  # closing one that never listened removes nothing
    assert os.path.exists(path)
    with qtbot.waitSignal(server.request_received, timeout=5000):
        assert in_thread(qtbot, lambda: forward(paths, InstanceRequest("show")))


def test_send_request_through_qt_reaches_the_server(
    qtbot: QtBot, paths: Paths, server: InstanceServer
) -> None:
    path = socket_path(paths)
    assert server.listen(path)
    # Qt's blocking calls keep the GIL, so the Qt client runs in another process (as it does
    # for real: a second launch)
    code = (
        "import sys\n"
        "from PySide6.QtCore import QCoreApplication\n"
        "from keiko_desktop.core.instance_protocol import InstanceRequest\n"
        "from keiko_desktop.ui.single_instance import send_request\n"
        "app = QCoreApplication([])\n"
        "print(send_request(sys.argv[1], InstanceRequest('quick', 'q')))\n"
        "print(send_request(sys.argv[1] + '-none', InstanceRequest('show'), 300))\n"
    )
    received: list[InstanceRequest] = []
    server.request_received.connect(received.append)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, path], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    qtbot.waitUntil(lambda: proc.poll() is not None, timeout=20_000)
    assert proc.stdout is not None
    assert proc.stdout.read().split() == ["True", "False"]
    assert received == [InstanceRequest("quick", "q")]


def test_a_bad_line_is_refused_and_the_server_goes_on(
    qtbot: QtBot, paths: Paths, server: InstanceServer
) -> None:
    path = socket_path(paths)
    assert server.listen(path)
    received: list[InstanceRequest] = []
    server.request_received.connect(received.append)
    for bad in (
        b"not json\n",
        b'{"action": "format-disk"}\n',
        b'{"action": "ask", "attachments": ["relative"]}\n',
        b"\xff\xfe\n",
    ):
        answer = json.loads(in_thread(qtbot, functools.partial(raw, path, bad)))
        assert answer["ok"] is False
        assert answer["error"]
    assert received == []
    with qtbot.waitSignal(server.request_received, timeout=5000):
        assert in_thread(qtbot, lambda: forward(paths, InstanceRequest("show")))


def test_a_line_over_the_bound_is_refused_without_waiting_for_its_end(
    qtbot: QtBot, paths: Paths, server: InstanceServer
) -> None:
    path = socket_path(paths)
    assert server.listen(path)

    def flood() -> bytes:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(5)
            sock.connect(path)
            sent = 0
            try:
                while sent < 4 * MAX_LINE:  # never a newline
                    sock.sendall(b"x" * 65536)
                    sent += 65536
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server hung up, as it should
            try:
                return sock.recv(4096)
            except ConnectionResetError:
                return b""

    answer = in_thread(qtbot, flood)
    if answer:
        assert json.loads(answer)["ok"] is False
    with qtbot.waitSignal(server.request_received, timeout=5000):
        assert in_thread(qtbot, lambda: forward(paths, InstanceRequest("show")))


def test_a_silent_connection_is_dropped_after_the_timeout(
    qtbot: QtBot, paths: Paths, server: InstanceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(single_instance, "READ_TIMEOUT_MS", 300)
    path = socket_path(paths)
    assert server.listen(path)
    started = time.monotonic()
    answer = in_thread(qtbot, lambda: raw(path, b'{"action": "show"'))  # no newline, no end
    assert json.loads(answer) == {"ok": False, "error": "no request in time"}
    assert 0.2 < time.monotonic() - started < 3
    # a client that half-closes early gets nothing and breaks nothing
    early = in_thread(qtbot, lambda: raw(path, b"", close_write=True))
    assert early in (b"", b'{"ok": false, "error": "no request in time"}\n')
    with qtbot.waitSignal(server.request_received, timeout=5000):
        assert in_thread(qtbot, lambda: forward(paths, InstanceRequest("show")))


def test_the_socket_is_owner_only_and_close_removes_it(
    qtbot: QtBot, paths: Paths, server: InstanceServer
) -> None:
    path = socket_path(paths)
    assert server.listen(path)
    info = os.lstat(path)
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) & 0o077 == 0, oct(info.st_mode)
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert not os.path.exists(f"{path}.lock")  # held only around check-then-listen
    server.close()
    assert not os.path.exists(path)
    assert forward(paths, InstanceRequest("show")) is False
