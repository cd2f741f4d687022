"""A stdio MCP server whose tool refuses to run until the user visited a link: the 2025-11-25
"URL elicitation required" error (-32042), for the tests.

- ``needs_link`` raises ``UrlElicitationRequiredError`` (one link, id ``visit-1``) until the
  link was "visited", then answers ``linked after N attempts``.
- ``mark_done(notify)`` is the visit (what the page would do on the server's side): it marks
  the link done and, with ``notify`` on the 2025 handshake, sends
  ``notifications/elicitation/complete`` for ``visit-1``.
- ``needs_many`` asks for four links at once; ``bad_link`` for a ``javascript:`` one.

Run as ``python tests/helpers/mcp_servers/link_server.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import mcp.types as types
from mcp import UrlElicitationRequiredError
from mcp.server.mcpserver import Context, MCPServer

HERE = Path(__file__)
URL = "https://example.com/connect?session=1"
_state: dict[str, Any] = {"done": False, "attempts": 0}


def _link(n: int = 1, url: str = URL) -> types.ElicitRequestURLParams:
    return types.ElicitRequestURLParams(
        message=f"Connect your account <b>{n}</b>\x1b[2J", url=url, elicitation_id=f"visit-{n}"
    )


def build() -> MCPServer:
    server = MCPServer("link", log_level="WARNING")

    @server.tool()
    def needs_link() -> str:
        """Runs only once the user visited the link."""
        _state["attempts"] += 1
        if not _state["done"]:
            raise UrlElicitationRequiredError([_link()])
        return f"linked after {_state['attempts']} attempts"

    @server.tool()
    async def mark_done(ctx: Context, notify: bool = True) -> str:
        """The link was visited (the page's side of it)."""
        _state["done"] = True
        session = ctx.request_context.session
        if notify and session.protocol_version != "2026-07-28":
            await session.send_elicit_complete("visit-1")
        return "done"

    @server.tool()
    def needs_many() -> str:
        """Asks for more links than a client shows."""
        raise UrlElicitationRequiredError([_link(n) for n in range(1, 5)])

    @server.tool()
    def bad_link() -> str:
        """Asks the user to open a link that is not http(s)."""
        raise UrlElicitationRequiredError([_link(url="javascript:alert(1)")])

    return server


def entry() -> dict[str, Any]:
    return {"command": sys.executable, "args": [str(HERE)]}


if __name__ == "__main__":
    build().run()
