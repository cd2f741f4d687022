"""An MCP server (made with the SDK) whose tools report progress, log, and wait to be cancelled.

``python progress_server.py`` serves stdio; ``python progress_server.py --http PORT`` serves
streamable HTTP on 127.0.0.1 with an in-memory ``EventStore`` and a ``retry:`` interval of
``RETRY_MS``, so a client whose stream drops can resume with ``Last-Event-ID``.

Tools:
- ``work(steps, delay, secret)``: ``steps`` progress reports (``step i of n``) and one info log
  line per step, ``delay`` seconds apart; a log line also carries ``secret`` (to check that
  Keiko redacts it) and a progress message with control characters (to check the escaping).
- ``wait_for_cancel(seconds)``: reports progress without a total, then waits; cancelled, it
  records ``cancelled`` (in memory, and in the file ``PROGRESS_LOG`` names, if set). Over stdio
  every ``notifications/cancelled`` that arrives is recorded first, as ``notified ID``, so a
  test can tell a cancel the client sent from a client that merely went away.
- ``was_cancelled()``: ``yes`` once a ``wait_for_cancel`` was cancelled, else ``no``.
- With ``PROGRESS_ONLY=TOOL`` only that tool is offered; ``PROGRESS_MIN_WAIT`` is the least
  ``wait_for_cancel`` waits, whatever it is asked (a small model picks odd arguments).
- ``logging/setLevel`` (the 2025 handshake) is answered and recorded as ``set level LEVEL``.
- ``replays()``: how many times a client resumed a stream here, and each wait it honoured
  (HTTP only), as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
import warnings
from dataclasses import dataclass
from typing import Any

import anyio
from mcp import types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventCallback, EventMessage, EventStore
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp.types import JSONRPCMessage

warnings.filterwarnings("ignore", category=MCPDeprecationWarning)

RETRY_MS = 400
CUT_MARKER = "step 2 of"
"""What a test's proxy waits for before it cuts the stream."""

server = MCPServer("progress", log_level="WARNING")
_state: dict[str, object] = {"cancelled": False}


def _record(line: str) -> None:
    path = os.environ.get("PROGRESS_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


@server.tool()
async def work(ctx: Context, steps: int = 5, delay: float = 0.05, secret: str = "") -> str:
    """Report progress ``steps`` times, logging each step."""
    await ctx.report_progress(0, steps, "starting\x1b[31m\u202e")
    for i in range(1, steps + 1):
        await asyncio.sleep(delay)
        await ctx.log("info", f"did step {i}", logger_name="worker")
        if i == 1 and secret:
            await ctx.log("warning", f"token is {secret}")
        await ctx.log("debug", f"debug detail {i}")
        await ctx.report_progress(i, steps, f"step {i} of {steps}")
    _record("work done")
    return f"worked {steps} steps"


@server.tool()
async def wait_for_cancel(ctx: Context, seconds: float = 600.0) -> str:
    """Wait up to ``seconds`` (report progress without a total meanwhile)."""
    seconds = max(seconds, float(os.environ.get("PROGRESS_MIN_WAIT", "0")))
    _record("wait started")
    try:
        await ctx.log("info", "waiting to be cancelled")
        started = time.monotonic()
        tick = 0
        while time.monotonic() - started < seconds:
            tick += 1
            await ctx.report_progress(tick, None, f"waited {tick * 0.2:.1f} s")
            await asyncio.sleep(0.2)
    except asyncio.CancelledError:
        _state["cancelled"] = True
        _record("cancelled")
        raise
    return "nobody cancelled me"


@server.tool()
def was_cancelled() -> str:
    """``yes`` once a wait was cancelled."""
    return "yes" if _state["cancelled"] else "no"


@dataclass
class _Stored:
    stream_id: str
    event_id: str
    message: JSONRPCMessage | None


class MemoryEventStore(EventStore):
    """Every event of every stream, in memory, in order (a test server's resumability)."""

    def __init__(self) -> None:
        self.events: list[_Stored] = []
        self.resumes: list[dict[str, object]] = []

    async def store_event(self, stream_id: str, message: JSONRPCMessage | None) -> str:
        event_id = str(len(self.events) + 1)
        self.events.append(_Stored(stream_id, event_id, message))
        return event_id

    async def replay_events_after(
        self, last_event_id: str, send_callback: EventCallback
    ) -> str | None:
        found = next((e for e in self.events if e.event_id == last_event_id), None)
        if found is None:
            return None
        replayed = 0
        for event in self.events[int(last_event_id) :]:
            if event.stream_id == found.stream_id and event.message is not None:
                await send_callback(EventMessage(event.message, event.event_id))
                replayed += 1
        self.resumes.append(
            {"last_event_id": last_event_id, "replayed": replayed, "at": time.time()}
        )
        return found.stream_id


store = MemoryEventStore()


@server.tool()
def replays() -> str:
    """The resumes this server served (``Last-Event-ID``, events replayed, when)."""
    return json.dumps(store.resumes)


async def _set_level(_ctx: Any, params: types.SetLevelRequestParams) -> types.EmptyResult:
    _record(f"set level {params.level}")
    return types.EmptyResult()


server._lowlevel_server.add_request_handler(
    "logging/setLevel", types.SetLevelRequestParams, _set_level
)


def main() -> None:
    only = os.environ.get("PROGRESS_ONLY")  # e.g. for a small model: one tool to choose
    if only:
        for tool in ("work", "wait_for_cancel", "was_cancelled", "replays"):
            if tool != only:
                server.remove_tool(tool)
    if sys.argv[1:2] == ["--http"]:
        import uvicorn

        app = server.streamable_http_app(event_store=store, retry_interval=RETRY_MS)
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    else:
        anyio.run(_serve_stdio)


class _SpyingReader:
    """The server's stdin stream, recording each ``notifications/cancelled`` it carries."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def _look(self, item: Any) -> Any:
        message = getattr(getattr(item, "message", None), "root", getattr(item, "message", None))
        if getattr(message, "method", None) == "notifications/cancelled":
            params = getattr(message, "params", None) or {}
            _record(f"notified {params.get('requestId')}")
        return item

    async def receive(self) -> Any:
        return self._look(await self._inner.receive())

    def __aiter__(self) -> _SpyingReader:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _SpyingReader:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._inner.__aexit__(*exc)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def _serve_stdio() -> None:
    from mcp.server.stdio import stdio_server

    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        await lowlevel.run(
            _SpyingReader(read_stream), write_stream, lowlevel.create_initialization_options()
        )


if __name__ == "__main__":
    main()
