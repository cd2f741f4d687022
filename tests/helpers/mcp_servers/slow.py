"""A stdio MCP server whose one tool takes time: ``sleep(seconds, text)`` waits, then returns
``text``. Tasks of kind ``tool`` that call it take as long as the test wants, so a test can
kill or cancel them mid-way.

With ``SLOW_LOG`` set, each call appends ``start TEXT`` and, when it returns, ``done TEXT`` to
that file (one line each), so a test sees what ran, and how often.

Run as ``python tests/helpers/mcp_servers/slow.py``. ``configure`` (for tests) writes an
mcp.json with it as the server ``slow`` into a KEIKO_HOME and gives ``slow.sleep`` the policy
Always, so a headless worker, which has nobody to ask, may call it.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer

server = MCPServer("slow", log_level="WARNING")


def _log(line: str) -> None:
    path = os.environ.get("SLOW_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


@server.tool()
async def sleep(seconds: float, text: str) -> str:
    """Wait ``seconds``, then return ``text``."""
    _log(f"start {text}")
    await asyncio.sleep(seconds)
    _log(f"done {text}")
    return text


def configure(home: Path, log: Path | None = None) -> None:
    """mcp.json in ``home`` with only this server (as ``slow``; the built-ins off), and
    ``slow.sleep`` allowed Always, as a person would set it. KEIKO_HOME must be ``home``; no
    loop may be running (it runs one)."""
    entry: dict[str, object] = {"command": sys.executable, "args": [str(Path(__file__))]}
    if log is not None:
        entry["env"] = {"SLOW_LOG": str(log)}
    config = {
        "mcpServers": {"slow": entry},
        "builtinServers": {n: {"disabled": True} for n in ("files", "notes", "clock")},
    }
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "mcp.json").write_text(json.dumps(config), encoding="utf-8")
    asyncio.run(_allow_always())


async def _allow_always() -> None:
    from keiko_desktop.core.tools.models import Policy
    from tests.helpers.tool_system import real_tool_system

    async with real_tool_system(["slow"]) as system:
        await system.service.set_policy("slow.sleep", Policy.ALWAYS)


def sleep_params(seconds: float, text: str) -> list[str]:
    """The ``keiko tasks add tool`` arguments of a call of ``slow.sleep``."""
    arguments = json.dumps({"seconds": seconds, "text": text})
    return ["--param", "server=slow", "--param", "tool=sleep", "--param", f"arguments={arguments}"]


if __name__ == "__main__":
    server.run()
