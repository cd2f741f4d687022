"""A streamable-HTTP tool call whose event stream is cut mid-way resumes (``Last-Event-ID``,
after the server's ``retry:`` interval) and still returns, with the events sent during the cut
replayed: a real SDK server with an in-memory ``EventStore`` (``progress_server.py --http``),
a real TCP proxy in between that drops the connection once the stream has carried
``step 2 of``, and the real tool system.

Resumption exists only on the 2025 handshake (protocol 2025-11-25): the 2026-07-28 wire has
no event ids and cancels a request by closing its stream, so there a cut fails the call with
a clear error and the pool reopens the session (the last test)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.call_events import ToolCallProgressed
from keiko_desktop.core.tools.events import McpServerStatusChanged
from keiko_desktop.mcp_tools.config import HttpServerConfig
from tests.helpers.events import EventRecorder
from tests.helpers.mcp_servers.progress_http import CUT_MARKER, RETRY_MS, progress_http

from .conftest import wait_status
from .test_progress_logging_cancel import calls, started


class CuttingProxy:
    """Forwards 127.0.0.1:``port`` to the server; the first response that carries ``marker``
    is cut right after it (both sockets closed), once. ``cut_at`` is when (``time.time()``)."""

    def __init__(self, upstream_port: int, marker: bytes) -> None:
        self.upstream_port = upstream_port
        self.marker = marker
        self.cut_at: float | None = None
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> CuttingProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, watch: bool) -> None:
            seen = b""
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
                    if watch and self.cut_at is None:
                        seen = (seen + data)[-4096:]
                        if self.marker in seen:
                            self.cut_at = time.time()
                            break
            except (ConnectionError, OSError):
                pass
            finally:
                for w in (writer, up_writer):
                    w.close()

        await asyncio.gather(pump(reader, up_writer, False), pump(up_reader, writer, True))


@pytest.fixture
def http_server() -> Iterator[tuple[str, int]]:
    with progress_http() as server:
        yield server


@pytest.fixture
async def proxy(http_server: tuple[str, int]) -> AsyncIterator[CuttingProxy]:
    async with CuttingProxy(http_server[1], CUT_MARKER.encode()) as p:
        yield p


async def test_a_cut_stream_resumes_with_last_event_id_after_the_retry_interval(
    paths: Paths, bus: EventBus, proxy: CuttingProxy
) -> None:
    recorder = EventRecorder(bus, ToolCallProgressed)
    url = f"http://127.0.0.1:{proxy.port}/mcp"
    async with started(paths, bus, HttpServerConfig("prog", url), "legacy") as system:
        result = await system.service.call("prog.work", {"steps": 5, "delay": 0.3})
        assert result.text == "worked 5 steps", result.text
        assert proxy.cut_at is not None, "the proxy never cut the stream"
        messages = [e.message for e in calls(recorder, ToolCallProgressed)]
        assert messages[-1] == "step 5 of 5", messages  # sent after the cut: replayed
        replays = await system.service.call("prog.replays", {})
        assert not replays.is_error, replays.text
        resumes = json.loads(replays.text)
        assert len(resumes) == 1, resumes
        assert resumes[0]["replayed"] >= 1
        waited = resumes[0]["at"] - proxy.cut_at
        assert waited >= RETRY_MS / 1000 * 0.9, f"resumed {waited:.3f} s after the cut"
        assert system.pool.connection("prog").status == "ready"


async def test_on_the_2026_wire_a_cut_fails_the_call_and_the_server_stays(
    paths: Paths, bus: EventBus, proxy: CuttingProxy
) -> None:
    url = f"http://127.0.0.1:{proxy.port}/mcp"
    statuses = EventRecorder(bus, McpServerStatusChanged)
    async with started(paths, bus, HttpServerConfig("prog", url), "auto") as system:
        result = await system.service.call("prog.work", {"steps": 5, "delay": 0.3})
        assert proxy.cut_at is not None
        assert result.is_error, result.text
        assert "could not reach its server" in result.text or "stopped" in result.text, result.text
        await statuses.wait_for(lambda e: e.status == "error")  # the session is lost ...
        await wait_status(system.pool, "prog", "ready")  # ... and reopened
        again = await system.service.call("prog.work", {"steps": 1, "delay": 0.0})
        assert again.text == "worked 1 steps", again.text
