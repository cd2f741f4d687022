"""Fixtures for the MCP tests: a pool with short limits, its status events, waiting on them.

``bus`` and the in-memory keychain come from tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.events import McpServerStatusChanged
from keiko_desktop.mcp_tools.config import StdioServerConfig
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from tests.helpers.events import EventRecorder
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
def statuses(bus: EventBus) -> EventRecorder:
    return EventRecorder(bus, McpServerStatusChanged)


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
