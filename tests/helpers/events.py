"""The one event recorder, and the event bus the unit tests share (the ``bus`` fixture)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from keiko_desktop.core.events import Event, EventBus


def running_loop_bus() -> EventBus:
    """A bus bound to the running loop (so ``publish_threadsafe`` works), as the app makes it."""
    return EventBus(asyncio.get_running_loop())


class EventRecorder:
    """Keeps every event it is handed, in order, in ``events``.

    ``EventRecorder(bus, SomeEvent, ...)`` subscribes ``on_event`` for those types (all events
    when none is named); ``EventRecorder()`` subscribes nowhere, for tests of the bus itself.
    The bus holds ``on_event`` weakly: keep the recorder referenced for as long as it listens.
    """

    def __init__(self, bus: EventBus | None = None, *event_types: type[Event]) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()
        if bus is not None:
            for event_type in event_types or (Event,):
                bus.subscribe(event_type, self.on_event)

    def on_event(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    async def wait_for(
        self, predicate: Callable[[Event], object], time_limit: float = 20.0
    ) -> Event:
        """The first event, recorded so far or later, for which ``predicate`` is true;
        TimeoutError after ``time_limit`` seconds."""
        async with asyncio.timeout(time_limit):
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                self._changed.clear()
                await self._changed.wait()
