from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable

import pytest

from keiko_desktop.workers import ThreadWorker


async def test_run_uses_one_named_thread() -> None:
    worker = ThreadWorker("keiko-test")
    try:
        names = {await worker.run(lambda: threading.current_thread().name) for _ in range(5)}
        assert len(names) == 1
        assert next(iter(names)).startswith("keiko-test")
    finally:
        worker.shutdown()


async def test_stream_delivers_items_in_order() -> None:
    worker = ThreadWorker("keiko-test")

    def produce(emit: Callable[[int], None], cancelled: threading.Event) -> None:
        for i in range(100):
            emit(i)

    try:
        items = [i async for i in worker.stream(produce)]
        assert items == list(range(100))
    finally:
        worker.shutdown()


async def test_stream_cancel_stops_producer() -> None:
    worker = ThreadWorker("keiko-test")
    produced: list[int] = []

    def produce(emit: Callable[[int], None], cancelled: threading.Event) -> None:
        i = 0
        while not cancelled.is_set():
            produced.append(i)
            emit(i)
            i += 1
            time.sleep(0.005)

    try:
        handle = worker.stream(produce)
        got = []
        async for item in handle:
            got.append(item)
            if item == 3:
                handle.cancel()
        assert got[:4] == [0, 1, 2, 3]
        assert len(produced) < 10
    finally:
        worker.shutdown()


async def test_stream_error_reaches_consumer() -> None:
    worker = ThreadWorker("keiko-test")

    def produce(emit: Callable[[str], None], cancelled: threading.Event) -> None:
        emit("a")
        raise ValueError("engine broke")

    try:
        got: list[str] = []

        async def consume() -> None:
            async for item in worker.stream(produce):
                got.append(item)

        with pytest.raises(ValueError, match="engine broke"):
            await consume()
        assert got == ["a"]
    finally:
        worker.shutdown()


async def test_loop_stays_free_while_worker_blocks() -> None:
    worker = ThreadWorker("keiko-test")
    try:
        job = asyncio.ensure_future(worker.run(time.sleep, 0.3))
        start = time.perf_counter()
        await asyncio.sleep(0.01)
        assert time.perf_counter() - start < 0.1
        await job
    finally:
        worker.shutdown()
