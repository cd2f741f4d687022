"""Live progress, throttled: at most ``PUBLISH_EVERY`` seconds apart per task on the bus (the
latest value always arrives), stored at most every ``STORE_EVERY`` seconds (``flush``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.events import TaskProgressed

PUBLISH_EVERY = 0.1
STORE_EVERY = 1.0


class ProgressRelay:
    def __init__(self, bus: EventBus, store: Callable[[int, float, str], Awaitable[None]]) -> None:
        self._bus = bus
        self._store = store
        self._latest: dict[int, tuple[float, str]] = {}
        self._published: dict[int, float] = {}
        self._trailing: dict[int, asyncio.TimerHandle] = {}
        self._dirty: set[int] = set()

    def report(self, task_id: int, progress: float, text: str) -> None:
        self._latest[task_id] = (progress, text)
        self._dirty.add(task_id)
        since = time.monotonic() - self._published.get(task_id, 0.0)
        if since >= PUBLISH_EVERY:
            self._publish(task_id)
        elif task_id not in self._trailing:
            loop = asyncio.get_running_loop()
            self._trailing[task_id] = loop.call_later(PUBLISH_EVERY - since, self._publish, task_id)

    def _publish(self, task_id: int) -> None:
        self._trailing.pop(task_id, None)
        latest = self._latest.get(task_id)
        if latest is None:
            return
        self._published[task_id] = time.monotonic()
        self._bus.publish(TaskProgressed(task_id, *latest))

    def forget(self, task_id: int) -> None:
        """The task ended: nothing more of it is published or stored."""
        handle = self._trailing.pop(task_id, None)
        if handle is not None:
            handle.cancel()
        self._latest.pop(task_id, None)
        self._published.pop(task_id, None)
        self._dirty.discard(task_id)

    async def flush(self) -> None:
        """Store the latest progress of every task that reported since the last flush."""
        dirty, self._dirty = self._dirty, set()
        for task_id in dirty:
            latest = self._latest.get(task_id)
            if latest is not None:
                await self._store(task_id, *latest)

    async def run(self) -> None:
        """Flush every ``STORE_EVERY`` seconds until cancelled."""
        while True:
            await asyncio.sleep(STORE_EVERY)
            await self.flush()
