"""The agents' kinds: ask an agent, run an orchestrated goal, an agent over every file of a
folder (one child task per file), and an agent on one file.

Each runs through ``AgentService`` (the door the window and the CLI use), so a task's run is
stored and traced like any other; the task links the run as soon as its id is known, so its
trace shows while it runs. Cancelling the task cancels the run (every step stops within a
second) and waits briefly for it to store that it was cancelled. A file's text reaches the
agent as data, in a ``<document>`` block (``kinds_summary.document_block``), cut where a batch
step is (``agents.batch``). A plan's progress follows its checkpoint: each ``RunChanged`` of
a step makes the task re-read the run and count the steps that are finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keiko_desktop.core.agents.batch import HEADER_ROOM, MAX_FILES, read_folder
from keiko_desktop.core.agents.plan import MAX_GOAL, MAX_INSTRUCTION
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.tasks.defaults import MAX_KEY
from keiko_desktop.core.tasks.errors import TaskError, TaskParamError
from keiko_desktop.core.tasks.kinds import Done, Param, Spawn, TaskContext, TaskKind
from keiko_desktop.core.tasks.kinds_basic import cut_result, task_error
from keiko_desktop.core.tasks.kinds_summary import DATA_NOTE, document_block, read_text_file
from keiko_desktop.core.tasks.records import MAX_NAME, NewTask

if TYPE_CHECKING:
    from keiko_desktop.core.agents.events import RunChanged
    from keiko_desktop.core.agents.handles import AgentRun, RunHandle
    from keiko_desktop.core.agents.service import AgentService

MAX_AGENT_NAME = 64
MAX_PROMPT = 20_000
MAX_PATTERN = 200
FILE_LIMIT = MAX_INSTRUCTION - HEADER_ROOM
"""Characters of a file an agent reads: what a batch step over a folder gets."""
STOP_WAIT = 0.4
"""Seconds a cancelled task waits for its run to store that it was cancelled (the engine
gives a cancelled handler 0.5 s)."""
TRACE_HINT = "See the run's trace (Agents > Runs) for each step."
FINISHED_STEPS = frozenset({"done", "failed", "skipped", "cancelled"})

AGENT = Param("agent", "text", "Agent", help="The agent's name.", max_length=MAX_AGENT_NAME)
PROMPT = Param(
    "prompt",
    "text",
    "Prompt",
    help="What the agent should do.",
    max_length=MAX_PROMPT,
    multiline=True,
)


def _agents(ctx: TaskContext) -> AgentService:
    if ctx.services.agents is None:
        raise TaskError("The agents are not available here.", "Run it from Keiko's window.")
    return ctx.services.agents


async def _check_agent(agents: AgentService, name: str) -> None:
    try:
        await agents.get_agent(name)
    except KeikoError as error:
        raise TaskParamError("agent", error.message, error.hint) from None


def _quiet(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved: the run's own end says what happened


async def _stop(handle: RunHandle) -> None:
    """Cancel the run and give it ``STOP_WAIT`` seconds to store its end."""
    handle.cancel()
    ending = asyncio.ensure_future(handle.result())
    ending.add_done_callback(_quiet)
    await asyncio.wait({ending}, timeout=STOP_WAIT)


async def _run_id(handle: RunHandle) -> int:
    """The run's id; TaskError when the run ended before it was stored (an unknown agent, a
    plan that does not hold)."""
    try:
        return await handle.run_id()
    except KeikoError as error:
        with contextlib.suppress(Exception):
            await handle.result()  # the same error, retrieved
        raise task_error(error) from None


def _failure(name: str, status: str, error: str | None) -> TaskError:
    reason = error or f"the run was {status}"
    return TaskError(f"{name}: {reason}", TRACE_HINT)


async def follow_run(ctx: TaskContext, handle: AgentRun, name: str) -> Done:
    """Follow an agent's run (an ``AgentRun``) to its answer, as the task's result."""
    ctx.progress(5, f"asking {name}")
    try:
        run_id = await _run_id(handle)
        await ctx.link_run(run_id)
        answering = False
        async for _piece in handle:
            if not answering:
                ctx.progress(10, f"{name} is answering")
                answering = True
        outcome = await handle.result()
    except asyncio.CancelledError:
        await _stop(handle)
        raise
    if outcome.status != "completed":
        raise _failure(name, outcome.status, outcome.error)
    ctx.progress(100, "done")
    return Done(result=cut_result(outcome.text), run_id=run_id)


# ---------------------------------------------------------------------- agent
async def run_agent(ctx: TaskContext, params: Mapping[str, Any]) -> Done:
    agents = _agents(ctx)
    name = params["agent"].strip()
    await _check_agent(agents, name)
    return await follow_run(ctx, agents.start_run(name, params["prompt"]), name)


# ---------------------------------------------------------------------- goal
async def run_goal(ctx: TaskContext, params: Mapping[str, Any]) -> Done:
    agents = _agents(ctx)
    ctx.progress(2, "planning")
    try:
        plan = await agents.propose_plan(params["goal"])
    except KeikoError as error:
        raise task_error(error, "No plan could be made: ") from None
    total = len(plan.steps)
    ctx.progress(10, f"planned {total} step{'s' if total != 1 else ''}")
    from keiko_desktop.core.agents.events import RunChanged

    changed = asyncio.Event()
    ours: list[int] = []

    def on_run_changed(event: RunChanged) -> None:
        if event.step is not None and (not ours or event.run_id == ours[0]):
            changed.set()

    agents.bus.subscribe(RunChanged, on_run_changed)
    handle = agents.start_plan(plan)
    ending: asyncio.Future[Any] | None = None
    try:
        run_id = await _run_id(handle)
        ours.append(run_id)
        await ctx.link_run(run_id)
        ending = asyncio.ensure_future(handle.result())
        while not ending.done():
            waiter = asyncio.ensure_future(changed.wait())
            try:
                await asyncio.wait({ending, waiter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()
            if changed.is_set():
                changed.clear()
                record = await agents.get_run(run_id)
                if record is not None:
                    finished = sum(
                        1
                        for s in plan.steps
                        if record.checkpoint.state(s.id).status in FINISHED_STEPS
                    )
                    ctx.progress(10 + 85 * finished / total, f"{finished} of {total} steps done")
        outcome = ending.result()
    except asyncio.CancelledError:
        await _stop(handle)
        raise
    finally:
        agents.bus.unsubscribe(RunChanged, on_run_changed)
        if ending is not None and not ending.done():
            ending.cancel()
    if outcome.status != "completed":
        raise _failure("The plan", outcome.status, outcome.error)
    ctx.progress(100, "done")
    return Done(result=cut_result(outcome.text), run_id=run_id)


# ---------------------------------------------------------------------- folders and files
def _text_files(folder: Path, pattern: str) -> tuple[list[str], list[tuple[str, str]]]:
    """The names of the text files directly in ``folder`` matching ``pattern``, and those
    skipped (why), as a batch over the folder reads them (blocking: call it in a thread)."""
    try:
        exists, is_dir = folder.exists(), folder.is_dir()
    except OSError:
        exists = is_dir = False
    if not exists:
        raise TaskParamError("folder", f"there is no folder {folder}", "Check the path.")
    if not is_dir:
        raise TaskParamError("folder", f"{folder} is a file, not a folder", "Choose a folder.")
    try:
        found = read_folder(folder, pattern, MAX_FILES)
    except KeikoError as error:
        raise TaskParamError("folder", error.message, error.hint) from None
    return found.names, found.skipped


def file_key(task_id: int, path: Path) -> str:
    """The idempotency key of a folder task's child for ``path``: the path itself, or its
    digest when the key would be too long, so a retried folder task adds no file twice."""
    key = f"task:{task_id}:file:{path}"
    if len(key) <= MAX_KEY:
        return key
    return f"task:{task_id}:file-sha256:{hashlib.sha256(os.fsencode(path)).hexdigest()}"


async def run_agent_folder(ctx: TaskContext, params: Mapping[str, Any]) -> Spawn:
    agents = _agents(ctx)
    name = params["agent"].strip()
    await _check_agent(agents, name)
    folder = Path(params["folder"])
    ctx.progress(5, f"listing {folder.name or folder}")
    names, skipped = await asyncio.to_thread(_text_files, folder, params["pattern"])
    task = ctx.task
    children = [
        NewTask(
            kind="agent_file",
            name=f"{name}: {file}"[:MAX_NAME],
            params={"agent": name, "file": str(folder / file), "prompt": params["prompt"]},
            idempotency_key=file_key(task.id, folder / file),
            parent_id=task.id,
            priority=task.priority,
        )
        for file in names
    ]
    summary = f"{name} over {len(children)} file{'s' if len(children) != 1 else ''} of {folder}"
    if skipped:
        shown = ", ".join(f"{file} ({why})" for file, why in skipped[:10])
        more = len(skipped) - 10
        summary += f"; not read: {shown}" + (f" and {more} more" if more > 0 else "")
    return Spawn(children, summary)


def file_prompt(prompt: str, name: str, text: str, cut: bool) -> str:
    """The prompt of an agent on a file: the user's prompt, then the file as data."""
    note = f"\n\n(Only the first {len(text):,} characters of the file are shown.)" if cut else ""
    body = text if text.strip() else "(the file is empty)"
    return f"{prompt}\n\n{DATA_NOTE}\n\n{document_block(name, body)}{note}"


