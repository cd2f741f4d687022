"""PieceQueue: text pieces handed from the task that makes them to the one that reads them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

_END = object()


class PieceQueue:
    """``push`` pieces, then ``end`` once; iterating yields them until the end."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[object] = asyncio.Queue()

    def push(self, piece: str) -> None:
        self._queue.put_nowait(piece)

    def end(self) -> None:
        self._queue.put_nowait(_END)

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            assert isinstance(item, str)
            yield item
