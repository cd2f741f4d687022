"""The `keiko` command. No arguments opens the window; subcommands share the same core."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence

from keiko_desktop import __version__
from keiko_desktop.core.instance_protocol import MAX_ATTACHMENTS as MAX_ATTACH


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keiko", description="Keiko Desktop: a local-first AI assistant."
    )
    parser.add_argument("--version", action="version", version=f"keiko {__version__}")
    parser.add_argument(
        "--selftest",
        action="store_true",
        help="run every part once (model, database, MCP tool, speech both ways, the window "
        "offscreen) in a temporary home; exit 0 only if all pass",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="ask one question; the answer streams to stdout")
    ask.add_argument("question", nargs="+", help="the question (quote it, or give several words)")
    ask.add_argument("--json", action="store_true", help="print one JSON object instead")
    ask.add_argument(
        "--model", default=None, help="model name, GGUF path, or ENDPOINT/MODEL (a remote model)"
    )
    ask.add_argument("--conversation", type=int, default=None, help="continue this conversation")
    ask.add_argument("--temperature", type=float, default=None)
    ask.add_argument("--max-tokens", type=int, default=None)
    ask.add_argument(
        "--tools", action="store_true", help="let the model call tools (MCP servers, built-ins)"
    )
    ask.add_argument("--yes", action="store_true", help="with --tools: approve Ask tools")
    ask.add_argument(
        "--attach",
        action="append",
        metavar="FILE",
        help=f"attach a file to the question (repeat for more, at most {MAX_ATTACH})",
    )
    ask.add_argument(
        "--gui",
        action="store_true",
        help="ask in the window (the running Keiko's, or a new one) instead of here",
    )

    quick = sub.add_parser(
        "quick",
        help="open Quick ask in the running Keiko (asking the question, if given)",
        description="Opens Quick ask in the running Keiko, asking the question if one is "
        "given. When Keiko is not running: with a question, answers here like `keiko ask`; "
        "without one, starts Keiko with Quick ask open.",
    )
    quick.add_argument("question", nargs="*", help="the question (optional)")

    chat = sub.add_parser("chat", help="an interactive chat in the terminal")
    chat.add_argument("--conversation", type=int, default=None, help="continue this conversation")
    chat.add_argument("--model", default=None, help="model name or GGUF path")
    chat.add_argument(
        "--tools",
        action="store_true",
        help="let the model call tools; tools whose policy is Ask are denied here",
    )

    history = sub.add_parser("history", help="list conversations, show one, or search them")
    history.add_argument("conversation", nargs="?", type=int, help="show this conversation")
    history.add_argument("--search", metavar="TEXT", help="full-text search of every message")
    history.add_argument("--json", action="store_true")
    history.add_argument("--limit", type=int, default=50)

    doctor = sub.add_parser("doctor", help="check every part and say how to fix problems")
    doctor.add_argument("--json", action="store_true")
    doctor.add_argument(
        "--probe", action="store_true", help="probe llama.cpp's CPU configurations again"
    )

    from keiko_desktop.cli.agents_args import add_agents_parser
    from keiko_desktop.cli.endpoints_args import add_endpoints_parser
    from keiko_desktop.cli.mcp_args import add_mcp_parser
    from keiko_desktop.cli.models_args import add_models_parser
    from keiko_desktop.cli.serve_args import add_serve_parser
    from keiko_desktop.cli.tasks_args import add_tasks_parser
    from keiko_desktop.cli.voice_args import add_voice_parsers

    add_models_parser(sub)
    add_endpoints_parser(sub)
    add_serve_parser(sub)
    add_mcp_parser(sub)
    add_agents_parser(sub)
    add_tasks_parser(sub)
    add_voice_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _dispatch(build_parser().parse_args(argv))
    finally:
        # Everything is closed by now. Freezing what is left spares the interpreter's last
        # garbage collection over every SQLAlchemy and llama_cpp object at exit: about a
        # tenth of a second of `keiko ask`, for nothing (the OS frees the memory anyway).
        gc.freeze()


def _dispatch(args: argparse.Namespace) -> int:
    command = args.command
    if args.selftest:
        from keiko_desktop.cli.selftest import run_selftest

        return run_selftest()
    if command is None:
        from keiko_desktop.cli.window import open_window

        return open_window()
    if command == "ask" and len(args.attach or ()) > MAX_ATTACH:
        print(
            f"keiko: at most {MAX_ATTACH} files can be attached to one question, not "
            f"{len(args.attach)}",
            file=sys.stderr,
        )
        return 2
    if command == "ask" and args.gui:
        from keiko_desktop.cli.quick import run_ask_gui

        return run_ask_gui(args)
    if command == "quick":
        from keiko_desktop.cli.quick import run_quick

        return run_quick(args)
    if command in ("ask", "chat"):
        from keiko_desktop.cli import chat

        return chat.run_ask(args) if command == "ask" else chat.run_chat(args)
    if command == "history":
        from keiko_desktop.cli.history import run_history

        return run_history(args)
    if command == "doctor":
        from keiko_desktop.cli.doctor import run_doctor

        return run_doctor(args)
    if command == "models":
        from keiko_desktop.cli.models import run_models

        return run_models(args)
    if command == "endpoints":
        from keiko_desktop.cli.endpoints import run_endpoints

        return run_endpoints(args)
    if command == "serve":
        from keiko_desktop.cli.serve import run_serve

        return run_serve(args)
    if command == "mcp":
        from keiko_desktop.cli.mcp import run_mcp

        return run_mcp(args)
    if command == "agents":
        from keiko_desktop.cli.agents import run_agents

        return run_agents(args)
    if command == "tasks":
        from keiko_desktop.cli.tasks import run_tasks

        return run_tasks(args)
    if command in ("say", "transcribe"):
        from keiko_desktop.cli import voice

        return voice.run_say(args) if command == "say" else voice.run_transcribe(args)
    print(f"keiko: unknown command {command}", file=sys.stderr)
    return 2
