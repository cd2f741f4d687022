"""How long the asyncio loop went without running while some work was awaited.

``async with loop_gaps() as gaps: await work()`` ticks every 10 ms meanwhile; ``gaps.longest``
is the longest stretch between ticks and ``gaps.took`` how long the block ran. A worker-thread
engine keeps the longest gap near 10 ms; one that blocks the loop shows its whole run.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field


@dataclass
class Gaps:
    ticks: list[float] = field(default_factory=list)
    took: float = 0.0

    @property
    def longest(self) -> float:
        return max((b - a for a, b in itertools.pairwise(self.ticks)), default=0.0)


@asynccontextmanager
async def loop_gaps() -> AsyncIterator[Gaps]:
    gaps = Gaps()

    async def tick() -> None:
        while True:
            gaps.ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    try:
        yield gaps
    finally:
        gaps.took = time.perf_counter() - started
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
