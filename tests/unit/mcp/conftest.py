"""Fixtures for the MCP tests: an in-memory keychain, an event bus, a pool with short limits."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from keiko_desktop.core.events import Event, EventBus
from keiko_desktop.core.tools.events import McpServerStatusChanged
from keiko_desktop.mcp_tools.config import StdioServerConfig
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from tests.helpers.mcp_servers import MISBEHAVING

FAST = PoolOptions(
    call_timeout=10.0,
    start_timeout=20.0,
    list_timeout=5.0,
    max_restarts=3,
    backoff_initial=0.05,
    backoff_max=0.3,
    stable_after=30.0,
    max_result_chars=20_000,
)


@pytest.fixture
async def bus() -> EventBus:
    return EventBus(asyncio.get_running_loop())


class Recorder:
    """Keeps every event of a type (held strongly by the test)."""

    def __init__(self, bus: EventBus, event_type: type[Event]) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        bus.subscribe(event_type, self.on_event)

    def on_event(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(self, predicate: object, time_limit: float = 20.0) -> Event:
        assert callable(predicate)
        async with asyncio.timeout(time_limit):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
def statuses(bus: EventBus) -> Recorder:
    return Recorder(bus, McpServerStatusChanged)


def stdio_server(name: str = "bad", *args: str) -> StdioServerConfig:
    return StdioServerConfig(name, sys.executable, (str(MISBEHAVING), *args))


@pytest.fixture
async def pool(bus: EventBus, tmp_path: Path) -> AsyncIterator[ServerPool]:
    factory = ClientFactory(log_dir=tmp_path / "logs")
    p = ServerPool(bus, factory, FAST)
    try:
        yield p
    finally:
        await p.aclose()


async def wait_status(pool: ServerPool, name: str, status: str, time_limit: float = 20.0) -> None:
    """Wait until ``name`` has ``status`` (told by the bus; bounded)."""
    changed = asyncio.Event()

    def on_status(_event: McpServerStatusChanged) -> None:
        changed.set()

    pool.bus.subscribe(McpServerStatusChanged, on_status)
    try:
        async with asyncio.timeout(time_limit):
            while pool.connection(name).status != status:
                changed.clear()
                await changed.wait()
    finally:
        pool.bus.unsubscribe(McpServerStatusChanged, on_status)


def wait_gone(pid: int, time_limit: float) -> bool:
    """Block (in a thread) until ``pid`` is gone or ``time_limit`` passes."""
    deadline = time.monotonic() + time_limit
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def gone(pid: int) -> bool:
    """True when the process no longer runs (a zombie waiting for its reaper counts as gone)."""
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    return True
