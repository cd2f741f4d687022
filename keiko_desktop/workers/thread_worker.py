"""ThreadWorker: one thread per engine, with awaitable calls and streams.

``await worker.run(fn, *args)`` runs ``fn`` on the worker's thread. ``worker.stream(producer)``
runs ``producer(emit, cancelled)`` there; each ``emit(item)`` reaches the loop through
``call_soon_threadsafe`` into an ``asyncio.Queue``, and the caller iterates the items. Cancelling
sets a ``threading.Event`` the producer checks between items.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Generic, ParamSpec, TypeVar

T = TypeVar("T")
P = ParamSpec("P")

_DONE = object()


class StreamHandle(Generic[T]):
    """Items a worker produces, as an async iterator. Iterate it once."""

    def __init__(self, cancelled: threading.Event) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._cancelled = cancelled
        self._error: BaseException | None = None

    def cancel(self) -> None:
        """Ask the producer to stop at its next check."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # Called on the loop thread only.
    def _put(self, item: object) -> None:
        self._queue.put_nowait(item)

    def _close(self, error: BaseException | None) -> None:
        self._error = error
        self._queue.put_nowait(_DONE)

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[T]:
        while True:
            item = await self._queue.get()
            if item is _DONE:
                if self._error is not None:
                    raise self._error
                return
            yield item  # type: ignore[misc]


class ThreadWorker:
    """A single-thread executor bound to the running loop."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run ``fn`` on the worker thread and await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    def stream(
        self, producer: Callable[[Callable[[T], None], threading.Event], None]
    ) -> StreamHandle[T]:
        """Start ``producer(emit, cancelled)`` on the worker thread; return its items."""
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()
        handle: StreamHandle[T] = StreamHandle(cancelled)

        def emit(item: T) -> None:
            loop.call_soon_threadsafe(handle._put, item)

        def body() -> None:
            error: BaseException | None = None
            try:
                producer(emit, cancelled)
            except BaseException as exc:  # noqa: BLE001 - handed to the consumer, re-raised there
                error = exc
            with contextlib.suppress(RuntimeError):  # loop already closed: nobody is listening
                loop.call_soon_threadsafe(handle._close, error)

        self._executor.submit(body)
        return handle

    def shutdown(self, wait: bool = True) -> None:
        self._executor.shutdown(wait=wait, cancel_futures=True)
