"""A streamable-HTTP MCP server on 127.0.0.1 for tests: ``http_server.py PORT [--json]``
(``--json``: replies as plain JSON bodies instead of server-sent events)."""

from __future__ import annotations

import asyncio
import sys

import uvicorn
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("remote", log_level="WARNING")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@server.tool()
def whoami(ctx: Context) -> str:
    """The Authorization header this request carried."""
    headers = ctx.headers or {}
    return headers.get("authorization", "(none)")


@server.tool()
async def hang(seconds: float = 600.0) -> str:
    """Sleep for a long time."""
    await asyncio.sleep(seconds)
    return "woke up"


@server.tool()
def huge(size: int = 1_000_000) -> str:
    """Return ``size`` characters."""
    return "x" * size


def main() -> None:
    port = int(sys.argv[1])
    app = server.streamable_http_app(json_response="--json" in sys.argv[2:])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()
