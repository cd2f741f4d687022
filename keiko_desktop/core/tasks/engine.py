"""The task engine: one per process, running tasks only while it holds the lease.

``run(role)`` loops for the life of the service: it takes the lease when it can (see
``store/task_lease.py``) and then owns: a heartbeat keeps the lease, the dispatcher claims the
most urgent ready tasks up to ``task_workers`` at a time and runs each attempt (``attempt.py``),
the scheduler fires due schedules (``scheduler.py``), and cancel requests from any process are
read every ``CANCEL_POLL`` seconds. When another process holds the lease it waits, trying again
every ``RETRY_OWN`` seconds. While ``paused`` the dispatcher claims nothing (running attempts go
on, schedules still add their tasks, which wait); it is this process's state alone, never
stored, so a restart runs tasks again. Whatever its role, the watcher (``watcher.py``) publishes
what other processes change. Losing the lease (a stall longer than its time to live, after
which another process took it) stops every attempt at once: their results would be refused
anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.attempt import Attempt, Ended, StopReason, retry_time
from keiko_desktop.core.tasks.clock import Clock
from keiko_desktop.core.tasks.defaults import resolved
from keiko_desktop.core.tasks.errors import TaskParamError
from keiko_desktop.core.tasks.events import TaskFinished, TaskOwnerChanged, TaskUpdated
from keiko_desktop.core.tasks.kinds import Done, Spawn, TaskContext, TaskKinds, TaskServices
from keiko_desktop.core.tasks.ports import TaskRepository
from keiko_desktop.core.tasks.progress import ProgressRelay
from keiko_desktop.core.tasks.records import LeaseHolder, TaskRecord
from keiko_desktop.core.tasks.scheduler import Scheduler
from keiko_desktop.core.tasks.watcher import Watcher

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings

log = logging.getLogger(__name__)

LEASE_TTL = 10.0
HEARTBEAT = 2.0
RETRY_OWN = 2.0
CANCEL_POLL = 0.25
IDLE_POLL = 1.0


def describe_holder(holder: LeaseHolder | None) -> str:
    if holder is None:
        return ""
    if holder.role == "worker":
        return f"keiko tasks worker (pid {holder.pid})"
    return f"another Keiko window (pid {holder.pid})"


class TaskEngine:
    def __init__(
        self,
        repo: TaskRepository,
        kinds: TaskKinds,
        services: TaskServices,
        bus: EventBus,
        settings: Callable[[], Settings],
        clock: Clock,
        *,
        rng: random.Random | None = None,
        workers: int | None = None,
    ) -> None:
        self._repo = repo
        self._kinds = kinds
        self._services = services
        self._bus = bus
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        self._workers = workers
        self.token = secrets.token_hex(8)
        self.owner = False
        self.holder = ""  # who runs the tasks when this process does not ("" nobody, or us)
        self.paused = False
        self._wake = asyncio.Event()
        self._running: dict[int, Attempt] = {}
        self._attempt_tasks: set[asyncio.Task[None]] = set()
        self.progress = ProgressRelay(bus, repo.set_progress)
        self.watcher = Watcher(repo, bus)
        self.scheduler = Scheduler(repo, kinds, bus, settings, clock, self.publish, self.wake)
        self._lost = asyncio.Event()

    # ------------------------------------------------------------------ for the service

    def wake(self) -> None:
        self._wake.set()

    @property
    def running_ids(self) -> list[int]:
        return list(self._running)

    def workers(self) -> int:
        return self._workers or self._settings().task_workers

    def publish(self, record: TaskRecord) -> None:
        """Publish a stored change (and remember it, so the watcher does not repeat it)."""
        self.watcher.seen(record)
        self._bus.publish(TaskFinished(record) if record.finished else TaskUpdated(record))

    def stop_local(self, task_ids: Sequence[int], reason: StopReason = "cancelled") -> None:
        for task_id in task_ids:
            attempt = self._running.get(task_id)
            if attempt is not None:
                attempt.stop(reason)

    # ------------------------------------------------------------------ the life of the engine

    async def run(self, role: str) -> None:
        """Own when possible, else wait; until cancelled (then stop every attempt cleanly and
        give the lease up)."""
        watcher = asyncio.get_running_loop().create_task(self.watcher.run())
        announced: tuple[bool, str] | None = None
        try:
            while True:
                held, holder, recovered = await self._repo.acquire_lease(
                    self.token, role, LEASE_TTL
                )
                state = (held, "" if held else describe_holder(holder))
                self.owner, self.holder = state
                if state != announced:
                    announced = state
                    self._bus.publish(TaskOwnerChanged(*state))
                    if held:
                        log.info("this process runs the tasks (%s)", role)
                    else:
                        log.info("tasks run in %s; waiting", state[1])
                if held:
                    if recovered:
                        log.info("%d tasks were running when their process stopped", len(recovered))
                        self.watcher.reload()
                    await self._own()
                    announced = None
                await asyncio.sleep(RETRY_OWN)
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def _own(self) -> None:
        self.owner = True
        self._lost.clear()
        loop = asyncio.get_running_loop()
        helpers = [
            loop.create_task(self._heartbeat()),
            loop.create_task(self.scheduler.run()),
            loop.create_task(self.progress.run()),
        ]
        try:
            await self._dispatch()
        except asyncio.CancelledError:
            await self._stop_all("stopped")
            with contextlib.suppress(Exception):
                await asyncio.shield(self._repo.release_lease(self.token))
            raise
        finally:
            self.owner = False
            for helper in helpers:
                helper.cancel()
            for helper in helpers:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await helper
        # The lease was lost: another process owns the tasks now.
        await self._stop_all("stopped")

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT)
            try:
                kept = await self._repo.heartbeat(self.token, LEASE_TTL)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not renew the task lease")
                continue
            if not kept:
                log.warning("the task lease was taken by another process")
                self._lost.set()
                self.wake()
                return

    async def _dispatch(self) -> None:
        settled = polled = 0.0
        while not self._lost.is_set():
            self._wake.clear()
            if time.monotonic() - settled >= IDLE_POLL:
                # Parents whose children ended elsewhere (cancelled by another process).
                settled = time.monotonic()
                await self._settle(None)
            free = 0 if self.paused else self.workers() - len(self._running)
            later = None
            if free > 0:
                claimed, later = await self._repo.claim(self.token, free, self._clock.now())
                for record in claimed:
                    self._start(record)
                free -= len(claimed)
            if self._running and time.monotonic() - polled >= CANCEL_POLL:
                polled = time.monotonic()
                await self._cancel_requests()
            timeout = CANCEL_POLL if self._running else IDLE_POLL
            if free > 0 and later is not None:  # a retry's backoff ends, or a --at comes
                timeout = min(timeout, max(0.0, (later - self._clock.now()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _cancel_requests(self) -> None:
        try:
            requested = await self._repo.cancel_requests(self.token)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not read cancel requests")
            return
        self.stop_local(requested, "cancelled")

    async def _stop_all(self, reason: StopReason) -> None:
        """Stop every attempt and wait until each has stored how it ended: an attempt
        returns within ``CANCEL_GRACE`` of its stop (it abandons a handler that ignores it),
        so this waits only for that and the store, and nothing writes after the engine."""
        for attempt in list(self._running.values()):
            attempt.stop(reason)
        if self._attempt_tasks:
            await asyncio.wait(list(self._attempt_tasks))

    # ------------------------------------------------------------------ attempts

    def _start(self, record: TaskRecord) -> None:
        loop = asyncio.get_running_loop()
        context = TaskContext(
            record,
            self._services,
            lambda progress, text: self.progress.report(record.id, progress, text),
            lambda run_id: self._link_run(record.id, run_id),
            loop.call_soon_threadsafe,
        )
        attempt = Attempt(record, self._kinds, context)
        self._running[record.id] = attempt
        self.publish(record)
        task = loop.create_task(self._attempt(attempt), name=f"keiko-task-{record.id}")
        self._attempt_tasks.add(task)
        task.add_done_callback(self._attempt_tasks.discard)

    async def _attempt(self, attempt: Attempt) -> None:
        record = attempt.record
        try:
            ended = await attempt.run()
        except asyncio.CancelledError:
            ended = Ended("stopped")
        except Exception as error:  # a bug in the engine's own path: never lose the task
            log.exception("task %d: the attempt failed", record.id)
            ended = Ended("failed", error=f"Internal error: {error}")
        finally:
            self._running.pop(record.id, None)
            self.progress.forget(record.id)
        try:
            await asyncio.shield(self._end(record, ended))
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("task %d: could not store how it ended", record.id)
        self.wake()

    async def _end(self, record: TaskRecord, ended: Ended) -> None:
        repo, token = self._repo, self.token
        spawn = ended.done
        if isinstance(spawn, Spawn):
            try:  # the children get their defaults (and checks) like any task added
                settings = self._settings()
                children = [resolved(c, self._kinds, settings) for c in spawn.children]
            except TaskParamError as error:
                ended = Ended("failed", error=str(error), retryable=False)
            else:
                parent, _created = await repo.spawn(token, record.id, children, spawn.summary)
                if parent is not None:
                    self.publish(parent)
                    self.watcher.reload()
                    await self._settle([record.id])
                return
        result = ended.done.result if isinstance(ended.done, Done) else ""
        retry_at = None
        if ended.outcome in ("failed", "timed_out"):
            base = self._settings().task_backoff
            retry_at = retry_time(record, ended, base, self._clock.now(), self._rng)
        finished = await repo.finish(
            token, record.id, ended.outcome, result=result, error=ended.error, retry_at=retry_at
        )
        if finished is None:
            log.warning("task %d ended after its lease was lost; another process has it", record.id)
            return
        if isinstance(ended.done, Done) and ended.done.run_id is not None:
            finished = await repo.link_run(record.id, ended.done.run_id) or finished
        self.publish(finished)
        if finished.parent_id is not None:
            await self._settle([finished.parent_id])

    async def _settle(self, parent_ids: Sequence[int] | None) -> None:
        for parent in await self._repo.settle_parents(self.token, parent_ids):
            self.publish(parent)
            if parent.finished and parent.parent_id is not None:
                await self._settle([parent.parent_id])

    async def _link_run(self, task_id: int, run_id: int) -> None:
        record = await self._repo.link_run(task_id, run_id)
        if record is not None:
            self.publish(record)
