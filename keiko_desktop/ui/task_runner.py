"""TaskRunner: starts coroutines from Qt slots, keeps them alive, and routes their failures.

A ``KeikoError`` is the user's to read: it goes to ``on_user_error`` (shown inline). Anything
else is unexpected: it goes to the loop's exception handler, which logs it and shows the error
dialog (``ErrorReporter``). Either way the app keeps running.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from keiko_desktop.core.errors import KeikoError

log = logging.getLogger(__name__)


class TaskRunner:
    """The running tasks of one presenter."""

    def __init__(self, on_user_error: Callable[[KeikoError], None]) -> None:
        self._on_user_error = on_user_error
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Start ``coro`` on the app's loop (it runs at once if the loop is running).

        After ``close()`` nothing starts: the coroutine is closed unrun and a done task returned.
        """
        if self._closed:
            coro.close()
            return _done_task()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # a slot called while the loop is between runs (tests)
            loop = asyncio.get_event_loop_policy().get_event_loop()
        task = loop.create_task(coro, name=name or None)
        self._tasks.add(task)
        task.add_done_callback(self._on_task_done)
        return task

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def wait_idle(self) -> None:
        """Wait until no task is left (tests, shutdown); bound it with ``asyncio.timeout``."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    def cancel_all(self) -> None:
        for task in list(self._tasks):
            task.cancel()

    def close(self) -> None:
        """Cancel every task and start no more (the window is going away)."""
        self._closed = True
        self.cancel_all()

    def _on_task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled() or self._closed:
            return
        exc = task.exception()
        if exc is None:
            return
        if isinstance(exc, KeikoError):
            log.info("%s: %s", task.get_name(), exc.message)
            self._on_user_error(exc)
            return
        task.get_loop().call_exception_handler(
            {"message": f"Unexpected error in {task.get_name()}", "exception": exc, "task": task}
        )


def _done_task() -> asyncio.Task[Any]:
    async def nothing() -> None:
        return None

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    return loop.create_task(nothing())
