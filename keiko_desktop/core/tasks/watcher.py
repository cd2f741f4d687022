"""Publishes what other processes change in the tasks table.

Every ``WATCH_EVERY`` seconds it reads the tasks updated since it last looked (with an overlap
of ``OVERLAP`` seconds, since a transaction that began earlier may commit later) and publishes
each change it has not published yet (this process publishes its own at once, through
``seen``). A task another process finished publishes ``TaskFinished``, so the window notifies
about tasks a ``keiko tasks worker`` ran. Too many changes at once, or fewer tasks than before
(another process deleted some), publish ``TasksReloaded`` instead.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.clock import utc_now
from keiko_desktop.core.tasks.events import TaskFinished, TasksReloaded, TaskUpdated
from keiko_desktop.core.tasks.ports import TaskRepository
from keiko_desktop.core.tasks.records import TaskRecord

log = logging.getLogger(__name__)

WATCH_EVERY = 1.0
OVERLAP = 0.5
MAX_CHANGES = 2_000
_REMEMBERED = 20_000


class Watcher:
    def __init__(self, repo: TaskRepository, bus: EventBus) -> None:
        self._repo = repo
        self._bus = bus
        self._published: dict[int, datetime] = {}
        self._since = utc_now()
        self._total: int | None = None
        self._reload = False

    def seen(self, record: TaskRecord) -> None:
        """This process published ``record``'s state: do not repeat it."""
        self._published[record.id] = record.updated_at
        if len(self._published) > _REMEMBERED:
            for task_id in list(self._published)[: _REMEMBERED // 2]:
                del self._published[task_id]

    def forget(self, task_ids: tuple[int, ...]) -> None:
        for task_id in task_ids:
            self._published.pop(task_id, None)
        self._total = None

    def reload(self) -> None:
        """Many tasks changed here at once: publish ``TasksReloaded`` at the next look."""
        self._reload = True

    async def run(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY)
            try:
                await self.look()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("could not read what changed in the tasks")

    async def look(self) -> None:
        started = utc_now()
        since = self._since - timedelta(seconds=OVERLAP)
        changes = await self._repo.changed_since(since, MAX_CHANGES + 1)
        counts = await self._repo.counts()
        total = sum(counts.values())
        shrunk = self._total is not None and total < self._total
        self._total = total
        fresh = [r for r in changes if self._published.get(r.id) != r.updated_at]
        for record in fresh:
            self.seen(record)
        if changes:
            self._since = max(self._since, max(r.updated_at for r in changes))
        if len(changes) > MAX_CHANGES:
            self._since = started
        if self._reload or shrunk or len(changes) > MAX_CHANGES:
            self._reload = False
            self._bus.publish(TasksReloaded())
            return
        for record in fresh:
            self._bus.publish(TaskFinished(record) if record.finished else TaskUpdated(record))
