"""`keiko mcp`: list servers, show their tools, call a tool, import a config file.

The parser is built without importing the MCP SDK; the SDK is loaded only when a subcommand runs.
``call`` honours tool policies: Never refuses, Ask asks on a terminal (``--yes`` approves it up
front) and is denied when stdin is not a terminal.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import shlex
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from keiko_desktop.cli.common import error, run_async, show
from keiko_desktop.cli.mcp_resources import ACTIONS, run_resources
from keiko_desktop.core.config import Paths
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.models import ToolResult

if TYPE_CHECKING:
    from keiko_desktop.mcp_tools.config import McpConfig
    from keiko_desktop.mcp_tools.setup import ToolSystem

SETTLE_SECONDS = 40.0


def run_mcp(args: argparse.Namespace) -> int:
    action = args.mcp_command or "list"
    if action == "import":
        return _import(args)
    if action in ("login", "logout"):
        from keiko_desktop.cli.mcp_login import run_login

        return run_login(args)
    if action == "call":
        try:
            arguments = json.loads(args.args)
        except json.JSONDecodeError as exc:
            error(
                f"--args is not valid JSON ({exc.msg}, column {exc.colno}).\n"
                """  → Quote it for the shell, e.g. --args '{"timezone": "Europe/Paris"}'"""
            )
            return 2
        if not isinstance(arguments, dict):
            error("--args must be a JSON object, like '{\"a\": 1}'.")
            return 2
        return run_async(lambda: _call(args, arguments))
    if action == "tools":
        return run_async(lambda: _tools(args))
    if action in ACTIONS:  # resources, read, prompts, prompt
        return run_resources(args)
    if action == "policy":
        return run_async(lambda: _policy(args))
    if action == "sampling":
        from keiko_desktop.cli.mcp_sampling import run_sampling_policy

        return run_async(lambda: run_sampling_policy(args))
    return run_async(lambda: _list(args))


@asynccontextmanager
async def tool_system(
    only: list[str] | None, config: McpConfig | None = None, sampling_model: Any = None
) -> AsyncIterator[ToolSystem]:
    """The database and the tool system over mcp.json with the wanted servers (all: None),
    on the running loop; both closed on exit. The ``keiko mcp`` commands run in it."""
    from keiko_desktop.mcp_tools.setup import build_tool_system
    from keiko_desktop.store import SqliteToolRepository, open_database

    paths = Paths.from_env()
    bus = EventBus(asyncio.get_running_loop())
    database = await open_database(paths.database)
    try:
        repo = SqliteToolRepository(database)
        system = await build_tool_system(
            paths,
            bus,
            policies=repo,
            audit=repo,
            notes=repo,
            only=only,
            config=config,
            sampling_model=sampling_model,
        )
        try:
            yield system
        finally:
            await system.aclose()
    finally:
        await database.aclose()


async def _list(args: argparse.Namespace) -> int:
    async with tool_system(None) as system:
        await system.pool.wait_settled(time_limit=SETTLE_SECONDS)
        states = system.service.servers()
        if args.json:
            print(json.dumps([dataclasses.asdict(s) for s in states], indent=2))
            return 0
        if not states:
            print("No MCP servers are configured. Add some with `keiko mcp import FILE`.")
        for s in states:
            detail = f"  {s.detail}" if s.detail else ""
            tools = f"{s.tool_count} tools" if s.status == "ready" else ""
            line = f"{s.name:<16} {s.kind:<8} {s.status:<9} {tools:<10} {s.target}{detail}"
            show(one_line(line, 2000))
            for note in s.notes:
                show(f"    note: {one_line(note, 300)}")
        return 0


async def _tools(args: argparse.Namespace) -> int:
    from keiko_desktop.mcp_tools.config import (
        HttpServerConfig,
        McpConfig,
        StdioServerConfig,
        parse_server,
    )

    config: McpConfig | None = None
    only = [args.server] if args.server else None
    if args.url or args.stdio:
        adhoc: HttpServerConfig | StdioServerConfig
        if args.url:
            adhoc = parse_server("url", {"url": args.url}, "--url")
        else:
            words = shlex.split(args.stdio)
            if not words:
                error("--stdio needs a command, e.g. --stdio 'uvx mcp-server-time'.")
                return 2
            adhoc = StdioServerConfig("stdio", words[0], tuple(words[1:]))
        config, only = McpConfig(servers={adhoc.name: adhoc}, builtins={}), [adhoc.name]
    async with tool_system(only, config) as system:
        await system.pool.wait_settled(time_limit=SETTLE_SECONDS)
        failed = [s for s in system.service.servers() if s.status != "ready"]
        for s in failed:
            error(f"server '{s.name}' is {s.status}: {s.detail or 'no details'}")
        if only and not system.service.servers():
            error(f"there is no server named '{only[0]}'.\n  → See `keiko mcp list`.")
            return 1
        tools = system.service.tools(include_disabled=True, include_unusable=True)
        await system.service.wait_reconciled()  # the policy check of each listed server
        _print_notes(system)
        if args.json:
            out = [
                {
                    "name": t.qualified_name,
                    "description": t.description,
                    "policy": system.service.policy_for(t).value,
                    "input_schema": t.input_schema,
                    "problem": t.problem,
                }
                for t in tools
            ]
            print(json.dumps(out, indent=2))
        for t in [] if args.json else tools:
            policy = system.service.policy_for(t).value if t.usable else "unusable"
            text = t.description.strip()
            summary = one_line(text.splitlines()[0] if text else "", 120)
            show(f"{t.qualified_name:<32} [{policy}]  {summary}")
            if t.problem:
                show(f"    {t.problem}")
            if args.schema:
                print("    " + json.dumps(t.input_schema))
        return 1 if failed and not tools else 0


def _print_notes(system: ToolSystem) -> None:
    """What a server offered that was refused, and Always policies that stopped holding."""
    for state in system.service.servers():
        for note in state.notes:
            error(f"server '{state.name}' {note}")
    for reset in system.service.policy_notes:
        error(reset.text)


async def _call(args: argparse.Namespace, arguments: dict[str, Any]) -> int:
    from keiko_desktop.core.tools.models import split_name

    try:
        server, _tool = split_name(args.tool)
    except ValueError:
        error(f"'{args.tool}' is not SERVER.TOOL.\n  → For example: keiko mcp call clock.now")
        return 2
    from keiko_desktop.cli.approvals import TerminalApprover
    from keiko_desktop.cli.elicitation import TerminalElicitor
    from keiko_desktop.cli.mcp_sampling import LazyChatModel, TerminalSamplingApprover

    async with (
        LazyChatModel(Paths.from_env()) as model,
        tool_system([server], None, model.get) as system,
    ):
        system.service.approvals.set_approver(TerminalApprover(args.yes))
        system.elicitations.set_elicitor(TerminalElicitor(args.yes))  # a server's questions
        if system.sampling is not None:  # the server may ask Keiko's model to write
            system.sampling.set_approver(TerminalSamplingApprover(args.yes))
        await system.pool.wait_settled(time_limit=SETTLE_SECONDS)
        await system.service.wait_reconciled()
        _print_notes(system)
        if args.timeout is not None:
            system.service.call_timeout = args.timeout
        result = await system.service.call(args.tool, arguments)
        _print_result(result, args.json)
        if not result.ran:
            return 1
        return 1 if result.is_error else 0


async def _policy(args: argparse.Namespace) -> int:
    """Show a tool's policy, or set it (bound to the server and tool as they are now, §2h):
    a headless `keiko tasks worker` has nobody to ask, so tasks need Always."""
    from keiko_desktop.core.tools.models import Policy, split_name

    try:
        server, _tool = split_name(args.tool)
    except ValueError:
        error(f"'{args.tool}' is not SERVER.TOOL.\n  → For example: keiko mcp policy clock.now")
        return 2
    async with tool_system([server]) as system:
        await system.pool.wait_settled(time_limit=SETTLE_SECONDS)
        await system.service.wait_reconciled()
        _print_notes(system)
        try:
            spec = system.service.registry.get(args.tool)
        except KeikoError as exc:
            error(exc)
            return 2
        if args.policy is not None:
            await system.service.set_policy(args.tool, Policy(args.policy))
        show(f"{one_line(args.tool)}: {system.service.policy_for(spec).value}")
        return 0


def _print_result(result: ToolResult, as_json: bool) -> None:
    if as_json:
        print(
            json.dumps(
                {
                    "text": result.text,
                    "is_error": result.is_error,
                    "decision": result.decision,
                    "duration": result.duration,
                    "structured": result.structured,
                },
                indent=2,
                default=str,
            )
        )
    elif result.is_error:
        error(result.text)
    else:
        show(result.text)


def _import(args: argparse.Namespace) -> int:
    from keiko_desktop.mcp_tools.config_changes import import_config_file

    paths = Paths.from_env()
    try:
        outcome = import_config_file(
            paths, args.file, replace_existing=args.replace, keep_plain_secrets=args.plain_secrets
        )
    except KeikoError as exc:
        error(exc)
        return 1
    path, added, skipped = outcome.path, outcome.added_names, outcome.skipped
    moved, plain, changed = outcome.moved, outcome.plain, outcome.changed
    print(f"Imported {len(added)} server(s) into {path}: {', '.join(added) or 'none'}")
    if skipped:
        print(f"Skipped (already configured; use --replace): {', '.join(skipped)}")
    if moved:
        print(f"Secrets moved to the system keychain: {', '.join(moved)}")
    if plain:
        print(f"Note: these secrets stay in plain text in {path}: {', '.join(plain)}")
    for name in changed:
        print(
            f"Note: '{name}' is now a different server (command, arguments, environment names "
            "or URL); tools you set to Always for it will ask again."
        )
    return 0
