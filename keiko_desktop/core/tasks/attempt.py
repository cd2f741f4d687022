"""One attempt of one task: run its kind's handler under the task's time limit, stop it on
request (``stop``: cancelled by the user, or ``stopped`` when Keiko closes), and say how it
ended. A handler that ignores cancellation is abandoned after ``CANCEL_GRACE`` seconds (its
result, if it ever comes, is dropped), so a cancelled task always stops within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.tasks.errors import TaskParamError
from keiko_desktop.core.tasks.kinds import Outcome, TaskContext, TaskKinds
from keiko_desktop.core.tasks.records import AttemptOutcome, TaskRecord

log = logging.getLogger(__name__)

CANCEL_GRACE = 0.5
MAX_BACKOFF = 3600.0
StopReason = Literal["cancelled", "stopped"]


@dataclass(frozen=True)
class Ended:
    """How an attempt ended: ``outcome``, and the handler's ``Outcome`` when it finished."""

    outcome: AttemptOutcome
    done: Outcome | None = None
    error: str | None = None
    retryable: bool = True


def backoff(base: float, attempt: int, rng: random.Random) -> float:
    """Seconds before retry ``attempt`` (1: the first): ``base`` doubling each time, the
    second half of it random ("equal jitter"), so retries of many tasks spread out."""
    delay = min(MAX_BACKOFF, base * 2.0 ** max(0, attempt - 1))
    return delay / 2 + rng.uniform(0, delay / 2)


def retry_time(
    record: TaskRecord, ended: Ended, base: float, now: datetime, rng: random.Random
) -> datetime | None:
    """When to try a failed attempt again; None when it has no attempt left."""
    if not ended.retryable or record.attempts >= record.max_attempts:
        return None
    return now + timedelta(seconds=backoff(base, record.attempts, rng))


def _message(error: BaseException) -> str:
    if isinstance(error, KeikoError):
        return str(error)
    return f"Internal error: {type(error).__name__}: {error}"


class Attempt:
    """Runs ``kind.run(context, params)`` in its own task (see the module docs)."""

    def __init__(self, record: TaskRecord, kinds: TaskKinds, context: TaskContext) -> None:
        self.record = record
        self.kinds = kinds
        self.context = context
        self._stop: StopReason | None = None
        self._work: asyncio.Task[Outcome] | None = None

    def stop(self, reason: StopReason) -> None:
        if self._stop is None:
            self._stop = reason
        self.context.cancel_event.set()
        if self._work is not None:
            self._work.cancel()

    async def run(self) -> Ended:
        try:  # checked when added; again, since a stored task may predate a change of its kind
            kind = self.kinds.get(self.record.kind)
            params = self.kinds.check(self.record.kind, self.record.params)
        except TaskParamError as error:
            return Ended("failed", error=str(error), retryable=False)
        if self._stop is not None:
            return Ended(self._stop)
        self._work = asyncio.get_running_loop().create_task(kind.run(self.context, params))
        timeout = self.record.timeout or None
        try:
            done, _pending = await asyncio.wait({self._work}, timeout=timeout)
        except asyncio.CancelledError:  # the engine itself is going: stop the work too
            self.stop("stopped")
            await self._settle()
            raise
        if not done:  # the time limit
            self.context.cancel_event.set()
            self._work.cancel()
            await self._settle()
            if self._stop is not None:
                return Ended(self._stop)
            return Ended("timed_out", error=f"It took longer than {timeout:g} s.")
        return self._ended(self._work)

    async def _settle(self) -> None:
        """Wait (at most ``CANCEL_GRACE``) for the cancelled work to end."""
        assert self._work is not None
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._work), CANCEL_GRACE)
        if not self._work.done():
            log.warning("task %d ignored cancellation; abandoned", self.record.id)
            self._work.add_done_callback(_drop_result)

    def _ended(self, work: asyncio.Task[Outcome]) -> Ended:
        if work.cancelled():
            return Ended(self._stop or "cancelled")
        error = work.exception()
        if error is not None:
            if self._stop is not None:
                return Ended(self._stop)
            if not isinstance(error, KeikoError):
                log.error("task %d (%s) failed", self.record.id, self.record.kind, exc_info=error)
            return Ended(
                "failed", error=_message(error), retryable=not isinstance(error, TaskParamError)
            )
        if self._stop is not None:
            return Ended(self._stop)
        return Ended("completed", done=work.result())


def _drop_result(task: asyncio.Task[Outcome]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved: an abandoned task's error is not "never retrieved"
