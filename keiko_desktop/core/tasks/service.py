"""``TaskService``: the one door to background tasks, for the window and the CLI alike.

Any process may add, list, cancel, retry, duplicate and delete tasks and schedules; the engine
(``engine.py``) runs them only in the process that holds the lease. ``start(role)`` starts
that engine in the background (the window: "window"; ``keiko tasks worker``: "worker").
``pause()`` stops it claiming new tasks (running ones go on) until ``resume()``: the tray's
Pause tasks. Pausing is this process's alone and not stored: a restart runs tasks again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.clock import Clock, SystemClock
from keiko_desktop.core.tasks.defaults import resolved
from keiko_desktop.core.tasks.engine import TaskEngine
from keiko_desktop.core.tasks.errors import TaskError, TaskParamError
from keiko_desktop.core.tasks.events import (
    SchedulesChanged,
    TaskFinished,
    TaskOwnerChanged,
    TasksRemoved,
)
from keiko_desktop.core.tasks.kinds import TaskKinds, TaskServices
from keiko_desktop.core.tasks.ports import TaskRepository
from keiko_desktop.core.tasks.records import (
    MAX_NAME,
    LeaseHolder,
    NewSchedule,
    NewTask,
    ScheduleRecord,
    TaskAttempt,
    TaskFilter,
    TaskRecord,
)

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings

log = logging.getLogger(__name__)

IDLE_CHECK = 0.5
IDLE_BATCH = 0.05


class TaskService:
    def __init__(
        self,
        repo: TaskRepository,
        kinds: TaskKinds,
        services: TaskServices,
        bus: EventBus,
        settings: Callable[[], Settings],
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.kinds = kinds
        self._repo = repo
        self._bus = bus
        self._settings = settings
        self._clock = clock or SystemClock()
        self.engine = TaskEngine(repo, kinds, services, bus, settings, self._clock, rng=rng)
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ the engine

    def start(self, role: str = "window", *, workers: int | None = None) -> None:
        """Run tasks in this process when it can take the lease (else wait for it)."""
        if workers is not None:
            self.engine._workers = workers
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self.engine.run(role))

    @property
    def started(self) -> bool:
        return self._task is not None

    @property
    def is_owner(self) -> bool:
        return self.engine.owner

    @property
    def paused(self) -> bool:
        """No new task starts here while paused (running ones go on)."""
        return self.engine.paused

    def pause(self) -> None:
        """Start no new task (running tasks go on; added and scheduled ones wait).

        Published as a ``TaskOwnerChanged`` (the same owner), so whoever shows the owner reads
        ``paused`` again. Not stored: a restart runs tasks again."""
        self._set_paused(True)

    def resume(self) -> None:
        """Start tasks again (at once: the engine is woken)."""
        self._set_paused(False)

    def _set_paused(self, paused: bool) -> None:
        if self.engine.paused == paused:
            return
        self.engine.paused = paused
        log.info("tasks %s", "paused" if paused else "resumed")
        self.engine.wake()
        self._bus.publish(TaskOwnerChanged(self.engine.owner, self.engine.holder))

    async def wait_owner(self) -> None:
        """Return once this process runs the tasks (it may wait for another to stop)."""
        owned = asyncio.Event()

        def on_owner(event: TaskOwnerChanged) -> None:
            if event.owner:
                owned.set()

        self._bus.subscribe(TaskOwnerChanged, on_owner)
        try:
            if not self.is_owner:
                await owned.wait()
        finally:
            self._bus.unsubscribe(TaskOwnerChanged, on_owner)

    async def holder(self) -> LeaseHolder | None:
        return await self._repo.lease_holder()

    async def wait_idle(self) -> None:
        """Return once no task is pending or running (checked on every end, and twice a
        second: another process may add or end tasks)."""
        ended = asyncio.Event()

        def on_finished(_event: TaskFinished) -> None:
            ended.set()

        self._bus.subscribe(TaskFinished, on_finished)
        try:
            while True:
                ended.clear()
                counts = await self._repo.counts()
                if not counts.get("pending") and not counts.get("running"):
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), IDLE_CHECK)
                await asyncio.sleep(IDLE_BATCH)  # many tasks end at once: count once
        finally:
            self._bus.unsubscribe(TaskFinished, on_finished)

    async def aclose(self) -> None:
        """Stop the engine: running tasks go back to pending (not counted), the lease goes."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ------------------------------------------------------------------ tasks

    async def add(self, new: NewTask) -> TaskRecord:
        """Check and store ``new`` (``TaskParamError`` naming the field; nothing stored); an
        existing idempotency key gives its task instead."""
        record, _created = await self.add_new(new)
        return record

    async def add_new(self, new: NewTask) -> tuple[TaskRecord, bool]:
        """``add``, saying whether the task is new (False: its idempotency key existed)."""
        ready = resolved(new, self.kinds, self._settings())
        if ready.parent_id is not None and await self._repo.get_task(ready.parent_id) is None:
            raise TaskParamError("parent", f"there is no task {ready.parent_id}")
        record, created = await self._repo.add_task(ready)
        if created:
            self.engine.publish(record)
            self.engine.wake()
        return record, created

    async def get(self, task_id: int) -> TaskRecord:
        record = await self._repo.get_task(task_id)
        if record is None:
            raise TaskError(f"There is no task {task_id}.", "`keiko tasks list` shows them.")
        return record

    async def list_tasks(self, filter: TaskFilter | None = None) -> list[TaskRecord]:
        return await self._repo.list_tasks(filter or TaskFilter())

    async def counts(self) -> dict[str, int]:
        return await self._repo.counts()

    async def attempts(self, task_id: int) -> list[TaskAttempt]:
        return await self._repo.attempts(task_id)

    async def children(self, task_id: int) -> list[TaskRecord]:
        return await self._repo.list_tasks(TaskFilter(parent_id=task_id))

    async def cancel(self, task_id: int) -> TaskRecord:
        """Cancel a pending task at once; a running one stops within a second (here, or in
        the process that runs it). ``TaskError`` when it is unknown or already finished."""
        changed = await self._repo.request_cancel(task_id)
        for record in changed:
            self.engine.publish(record)
        self.engine.stop_local([r.id for r in changed if r.status == "running"])
        self.engine.wake()
        return next((r for r in changed if r.id == task_id), None) or await self.get(task_id)

    async def retry(self, task_id: int) -> TaskRecord:
        changed = await self._repo.retry(task_id)
        for record in changed:
            self.engine.publish(record)
        self.engine.wake()
        return next((r for r in changed if r.id == task_id), None) or await self.get(task_id)

    async def duplicate(self, task_id: int) -> TaskRecord:
        """A new pending task doing the same work, named "NAME (copy)"."""
        task = await self.get(task_id)
        name = f"{task.name} (copy)"[:MAX_NAME]
        return await self.add(
            NewTask(
                kind=task.kind,
                params=task.params,
                name=name,
                priority=task.priority,
                max_attempts=task.max_attempts,
                timeout=task.timeout,
            )
        )

    async def delete(self, task_ids: Sequence[int]) -> int:
        """Delete tasks (and their children); ``TaskError`` when one is running."""
        gone = tuple(await self._repo.delete_tasks(task_ids))
        if gone:
            self.engine.watcher.forget(gone)
            self._bus.publish(TasksRemoved(gone))
        return len(gone)

    # ------------------------------------------------------------------ schedules

    async def add_schedule(self, new: NewSchedule) -> ScheduleRecord:
        """Check and store a schedule (``ScheduleError``/``TaskParamError``; nothing stored)."""
        from keiko_desktop.core.tasks.schedule import check_spec, next_run

        spec = check_spec(new.spec)
        if spec.kind == "every" and spec.at is None:  # keep its rhythm from now on
            spec = dataclasses.replace(spec, at=self._clock.now())
        probe = resolved(
            NewTask(
                kind=new.kind,
                params=new.params,
                name=new.name,
                priority=new.priority,
                max_attempts=new.max_attempts,
                timeout=new.timeout,
            ),
            self.kinds,
            self._settings(),
        )
        first = next_run(spec, self._clock.now())
        if first is None:
            from keiko_desktop.core.tasks.errors import ScheduleError

            raise ScheduleError(
                "That schedule never runs: its time has passed.", "Pick a later time."
            )
        ready = dataclasses.replace(new, spec=spec, params=probe.params, name=probe.name)
        record = await self._repo.add_schedule(ready, first)
        self._schedules_changed()
        return record

    async def list_schedules(self) -> list[ScheduleRecord]:
        return await self._repo.list_schedules()

    async def delete_schedule(self, schedule_id: int) -> None:
        if not await self._repo.delete_schedule(schedule_id):
            raise TaskError(f"There is no schedule {schedule_id}.")
        self._schedules_changed()

    async def set_schedule_enabled(self, schedule_id: int, enabled: bool) -> ScheduleRecord:
        """Switch a schedule on (its next run counted from now) or off."""
        from keiko_desktop.core.tasks.schedule import next_run

        schedule = await self._repo.get_schedule(schedule_id)
        if schedule is None:
            raise TaskError(f"There is no schedule {schedule_id}.")
        upcoming = next_run(schedule.spec, self._clock.now()) if enabled else schedule.next_run
        changed = await self._repo.set_schedule(schedule_id, enabled=enabled, next_run=upcoming)
        assert changed is not None
        self._schedules_changed()
        return changed

    def _schedules_changed(self) -> None:
        self.engine.scheduler.changed()
        self._bus.publish(SchedulesChanged())
