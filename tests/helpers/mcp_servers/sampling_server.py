"""A stdio MCP server whose tools ask the client's model to write (``sampling/createMessage``).

- ``ask(prompt, system_prompt, max_tokens, temperature)`` samples through the SDK's
  ``Resolve(Sample)`` resolver, which works in both protocol modes: on 2026-07-28 it travels in
  an ``InputRequiredResult``, on 2025-11-25 as a standalone request mid-call.
- ``ask_live(prompt, max_tokens)`` calls ``ctx.session.create_message`` mid-call, which only the
  2025 handshake carries (2026-07-28 over stdio has no back-channel for it).
- ``ask_image()`` sends an image, which Keiko refuses.

Each returns ``MODEL|STOP_REASON|TEXT``; a refusal in 2025 mode comes back to the tool as an
``MCPError`` and is returned as ``refused: MESSAGE``, so a test sees what the server saw.
Run as ``python tests/helpers/mcp_servers/sampling_server.py``.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path
from typing import Annotated, Any

from mcp import types
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Resolve, Sample
from mcp.shared.exceptions import MCPError

HERE = Path(__file__)
server = MCPServer("sampler", log_level="WARNING")


def _text(prompt: str) -> list[types.SamplingMessage]:
    return [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=prompt))]


def _sample(prompt: str, system_prompt: str, max_tokens: int, temperature: float) -> Sample:
    return Sample(
        _text(prompt),
        max_tokens=max_tokens,
        system_prompt=system_prompt or None,
        temperature=temperature,
        model_preferences=types.ModelPreferences(hints=[types.ModelHint(name="claude-3-opus")]),
    )


def _shown(result: types.CreateMessageResult) -> str:
    content = result.content
    text = content.text if isinstance(content, types.TextContent) else f"<{content.type}>"
    return f"{result.model}|{result.stop_reason}|{text}"


@server.tool()
async def ask(
    prompt: str,
    answer: Annotated[types.CreateMessageResult, Resolve(_sample)],
    system_prompt: str = "",
    max_tokens: int = 24,
    temperature: float = 0.0,
) -> str:
    """Ask the client's model to answer ``prompt``."""
    return _shown(answer)


@server.tool()
async def ask_live(prompt: str, ctx: Context, max_tokens: int = 24) -> str:
    """Ask the client's model mid-call (2025 handshake only)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sampling is deprecated as of 2026-07-28
            result = await ctx.session.create_message(
                _text(prompt), max_tokens=max_tokens, temperature=0.0
            )
    except MCPError as exc:
        return f"refused: {exc.error.code} {exc.error.message}"
    return _shown(result)


@server.tool()
async def ask_image(ctx: Context) -> str:
    """Send an image to the client's model (Keiko takes text only)."""
    image = types.ImageContent(type="image", data="iVBORw0KGgo=", mime_type="image/png")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = await ctx.session.create_message(
                [types.SamplingMessage(role="user", content=image)], max_tokens=8
            )
    except MCPError as exc:
        return f"refused: {exc.error.code} {exc.error.message}"
    return _shown(result)


def entry() -> dict[str, Any]:
    """An ``mcpServers`` entry that runs this server."""
    return {"command": sys.executable, "args": [str(HERE)]}


if __name__ == "__main__":
    server.run()
