"""The task engine over the real database: throughput without loss or doubles, priorities,
timeouts, retries with backoff, cancel within a second, children, progress."""

from __future__ import annotations

import asyncio
import time

from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.events import TaskProgressed
from keiko_desktop.core.tasks.kinds import Spawn
from keiko_desktop.core.tasks.records import NewTask, TaskFilter
from keiko_desktop.store import Database
from tests.unit.core.tasks.engine_helpers import Ledger, make_service, until


async def test_a_thousand_tasks_on_two_workers_complete_once_each(
    database: Database, bus: EventBus
) -> None:
    ledger = Ledger()
    service = make_service(database, bus, ledger)
    ids = [
        (await service.add(NewTask("note", {"text": f"n{i}"}, priority="normal"))).id
        for i in range(1000)
    ]
    service.start("worker", workers=2)
    try:
        await asyncio.wait_for(service.wait_idle(), 60)
    finally:
        await service.aclose()
    assert sorted(ledger.runs) == sorted(ids)  # every one ran, none twice
    done = await service.list_tasks(TaskFilter(status="completed"))
    assert len(done) == 1000
    assert {t.result for t in done} == {f"n{i}" for i in range(1000)}
    attempts = await service.attempts(ids[500])
    assert [a.outcome for a in attempts] == ["completed"]


async def test_priority_orders_the_queue(database: Database, bus: EventBus) -> None:
    ledger = Ledger()
    service = make_service(database, bus, ledger)
    low = await service.add(NewTask("note", {"text": "l"}, priority="low"))
    normal = await service.add(NewTask("note", {"text": "n"}))
    critical = await service.add(NewTask("note", {"text": "c"}, priority="critical"))
    high = await service.add(NewTask("note", {"text": "h"}, priority="high"))
    service.start("worker", workers=1)
    try:
        await asyncio.wait_for(service.wait_idle(), 10)
    finally:
        await service.aclose()
    assert ledger.runs == [critical.id, high.id, normal.id, low.id]


async def test_a_task_over_its_time_limit_fails_saying_so(
    database: Database, bus: EventBus
) -> None:
    ledger = Ledger()
    service = make_service(database, bus, ledger)
    task = await service.add(NewTask("sleep", {"seconds": 5}, timeout=0.3, max_attempts=1))
    service.start("worker")
    try:
        await asyncio.wait_for(service.wait_idle(), 10)
    finally:
        await service.aclose()
    ended = await service.get(task.id)
    assert ended.status == "failed"
    assert "longer than 0.3 s" in (ended.error or "")
    assert [a.outcome for a in await service.attempts(task.id)] == ["timed_out"]


async def test_failures_are_retried_with_growing_waits(database: Database, bus: EventBus) -> None:
    ledger = Ledger()
    service = make_service(database, bus, ledger, Settings(task_backoff=0.2))
    task = await service.add(NewTask("flaky", {"fail": 2}, max_attempts=3))
    service.start("worker")
    try:
        await asyncio.wait_for(service.wait_idle(), 20)
    finally:
        await service.aclose()
    ended = await service.get(task.id)
    assert ended.status == "completed"
    assert ended.result == "finally"
    attempts = await service.attempts(task.id)
    assert [a.outcome for a in attempts] == ["failed", "failed", "completed"]
    gap1 = (attempts[1].started_at - attempts[0].ended_at).total_seconds()  # type: ignore[operator]
    gap2 = (attempts[2].started_at - attempts[1].ended_at).total_seconds()  # type: ignore[operator]
    assert 0.1 <= gap1 < 0.6  # 0.2 s, half of it jittered
    assert 0.2 <= gap2 < 1.0  # twice that


async def test_no_attempt_left_fails_with_the_last_error(database: Database, bus: EventBus) -> None:
    ledger = Ledger()
    service = make_service(database, bus, ledger)
    task = await service.add(NewTask("flaky", {"fail": 5}, max_attempts=2))
    service.start("worker")
    try:
        await asyncio.wait_for(service.wait_idle(), 20)
    finally:
        await service.aclose()
    ended = await service.get(task.id)
    assert ended.status == "failed"
    assert ended.error == "flaky failure 2"
    assert ended.attempts == 2


