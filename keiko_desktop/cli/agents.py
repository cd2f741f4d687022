"""`keiko agents`: list, show, export, import and delete agents; list runs and show one with
its steps and spans. Running an agent or a plan, and resuming one, is ``cli/agents_runs.py``.

Exit codes: 0 done, 1 a run (or Keiko) failed, 2 bad input (an unknown agent or run, an
invalid file or plan), 130 stopped with Ctrl+C. Everything that is not Keiko's own (names,
prompts and descriptions that came from a file, a model's output) is printed escaped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keiko_desktop.cli.common import error, run_async, show
from keiko_desktop.core.agents.errors import AgentError, AgentProfileError
from keiko_desktop.core.agents.plan import Checkpoint
from keiko_desktop.core.agents.profiles import (
    AgentProfile,
    import_json,
    profile_to_dict,
)
from keiko_desktop.core.agents.records import RunRecord, Span
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line

if TYPE_CHECKING:
    from keiko_desktop.core.agents.service import AgentService

BAD_INPUT = 2
MARKS = {"done": "✓", "failed": "✗", "running": "…", "skipped": "·", "cancelled": "■"}
"""How a step's state is shown, in progress lines and in `keiko agents runs ID`."""
MAX_FILE_BYTES = 4 * 1024 * 1024
"""Files (agents, plans) are read up to this size: ``/dev/zero`` ends."""


def run_agents(args: argparse.Namespace) -> int:
    action = args.agents_command or "list"
    if action == "import":
        text = read_input_file(args.file)
        if text is None:
            return BAD_INPUT
        try:
            import_json(text)  # before the database: a bad file writes nothing
        except AgentProfileError as exc:
            error(f"{args.file}: {exc}")
            return BAD_INPUT
        return run_async(lambda: _import(args, text))
    if action == "runs":
        return run_async(lambda: _runs(args))
    if action in ("run", "plan", "resume", "batch"):
        from keiko_desktop.cli import agents_runs

        command = {
            "run": agents_runs.run_agent,
            "plan": agents_runs.run_plan,
            "resume": agents_runs.resume_run,
            "batch": agents_runs.run_batch,
        }[action]
        return run_async(lambda: command(args))
    return run_async(lambda: _profiles(args, action))


def read_input_file(path: Path) -> str | None:
    """The text of a file the user named (bounded); None, after saying why, if unreadable."""
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        error(f"cannot read {path}: {exc.strerror or exc}.")
        return None
    if len(data) > MAX_FILE_BYTES:
        error(f"{path} is over {MAX_FILE_BYTES:,} bytes; is it the right file?")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        error(f"{path} is not UTF-8 text (byte {exc.start + 1}).")
        return None


@asynccontextmanager
async def agents_core(
    *, model: bool, approve: bool = False, tools: bool = False, assume_yes: bool = False
) -> AsyncIterator[AgentService]:
    """The Core (its model loading only when ``model``) and its agent service; closed on exit.
    With ``approve`` the terminal answers Ask tools (``assume_yes``: approved): the service
    starts the tool system on its own for an agent that has tools. ``tools`` starts it now,
    and says so when it cannot."""
    from keiko_desktop.app import build_core
    from keiko_desktop.core.config import Paths, load_settings

    paths = Paths.from_env()
    core = await build_core(paths, load_settings(paths), start_model=model, start_tools=tools)
    try:
        if core.agents is None:
            raise KeikoError("The agents could not start.", "See the log (keiko doctor).")
        if model:
            from keiko_desktop.cli.chat import ModelNotices

            notices = ModelNotices(core)  # noqa: F841 - it prints load failures while alive
        if approve or tools:
            from keiko_desktop.cli.approvals import TerminalApprover
            from keiko_desktop.cli.elicitation import TerminalElicitor

            core.set_approver(TerminalApprover(assume_yes))
            core.set_elicitor(TerminalElicitor(assume_yes))  # a server's questions, too
        if tools:
            from keiko_desktop.cli.chat import TOOLS_SETTLE_SECONDS

            if await core.wait_tools(settle=TOOLS_SETTLE_SECONDS) is None:
                error("the tools could not start; see the log. Running without them.")
        yield core.agents
    finally:
        await core.aclose()


