"""The pool against real stdio servers: the misbehaving test server and mcp-server-time."""

from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import replace

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.errors import ServerUnavailableError, ToolTimeoutError
from keiko_desktop.core.tools.events import McpServerStatusChanged, McpToolsChanged
from keiko_desktop.mcp_tools.config import StdioServerConfig
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from tests.helpers.events import EventRecorder
from tests.helpers.processes import gone, wait_gone

from .conftest import FAST, stdio_server, wait_status


async def test_stdio_server_becomes_ready_and_runs_tools(pool: ServerPool) -> None:
    pool.add(stdio_server())
    await wait_status(pool, "bad", "ready")
    names = {t.name for t in pool.list_tools("bad")}
    assert {"echo", "add", "hang", "crash", "huge"} <= names
    result = await pool.call_tool("bad", "add", {"a": 2, "b": 40})
    assert result.text == "42"
    assert not result.is_error
    [state] = pool.server_states()
    assert (state.status, state.kind, state.tool_count) == ("ready", "stdio", len(names))


async def test_hung_call_times_out_and_the_server_survives(pool: ServerPool) -> None:
    pool.add(stdio_server())
    await wait_status(pool, "bad", "ready")
    pid_before = (await pool.call_tool("bad", "pid", {})).text
    started = time.monotonic()
    with pytest.raises(ToolTimeoutError, match="did not answer within"):
        await pool.call_tool("bad", "hang", {"seconds": 60}, time_limit=0.5)
    assert time.monotonic() - started < 5
    assert pool.connection("bad").status == "ready"
    assert (await pool.call_tool("bad", "echo", {"text": "alive"})).text == "alive"
    assert (await pool.call_tool("bad", "pid", {})).text == pid_before


async def test_crash_mid_call_restarts_the_server(
    pool: ServerPool, statuses: EventRecorder
) -> None:
    pool.add(stdio_server())
    await wait_status(pool, "bad", "ready")
    first_pid = int((await pool.call_tool("bad", "pid", {})).text)
    with pytest.raises(ServerUnavailableError, match="stopped while running crash"):
        await pool.call_tool("bad", "crash", {})
    error = await statuses.wait_for(
        lambda e: isinstance(e, McpServerStatusChanged) and e.status == "error"
    )
    assert isinstance(error, McpServerStatusChanged)
    assert "exited" in error.detail
    assert "crashing on purpose" in error.detail  # the server's stderr names the cause
    assert "restarting in" in error.detail
    await wait_status(pool, "bad", "ready")
    second_pid = int((await pool.call_tool("bad", "pid", {})).text)
    assert second_pid != first_pid
    assert gone(first_pid)


async def test_garbage_on_stdout_does_not_break_the_session(pool: ServerPool) -> None:
    pool.add(stdio_server("bad", "--garbage"))
    await wait_status(pool, "bad", "ready")
    assert (await pool.call_tool("bad", "garbage", {})).text == "still here"
    assert (await pool.call_tool("bad", "add", {"a": 1, "b": 1})).text == "2"
    assert pool.connection("bad").status == "ready"


async def test_slow_server_is_starting_then_ready(pool: ServerPool) -> None:
    pool.add(stdio_server("bad", "--slow", "1.5"))
    await asyncio.sleep(0.3)
    assert pool.connection("bad").status == "starting"
    with pytest.raises(ServerUnavailableError, match="is starting"):
        await pool.call_tool("bad", "echo", {"text": "too early"})
    await wait_status(pool, "bad", "ready")
    assert (await pool.call_tool("bad", "echo", {"text": "hi"})).text == "hi"


async def test_server_slower_than_the_start_limit_is_an_error(
    bus: EventBus, tmp_path: object
) -> None:
    options = replace(FAST, start_timeout=0.7, max_restarts=0)
    pool = ServerPool(bus, ClientFactory(), options)
    try:
        pool.add(stdio_server("bad", "--slow", "30"))
        await wait_status(pool, "bad", "error")
        assert "did not start within" in pool.connection("bad").detail
    finally:
        await pool.aclose()


async def test_server_that_exits_at_start_is_retried_then_given_up(
    bus: EventBus, statuses: EventRecorder
) -> None:
    options = replace(FAST, max_restarts=2)
    pool = ServerPool(bus, ClientFactory(), options)
    try:
        pool.add(stdio_server("bad", "--exit-at-start"))
        final = await statuses.wait_for(
            lambda e: isinstance(e, McpServerStatusChanged) and "gave up" in e.detail
        )
        assert isinstance(final, McpServerStatusChanged)
        assert final.status == "error"
        assert pool.connection("bad").restarts == 2
    finally:
        await pool.aclose()


