"""Regression (issue 9, item 13, MCP part): inputs without a bound.

Importing a 100,000-deep JSON file raised ``RecursionError`` and importing ``/dev/zero`` read
without limit; a tool result of 100 MB was parsed whole before any limit applied; 2,000 servers
that hang were all started at once. Config files are now read with a size cap and a clear
error, a server's replies (stdio lines, HTTP JSON bodies) are capped while they are read, and
servers start with bounded concurrency.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psutil
import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.errors import ToolCallError
from keiko_desktop.mcp_tools.bounded_stdio import DEFAULT_MAX_MESSAGE_BYTES
from keiko_desktop.mcp_tools.config import HttpServerConfig, StdioServerConfig
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from tests.helpers.cli import run_keiko
from tests.helpers.events import running_loop_bus
from tests.helpers.mcp_servers import (
    HOSTILE,
    MISBEHAVING,
    hostile_entry,
    http_server,
    write_servers_file,
)


def test_a_deeply_nested_file_is_refused_plainly(keiko_home: Path, tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    done = run_keiko(keiko_home, "mcp", "import", str(deep), timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "nested too deeply" in done.stderr


def test_dev_zero_is_refused_without_reading_it_all(keiko_home: Path) -> None:
    started = time.monotonic()
    done = run_keiko(keiko_home, "mcp", "import", "/dev/zero", timeout=60)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "larger than 4 MB" in done.stderr
    assert time.monotonic() - started < 30


def test_thousands_of_servers_are_refused(keiko_home: Path, tmp_path: Path) -> None:
    servers = {f"s{i}": hostile_entry() for i in range(2_000)}
    source = write_servers_file(tmp_path / "many.json", **servers)
    done = run_keiko(keiko_home, "mcp", "import", str(source), timeout=60)
    assert done.returncode == 1
    assert "lists 2000 servers; Keiko runs at most 200" in done.stderr


@pytest.fixture
async def pool(tmp_path: Path) -> AsyncIterator[ServerPool]:
    bus: EventBus = running_loop_bus()
    p = ServerPool(bus, ClientFactory(log_dir=tmp_path / "logs"), PoolOptions(start_timeout=60))
    try:
        yield p
    finally:
        await p.aclose()


async def test_a_100_mb_result_is_dropped_while_it_is_read(pool: ServerPool) -> None:
    pool.add(StdioServerConfig("evil", sys.executable, (str(HOSTILE),)))
    assert await pool.wait_settled(time_limit=60)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    with pytest.raises(ToolCallError, match="larger than 16 MB and was dropped"):
        await pool.call_tool("evil", "huge", {"size": 100_000_000}, time_limit=120)
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
    assert grown < 3 * DEFAULT_MAX_MESSAGE_BYTES  # never the whole 100 MB (and its parse)
    assert (await pool.call_tool("evil", "echo", {"text": "still here"})).text == "still here"


async def test_hanging_servers_start_a_few_at_a_time(pool: ServerPool) -> None:
    slots = pool.options.max_starting
    for i in range(slots + 4):
        pool.add(StdioServerConfig(f"slow{i}", sys.executable, (str(MISBEHAVING), "--slow", "120")))
    me = psutil.Process()
    for _ in range(200):
        if len(me.children()) >= slots:
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # time enough for any more to start, were they allowed to
    assert len(me.children()) == slots
    states = {s.status for s in pool.server_states()}
    assert states == {"starting"}


@pytest.mark.parametrize("mode", ["--json", "--sse"])
async def test_a_huge_reply_over_http_is_dropped_while_it_is_read(
    pool: ServerPool, mode: str
) -> None:
    with http_server(mode) as url:
        pool.add(HttpServerConfig("remote", url))
        assert await pool.wait_settled(time_limit=60)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        with pytest.raises(ToolCallError) as caught:
            await pool.call_tool("remote", "huge", {"size": 100_000_000}, time_limit=120)
        assert "larger than 16 MB and was dropped" in caught.value.message
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before
        assert grown < 3 * DEFAULT_MAX_MESSAGE_BYTES
        assert (await pool.call_tool("remote", "add", {"a": 1, "b": 2})).text == "3"