def profile_json(profile: AgentProfile, service: AgentService) -> dict[str, Any]:
    status, detail = service.status(profile.name)
    return {"id": profile.id, **profile_to_dict(profile), "status": status, "detail": detail}


def dump(data: object) -> None:
    """JSON on stdout, every non-ASCII character escaped: nothing in it can drive a terminal,
    and it reads back the same."""
    print(json.dumps(data, indent=2, default=str))


async def _profiles(args: argparse.Namespace, action: str) -> int:
    async with agents_core(model=False) as service:
        try:
            if action == "show":
                return _show(await service.get_agent(args.name), service, args.json)
            if action == "export":
                return await _export(args, service)
            if action == "delete":
                name = (await service.get_agent(args.name)).name
                await service.delete_agent(name)
                show(f"Deleted the agent {name!r}.")
                return 0
        except AgentError as exc:
            error(exc)
            return BAD_INPUT
        agents = await service.list_agents()
        if getattr(args, "json", False):  # `keiko agents` alone has no flags
            dump([profile_json(p, service) for p in agents])
            return 0
        if not agents:
            print("No agents. Import some with `keiko agents import FILE`.")
        for p in agents:
            status, detail = service.status(p.name)
            state = f"{status} ({detail})" if detail and status == "error" else status
            tools = f"{len(p.tools)} tool{'s' * (len(p.tools) != 1)}" if p.tools else "no tools"
            line = f"{p.name:<20} {state:<9} {tools:<9} {p.description}"
            show(one_line(line, 240))
        return 0


def _show(profile: AgentProfile, service: AgentService, as_json: bool) -> int:
    if as_json:
        dump(profile_json(profile, service))
        return 0
    status, detail = service.status(profile.name)
    rows = [
        ("Name", profile.name),
        ("Status", f"{status}: {detail}" if detail else status),
        ("Description", profile.description),
        ("Model", profile.model or "(the chat model)"),
        ("Tools", ", ".join(profile.tools) or "none"),
        ("Temperature", f"{profile.temperature:g}"),
        ("Max tokens", str(profile.max_tokens)),
        ("Max tool calls", str(profile.max_steps)),
        ("Step timeout", f"{profile.step_timeout:g} s"),
        ("Retries", f"{profile.retries} (first after {profile.retry_backoff:g} s)"),
        ("Tags", ", ".join(profile.tags) or "none"),
        ("Icon", profile.icon),
        ("Shipped", "yes" if profile.builtin else "no"),
    ]
    for label, value in rows:
        show(f"{label + ':':<16}{one_line(value, 500)}")
    show("System prompt:")
    for line in (profile.system_prompt or "(none)").splitlines():
        show(f"  {line}")
    return 0


async def _export(args: argparse.Namespace, service: AgentService) -> int:
    names = list(args.names) or None
    if names:
        names = [(await service.get_agent(name)).name for name in names]  # unknown: AgentError
    text = await service.export_agents(names)
    count = len(json.loads(text).get("agents", []))
    if args.out is None:
        dump(json.loads(text))
        return 0
    try:
        args.out.write_text(text, encoding="utf-8")
    except OSError as exc:
        error(f"cannot write {args.out}: {exc.strerror or exc}.")
        return 1
    show(f"Exported {count} agent(s) to {args.out}.")
    return 0


async def _import(args: argparse.Namespace, text: str) -> int:
    async with agents_core(model=False) as service:
        before = {p.name.casefold() for p in await service.list_agents()}
        try:
            imported = await service.import_agents(text, replace=args.replace)
        except AgentProfileError as exc:
            error(f"{args.file}: {exc}")
            return BAD_INPUT
        added = [p.name for p in imported if p.name.casefold() not in before]
        replaced = [p.name for p in imported if p.name.casefold() in before]
        show(f"Imported {len(imported)} agent(s): {', '.join(added) or 'none new'}")
        if replaced:
            show(f"Replaced: {', '.join(replaced)}")
        return 0