async def run_agent_file(ctx: TaskContext, params: Mapping[str, Any]) -> Done:
    agents = _agents(ctx)
    name = params["agent"].strip()
    path = Path(params["file"])
    await _check_agent(agents, name)
    # A child of a folder task reads a file that was listed as no link: a link swapped in
    # since is refused, never followed out of the folder. A file the user named is taken as
    # they gave it.
    follow = ctx.task.parent_id is None
    ctx.progress(2, f"reading {path.name}")
    file = await asyncio.to_thread(read_text_file, path, FILE_LIMIT, follow=follow)
    prompt = file_prompt(params["prompt"], file.name, file.text, file.cut)
    return await follow_run(ctx, agents.start_run(name, prompt), name)


AGENT_KIND = TaskKind(
    "agent",
    "Ask an agent",
    "Runs one agent on a prompt; its answer is the result and its run is traced.",
    run_agent,
    params=(AGENT, PROMPT),
)
GOAL = TaskKind(
    "goal",
    "Run a goal",
    "Has the agents plan the steps toward a goal, then runs the plan.",
    run_goal,
    params=(
        Param(
            "goal",
            "text",
            "Goal",
            help="What the agents should achieve.",
            max_length=MAX_GOAL,
            multiline=True,
        ),
    ),
)
AGENT_FOLDER = TaskKind(
    "agent_folder",
    "Agent on each file of a folder",
    "Runs an agent on every text file of a folder, one task per file.",
    run_agent_folder,
    params=(
        AGENT,
        Param("folder", "folder", "Folder", help="The folder whose files the agent reads."),
        PROMPT,
        Param(
            "pattern",
            "text",
            "Files",
            required=False,
            default="*",
            max_length=MAX_PATTERN,
            help="Which files, e.g. *.md (default: all).",
        ),
    ),
)
AGENT_FILE = TaskKind(
    "agent_file",
    "Agent on a file",
    "Runs an agent on a prompt with a text file's contents.",
    run_agent_file,
    params=(AGENT, Param("file", "path", "File", help="The text file to read."), PROMPT),
)
