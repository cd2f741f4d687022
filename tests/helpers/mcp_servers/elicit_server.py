"""A stdio MCP server whose tools ask the user for input (elicitation), for the tests.

- ``book`` asks for a form with every field kind the spec allows (strings with lengths and
  each format, an integer and a number with ranges, a boolean, a plain enum, a titled
  ``oneOf``, a legacy ``enumNames`` enum, multi-selects with ``items.enum`` and a titled
  ``items.anyOf``), required fields and defaults. It asks through a ``Resolve`` dependency, so
  the SDK asks the way the negotiated protocol does it: a standalone ``elicitation/create``
  on the 2025 handshake, an ``InputRequiredResult`` on 2026-07-28. The answer comes back as
  JSON (``accept {...}``), or ``decline`` / ``cancel``.
- ``legacy_book`` asks the same with ``ctx.elicit`` directly, which works only on the 2025
  handshake (2026-07-28 has no back-channel for a standalone request).
- ``open_link`` asks in URL mode (``ctx.elicit_url`` on the handshake; a hand-made
  ``InputRequiredResult`` on 2026-07-28); ``--url`` sets the link it sends.
- ``nested`` asks for a form whose schema the spec does not allow (a nested object).
- ``quick`` asks for one optional field with a default (the X11 test's form).

Run as ``python tests/helpers/mcp_servers/elicit_server.py [--url URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import mcp.types as types
from mcp.server.elicitation import ElicitationResult
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.resolve import Elicit, Resolve
from pydantic import BaseModel, Field

HERE = Path(__file__)


class Booking(BaseModel):
    """Every field kind of the spec's restricted schema."""

    name: str = Field(
        title="Your name", description="As on the ticket", min_length=2, max_length=40
    )
    email: str = Field(default="guest@example.com", json_schema_extra={"format": "email"})
    site: str = Field(default="", json_schema_extra={"format": "uri"})
    day: str = Field(default="2026-07-28", json_schema_extra={"format": "date"})
    at: str = Field(default="", json_schema_extra={"format": "date-time"})
    guests: int = Field(default=2, ge=1, le=8, title="Guests")
    budget: float = Field(default=99.5, ge=0, le=1000)
    vip: bool = Field(default=False, title="VIP")
    seat: Literal["window", "aisle"] = "aisle"
    meal: str = Field(
        default="veg",
        json_schema_extra={
            "oneOf": [
                {"const": "veg", "title": "Vegetarian"},
                {"const": "fish", "title": "Fish"},
                {"const": "meat", "title": "Meat"},
            ]
        },
    )
    cabin: str = Field(
        default="eco",
        json_schema_extra={"enum": ["eco", "biz"], "enumNames": ["Economy", "Business"]},
    )
    extras: list[Literal["wifi", "bag", "lounge"]] = Field(
        default=["wifi"], min_length=1, max_length=2
    )
    topics: list[str] = Field(
        default_factory=list,
        json_schema_extra={
            "items": {
                "anyOf": [
                    {"const": "art", "title": "Art"},
                    {"const": "food", "title": "Food"},
                    {"const": "hiking", "title": "Hiking"},
                ]
            },
            "maxItems": 2,
        },
    )


class Quick(BaseModel):
    note: str = Field(default="hello", title="Note", max_length=40)
    count: int = Field(default=3, ge=1, le=9, title="Count")


def _outcome(result: Any) -> str:
    if result.action == "accept":
        return "accept " + json.dumps(result.data.model_dump(), sort_keys=True)
    return str(result.action)


def _ask_booking() -> Elicit[Booking]:
    return Elicit("Where to? <b>not bold</b>\x1b[2J", Booking)


def _ask_quick() -> Elicit[Quick]:
    return Elicit("One quick question for the elicit test.", Quick)


def _ask_2026(
    ctx: Context, key: str, request: types.ElicitRequest
) -> str | types.InputRequiredResult:
    """Ask by hand the 2026-07-28 way: an ``InputRequiredResult`` holding ``request`` under
    ``key`` first, then the action of the answer the client sends with its retry."""
    if ctx.input_responses is None:
        return types.InputRequiredResult(input_requests={key: request}, request_state="1")
    response = ctx.input_responses[key]
    assert isinstance(response, types.ElicitResult)
    return response.action


def build(url: str, only: str = "") -> MCPServer:
    server = MCPServer("elicit", log_level="WARNING")

    def register(fn: Any) -> Any:
        """A tool of the server (with ``only``, only that one: a model then picks it)."""
        return server.tool()(fn) if not only or fn.__name__ == only else fn

    @register
    async def book(
        answer: Annotated[ElicitationResult[Booking], Resolve(_ask_booking)],
    ) -> str:
        """Book a trip: asks the user for the details."""
        return _outcome(answer)

    @register
    async def quick(answer: Annotated[ElicitationResult[Quick], Resolve(_ask_quick)]) -> str:
        """Ask the user one quick question and return the answer."""
        return _outcome(answer)

    @register
    async def legacy_book(ctx: Context) -> str:
        """The booking form asked with ctx.elicit (2025 handshake only)."""
        return _outcome(await ctx.elicit("Where to?", Booking))

    @register
    async def open_link(ctx: Context) -> str | types.InputRequiredResult:
        """Ask the user to open a link (URL mode)."""
        if ctx.request_context.session.protocol_version != "2026-07-28":
            return (await ctx.elicit_url("Sign in, please", url, "link-1")).action
        params = types.ElicitRequestURLParams(message="Sign in, please", url=url)
        return _ask_2026(ctx, "link", types.ElicitRequest(params=params))

    @register
    async def nested(ctx: Context) -> str | types.InputRequiredResult:
        """Ask for a form the spec does not allow (a nested object)."""
        schema = {
            "type": "object",
            "properties": {"address": {"type": "object", "properties": {}}},
        }
        if ctx.request_context.session.protocol_version != "2026-07-28":
            result = await ctx.request_context.session.elicit_form("Address?", schema)
            return result.action
        form = types.ElicitRequestFormParams(message="Address?", requested_schema=schema)
        return _ask_2026(ctx, "form", types.ElicitRequest(params=form))

    return server


def entry(*args: str) -> dict[str, Any]:
    """An ``mcpServers`` entry that runs this server."""
    return {"command": sys.executable, "args": [str(HERE), *args]}


def configure(home: Path, *args: str, always: str = "") -> None:
    """mcp.json in ``home`` with only this server (as ``elicit``; the built-ins off); with
    ``always`` that tool is allowed Always, as a person would set it (KEIKO_HOME must be
    ``home``; no loop may be running)."""
    config = {
        "mcpServers": {"elicit": entry(*args)},
        "builtinServers": {n: {"disabled": True} for n in ("files", "notes", "clock")},
    }
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "mcp.json").write_text(json.dumps(config), encoding="utf-8")
    if always:
        asyncio.run(_allow_always(always))


async def _allow_always(tool: str) -> None:
    from keiko_desktop.core.tools.models import Policy
    from tests.helpers.tool_system import real_tool_system

    async with real_tool_system(["elicit"]) as system:
        await system.service.set_policy(f"elicit.{tool}", Policy.ALWAYS)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default="https://example.com/sign-in?x=1")
    parser.add_argument("--only", default="", help="offer only this tool")
    args = parser.parse_args()
    build(args.url, args.only).run()
