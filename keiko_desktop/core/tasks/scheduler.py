"""Fires due schedules while this process owns the tasks.

A schedule fires when its ``next_run`` has come: one task is added for that time (its
idempotency key is the schedule and the time, so it is added once whoever fires it) and the
next run moves to the first firing time after it, or after now when it is late, so a schedule
is never fired more than once per look however much time passed. A firing more than
``MISSED_AFTER`` seconds late was missed while Keiko was closed: it runs once if the
``task_catch_up`` setting says so, else it is skipped. Daylight-saving time is the business of
``schedule.next_run`` (wall times in the schedule's zone; no skip, no double).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.clock import Clock
from keiko_desktop.core.tasks.defaults import resolved
from keiko_desktop.core.tasks.events import SchedulesChanged
from keiko_desktop.core.tasks.kinds import TaskKinds
from keiko_desktop.core.tasks.ports import TaskRepository
from keiko_desktop.core.tasks.records import NewTask, ScheduleRecord, TaskRecord

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings

log = logging.getLogger(__name__)

MISSED_AFTER = 120.0
MAX_SLEEP = 30.0
"""Longest wait between looks, so a changed clock (or a suspended machine) is noticed."""


def schedule_task(
    schedule: ScheduleRecord, fired: datetime, settings: Settings, kinds: TaskKinds
) -> NewTask:
    """The task a firing of ``schedule`` at ``fired`` adds."""
    new = NewTask(
        kind=schedule.kind,
        params=schedule.params,
        name=schedule.name,
        priority=schedule.priority,
        max_attempts=schedule.max_attempts,
        timeout=schedule.timeout,
        idempotency_key=f"schedule:{schedule.id}:{fired.isoformat()}",
        schedule_id=schedule.id,
    )
    return resolved(new, kinds, settings)


class Scheduler:
    def __init__(
        self,
        repo: TaskRepository,
        kinds: TaskKinds,
        bus: EventBus,
        settings: Callable[[], Settings],
        clock: Clock,
        publish: Callable[[TaskRecord], None],
        wake: Callable[[], None],
    ) -> None:
        self._repo = repo
        self._kinds = kinds
        self._bus = bus
        self._settings = settings
        self._clock = clock
        self._publish = publish
        self._wake_engine = wake
        self._changed = asyncio.Event()

    def changed(self) -> None:
        """A schedule was added or changed: look again now."""
        self._changed.set()

    async def run(self) -> None:
        while True:
            self._changed.clear()
            try:
                await self.fire_due()
                wait = await self._until_next()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not fire the due schedules")
                wait = MAX_SLEEP
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), max(0.05, wait))

    async def _until_next(self) -> float:
        upcoming = await self._repo.next_schedule_at()
        if upcoming is None:
            return MAX_SLEEP
        return min(MAX_SLEEP, (upcoming - self._clock.now()).total_seconds())

    async def fire_due(self) -> int:
        """Fire every schedule that is due now; how many tasks were added."""
        from keiko_desktop.core.tasks.schedule import catch_up

        now = self._clock.now()
        added = 0
        fired_any = False
        for schedule in await self._repo.due_schedules(now):
            due = schedule.next_run
            assert due is not None
            late = (now - due).total_seconds() > MISSED_AFTER
            try:
                # On time: this firing, and the next after it. Late (missed while closed):
                # the missed firings collapse into one, the latest, and the next is after now.
                fired, following = catch_up(schedule.spec, due, now)
                if not late:
                    fired = due
            except Exception:
                log.exception("schedule %d cannot say when it runs next; switched off", schedule.id)
                await self._repo.set_schedule(schedule.id, enabled=False, next_run=None)
                fired_any = True
                continue
            run = fired is not None and (not late or self._settings().task_catch_up)
            task = None
            if run and fired is not None:
                try:
                    task = schedule_task(schedule, fired, self._settings(), self._kinds)
                except KeikoError as error:  # its kind or params changed since
                    log.warning("schedule %d cannot add its task: %s", schedule.id, error)
            record = await self._repo.fire_schedule(schedule.id, due, following, task, fired)
            fired_any = True
            if record is not None:
                added += 1
                self._publish(record)
                log.info("schedule %d fired (task %d)", schedule.id, record.id)
            elif not run:
                log.info("schedule %d missed its runs up to %s; skipped", schedule.id, fired)
        if fired_any:
            self._bus.publish(SchedulesChanged())
        if added:
            self._wake_engine()
        return added
