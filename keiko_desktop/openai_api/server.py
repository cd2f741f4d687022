"""`keiko serve`'s HTTP server: uvicorn on 127.0.0.1, inside the caller's asyncio loop.

    sock = bind_local(port)            # PortInUseError: "port N is in use; try --port M"
    server = ApiServer(build_app(options), sock)
    await server.start()
    ...
    await server.stop()                # requests still running get STOP_GRACE seconds

The socket is bound before anything slow starts, so a port in use is reported at once. The
server installs no signal handlers (uvicorn's own would re-raise the signal after shutdown);
the caller decides when to stop. uvicorn's access log is off and its own log goes to Keiko's
log at warning level.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Iterator

import uvicorn
from starlette.types import ASGIApp

from keiko_desktop.core.errors import KeikoError

HOST = "127.0.0.1"
STOP_GRACE = 2
"""Seconds requests still running get at stop before they are cancelled."""
MAX_CONNECTIONS = 64
"""More connections at once are a 503 (uvicorn's ``limit_concurrency``)."""


class PortInUseError(KeikoError):
    """The port asked for is taken."""


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # Lets a restarted server take its port back from TIME_WAIT; on Linux and macOS it
        # never lets two servers listen on one port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
    except BaseException:
        sock.close()
        raise
    return sock


def _free_port_near(port: int) -> int:
    for candidate in range(port + 1, min(port + 20, 65535) + 1):
        with contextlib.suppress(OSError):
            _bind(candidate).close()
            return candidate
    with contextlib.closing(_bind(0)) as sock:
        return int(sock.getsockname()[1])


def bind_local(port: int) -> socket.socket:
    """A TCP socket bound to 127.0.0.1:``port`` (0: any free port), not yet listening."""
    try:
        return _bind(port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise PortInUseError(
                f"port {port} is in use; try --port {_free_port_near(port)}",
                "Or stop what listens there.",
            ) from None
        raise KeikoError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from None


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield  # the caller handles signals


class ApiServer:
    """Serves ``app`` on ``sock`` until ``stop()``."""

    def __init__(self, app: ASGIApp, sock: socket.socket) -> None:
        self._sock = sock
        self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(
            app,
            host=HOST,
            port=self.port,
            http="h11",
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
            proxy_headers=False,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_graceful_shutdown=STOP_GRACE,
        )
        self._server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/v1"

    async def start(self) -> None:
        """Listen; returns once connections are accepted."""
        self._task = asyncio.get_running_loop().create_task(
            self._server.serve(sockets=[self._sock]), name="keiko-serve"
        )
        while not self._server.started:
            if self._task.done():
                with contextlib.suppress(SystemExit):  # uvicorn's way of failing at start
                    self._task.result()
                raise KeikoError(f"the server could not start on {HOST}:{self.port}")
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        """Stop accepting, give running requests ``STOP_GRACE`` seconds, then cancel them."""
        task, self._task = self._task, None
        if task is None:
            self._sock.close()
            return
        self._server.should_exit = True
        with contextlib.suppress(SystemExit):
            await task
        self._sock.close()
