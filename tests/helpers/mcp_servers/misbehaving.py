"""A stdio MCP server whose tools behave well or badly on purpose.

Options: ``--slow SECONDS`` waits before serving; ``--garbage`` writes junk lines to stdout
before serving; ``--exit-at-start`` exits at once with a message on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time

from mcp.server.mcpserver import Context, MCPServer
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

server = MCPServer("misbehaving", log_level="WARNING")


@server.tool()
def echo(text: str) -> str:
    """Return the text."""
    return text


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def pid() -> int:
    """This server's process id."""
    return os.getpid()


@server.tool()
def spawn_child() -> int:
    """Start a long-sleeping grandchild process; return its pid."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    return child.pid


@server.tool()
async def hang(seconds: float = 600.0) -> str:
    """Sleep (asynchronously) for a long time."""
    await asyncio.sleep(seconds)
    return "woke up"


@server.tool()
def crash() -> str:
    """Die in the middle of the call."""
    sys.stderr.write("misbehaving: crashing on purpose\n")
    sys.stderr.flush()
    os._exit(3)


@server.tool()
def huge(size: int = 1_000_000) -> str:
    """Return ``size`` characters."""
    return "x" * size


@server.tool()
def garbage() -> str:
    """Write junk to stdout, then answer normally."""
    sys.stdout.write("this is not json-rpc\n")
    sys.stdout.flush()
    return "still here"


@server.tool()
async def grow(ctx: Context) -> str:
    """Add a tool named ``extra`` and announce that the tool list changed."""

    def extra() -> str:
        """A tool added at run time."""
        return "extra"

    server.add_tool(extra, name="extra")
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS:
        await ctx.notify_tools_changed()  # to subscriptions/listen streams
    else:
        await ctx.session.send_tool_list_changed()  # the 2025 notification
    return "grown"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--garbage", action="store_true")
    parser.add_argument("--exit-at-start", action="store_true")
    args = parser.parse_args()
    if args.exit_at_start:
        sys.stderr.write("misbehaving: refusing to start\n")
        sys.exit(2)
    if args.slow:
        time.sleep(args.slow)
    if args.garbage:
        sys.stdout.write("garbage line one\n{not json}\n")
        sys.stdout.flush()
    server.run()


if __name__ == "__main__":
    main()
