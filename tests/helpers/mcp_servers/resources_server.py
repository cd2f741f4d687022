"""A stdio MCP server with resources and prompts, for the resources/prompts tests.

Resources: ``docs://readme`` (Markdown text), ``docs://logo.png`` (a small PNG, a blob),
``docs://blob.bin`` (bytes no extractor reads), ``docs://live`` (text the ``bump`` tool
changes, announcing ``resources/updated``), and the template ``docs://pages/{page}`` whose
``page`` completes from a fixed list. With ``RES_MANY=N`` it lists N more resources, so a
client's paging and its bound are exercised.

Prompts: ``review(topic, style="brief")`` (``topic`` required, completes), whose messages are
a user turn, an assistant turn and an embedded resource; and ``hello()`` without arguments.

Run as ``python tests/helpers/mcp_servers/resources_server.py``; ``configure`` writes an
mcp.json with it as the server ``docs`` into a KEIKO_HOME.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import zlib
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.prompts.base import AssistantMessage, Message, UserMessage
from mcp.server.mcpserver.resources.types import TextResource
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    EmbeddedResource,
    EmptyResult,
    PromptReference,
    ResourceTemplateReference,
    SubscribeRequestParams,
    TextResourceContents,
    UnsubscribeRequestParams,
)

server = MCPServer("docs", log_level="WARNING")

PAGES = ("intro", "install", "internals", "usage")
TOPICS = ("security", "speed", "style")
README = "# Docs\n\nThe zebra manual explains striped horses in detail.\n"
_live = {"text": "version 1 of the live note"}


def tiny_png(width: int = 2, height: int = 2) -> bytes:
    """A valid RGB PNG of ``width`` x ``height`` grey pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@server.resource("docs://readme", name="readme", title="Read me", mime_type="text/markdown")
def readme() -> str:
    """The project's read-me."""
    return README


@server.resource("docs://logo.png", name="logo", mime_type="image/png")
def logo() -> bytes:
    """The logo, a tiny PNG."""
    return tiny_png()


@server.resource("docs://blob.bin", name="blob", mime_type="application/octet-stream")
def blob() -> bytes:
    """Bytes nobody can read."""
    return bytes(range(256)) * 4


@server.resource("docs://live", name="live", mime_type="text/plain")
def live() -> str:
    """A note the ``bump`` tool changes."""
    return _live["text"]


EVIL_TITLE = "\x1b]0;pwned\x07Evil \u202etxt.exe"


@server.resource("docs://evil", name="evil", title=EVIL_TITLE, mime_type="text/plain")
def evil() -> str:
    """Text that tries to drive a terminal."""
    return "before\x1b[2Jafter"


@server.resource("docs://pages/{page}", name="page", mime_type="text/plain")
def page(page: str) -> str:
    """One page of the manual."""
    return f"This is the {page} page of the zebra manual."


for _i in range(int(os.environ.get("RES_MANY", "0"))):
    server.add_resource(
        TextResource(uri=f"extra://{_i}", name=f"extra{_i}", mime_type="text/plain", text="x")
    )


_subscribers: dict[str, list[Any]] = {}
"""2025-era sessions that sent ``resources/subscribe``, by URI."""


async def _subscribe(ctx: Any, params: SubscribeRequestParams) -> EmptyResult:
    _subscribers.setdefault(str(params.uri), []).append(ctx.session)
    return EmptyResult()


async def _unsubscribe(ctx: Any, params: UnsubscribeRequestParams) -> EmptyResult:
    _subscribers.pop(str(params.uri), None)
    return EmptyResult()


# The 2025 handshake's subscriptions (MCPServer serves only 2026's subscriptions/listen).
server._lowlevel_server.add_request_handler(
    "resources/subscribe", SubscribeRequestParams, _subscribe
)
server._lowlevel_server.add_request_handler(
    "resources/unsubscribe", UnsubscribeRequestParams, _unsubscribe
)


@server.tool()
async def bump(text: str, ctx: Context) -> str:
    """Change the live note to ``text`` and tell subscribers (both eras)."""
    _live["text"] = text
    await ctx.notify_resource_updated("docs://live")
    for session in _subscribers.get("docs://live", []):
        await session.send_resource_updated("docs://live")
    return "bumped"


@server.prompt(title="Review a topic")
def review(topic: str, style: str = "brief") -> list[Message]:
    """Ask for a review of TOPIC."""
    return [
        UserMessage(f"Please review {topic} in a {style} way."),
        AssistantMessage("I will look at the read-me first."),
        UserMessage(
            EmbeddedResource(
                type="resource",
                resource=TextResourceContents(
                    uri="docs://pages/intro", mime_type="text/plain", text="Intro page text."
                ),
            )
        ),
    ]


@server.prompt()
def hello() -> str:
    """Say hello."""
    return "Hello from the docs server."


@server.completion()
async def complete(
    ref: PromptReference | ResourceTemplateReference,
    argument: CompletionArgument,
    context: CompletionContext | None,
) -> Completion | None:
    if isinstance(ref, ResourceTemplateReference) and argument.name == "page":
        values = [p for p in PAGES if p.startswith(argument.value)]
        return Completion(values=values, total=len(values), has_more=False)
    if isinstance(ref, PromptReference) and argument.name == "topic":
        values = [t for t in TOPICS if t.startswith(argument.value)]
        return Completion(values=values, total=len(values), has_more=False)
    return None


def configure(home: Path, env: dict[str, str] | None = None) -> None:
    """mcp.json in ``home`` with only this server, as ``docs`` (the built-ins off)."""
    entry: dict[str, object] = {"command": sys.executable, "args": [str(Path(__file__))]}
    if env:
        entry["env"] = env
    config = {
        "mcpServers": {"docs": entry},
        "builtinServers": {n: {"disabled": True} for n in ("files", "notes", "clock")},
    }
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "mcp.json").write_text(json.dumps(config), encoding="utf-8")


if __name__ == "__main__":
    server.run()
