"""Hand a request to the running Keiko window, if there is one (``core.instance_protocol``).

Plain ``socket`` (``AF_UNIX``), no Qt: ``keiko quick "…"`` and a second ``keiko`` forward in
a few milliseconds without importing PySide6. Windows has no ``AF_UNIX`` socket that
``QLocalServer`` listens on (it uses a named pipe there), so ``forward`` returns False and the
window's own start finds the running one instead (``ui/application.py``, through Qt).
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import time

from keiko_desktop.core.config import Paths
from keiko_desktop.core.instance_protocol import InstanceRequest, encode, socket_path

log = logging.getLogger(__name__)

MAX_REPLY = 64 * 1024


def forward(paths: Paths, request: InstanceRequest, timeout: float = 2.0) -> bool:
    """Send ``request`` to the Keiko running for ``paths``; True only when it answered ok.

    False when nobody listens (no socket, or a stale one: ENOENT, ECONNREFUSED), when the
    answer does not come within ``timeout`` seconds, or is not ok. ``ValueError`` for a
    request outside the protocol's bounds (the caller checks what the user typed)."""
    line = encode(request)
    if sys.platform == "win32" or not hasattr(socket, "AF_UNIX"):
        return False
    try:
        path = socket_path(paths, create=False)
    except OSError as exc:
        log.warning("no single-instance socket: %s", exc)
        return False
    deadline = time.monotonic() + timeout
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(line)
            reply = _read_line(sock, deadline)
    except (FileNotFoundError, ConnectionRefusedError):
        return False  # nobody runs (or it crashed and left its socket)
    except TimeoutError:
        log.warning("the running Keiko did not answer within %.1f s", timeout)
        return False
    except OSError as exc:
        log.warning("could not reach the running Keiko at %s: %s", path, exc)
        return False
    return _ok(reply)


def _read_line(sock: socket.socket, deadline: float) -> bytes:
    data = bytearray()
    while b"\n" not in data and len(data) <= MAX_REPLY:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return bytes(data.split(b"\n", 1)[0])


def _ok(reply: bytes) -> bool:
    try:
        answer = json.loads(reply.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        log.warning("the running Keiko answered something else: %r", reply[:200])
        return False
    if isinstance(answer, dict) and answer.get("ok") is True:
        return True
    error = answer.get("error") if isinstance(answer, dict) else None
    log.warning("the running Keiko refused the request: %s", error)
    return False
