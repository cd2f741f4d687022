"""Handles on runs in progress: wait for the run's id, stream the answer, cancel, get the end.

A run executes in its own task. ``cancel()`` cancels it; the task catches that, stores the run
as ``cancelled`` (with its checkpoint) and ends with a ``RunOutcome`` like any other ending, so
``result()`` never raises for a failed or cancelled run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from keiko_desktop.core.agents.plan import Checkpoint
from keiko_desktop.core.agents.records import RunKind, RunStatus
from keiko_desktop.core.pieces import PieceQueue


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended. ``text``: the answer (agent), the outputs of the last steps (plan), or
    every item's output (batch). ``report``: one line per step, for plans and batches."""

    run_id: int
    status: RunStatus
    text: str = ""
    error: str | None = None
    report: str = ""
    checkpoint: Checkpoint = field(default_factory=Checkpoint)


class RunHandle:
    """A run in progress (see the module docs)."""

    def __init__(self, kind: RunKind) -> None:
        self.kind = kind
        self._id: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._task: asyncio.Task[RunOutcome] | None = None
        self._cancel_hook: Callable[[], None] | None = None
        self.title = ""

    def start(self, work: Coroutine[Any, Any, RunOutcome]) -> None:
        self._task = asyncio.get_running_loop().create_task(work)
        self._task.add_done_callback(self._on_done)

    def _on_done(self, task: asyncio.Task[RunOutcome]) -> None:
        if not self._id.done():  # the run ended before its row existed (the store failed)
            error = task.exception() if not task.cancelled() else None
            if error is not None:
                self._id.set_exception(error)
                self._id.exception()  # result() raises it too: not an unretrieved error
            else:
                self._id.cancel()

    def on_done(self, callback: Callable[[], None]) -> None:
        assert self._task is not None
        self._task.add_done_callback(lambda _task: callback())

    def set_id(self, run_id: int) -> None:
        if not self._id.done():
            self._id.set_result(run_id)

    async def run_id(self) -> int:
        """The run's id, once its row is stored."""
        return await asyncio.shield(self._id)

    def cancel(self) -> None:
        """Stop the run: every running step stops within a second."""
        if self._cancel_hook is not None:
            self._cancel_hook()
        elif self._task is not None:
            self._task.cancel()

    @property
    def done(self) -> bool:
        return self._task is not None and self._task.done()

    async def result(self) -> RunOutcome:
        assert self._task is not None
        return await asyncio.shield(self._task)


class AgentRun(RunHandle):
    """One agent answering one prompt; iterate it for the answer's pieces as they stream."""

    def __init__(self) -> None:
        super().__init__("agent")
        self._pieces = PieceQueue()

    def push(self, piece: str) -> None:
        self._pieces.push(piece)

    def end(self) -> None:
        self._pieces.end()

    def __aiter__(self) -> AsyncIterator[str]:
        return aiter(self._pieces)


class PlanRun(RunHandle):
    def __init__(self) -> None:
        super().__init__("plan")


class BatchRun(RunHandle):
    def __init__(self) -> None:
        super().__init__("batch")
