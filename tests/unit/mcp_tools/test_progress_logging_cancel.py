"""Progress, log lines and cancellation of a real SDK server's tool, through the real tool system
(``build_tool_system``: the pool, the client hooks, the ToolService with its audit table), over
stdio in both protocol modes the pool speaks (``auto``: 2026-07-28; ``legacy``: the 2025
handshake) and over streamable HTTP."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.call_events import (
    ToolCallEnded,
    ToolCallLogged,
    ToolCallProgressed,
    ToolCallStarted,
)
from keiko_desktop.core.tools.models import Policy
from keiko_desktop.mcp_tools.config import (
    BUILTIN_NAMES,
    BuiltinServerConfig,
    HttpServerConfig,
    McpConfig,
    ServerConfig,
    StdioServerConfig,
)
from keiko_desktop.mcp_tools.setup import ToolSystem, build_tool_system
from keiko_desktop.store import SqliteToolRepository, open_database
from tests.helpers.events import EventRecorder
from tests.helpers.mcp_servers.progress_http import PROGRESS_SERVER, progress_http

from .conftest import FAST

SECRET = "tok-0123456789abcdef"
TOOLS = ("work", "wait_for_cancel", "was_cancelled", "replays")


def stdio_progress(record: Path) -> StdioServerConfig:
    return StdioServerConfig(
        "prog",
        sys.executable,
        (str(PROGRESS_SERVER),),
        env={"PROGRESS_LOG": str(record), "API_TOKEN": SECRET},
    )


@asynccontextmanager
async def started(
    paths: Paths, bus: EventBus, server: ServerConfig, mode: str
) -> AsyncIterator[ToolSystem]:
    database = await open_database(paths.database)
    repo = SqliteToolRepository(database)
    config = McpConfig(
        servers={"prog": server},  # type: ignore[dict-item]
        builtins={n: BuiltinServerConfig(n, disabled=True) for n in BUILTIN_NAMES},
    )
    system = await build_tool_system(
        paths,
        bus,
        policies=repo,
        audit=repo,
        config=config,
        options=replace(FAST, protocol=mode),
    )
    try:
        assert await system.pool.wait_settled(time_limit=30)
        assert system.pool.connection("prog").status == "ready", system.pool.connection(
            "prog"
        ).detail
        for tool in TOOLS:
            await system.service.set_policy(f"prog.{tool}", Policy.ALWAYS)
        yield system
    finally:
        await system.aclose()
        await database.aclose()


@pytest.fixture(params=["auto", "legacy"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "server-record.txt"


@pytest.fixture
async def stdio_system(
    paths: Paths, bus: EventBus, mode: str, record: Path
) -> AsyncIterator[ToolSystem]:
    async with started(paths, bus, stdio_progress(record), mode) as system:
        yield system


@pytest.fixture
def http_url() -> Iterator[str]:
    with progress_http() as (url, _port):
        yield url


async def until(check: Callable[[], Awaitable[bool]], time_limit: float = 10.0) -> None:
    """Wait (bounded) until ``check()`` is true; it asks a real process, so it polls."""
    for _ in range(int(time_limit / 0.05)):
        if await check():
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"not true within {time_limit} s")


def calls(recorder: EventRecorder, kind: type) -> list:
    return [e for e in recorder.events if isinstance(e, kind)]


async def test_progress_and_log_lines_reach_the_call_and_the_log_file(
    stdio_system: ToolSystem, bus: EventBus, paths: Paths, mode: str, record: Path
) -> None:
    recorder = EventRecorder(
        bus, ToolCallStarted, ToolCallProgressed, ToolCallLogged, ToolCallEnded
    )
    result = await stdio_system.service.call(
        "prog.work", {"steps": 5, "delay": 0.15, "secret": SECRET}, conversation_id=7
    )
    assert result.text == "worked 5 steps", result.text
    (start,) = calls(recorder, ToolCallStarted)
    assert (start.qualified_name, start.conversation_id) == ("prog.work", 7)
    assert start.arguments["secret"] == "[redacted]"
    progress = calls(recorder, ToolCallProgressed)
    assert {p.call_id for p in progress} == {start.call_id}
    assert progress[-1].progress == 5
    assert progress[-1].total == 5
    assert progress[-1].message == "step 5 of 5"
    assert progress[-1].fraction == 1.0
    first = progress[0].message  # the server put an ESC and a bidi override in it
    assert first.startswith("starting")
    assert "\x1b" not in first
    assert "\u202e" not in first
    logged = calls(recorder, ToolCallLogged)
    texts = [(line.level, line.text) for line in logged]
    assert ("info", "worker: did step 1") in texts
    assert ("info", "worker: did step 5") in texts
    assert not any(level == "debug" for level, _ in texts), "below the info level"
    warning = next(text for level, text in texts if level == "warning")
    assert SECRET not in warning
    assert "[redacted]" in warning
    (end,) = calls(recorder, ToolCallEnded)
    assert (end.call_id, end.outcome) == (start.call_id, "ok")
    log_file = (paths.log_dir / "mcp-prog.log").read_text(encoding="utf-8")
    assert "[log info] worker: did step 3" in log_file
    assert SECRET not in log_file
    assert "[log warning] token is [redacted]" in log_file
    assert oct((paths.log_dir / "mcp-prog.log").stat().st_mode & 0o777) == "0o600"
    set_level = "set level info" in await asyncio.to_thread(record.read_text)
    assert set_level == (mode == "legacy"), "logging/setLevel is the 2025 handshake's"


async def test_progress_is_throttled_to_ten_a_second(
    stdio_system: ToolSystem, bus: EventBus
) -> None:
    recorder = EventRecorder(bus, ToolCallProgressed)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    await stdio_system.service.call("prog.work", {"steps": 60, "delay": 0.005})
    took = loop.time() - begun
    progress = calls(recorder, ToolCallProgressed)
    assert progress[-1].progress == 60, "the last update is never lost"
    assert len(progress) <= took / 0.1 + 2, (len(progress), took)


async def test_stopping_a_call_cancels_it_on_the_server(
    stdio_system: ToolSystem, bus: EventBus, record: Path
) -> None:
    recorder = EventRecorder(bus, ToolCallProgressed, ToolCallEnded)
    task = asyncio.create_task(stdio_system.service.call("prog.wait_for_cancel", {}))
    await recorder.wait_for(lambda e: isinstance(e, ToolCallProgressed))
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    async def recorded() -> bool:
        text = await asyncio.to_thread(lambda: record.read_text() if record.exists() else "")
        return "notified " in text and "cancelled" in text

    await until(recorded)
    answer = await stdio_system.service.call("prog.was_cancelled", {})
    assert answer.text == "yes"
    assert stdio_system.pool.connection("prog").status == "ready"
    ended = calls(recorder, ToolCallEnded)
    assert [e.outcome for e in ended] == ["cancelled", "ok"]
    rows = await stdio_system.service.audit_log(server="prog")
    cancelled = next(r for r in rows if r.tool == "wait_for_cancel")
    assert cancelled.error is not None
    assert cancelled.error.startswith("cancelled")


async def test_over_http_progress_logs_and_cancellation(
    paths: Paths, bus: EventBus, http_url: str, mode: str
) -> None:
    recorder = EventRecorder(bus, ToolCallProgressed, ToolCallLogged, ToolCallEnded)
    async with started(paths, bus, HttpServerConfig("prog", http_url), mode) as system:
        result = await system.service.call("prog.work", {"steps": 3, "delay": 0.15})
        assert result.text == "worked 3 steps"
        progress = calls(recorder, ToolCallProgressed)
        assert progress[-1].message == "step 3 of 3"
        assert ("info", "worker: did step 2") in [
            (e.level, e.text) for e in calls(recorder, ToolCallLogged)
        ]
        assert "[log info] worker: did step 2" in (paths.log_dir / "mcp-prog.log").read_text()
        task = asyncio.create_task(system.service.call("prog.wait_for_cancel", {}))
        await recorder.wait_for(
            lambda e: isinstance(e, ToolCallProgressed) and e.message.startswith("waited")
        )
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

        async def server_says_so() -> bool:
            return (await system.service.call("prog.was_cancelled", {})).text == "yes"

        await until(server_says_so)
        assert system.pool.connection("prog").status == "ready"


def test_the_server_file_is_where_the_helper_says() -> None:
    assert PROGRESS_SERVER.is_file()
    assert os.access(PROGRESS_SERVER, os.R_OK)