def checkpoint_json(checkpoint: Checkpoint) -> dict[str, Any]:
    return {k: dataclasses.asdict(v) for k, v in checkpoint.steps.items()}


def record_json(record: RunRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "kind": record.kind,
        "title": record.title,
        "status": record.status,
        "created_at": record.created_at.isoformat(),
        "updated_at": record.updated_at.isoformat(),
        "agent": record.agent,
        "plan": record.plan.to_dict() if record.plan is not None else None,
        "checkpoint": checkpoint_json(record.checkpoint),
        "result": record.result,
        "error": record.error,
        "resumed_from": record.resumed_from,
    }


async def _runs(args: argparse.Namespace) -> int:
    async with agents_core(model=False) as service:
        if args.run_id is None:
            records = await service.list_runs(limit=args.limit, search=args.search)
            if args.json:
                dump([record_json(r) for r in records])
                return 0
            if not records:
                print("No runs yet. Start one with `keiko agents run` or `keiko agents plan`.")
            for r in records:
                when = r.created_at.strftime("%Y-%m-%d %H:%M")
                who = f"{r.agent}: " if r.agent else ""
                line = f"#{r.id:<5} {when}  {r.kind:<5} {r.status:<11} {who}{r.title}"
                show(one_line(line, 200))
            return 0
        record = await service.get_run(args.run_id)
        if record is None:
            error(f"there is no run {args.run_id}; see `keiko agents runs`")
            return BAD_INPUT
        spans = await service.spans(record.id)
        if args.json:
            dump({**record_json(record), "spans": [dataclasses.asdict(s) for s in spans]})
            return 0
        _print_run(record, spans)
        return 0


def _print_run(record: RunRecord, spans: list[Span]) -> None:
    resumed = f" (resumed from #{record.resumed_from})" if record.resumed_from else ""
    when = record.created_at.strftime("%Y-%m-%d %H:%M:%S")
    show(f"Run #{record.id}  {record.kind}  {record.status}  {when}{resumed}")
    if record.agent:
        show(f"Agent: {one_line(record.agent, 100)}")
    show(f"{'Goal' if record.kind == 'plan' else 'Prompt'}: {one_line(record.title, 500)}")
    if record.plan is not None:
        show("Steps:")
        for step in record.plan.steps:
            state = record.checkpoint.state(step.id)
            after = f" after {', '.join(step.depends_on)}" if step.depends_on else ""
            tries = f", {state.attempts} attempt(s)" if state.attempts else ""
            show(
                one_line(
                    f"  {MARKS.get(state.status, ' ')} {step.id} ({step.agent}){after}: "
                    f"{state.status}{tries}",
                    200,
                )
            )
            show(f"      {one_line(step.instruction, 160)}")
            if state.output:
                show(f"      → {one_line(state.output, 160)}")
            if state.error:
                show(f"      error: {one_line(state.error, 300)}")
    if record.result:
        show(f"Result:\n{record.result}")
    if record.error:
        show(f"Error: {record.error}")
    if spans:
        show("Spans:")
        _print_spans(spans)


def _print_spans(spans: list[Span]) -> None:
    keys = {s.key for s in spans}
    children: dict[str | None, list[Span]] = {}
    for s in spans:
        children.setdefault(s.parent if s.parent in keys else None, []).append(s)

    def walk(parent: str | None, depth: int) -> None:
        for s in children.get(parent, []):
            took = f"{s.duration:.2f} s" if s.duration is not None else "running"
            tokens = (
                f"  {s.prompt_tokens}+{s.completion_tokens} tokens"
                if s.prompt_tokens or s.completion_tokens
                else ""
            )
            detail = f"  {one_line(s.detail, 100)}" if s.detail else ""
            show(
                f"  {'  ' * depth}{s.kind} {one_line(s.name, 80)}  {took}  {s.status}{tokens}"
                f"{detail}"
            )
            if depth < 50:
                walk(s.key, depth + 1)

    walk(None, 0)
