"""`keiko agents run | plan | resume | runs`: run an agent (its answer streams to stdout), run a
plan (one line per step change on stderr, the report on stdout), list and show runs.

Ctrl+C during a run cancels it: the run is stored as cancelled and the command exits 130 (a
second Ctrl+C stops at once). ``--json`` prints one JSON object instead, with the trace.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import signal
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from keiko_desktop.cli.agents import (
    BAD_INPUT,
    MARKS,
    agents_core,
    checkpoint_json,
    dump,
    read_input_file,
)
from keiko_desktop.cli.common import error, show
from keiko_desktop.core.agents.errors import AgentError, PlanError
from keiko_desktop.core.agents.events import RunChanged
from keiko_desktop.core.agents.plan import Checkpoint, Plan, plan_from_json
from keiko_desktop.core.agents.records import RunKind, RunRecord, RunStatus
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line, printable

if TYPE_CHECKING:
    from keiko_desktop.core.agents.handles import RunHandle, RunOutcome
    from keiko_desktop.core.agents.service import AgentService

EXIT_CODES: dict[RunStatus, int] = {"completed": 0, "failed": 1, "cancelled": 130}
POLL_SECONDS = 1.0
"""A plan run's progress is read on every ``RunChanged`` and at least this often."""


def note(line: str) -> None:
    """A progress line on stderr (escaped: it quotes agents, steps and errors)."""
    print(printable(line), file=sys.stderr, flush=True)


@contextlib.contextmanager
def ctrl_c_cancels(handle: RunHandle) -> Iterator[None]:
    """While a run goes, the first Ctrl+C cancels it (it ends as ``cancelled``); after that,
    Ctrl+C is what it was before."""
    loop = asyncio.get_running_loop()
    previous = signal.getsignal(signal.SIGINT)

    def restore() -> None:
        loop.remove_signal_handler(signal.SIGINT)
        with contextlib.suppress(TypeError, ValueError):
            signal.signal(signal.SIGINT, previous)

    def cancel() -> None:
        note("Stopping the run…")
        handle.cancel()
        restore()

    try:
        loop.add_signal_handler(signal.SIGINT, cancel)
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, not the main thread
        yield
        return
    try:
        yield
    finally:
        restore()


def _exit_code(outcome: RunOutcome) -> int:
    return EXIT_CODES.get(outcome.status, 130)  # interrupted: stopped from outside


async def run_agent(args: argparse.Namespace) -> int:
    from keiko_desktop.cli.chat import question_text

    try:
        prompt = question_text(args.prompt)  # before the core: a bad prompt writes nothing
    except KeikoError as exc:
        error(exc)
        return BAD_INPUT
    async with agents_core(
        model=True, approve=True, tools=args.tools, assume_yes=args.yes
    ) as service:
        try:
            name = (await service.get_agent(args.name)).name
            run = service.start_run(name, prompt)
            with ctrl_c_cancels(run):
                async for piece in run:
                    if not args.json:
                        sys.stdout.write(printable(piece))  # the model's text is not Keiko's
                        sys.stdout.flush()
                outcome = await run.result()
        except AgentError as exc:  # no such agent, an empty or too long prompt: nothing ran
            error(exc)
            return BAD_INPUT
        if args.json:
            dump({**_outcome_json(outcome), "agent": name, "spans": await _spans(service, outcome)})
        else:
            sys.stdout.write("\n")
        _say_end(outcome, run.kind)
        return _exit_code(outcome)


async def run_plan(args: argparse.Namespace) -> int:
    goal = " ".join(args.goal).strip()
    plan: Plan | None = None
    if args.file is not None:
        text = read_input_file(args.file)
        if text is None:
            return BAD_INPUT
        try:
            plan = plan_from_json(text, goal)
        except PlanError as exc:
            error(f"{args.file}: {exc}")
            return BAD_INPUT
    elif not goal:
        error('say what the plan is for: keiko agents plan "GOAL" (or --file PLAN.json).')
        return BAD_INPUT
    tools = bool(args.tools and args.run)
    needs_model = plan is None or args.run
    async with agents_core(
        model=needs_model, approve=args.run, tools=tools, assume_yes=args.yes
    ) as service:
        if plan is None:
            plan = await service.propose_plan(goal, seed=args.seed)  # PlanError: exit 1
        try:
            plan = await service.check(plan)  # a bad plan is bad input, and starts no run
        except PlanError as exc:
            error(f"{args.file}: {exc}" if args.file else exc)
            return BAD_INPUT
        if not args.run:
            dump(plan.to_dict())
            return 0
        handle = service.start_plan(plan)
        note(f"Plan: {one_line(plan.goal, 300)}" if plan.goal else "Plan:")
        for step in plan.steps:
            after = f" (after {', '.join(step.depends_on)})" if step.depends_on else ""
            note(f"  {step.id} {step.agent}{after}: {one_line(step.instruction, 160)}")
        return await _follow(service, handle, args.json)


async def resume_run(args: argparse.Namespace) -> int:
    async with agents_core(
        model=True, approve=True, tools=args.tools, assume_yes=args.yes
    ) as service:
        handle = service.resume(args.run_id)
        return await _follow(service, handle, args.json, resumed=args.run_id)


