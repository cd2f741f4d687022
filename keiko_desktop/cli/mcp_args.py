"""The arguments of `keiko mcp ...`: built without importing anything of the tools, so every
other command (`keiko ask` above all) starts without them."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def add_mcp_parser(sub: Any) -> None:
    """Register ``keiko mcp ...`` on the top-level subparsers."""
    mcp = sub.add_parser("mcp", help="MCP tool servers: list, tools, call, import")
    actions = mcp.add_subparsers(dest="mcp_command", metavar="ACTION")
    listing = actions.add_parser("list", help="configured servers and their status (default)")
    listing.add_argument("--json", action="store_true")
    tools = actions.add_parser("tools", help="the tools of one server, or of all")
    tools.add_argument("server", nargs="?", help="a configured server's name")
    tools.add_argument("--url", help="an ad-hoc streamable HTTP server")
    tools.add_argument("--stdio", metavar="CMD", help='an ad-hoc stdio server, e.g. "uvx x"')
    tools.add_argument("--schema", action="store_true", help="print each tool's input schema")
    tools.add_argument("--json", action="store_true")
    call = actions.add_parser("call", help="call SERVER.TOOL with JSON arguments")
    call.add_argument("tool", metavar="SERVER.TOOL")
    call.add_argument("--args", default="{}", help="the arguments as a JSON object")
    call.add_argument(
        "--yes",
        action="store_true",
        help=(
            "approve a tool whose policy is Ask and its server's sampling; accept a server's "
            "questions with their defaults"
        ),
    )
    call.add_argument("--timeout", type=float, default=None, help="seconds to wait for it")
    call.add_argument("--json", action="store_true")
    policy = actions.add_parser(
        "policy", help="show or set a tool's policy (always, ask, never), e.g. for tasks"
    )
    policy.add_argument("tool", metavar="SERVER.TOOL")
    policy.add_argument("policy", nargs="?", choices=("always", "ask", "never"))
    for action, text in (("login", "sign in to a remote server (OAuth)"), ("logout", "sign out")):
        sign = actions.add_parser(action, help=text)
        sign.add_argument("server", metavar="SERVER", help="a configured HTTP server's name")
    from keiko_desktop.cli.mcp_resources import add_resource_parsers

    add_resource_parsers(actions)
    sampling = actions.add_parser(
        "sampling", help="show or set whether a server may use Keiko's model (always, ask, never)"
    )
    sampling.add_argument("server", metavar="SERVER")
    sampling.add_argument("policy", nargs="?", choices=("always", "ask", "never"))
    imp = actions.add_parser("import", help="import servers from a Claude/Cursor/VS Code file")
    imp.add_argument("file", type=Path)
    imp.add_argument("--replace", action="store_true", help="overwrite servers of the same name")
    imp.add_argument(
        "--plain-secrets",
        action="store_true",
        help="keep tokens and keys in mcp.json instead of moving them to the keychain",
    )
