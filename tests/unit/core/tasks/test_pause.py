"""Pause tasks (the tray's): no new task starts while paused, running ones go on, resume starts
the waiting ones at once; the pause is this process's state, never stored."""

from __future__ import annotations

import asyncio

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.events import TaskOwnerChanged
from keiko_desktop.core.tasks.records import NewTask
from keiko_desktop.core.tasks.service import TaskService
from keiko_desktop.store import Database
from tests.unit.core.tasks.engine_helpers import Ledger, make_service, until


async def test_paused_claims_nothing_new_and_lets_the_running_task_finish(
    database: Database, bus: EventBus
) -> None:
    ledger = Ledger()
    service = make_service(database, bus, ledger)
    running = await service.add(NewTask("gated"))
    service.start("worker", workers=2)
    try:
        await until(lambda: ledger.runs == [running.id])
        service.pause()
        assert service.paused
        waiting = await service.add(NewTask("note", {"text": "later"}))
        await asyncio.sleep(1.5)  # more than the dispatcher's idle poll: it was asked again
        assert ledger.runs == [running.id]
        assert (await service.get(waiting.id)).status == "pending"
        ledger.gate.set()  # the running one goes on and completes while paused
        await until(lambda: _status(service, running.id, "completed"))
        assert (await service.get(waiting.id)).status == "pending"

        started = asyncio.get_running_loop().time()
        service.resume()
        await until(lambda: _status(service, waiting.id, "completed"), timeout=5)
        assert asyncio.get_running_loop().time() - started < 1.0  # woken, not on the next poll
        assert ledger.runs == [running.id, waiting.id]
    finally:
        await service.aclose()


async def test_pause_and_resume_are_published_as_the_same_owner(
    database: Database, bus: EventBus
) -> None:
    service = make_service(database, bus, Ledger())
    seen: list[tuple[bool, str, bool]] = []

    def on_owner(event: TaskOwnerChanged) -> None:
        seen.append((event.owner, event.holder, service.paused))

    bus.subscribe(TaskOwnerChanged, on_owner)
    service.start("worker")
    try:
        await service.wait_owner()
        service.pause()
        service.pause()  # twice: said once
        service.resume()
        await until(lambda: len(seen) >= 3)
    finally:
        bus.unsubscribe(TaskOwnerChanged, on_owner)
        await service.aclose()
    assert seen == [(True, "", False), (True, "", True), (True, "", False)]


async def test_a_pause_is_not_stored(database: Database, bus: EventBus) -> None:
    ledger = Ledger()
    first = make_service(database, bus, ledger)
    first.pause()
    task = await first.add(NewTask("note", {"text": "t"}))
    first.start("worker")
    await asyncio.sleep(0.3)
    await first.aclose()
    assert (await first.get(task.id)).status == "pending"

    again = make_service(database, bus, ledger)  # the next start of Keiko
    assert not again.paused
    again.start("worker")
    try:
        await asyncio.wait_for(again.wait_idle(), 10)
    finally:
        await again.aclose()
    assert (await again.get(task.id)).status == "completed"


async def _status(service: TaskService, task_id: int, status: str) -> bool:
    return (await service.get(task_id)).status == status
