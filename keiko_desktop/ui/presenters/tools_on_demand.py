"""The MCP servers on first use in the chat: typing ``/`` (the servers' prompts) or "Attach
from server" starts them, as opening Settings > Tools does, without letting the model call
tools (``tools_in_chat`` stays as it is)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keiko_desktop.app import Core
    from keiko_desktop.core.tools.service import ToolService

SERVERS_SETTLE = 15.0
"""Seconds a first use waits for the servers to be ready (or failed) before listing."""


async def running_tools(core: Core) -> ToolService | None:
    """The tool service, its servers started (and settled) now if they were not yet; None
    when the tool system could not be built."""
    if core.tools is None:
        core.start_tools()  # once; a no-op when they are starting already
        await core.wait_tools(settle=SERVERS_SETTLE)
    return core.tools
