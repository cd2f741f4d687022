"""A tool call's time limit is Keiko's own (``ServerConnection.call``), not the SDK's read
timeout: a question to the user moves it on (test_elicitation_stdio.py), and a call that runs
out of it is still reported as timed out and still cancelled on the server with
``notifications/cancelled``. A real SDK server (progress_server.py) over stdio, in both
protocol modes the pool speaks."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.errors import ToolTimeoutError
from keiko_desktop.mcp_tools.config import McpConfig, StdioServerConfig
from keiko_desktop.mcp_tools.setup import build_tool_system
from tests.helpers.mcp_servers.progress_http import PROGRESS_SERVER

from .conftest import FAST


@pytest.mark.parametrize("protocol", ["auto", "legacy"])
async def test_a_call_past_its_limit_times_out_and_is_cancelled_on_the_server(
    paths: Paths, bus: EventBus, tmp_path: Path, protocol: str
) -> None:
    record = tmp_path / "server-record.txt"
    server = StdioServerConfig(
        "prog", sys.executable, (str(PROGRESS_SERVER),), env={"PROGRESS_LOG": str(record)}
    )
    system = await build_tool_system(
        paths,
        bus,
        config=McpConfig(servers={"prog": server}, builtins={}),
        options=replace(FAST, protocol=protocol, call_timeout=1.0),
    )
    try:
        assert await system.pool.wait_settled(time_limit=30)
        loop = asyncio.get_running_loop()
        begun = loop.time()
        with pytest.raises(
            ToolTimeoutError, match=r"prog\.wait_for_cancel did not answer within 1 s"
        ):
            await system.pool.call_tool("prog", "wait_for_cancel", {})
        assert loop.time() - begun < 3.0  # the limit, not a backstop past it
        for _ in range(200):  # the server records the cancel it was sent
            text = record.read_text() if record.exists() else ""
            if "notified " in text and "cancelled" in text:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the server was never told: {text!r}")
        answer = await system.pool.call_tool("prog", "was_cancelled", {})
        assert answer.text == "yes"
        assert system.pool.connection("prog").status == "ready"
    finally:
        await system.aclose()
