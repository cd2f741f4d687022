"""The arguments of `keiko agents ...`: built without importing the agents, the model or the
tools, so every other command starts without them."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def add_agents_parser(sub: Any) -> None:
    """Register ``keiko agents ...`` on the top-level subparsers."""
    agents = sub.add_parser(
        "agents",
        help="agents: list, show, run, plan, batch, runs, resume, export, import, delete",
    )
    actions = agents.add_subparsers(dest="agents_command", metavar="ACTION")

    listing = actions.add_parser("list", help="the agents and their status (default)")
    listing.add_argument("--json", action="store_true")

    show = actions.add_parser("show", help="one agent's profile in full")
    show.add_argument("name", help="the agent's name (quote it)")
    show.add_argument("--json", action="store_true")

    export = actions.add_parser("export", help="write agents to a JSON file (all: no names)")
    export.add_argument("names", nargs="*", metavar="NAME", help="the agents to export")
    export.add_argument("--out", type=Path, default=None, help="the file (default: stdout)")

    imp = actions.add_parser("import", help="import agents from a file made by export")
    imp.add_argument("file", type=Path)
    imp.add_argument("--replace", action="store_true", help="overwrite agents of the same name")

    delete = actions.add_parser("delete", help="delete an agent")
    delete.add_argument("name")

    run = actions.add_parser("run", help="run an agent on a prompt; the answer streams to stdout")
    run.add_argument("name", help="the agent's name (quote it)")
    run.add_argument("prompt", nargs="+", help="the prompt (quote it, or give several words)")
    run.add_argument("--json", action="store_true", help="print one JSON object with the trace")
    _tool_flags(run)

    plan = actions.add_parser(
        "plan", help="propose a plan for a goal and print it as JSON; --run executes it"
    )
    plan.add_argument("goal", nargs="*", help="the goal (not needed with --file)")
    plan.add_argument(
        "--file", type=Path, default=None, help="a plan in JSON (e.g. one printed and edited)"
    )
    plan.add_argument("--run", action="store_true", help="execute the plan")
    plan.add_argument("--seed", type=int, default=None, help="seed of the coordinator model")
    plan.add_argument("--json", action="store_true", help="with --run: print the outcome as JSON")
    _tool_flags(plan)

    batch = actions.add_parser(
        "batch", help="run one agent over every text file of a folder (or over --input texts)"
    )
    batch.add_argument("name", help="the agent's name (quote it)")
    batch.add_argument("--folder", type=Path, default=None, help="one input per text file")
    batch.add_argument("--pattern", default="*", help="with --folder: which files (e.g. '*.md')")
    batch.add_argument(
        "--input", action="append", default=[], metavar="TEXT", help="an input (repeatable)"
    )
    batch.add_argument(
        "--instruction", default="", help="what to do with each input (put before it)"
    )
    batch.add_argument(
        "--concurrency", type=_concurrency, default=None, help="inputs at once (1 to 16)"
    )
    batch.add_argument("--json", action="store_true", help="print the outcome as JSON")
    _tool_flags(batch)

    runs = actions.add_parser("runs", help="list runs, or show one with its steps and spans")
    runs.add_argument("run_id", nargs="?", type=int, metavar="ID", help="show this run")
    runs.add_argument("--search", metavar="TEXT", default="", help="runs whose text has TEXT")
    runs.add_argument("--limit", type=int, default=50)
    runs.add_argument("--json", action="store_true")

    resume = actions.add_parser(
        "resume", help="resume an interrupted, failed or cancelled plan run (done steps stay)"
    )
    resume.add_argument("run_id", type=int, metavar="ID")
    resume.add_argument("--json", action="store_true", help="print the outcome as JSON")
    _tool_flags(resume)


def _concurrency(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 16:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 16")
    return value


def _tool_flags(parser: Any) -> None:
    parser.add_argument(
        "--tools", action="store_true", help="let the agents call their tools (MCP servers)"
    )
    parser.add_argument("--yes", action="store_true", help="with --tools: approve Ask tools")
