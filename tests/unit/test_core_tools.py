"""The tool system inside the Core: started on request, offered to chat, stopped on close."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from keiko_desktop.app import build_core
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.mcp_tools.config import config_path
from tests.helpers.mcp_servers import MISBEHAVING
from tests.helpers.processes import gone


async def test_core_starts_the_tools_and_leaves_no_child_on_close(paths: Paths) -> None:
    server = {"command": sys.executable, "args": [str(MISBEHAVING)]}
    config_path(paths).write_text(json.dumps({"mcpServers": {"bad": server}}))
    core = await build_core(
        paths, Settings(tool_approval_timeout=7), start_model=False, start_tools=True
    )
    try:
        tools = await core.wait_tools(settle=30)
        assert tools is not None
        assert core.tools is tools
        assert core.chat.tools is tools
        assert tools.approvals.timeout == 7
        names = {t.qualified_name for t in tools.tools()}
        assert {"clock.now", "files.list_files", "notes.search_notes"} <= names
        assert "bad.pid" in names
        assert core.tool_system is not None
        pid = int((await core.tool_system.pool.call_tool("bad", "pid", {})).text)
        core.update_settings(core.settings.with_changes(tool_approval_timeout=9))
        assert tools.approvals.timeout == 9
    finally:
        await core.aclose()
    assert gone(pid)
    assert core.tools is None
    assert core.chat.tools is None


async def test_closing_while_the_tools_start(paths: Paths) -> None:
    core = await build_core(paths, Settings(), start_model=False, start_tools=True)
    await core.aclose()  # the start is cancelled (or closes what it made): no error, no leak
    assert core.tools is None
    assert core.tool_system is None


def test_a_core_without_tools_never_imports_the_mcp_sdk(paths: Paths) -> None:
    code = textwrap.dedent(
        """
        import asyncio, sys
        from keiko_desktop.app import build_core

        async def main():
            core = await build_core(start_model=False)
            print(core.tools is None, "mcp" in sys.modules)
            await core.aclose()

        asyncio.run(main())
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.split() == ["True", "False"]