async def test_stopping_during_a_slow_start_does_not_wait_it_out(bus: EventBus) -> None:
    pool = ServerPool(bus, ClientFactory(), FAST)
    pool.add(stdio_server("bad", "--slow", "60"))
    await asyncio.sleep(0.5)
    assert pool.connection("bad").status == "starting"
    started = time.monotonic()
    await pool.aclose()
    assert time.monotonic() - started < 8  # the SDK's own shutdown grace, not the 60 s start
    assert pool.connection("bad").status == "stopped"


async def test_huge_result_is_truncated_with_a_note(pool: ServerPool) -> None:
    pool.add(stdio_server())
    await wait_status(pool, "bad", "ready")
    result = await pool.call_tool("bad", "huge", {"size": 300_000})
    assert result.truncated
    assert result.size == 300_000
    assert len(result.text) < 21_000
    assert "[truncated: the result was 300000 characters" in result.text


@pytest.mark.parametrize("era", ["2026", "legacy"])
async def test_tool_list_changed_refreshes_the_tools(bus: EventBus, era: str) -> None:
    """2026 servers announce changes on a listen stream, 2025 servers by notification."""
    changes = EventRecorder(bus, McpToolsChanged)
    protocol = "legacy" if era == "legacy" else "auto"
    pool = ServerPool(bus, ClientFactory(), replace(FAST, protocol=protocol))
    pool.add(stdio_server("bad"))
    await wait_status(pool, "bad", "ready")
    version = pool.connection("bad")._client.protocol_version  # type: ignore[union-attr]
    assert (version == "2026-07-28") == (era == "2026")
    assert "extra" not in {t.name for t in pool.list_tools("bad")}
    await pool.call_tool("bad", "grow", {})
    await changes.wait_for(
        lambda e: isinstance(e, McpToolsChanged) and any(t.name == "extra" for t in e.tools),
        time_limit=10,
    )
    assert "extra" in {t.name for t in pool.list_tools("bad")}
    assert (await pool.call_tool("bad", "extra", {})).text == "extra"
    await pool.aclose()


async def test_closing_the_pool_leaves_no_process_behind(bus: EventBus) -> None:
    pool = ServerPool(bus, ClientFactory(), FAST)
    pool.add(stdio_server("one"))
    pool.add(stdio_server("two"))
    await wait_status(pool, "one", "ready")
    await wait_status(pool, "two", "ready")
    pids = [int((await pool.call_tool(n, "pid", {})).text) for n in ("one", "two")]
    grandchild = int((await pool.call_tool("one", "spawn_child", {})).text)
    assert not gone(grandchild)
    async with asyncio.timeout(30):
        await pool.aclose()
    for pid in [*pids, grandchild]:
        assert await asyncio.to_thread(wait_gone, pid, 5.0), f"process {pid} is still running"
    assert {s.status for s in pool.server_states()} == {"stopped"}


async def test_missing_command_is_a_clear_error_without_retries(pool: ServerPool) -> None:
    pool.add(StdioServerConfig("ghost", "keiko-no-such-command-xyz"))
    await wait_status(pool, "ghost", "error")
    detail = pool.connection("ghost").detail
    assert "'keiko-no-such-command-xyz' was not found on PATH" in detail
    assert pool.connection("ghost").restarts == 0


async def test_disable_stops_and_enable_starts_again(pool: ServerPool) -> None:
    pool.add(stdio_server())
    await wait_status(pool, "bad", "ready")
    pid = int((await pool.call_tool("bad", "pid", {})).text)
    await pool.set_server_enabled("bad", False)
    assert pool.connection("bad").status == "stopped"
    assert pool.connection("bad").detail == "disabled"
    assert pool.list_tools("bad") == []
    assert gone(pid)
    await pool.set_server_enabled("bad", True)
    await wait_status(pool, "bad", "ready")
    assert (await pool.call_tool("bad", "echo", {"text": "back"})).text == "back"


async def test_reference_time_server_over_stdio(pool: ServerPool) -> None:
    pool.add(
        StdioServerConfig(
            "time", sys.executable, ("-m", "mcp_server_time", "--local-timezone", "UTC")
        )
    )
    await wait_status(pool, "time", "ready")
    assert {"get_current_time", "convert_time"} <= {t.name for t in pool.list_tools("time")}
    result = await pool.call_tool("time", "get_current_time", {"timezone": "Asia/Tokyo"})
    assert not result.is_error
    assert "Asia/Tokyo" in result.text
    bad = await pool.call_tool("time", "get_current_time", {"timezone": "Mars/Olympus"})
    assert bad.is_error


async def test_restart_after_gave_up_can_be_requested(bus: EventBus) -> None:
    pool = ServerPool(bus, ClientFactory(), PoolOptions(max_restarts=0, backoff_initial=0.01))
    try:
        pool.add(stdio_server("bad", "--exit-at-start"))
        await wait_status(pool, "bad", "error")
        assert "gave up" in pool.connection("bad").detail
        pool.connection("bad").config = stdio_server("bad")
        await pool.restart_server("bad")
        await wait_status(pool, "bad", "ready")
    finally:
        await pool.aclose()
