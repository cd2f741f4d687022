"""The EventBus and the events it carries.

Events are facts, named as nouns, and frozen. A bound method is held weakly: it vanishes with
its object, so a closed widget never leaks through the bus. Anything else (a plain function, a
lambda, a closure, a callable object) is held strongly, so ``bus.subscribe(E, lambda e: ...)``
keeps working; ``unsubscribe`` it when it should stop.

``publish`` calls subscribers synchronously on the calling thread (the loop thread, by
convention). Worker threads use ``publish_threadsafe``, which hops to the loop first.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """Base of all events."""


@dataclass(frozen=True)
class MessageCreated(Event):
    conversation_id: int
    message_id: int
    role: str


@dataclass(frozen=True)
class MessageCompleted(Event):
    conversation_id: int
    message_id: int
    status: str


@dataclass(frozen=True)
class ConversationChanged(Event):
    """A conversation was created, renamed, pinned, deleted or restored."""

    conversation_id: int
    change: Literal["created", "renamed", "pinned", "deleted", "restored", "updated"]


ModelState = Literal["loading", "ready", "error", "unloaded"]


@dataclass(frozen=True)
class ModelStateChanged(Event):
    model_name: str
    state: ModelState
    detail: str = ""


@dataclass(frozen=True)
class SettingsChanged(Event):
    """New settings were applied (and saved). ``changed`` are the keys whose value differs;
    what each change does (applies at once, reloads the model...) is its declared ``Effect``
    (``config.SETTINGS[key].effect``)."""

    old: Settings
    new: Settings
    changed: frozenset[str]


E = TypeVar("E", bound=Event)
Handler = Callable[[E], object]


_Ref = Callable[[], Callable[..., object] | None]
"""What the bus keeps per subscriber: called, it gives the handler (None once it is gone)."""


class _StrongRef:
    """Holds a plain function or lambda for as long as it is subscribed."""

    __slots__ = ("_handler",)

    def __init__(self, handler: Callable[..., object]) -> None:
        self._handler = handler

    def __call__(self) -> Callable[..., object]:
        return self._handler


class EventBus:
    """Delivers events by event type (and its base types). Bound methods are held weakly, other
    callables strongly (see the module docstring)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._subs: dict[type[Event], list[_Ref]] = {}
        self._loop = loop

    def subscribe(self, event_type: type[E], handler: Callable[[E], object]) -> None:
        """Call ``handler`` for every event of ``event_type`` (or a subclass).

        A bound method is held weakly (it goes with its object); any other callable strongly.
        """
        ref: _Ref
        if hasattr(handler, "__self__") and hasattr(handler, "__func__"):
            ref = weakref.WeakMethod(handler)
        else:
            ref = _StrongRef(handler)
        self._subs.setdefault(event_type, []).append(ref)

    def unsubscribe(self, event_type: type[E], handler: Callable[[E], object]) -> None:
        refs = self._subs.get(event_type, [])
        self._subs[event_type] = [r for r in refs if r() is not None and r() != handler]

    def subscriber_count(self, event_type: type[Event]) -> int:
        """Live subscribers for exactly ``event_type``."""
        return sum(1 for r in self._subs.get(event_type, []) if r() is not None)

    def publish(self, event: Event) -> None:
        """Deliver ``event`` now. A failing subscriber is logged and does not stop the others."""
        for event_type in type(event).__mro__:
            refs = self._subs.get(event_type)  # type: ignore[call-overload]
            if not refs:
                continue
            alive = []
            for ref in refs:
                handler = ref()
                if handler is None:
                    continue
                alive.append(ref)
                try:
                    handler(event)
                except Exception:
                    log.exception("subscriber %r failed on %r", handler, event)
            refs[:] = alive

    def publish_threadsafe(self, event: Event) -> None:
        """Deliver ``event`` on the bound loop's thread; safe to call from any thread."""
        if self._loop is None:
            raise RuntimeError("EventBus has no loop; pass it as EventBus(loop)")
        self._loop.call_soon_threadsafe(self.publish, event)
