"""One Keiko per home: the running one listens on a local socket, a second launch asks it.

``InstanceServer.listen(path)`` holds a ``QLockFile`` (``<path>.lock``) around
check-then-listen, so two launches at once cannot both listen: when a server answers on
``path``, another Keiko runs (False); when nothing answers, the socket is a crash's leftover
and is replaced (``QLocalServer.removeServer``, then listen). The socket is owner-only
(``UserAccessOption``). Each connection sends one request line (``core.instance_protocol``,
at most 1 MiB, within ``READ_TIMEOUT_MS``); the server decodes it, emits
``request_received`` and answers ``{"ok": true}`` (``{"ok": false, "error": ...}`` for a bad
line) and closes. ``send_request`` is the same client through Qt, for the window's own start
(and Windows, where the CLI's ``AF_UNIX`` client does not apply).
"""

from __future__ import annotations

import json
import logging

from PySide6.QtCore import QLockFile, QObject, QTimer, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from keiko_desktop.core.instance_protocol import MAX_LINE, InstanceRequest, decode, encode

log = logging.getLogger(__name__)

READ_TIMEOUT_MS = 2000
PROBE_TIMEOUT_MS = 500
LOCK_TIMEOUT_MS = 5000
REPLY_LIMIT = 64 * 1024


class InstanceServer(QObject):
    """Listens for second launches; each request is ``request_received(InstanceRequest)``."""

    request_received = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self._server.setMaxPendingConnections(16)
        self._server.newConnection.connect(self._on_server_new_connection)
        self._buffers: dict[QLocalSocket, bytearray] = {}
        self.path = ""

    @property
    def listening(self) -> bool:
        return self._server.isListening()

    def listen(self, path: str) -> bool:
        """Listen on ``path``; False when another Keiko already does (or it cannot be taken)."""
        lock = QLockFile(f"{path}.lock")
        lock.setStaleLockTime(10_000)  # a launch that died holding it: taken over after 10 s
        if not lock.tryLock(LOCK_TIMEOUT_MS):
            log.warning("another Keiko is starting (%s is locked)", lock.fileName())
            return False
        try:
            if _answers(path):
                log.info("another Keiko listens on %s", path)
                return False
            QLocalServer.removeServer(path)  # a stale socket from a crash, if any
            if not self._server.listen(path):
                log.warning("cannot listen on %s: %s", path, self._server.errorString())
                return False
        finally:
            lock.unlock()
        self.path = path
        log.info("listening for other launches on %s", path)
        return True

    def close(self) -> None:
        """Stop listening and remove the socket; connections still open are dropped."""
        if self._server.isListening():
            self._server.close()  # removes the socket file (never another's: see listen)
        for sock in list(self._buffers):
            self._drop(sock)

    # ------------------------------------------------------------------ connections
    def _on_server_new_connection(self) -> None:
        while self._server.hasPendingConnections():
            sock = self._server.nextPendingConnection()
            if sock is None:
                break
            self._buffers[sock] = bytearray()
            sock.readyRead.connect(lambda s=sock: self._on_socket_ready_read(s))
            sock.disconnected.connect(lambda s=sock: self._drop(s))
            timer = QTimer(sock)
            timer.setSingleShot(True)
            timer.timeout.connect(lambda s=sock: self._on_timeout(s))
            timer.start(READ_TIMEOUT_MS)
            if sock.bytesAvailable():
                self._on_socket_ready_read(sock)

    def _on_socket_ready_read(self, sock: QLocalSocket) -> None:
        buffer = self._buffers.get(sock)
        if buffer is None:
            return
        buffer += bytes(sock.read(MAX_LINE + 1 - len(buffer)).data())
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) > MAX_LINE:
                self._answer(sock, {"ok": False, "error": f"longer than {MAX_LINE} bytes"})
            return
        line = bytes(buffer[: end + 1])
        try:
            request = decode(line)
        except ValueError as exc:
            log.warning("a bad request from another launch: %s", exc)
            self._answer(sock, {"ok": False, "error": str(exc)})
            return
        self._answer(sock, {"ok": True})
        self.request_received.emit(request)

    def _on_timeout(self, sock: QLocalSocket) -> None:
        if sock in self._buffers:
            log.info("a connection sent no request within %d ms", READ_TIMEOUT_MS)
            self._answer(sock, {"ok": False, "error": "no request in time"})

    def _answer(self, sock: QLocalSocket, reply: dict[str, object]) -> None:
        self._buffers.pop(sock, None)
        sock.write(json.dumps(reply).encode() + b"\n")
        sock.flush()
        sock.disconnectFromServer()  # after what was written is sent
        sock.deleteLater()

    def _drop(self, sock: QLocalSocket) -> None:
        if self._buffers.pop(sock, None) is not None:
            sock.abort()
            sock.deleteLater()


def _answers(path: str) -> bool:
    """Does a server accept connections on ``path``? (A stale socket file refuses them.)"""
    probe = QLocalSocket()
    probe.connectToServer(path)
    connected = probe.waitForConnected(PROBE_TIMEOUT_MS)
    probe.abort()
    return connected


def send_request(path: str, request: InstanceRequest, timeout_ms: int = 2000) -> bool:
    """Send ``request`` to the server on ``path`` and wait for its answer; True only when it
    answered ok. Blocking, before the event loop runs, and toward another process only: Qt's
    ``waitFor*`` keep the GIL, so a server in this process could not answer."""
    line = encode(request)
    sock = QLocalSocket()
    sock.connectToServer(path)
    try:
        if not sock.waitForConnected(timeout_ms):
            return False
        sock.write(line)
        if not sock.waitForBytesWritten(timeout_ms):
            return False
        data = bytearray()
        while b"\n" not in data and len(data) < REPLY_LIMIT:
            if not sock.bytesAvailable() and not sock.waitForReadyRead(timeout_ms):
                break
            data += bytes(sock.readAll().data())
    finally:
        sock.abort()
    try:
        reply = json.loads(bytes(data.split(b"\n", 1)[0]).decode("utf-8"))
    except ValueError:  # UnicodeDecodeError and JSONDecodeError too
        return False
    return isinstance(reply, dict) and reply.get("ok") is True
