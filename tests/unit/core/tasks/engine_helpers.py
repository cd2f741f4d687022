"""Kinds for the engine's tests (the engine is the subject, not the kinds) and a service over
the real database."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from typing import Any

from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.errors import TaskError
from keiko_desktop.core.tasks.kinds import (
    Done,
    Outcome,
    Param,
    TaskContext,
    TaskKind,
    TaskKinds,
    TaskServices,
)
from keiko_desktop.core.tasks.service import TaskService
from keiko_desktop.store import Database


class Ledger:
    """What the test kinds did: each run of each task, in order."""

    def __init__(self) -> None:
        self.runs: list[int] = []
        self.gate = asyncio.Event()
        self.failures: dict[int, int] = {}


def test_kinds(ledger: Ledger) -> TaskKinds:
    async def note(ctx: TaskContext, params: Mapping[str, Any]) -> Outcome:
        ledger.runs.append(ctx.task.id)
        return Done(params["text"])

    async def sleep(ctx: TaskContext, params: Mapping[str, Any]) -> Outcome:
        ledger.runs.append(ctx.task.id)
        steps = 20
        for i in range(steps):
            ctx.progress(100 * i / steps, f"step {i}")
            await asyncio.sleep(params["seconds"] / steps)
        return Done("slept")

    async def stubborn(ctx: TaskContext, params: Mapping[str, Any]) -> Outcome:
        """Ignores cancellation (a handler stuck in a thread)."""
        ledger.runs.append(ctx.task.id)
        await asyncio.to_thread(ctx.cancel_event.wait, params["seconds"])
        return Done("ignored")

    async def flaky(ctx: TaskContext, params: Mapping[str, Any]) -> Outcome:
        ledger.runs.append(ctx.task.id)
        failed = ledger.failures.get(ctx.task.id, 0)
        if failed < params["fail"]:
            ledger.failures[ctx.task.id] = failed + 1
            raise TaskError(f"flaky failure {failed + 1}")
        return Done("finally")

    async def gated(ctx: TaskContext, params: Mapping[str, Any]) -> Outcome:
        ledger.runs.append(ctx.task.id)
        await ledger.gate.wait()
        return Done("opened")

    text = Param("text", "text", "Text")
    seconds = Param("seconds", "float", "Seconds", minimum=0, maximum=60)
    return TaskKinds(
        [
            TaskKind("note", "Note", "Returns its text.", note, (text,)),
            TaskKind("sleep", "Sleep", "Sleeps.", sleep, (seconds,)),
            TaskKind("stubborn", "Stubborn", "Ignores cancel.", stubborn, (seconds,)),
            TaskKind("flaky", "Flaky", "Fails N times.", flaky, (Param("fail", "int", "Fail"),)),
            TaskKind("gated", "Gated", "Waits for the gate.", gated),
        ]
    )


def make_service(
    database: Database,
    bus: EventBus,
    ledger: Ledger,
    settings: Settings | None = None,
    **kwargs: Any,
) -> TaskService:
    current = settings or Settings(task_backoff=0.1)
    get: Callable[[], Settings] = lambda: current  # noqa: E731
    return TaskService(
        database.tasks,
        test_kinds(ledger),
        TaskServices(get),
        bus,
        get,
        rng=random.Random(7),
        **kwargs,
    )


async def until(
    condition: Callable[[], Any],
    timeout: float = 10.0,  # noqa: ASYNC109 - a bounded poll of state another task changes
    step: float = 0.02,
) -> None:
    """Wait (bounded) until ``condition()`` is true; an AssertionError on the time limit."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        result = condition()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if loop.time() > end:
            raise AssertionError("the condition never held")
        await asyncio.sleep(step)