async def run_batch(args: argparse.Namespace) -> int:
    inputs = list(args.input)
    if args.folder is not None:
        from keiko_desktop.core.agents.batch import folder_inputs

        try:
            found = await folder_inputs(args.folder, args.pattern)
        except AgentError as exc:
            error(exc)
            return BAD_INPUT
        for name, why in found.skipped:
            note(f"Skipped {one_line(name, 200)}: {why}.")
        inputs += found.inputs
    if not inputs:
        error("give the inputs: --folder DIR, or --input TEXT (as often as needed).")
        return BAD_INPUT
    async with agents_core(
        model=True, approve=True, tools=args.tools, assume_yes=args.yes
    ) as service:
        handle = service.start_batch(
            args.name, inputs, instruction=args.instruction, concurrency=args.concurrency
        )
        note(f"{len(inputs)} inputs for {one_line(args.name, 64)}.")
        return await _follow(service, handle, args.json)


async def _follow(
    service: AgentService, handle: RunHandle, as_json: bool, resumed: int | None = None
) -> int:
    """Follow a plan run to its end: progress on stderr, the report (or JSON) on stdout."""
    progress = _Progress(service)
    try:
        with ctrl_c_cancels(handle):
            try:
                run_id = await handle.run_id()
            except AgentError as exc:  # not resumable, or a bad plan: nothing ran
                error(exc)
                return BAD_INPUT
            if resumed is not None:
                note(f"Resuming run #{resumed} as run #{run_id}.")
                old = await service.get_run(resumed)
                if old is not None:
                    progress.kept(old)
            watcher = asyncio.get_running_loop().create_task(progress.watch(run_id))
            try:
                outcome = await handle.result()
            finally:
                progress.stop()
                watcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher
    finally:
        progress.close()
    progress.show(outcome.checkpoint)
    if as_json:
        dump({**_outcome_json(outcome), "spans": await _spans(service, outcome)})
    else:
        show(outcome.report)
        if outcome.text:
            show(f"\n{outcome.text}")
    _say_end(outcome, handle.kind)
    return _exit_code(outcome)


class _Progress:
    """Prints one stderr line per step state change of a run, read from its stored
    checkpoint whenever a ``RunChanged`` names the run (and every ``POLL_SECONDS``)."""

    def __init__(self, service: AgentService) -> None:
        self._service = service
        self._events: asyncio.Queue[RunChanged] = asyncio.Queue()
        self._states: dict[str, tuple[str, int, str | None]] = {}
        self._agents: dict[str, str] = {}
        self._stopped = False
        service.bus.subscribe(RunChanged, self._on_bus_run_changed)

    def _on_bus_run_changed(self, event: RunChanged) -> None:
        self._events.put_nowait(event)

    def close(self) -> None:
        self._service.bus.unsubscribe(RunChanged, self._on_bus_run_changed)

    def kept(self, resumed: RunRecord) -> None:
        """Say which steps of the run being resumed are done already (they are not redone)."""
        self._know(resumed)
        for step_id in sorted(resumed.checkpoint.done(), key=self._order):
            state = resumed.checkpoint.state(step_id)
            self._states[step_id] = (state.status, state.attempts, state.error)
            note(f"{self._label(step_id, 'done')}: done before, kept")

    async def watch(self, run_id: int) -> None:
        """Until ``stop``: print what changed, after each event about the run or a poll."""
        while not self._stopped:
            record = await self._service.get_run(run_id)
            if record is not None:
                self._know(record)
                self.show(record.checkpoint)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(POLL_SECONDS):
                    while True:  # until an event about this run (or the poll's time)
                        if (await self._events.get()).run_id == run_id:
                            break
            while not self._events.empty():
                self._events.get_nowait()

    def stop(self) -> None:
        self._stopped = True

    def show(self, checkpoint: Checkpoint) -> None:
        """Print each step whose state differs from the one printed last."""
        for step_id in sorted(checkpoint.steps, key=self._order):
            state = checkpoint.state(step_id)
            key = (state.status, state.attempts, state.error)
            if state.status == "pending" or self._states.get(step_id) == key:
                continue
            self._states[step_id] = key
            label = self._label(step_id, state.status)
            tries = f"{state.attempts} attempt{'s' * (state.attempts != 1)}"
            if state.status == "running" and state.error:
                note(f"{label}: attempt {state.attempts} failed: {state.error}; trying again")
            elif state.status == "running":
                note(f"{label}: running" + (f" (attempt {state.attempts})" * (state.attempts > 1)))
            elif state.status == "failed":
                note(f"{label}: failed after {tries}: {state.error or '?'}")
            elif state.status == "skipped" and state.error:
                note(f"{label}: skipped ({state.error})")
            else:
                note(f"{label}: {state.status}")

    def _know(self, record: RunRecord) -> None:
        if record.plan is not None:
            self._agents = {s.id: s.agent for s in record.plan.steps}

    def _label(self, step_id: str, status: str) -> str:
        agent = self._agents.get(step_id)
        return f"{MARKS.get(status, ' ')} {step_id}" + (f" ({agent})" if agent else "")

    def _order(self, step_id: str) -> tuple[int, str]:
        ids = list(self._agents)
        return (ids.index(step_id) if step_id in ids else len(ids), step_id)


def _say_end(outcome: RunOutcome, kind: RunKind) -> None:
    if outcome.status == "failed":
        error(outcome.error or "the run failed")
    elif outcome.status in ("cancelled", "interrupted"):
        then = f"; `keiko agents resume {outcome.run_id}` goes on with it" * (kind != "agent")
        error(f"run #{outcome.run_id} {outcome.status}{then}")


def _outcome_json(outcome: RunOutcome) -> dict[str, Any]:
    return {
        "run_id": outcome.run_id,
        "status": outcome.status,
        "text": outcome.text,
        "error": outcome.error,
        "report": outcome.report,
        "checkpoint": checkpoint_json(outcome.checkpoint),
    }


async def _spans(service: AgentService, outcome: RunOutcome) -> list[dict[str, Any]]:
    return [dataclasses.asdict(s) for s in await service.spans(outcome.run_id)]
