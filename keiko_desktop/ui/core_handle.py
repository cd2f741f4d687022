"""CoreHandle: the Core, or a promise of it while it is still being built after the window shows.

Presenters exist from the first paint; whatever they do first awaits ``get()``, so a message typed
before the database is open is sent as soon as it is.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keiko_desktop.app import Core


class CoreHandle:
    """Holds the Core once it exists."""

    def __init__(self, core: Core | None = None) -> None:
        self._core = core
        self._error: BaseException | None = None
        self._ready = asyncio.Event()
        if core is not None:
            self._ready.set()

    @property
    def current(self) -> Core | None:
        return self._core

    def set(self, core: Core) -> None:
        self._core = core
        self._ready.set()

    def fail(self, error: BaseException) -> None:
        """The Core could not be built; every ``get()`` raises ``error``."""
        self._error = error
        self._ready.set()

    async def get(self) -> Core:
        await self._ready.wait()
        if self._core is None:
            assert self._error is not None
            raise self._error
        return self._core
