"""`keiko mcp resources|read|prompts|prompt`: a server's resources and prompts on a terminal.

Everything printed came from a server, so it goes through ``show`` (escaped). ``read`` prints
a text resource's text and, for bytes, their type and size (``--out FILE`` saves them).
``prompt`` takes ``name=value`` or positional arguments and prints the messages with their
roles, as they would enter a chat.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from keiko_desktop.cli.common import error, run_async, show
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line

if TYPE_CHECKING:
    from keiko_desktop.core.tools.resources import McpContent
    from keiko_desktop.mcp_tools.setup import ToolSystem

SETTLE_SECONDS = 40.0
ACTIONS = ("resources", "read", "prompts", "prompt")


def add_resource_parsers(actions: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    res = actions.add_parser("resources", help="the resources and templates of a server, or all")
    res.add_argument("server", nargs="?", help="a configured server's name")
    res.add_argument("--json", action="store_true")
    read = actions.add_parser("read", help="read a resource of SERVER by its URI")
    read.add_argument("server")
    read.add_argument("uri")
    read.add_argument("--out", type=Path, help="save the contents to this file")
    prompts = actions.add_parser("prompts", help="the prompts of a server, or of all")
    prompts.add_argument("server", nargs="?")
    prompts.add_argument("--json", action="store_true")
    prompt = actions.add_parser("prompt", help="run a prompt: SERVER NAME [name=value ...]")
    prompt.add_argument("server")
    prompt.add_argument("name")
    prompt.add_argument("arguments", nargs="*", metavar="ARG", help="name=value or positional")
    prompt.add_argument("--json", action="store_true")


def run_resources(args: argparse.Namespace) -> int:
    return run_async(lambda: _run(args))


async def _run(args: argparse.Namespace) -> int:
    from keiko_desktop.cli.mcp import tool_system

    only = [args.server] if getattr(args, "server", None) else None
    async with tool_system(only) as system:
        await system.pool.wait_settled(time_limit=SETTLE_SECONDS)
        content = system.service.content
        if content is None:  # pragma: no cover - build_tool_system always sets it
            error("The tool system has no resources.")
            return 1
        try:
            return await _action(args, system, content)
        except KeikoError as exc:
            error(exc)
            return 1


async def _action(args: argparse.Namespace, system: ToolSystem, content: McpContent) -> int:
    action = args.mcp_command
    if action == "resources":
        return await _resources(args, system, content)
    if action == "read":
        return await _read(args, system, content)
    if action == "prompts":
        return await _prompts(args, system, content)
    return await _prompt(args, system, content)


def _servers(args: argparse.Namespace, system: ToolSystem) -> list[str]:
    if args.server:
        system.pool.connection(args.server).ready_client()  # a clear error when it is not up
        return [args.server]
    return [s.name for s in system.service.servers() if s.status == "ready"]


async def _resources(args: argparse.Namespace, system: ToolSystem, content: McpContent) -> int:
    from keiko_desktop.core.tools.resources import human_listing_note

    out: list[dict[str, object]] = []
    for server in _servers(args, system):
        listing = await content.list_resources(server)
        templates = await content.list_templates(server)
        if args.json:
            out.extend({"kind": "resource", **r.__dict__} for r in listing.items)
            out.extend({"kind": "template", **t.__dict__} for t in templates.items)
            continue
        for r in listing.items:
            mime = f"  ({r.mime_type})" if r.mime_type else ""
            show(one_line(f"{server}  {r.uri}  {r.label}{mime}", 2000))
        for t in templates.items:
            show(one_line(f"{server}  {t.uri_template}  {t.label}  (template)", 2000))
        for note in (human_listing_note(listing), human_listing_note(templates)):
            if note:
                show(f"    note: {note}")
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


async def _read(args: argparse.Namespace, system: ToolSystem, content: McpContent) -> int:
    system.pool.connection(args.server).ready_client()
    parts = await content.read(args.server, args.uri)
    if args.out is not None:
        part = parts[0]
        data = part.data if part.data is not None else (part.text or "").encode("utf-8")
        args.out.write_bytes(data)
        print(f"saved {len(data)} bytes to {args.out}")
        return 0
    for part in parts:
        if part.text is not None:
            show(part.text)
        else:
            show(f"[{part.mime_type or 'bytes'}, {part.size} bytes; save them with --out FILE]")
    return 0


async def _prompts(args: argparse.Namespace, system: ToolSystem, content: McpContent) -> int:
    out: list[dict[str, object]] = []
    for server in _servers(args, system):
        listing = await content.list_prompts(server)
        for p in listing.items:
            if args.json:
                out.append(
                    {
                        "server": server,
                        "name": p.name,
                        "title": p.title,
                        "description": p.description,
                        "arguments": [a.__dict__ for a in p.arguments],
                    }
                )
                continue
            args_text = " ".join(
                f"{a.name}=…" if a.required else f"[{a.name}=…]" for a in p.arguments
            )
            about = p.title or p.description
            show(one_line(f"/{p.command} {args_text}  {about}", 2000))
    if args.json:
        print(json.dumps(out, indent=2))
    return 0


async def _prompt(args: argparse.Namespace, system: ToolSystem, content: McpContent) -> int:
    from keiko_desktop.core.tools.resources import parse_arguments

    system.pool.connection(args.server).ready_client()
    prompts = {p.name: p for p in (await content.list_prompts(args.server)).items}
    info = prompts.get(args.name)
    if info is None:
        known = ", ".join(sorted(prompts)) or "none"
        error(
            f"'{one_line(args.server, 80)}' has no prompt named {one_line(args.name, 80)}.\n"
            f"  → Its prompts: {one_line(known, 500)}"
        )
        return 2
    try:
        values = parse_arguments(info, args.arguments)
    except KeikoError as exc:
        error(exc)
        return 2
    result = await content.get_prompt(args.server, args.name, values)
    if args.json:
        messages = [
            {"role": m.role, "text": m.text, "resources": [r.uri for r in m.resources]}
            for m in result.messages
        ]
        print(json.dumps({"description": result.description, "messages": messages}, indent=2))
        return 0
    for message in result.messages:
        if message.text:
            show(f"{message.role}: {message.text}")
        for resource in message.resources:
            show(f"{message.role}: [resource {one_line(resource.uri, 300)}, {resource.size} bytes]")
    return 0
