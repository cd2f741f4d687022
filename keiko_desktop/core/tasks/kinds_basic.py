"""The simplest kinds: a reminder, and one call of an MCP tool; and what every kind shares.

``reminder`` returns its text at once: it is what a schedule shows at its time, and the no-op
kind the benchmarks use, so it does nothing else (no progress, no service). ``tool`` calls
``ToolService.call``, the one door chat and agents use too, so the tool's policy, approval,
argument validation and audit all apply. A task has no one to ask when it runs in ``keiko tasks
worker``: an Ask tool is denied there (the broker has no approver), and the error says that
setting the tool to Always lets tasks use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import printable
from keiko_desktop.core.tasks.errors import TaskError, TaskParamError
from keiko_desktop.core.tasks.kinds import Done, Param, TaskContext, TaskKind
from keiko_desktop.core.tasks.records import MAX_ERROR, MAX_RESULT
from keiko_desktop.core.tools.models import tool_name_problem

MAX_REMINDER = 4_000
MAX_TOOL_NAME = 128
ALWAYS_HINT = (
    "Set the tool to Always in Settings > Tools (or `keiko mcp policy SERVER.TOOL always`)"
    " to let tasks use it."
)


def cut_result(text: str) -> str:
    """``text`` as a task's result: at most ``MAX_RESULT`` characters, saying what was cut."""
    if len(text) <= MAX_RESULT:
        return text
    keep = MAX_RESULT - 80
    return text[:keep] + f"\n[{len(text) - keep:,} more characters were cut]"


def task_error(error: KeikoError, prefix: str = "") -> TaskError:
    """``error`` (an agent's, a model's, a plan's) as the task's error, hint kept."""
    if isinstance(error, TaskError) and not prefix:
        return error
    return TaskError(f"{prefix}{error.message}", error.hint)


# ---------------------------------------------------------------------- reminder
async def run_reminder(_ctx: TaskContext, params: Mapping[str, Any]) -> Done:
    return Done(result=params["text"])


REMINDER = TaskKind(
    "reminder",
    "Reminder",
    "Shows a note when it runs; give it a time or a schedule.",
    run_reminder,
    params=(
        Param(
            "text",
            "text",
            "Text",
            help="What to be reminded of.",
            max_length=MAX_REMINDER,
            multiline=True,
        ),
    ),
    max_attempts=1,
)


# ---------------------------------------------------------------------- tool
def _check_tool_names(params: Mapping[str, Any]) -> None:
    server, tool = params["server"].strip(), params["tool"].strip()
    if not server or "." in server or tool_name_problem(server) is not None:
        raise TaskParamError(
            "server",
            f"{server!r} is not a server name",
            "Give the server's name as `keiko mcp list` shows it (no dots).",
        )
    problem = tool_name_problem(tool)
    if problem is not None:
        raise TaskParamError("tool", f"{tool!r} is not a tool name: {problem}")


async def run_tool(ctx: TaskContext, params: Mapping[str, Any]) -> Done:
    server = params["server"].strip()
    name = f"{server}.{params['tool'].strip()}"
    arguments = dict(params.get("arguments") or {})
    ctx.progress(5, "starting the tools")
    service = await ctx.services.tools() if ctx.services.tools is not None else None
    if service is None:
        raise TaskError(
            "The tool system is not running.",
            "Check the servers with `keiko mcp list`, or use Settings > Tools.",
        )
    from keiko_desktop.core.tools.errors import ToolNotFoundError

    ctx.progress(20, f"calling {name}")
    try:
        result = await service.call(name, arguments)
    except ToolNotFoundError as error:
        known = server in service.registry.servers() and service.registry.is_enabled(server)
        field = "tool" if known else "server"
        raise TaskParamError(field, f"{name}: {error.message}", error.hint) from None
    if result.is_error:
        text = printable(result.text.strip() or "it gave no reason")
        text = text[: MAX_ERROR - 200] + ("…" if len(text) > MAX_ERROR - 200 else "")
        if result.decision in ("denied", "timed_out"):
            raise TaskError(text, ALWAYS_HINT)
        if result.decision == "blocked":
            raise TaskError(text, "Change its policy in Settings > Tools.")
        if result.decision == "invalid":
            raise TaskParamError(
                "arguments", text, "See the tool's parameters in Settings > Tools."
            )
        raise TaskError(f"{name} failed: {text}")
    ctx.progress(100, "done")
    return Done(result=cut_result(result.text))


TOOL = TaskKind(
    "tool",
    "Call a tool",
    "Calls one tool of an MCP server with the given arguments; its answer is the result.",
    run_tool,
    params=(
        Param("server", "text", "Server", help="The server, e.g. clock.", max_length=MAX_TOOL_NAME),
        Param("tool", "text", "Tool", help="The tool, e.g. now.", max_length=MAX_TOOL_NAME),
        Param(
            "arguments",
            "json",
            "Arguments",
            required=False,
            default={},
            help='A JSON object, e.g. {"timezone": "Europe/Berlin"}.',
        ),
    ),
    extra_check=_check_tool_names,
)