async def test_cancel_stops_a_running_task_within_a_second(
    database: Database, bus: EventBus
) -> None:
    ledger = Ledger()
    service = make_service(database, bus, ledger)
    sleeper = await service.add(NewTask("sleep", {"seconds": 30}))
    stubborn = await service.add(NewTask("stubborn", {"seconds": 30}))
    service.start("worker")
    try:
        await until(lambda: len(ledger.runs) == 2)
        for task in (sleeper, stubborn):
            started = time.monotonic()
            await service.cancel(task.id)
            await until(lambda t=task: _status(service, t.id, "cancelled"), timeout=1.0)
            assert time.monotonic() - started < 1.0
    finally:
        await service.aclose()


async def test_cancel_from_another_process_reaches_the_owner(
    database: Database, bus: EventBus
) -> None:
    """Another process only sets the request in the database; the owner polls for it."""
    ledger = Ledger()
    service = make_service(database, bus, ledger)
    task = await service.add(NewTask("sleep", {"seconds": 30}))
    service.start("worker")
    try:
        await until(lambda: ledger.runs)
        started = time.monotonic()
        await database.tasks.request_cancel(task.id)  # what `keiko tasks cancel` does
        await until(lambda: _status(service, task.id, "cancelled"), timeout=1.0)
        assert time.monotonic() - started < 1.0
    finally:
        await service.aclose()


async def test_closing_puts_running_tasks_back_uncounted(database: Database, bus: EventBus) -> None:
    ledger = Ledger()
    service = make_service(database, bus, ledger)
    task = await service.add(NewTask("gated", {}, max_attempts=1))
    service.start("worker")
    await until(lambda: ledger.runs)
    await service.aclose()
    back = await service.get(task.id)
    assert back.status == "pending"
    assert back.attempts == 0
    assert [a.outcome for a in await service.attempts(task.id)] == ["stopped"]
    assert await database.tasks.lease_holder() is None  # given up for the next process


async def test_progress_is_published_and_stored(database: Database, bus: EventBus) -> None:
    ledger = Ledger()
    service = make_service(database, bus, ledger)
    seen: list[TaskProgressed] = []
    bus.subscribe(TaskProgressed, seen.append)
    task = await service.add(NewTask("sleep", {"seconds": 2.5}))
    service.start("worker")
    try:
        await until(lambda: _progress_stored(service, task.id), timeout=5)
        await asyncio.wait_for(service.wait_idle(), 10)
    finally:
        await service.aclose()
    values = [e.progress for e in seen if e.task_id == task.id]
    assert values == sorted(values)
    assert values[-1] >= 90
    assert len(values) <= 2.5 / 0.1 + 3  # throttled to about ten a second
    assert (await service.get(task.id)).progress == 100


async def test_a_parent_finishes_when_its_children_have(database: Database, bus: EventBus) -> None:
    from keiko_desktop.core.tasks.kinds import Param, TaskKind

    ledger = Ledger()
    service = make_service(database, bus, ledger)

    async def fan(ctx, params):  # type: ignore[no-untyped-def]
        return Spawn(
            [
                NewTask(
                    "note",
                    {"text": f"child {i}"},
                    parent_id=ctx.task.id,
                    idempotency_key=f"fan:{ctx.task.id}:{i}",
                    max_attempts=1,
                    timeout=0,
                )
                for i in range(5)
            ],
            "5 children",
        )

    service.kinds.register(
        TaskKind("fan", "Fan", "Spawns.", fan, (Param("n", "int", "N", required=False),))
    )
    parent = await service.add(NewTask("fan", {}))
    service.start("worker", workers=1)  # the waiting parent holds no worker
    try:
        await asyncio.wait_for(service.wait_idle(), 10)
    finally:
        await service.aclose()
    ended = await service.get(parent.id)
    assert ended.status == "completed"
    assert ended.progress == 100
    assert ended.children == 5
    children = await service.children(parent.id)
    assert {c.result for c in children} == {f"child {i}" for i in range(5)}


async def _status(service, task_id: int, status: str) -> bool:  # type: ignore[no-untyped-def]
    return (await service.get(task_id)).status == status


async def _progress_stored(service, task_id: int) -> bool:  # type: ignore[no-untyped-def]
    task = await service.get(task_id)
    return task.status == "running" and 0 < task.progress < 100
