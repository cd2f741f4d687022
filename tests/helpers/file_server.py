"""A real local HTTP file server for download tests, scriptable per file.

It listens on 127.0.0.1 (a real socket, a real HTTP/1.1 server in a thread) and serves the
files it is given, with ``Range: bytes=N-`` answered by ``206`` and ``Content-Range``, and
``416`` past the end. Each file's ``Script`` can make it misbehave:

- ``cut_after``: close the connection after sending this many body bytes (``cuts`` times,
  then serve normally);
- ``ignore_range``: answer a Range request with ``200`` and the whole file;
- ``corrupt``: serve different bytes of the same length (a damaged mirror);
- ``status``: answer with this status (404, 500) and no file;
- ``delay``: seconds to sleep between 64 KiB chunks (a slow server);
- ``redirect_to``: answer ``302`` with this Location.

Every request is recorded (path, Range header, status, body bytes sent), so a test can tell
how much a resume fetched.

    with FileServer() as server:
        server.add("/m/resolve/main/x.gguf", data, Script(cut_after=1000, cuts=1))
        url = server.url("/m/resolve/main/x.gguf")
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d+)-(\d*)$")


@dataclass
class Script:
    """How the server treats one file (see the module docstring)."""

    cut_after: int | None = None
    cuts: int = 1
    ignore_range: bool = False
    corrupt: bool = False
    status: int | None = None
    delay: float = 0.0
    redirect_to: str | None = None


@dataclass(frozen=True)
class Served:
    """One request as the server saw it."""

    path: str
    range: str | None
    status: int
    body_bytes: int


@dataclass
class _File:
    data: bytes
    script: Script
    cuts_done: int = 0


@dataclass
class _State:
    files: dict[str, _File] = field(default_factory=dict)
    log: list[Served] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return

    def do_GET(self) -> None:
        state = self.server.state
        path = self.path.split("?", 1)[0]
        requested = self.headers.get("Range")
        with state.lock:
            entry = state.files.get(path)
        if entry is None:
            self._empty(404, path, requested)
            return
        script = entry.script
        if script.redirect_to is not None:
            self._empty(302, path, requested, {"Location": script.redirect_to})
            return
        if script.status is not None:
            self._empty(script.status, path, requested)
            return
        data = bytes(b ^ 0xFF for b in entry.data) if script.corrupt else entry.data
        total = len(data)
        start, status = 0, 200
        headers = {"Accept-Ranges": "bytes", "Content-Type": "application/octet-stream"}
        match = _RANGE.match(requested or "")
        if match and not script.ignore_range:
            start = int(match.group(1))
            if start >= total:
                self._empty(416, path, requested, {"Content-Range": f"bytes */{total}"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{total - 1}/{total}"
        body = data[start:]
        headers["Content-Length"] = str(len(body))
        limit = len(body)
        cut = False
        with state.lock:
            if script.cut_after is not None and entry.cuts_done < script.cuts:
                entry.cuts_done += 1
                limit, cut = min(limit, script.cut_after), True
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        sent = 0
        try:
            while sent < limit:
                piece = body[sent : min(limit, sent + CHUNK)]
                self.wfile.write(piece)
                sent += len(piece)
                if script.delay:
                    self.wfile.flush()
                    time.sleep(script.delay)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            cut = True
        with state.lock:
            state.log.append(Served(path, requested, status, sent))
        if cut:
            self.close_connection = True

    def _empty(
        self, status: int, path: str, requested: str | None, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with self.server.state.lock:
            self.server.state.log.append(Served(path, requested, status, 0))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    state: _State


class FileServer:
    """The server; use as a context manager (it stops on exit)."""

    def __init__(self) -> None:
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.state = _State()
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, data: bytes, script: Script | None = None) -> None:
        with self._httpd.state.lock:
            self._httpd.state.files[path] = _File(data, script or Script())

    def script(self, path: str, script: Script) -> None:
        """Change how ``path`` is served from now on."""
        with self._httpd.state.lock:
            self._httpd.state.files[path] = _File(self._httpd.state.files[path].data, script)

    @property
    def log(self) -> list[Served]:
        with self._httpd.state.lock:
            return list(self._httpd.state.log)

    def start(self) -> FileServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FileServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
