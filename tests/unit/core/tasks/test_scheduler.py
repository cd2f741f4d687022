"""Schedules firing through the engine's scheduler with an injected clock: one task per
firing, a missed stretch run once (or skipped, by setting), daylight saving neither skipping
nor doubling a daily run. The ownership of two engines on one database."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.records import NewSchedule, NewTask, ScheduleSpec, TaskFilter
from keiko_desktop.store import Database, open_database
from tests.unit.core.tasks.engine_helpers import Ledger, make_service, until


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.time = now

    def now(self) -> datetime:
        return self.time

    async def sleep(self, seconds: float) -> None:
        self.time += timedelta(seconds=seconds)
        await asyncio.sleep(0)


START = datetime(2026, 3, 6, 12, 0, tzinfo=UTC)


async def _fire_through(service, clock: FakeClock, until_: datetime, step: timedelta) -> None:  # type: ignore[no-untyped-def]
    while clock.time < until_:
        clock.time += step
        await service.engine.scheduler.fire_due()


async def _scheduled(service) -> list:  # type: ignore[no-untyped-def]
    return sorted(await service.list_tasks(TaskFilter()), key=lambda t: t.id)


async def test_every_hour_fires_once_per_hour(database: Database, bus: EventBus) -> None:
    clock = FakeClock(START)
    service = make_service(database, bus, Ledger(), clock=clock)
    spec = ScheduleSpec("every", minutes=60, at=START)
    await service.add_schedule(NewSchedule("hourly", "note", spec, {"text": "tick"}))
    await _fire_through(service, clock, START + timedelta(hours=5), timedelta(minutes=7))
    tasks = await _scheduled(service)
    assert len(tasks) == 5
    assert all(t.schedule_id is not None for t in tasks)
    assert len({t.idempotency_key for t in tasks}) == 5


async def test_a_missed_stretch_runs_once_or_is_skipped(database: Database, bus: EventBus) -> None:
    clock = FakeClock(START)
    current = Settings(task_catch_up=True)
    service = make_service(database, bus, Ledger(), current, clock=clock)
    spec = ScheduleSpec("every", minutes=15, at=START)
    made = await service.add_schedule(NewSchedule("q", "note", spec, {"text": "t"}))
    clock.time += timedelta(hours=10)  # Keiko was closed: 40 firings missed
    assert await service.engine.scheduler.fire_due() == 1
    assert await service.engine.scheduler.fire_due() == 0
    [schedule] = await service.list_schedules()
    assert schedule.id == made.id
    assert schedule.next_run is not None
    assert clock.time < schedule.next_run <= clock.time + timedelta(minutes=15)

    skipping = make_service(database, bus, Ledger(), Settings(task_catch_up=False), clock=clock)
    clock.time += timedelta(hours=10)
    assert await skipping.engine.scheduler.fire_due() == 0  # skipped, and moved on
    [schedule] = await skipping.list_schedules()
    assert schedule.next_run is not None
    assert schedule.next_run > clock.time


async def test_daily_across_spring_forward_and_fall_back(database: Database, bus: EventBus) -> None:
    for day, wall in (
        (datetime(2026, 3, 7, tzinfo=UTC), "02:30"),
        (datetime(2026, 10, 31, tzinfo=UTC), "01:30"),
    ):
        clock = FakeClock(day)
        service = make_service(database, bus, Ledger(), clock=clock)
        spec = ScheduleSpec("daily", time=wall, timezone="America/New_York")
        made = await service.add_schedule(
            NewSchedule(f"daily {wall}", "note", spec, {"text": wall})
        )
        await _fire_through(service, clock, day + timedelta(days=3), timedelta(minutes=10))
        fired = [t for t in await _scheduled(service) if t.schedule_id == made.id]
        assert len(fired) == 3  # one a day: the transition day neither skipped nor doubled


async def test_a_once_schedule_fires_once_and_then_never(database: Database, bus: EventBus) -> None:
    clock = FakeClock(START)
    service = make_service(database, bus, Ledger(), clock=clock)
    spec = ScheduleSpec("once", at=START + timedelta(minutes=30))
    await service.add_schedule(NewSchedule("once", "note", spec, {"text": "now"}))
    await _fire_through(service, clock, START + timedelta(days=2), timedelta(minutes=5))
    assert len(await _scheduled(service)) == 1
    [schedule] = await service.list_schedules()
    assert schedule.next_run is None


async def test_two_engines_one_owns_the_other_waits_then_takes_over(
    database: Database,
    bus: EventBus,
    paths,  # type: ignore[no-untyped-def]
) -> None:
    other_db = await open_database(paths.database)  # another "process"'s connection
    try:
        first = make_service(database, bus, Ledger())
        second_ledger = Ledger()
        second = make_service(other_db, EventBus(asyncio.get_running_loop()), second_ledger)
        first.start("window")
        await until(lambda: first.is_owner)
        second.start("worker")
        await asyncio.sleep(0.5)
        assert not second.is_owner
        holder = await second.holder()
        assert holder is not None
        assert holder.role == "window"
        task = await second.add(NewTask("note", {"text": "from the CLI"}))
        await until(lambda: _completed(first, task.id))  # the owner ran what the other added
        await first.aclose()  # the owner goes: the waiting one takes over within seconds
        await until(lambda: second.is_owner, timeout=5)
        late = await second.add(NewTask("note", {"text": "after"}))
        await until(lambda: _completed(second, late.id))
        assert second_ledger.runs == [late.id]
        await second.aclose()
    finally:
        await other_db.aclose()


async def _completed(service, task_id: int) -> bool:  # type: ignore[no-untyped-def]
    return (await service.get(task_id)).status == "completed"
