"""The task engine's overhead: throughput of no-op tasks (the ``reminder`` kind) on 2 workers
and enqueue-to-start latency, over a real SQLite file.

The raw baseline, in the same run and on the same database thread, is the least storage a
task needs: one insert, one update to running, one update to done, each its own write
transaction. Throughput is reported as engine ÷ raw; latency (from ``add`` returning to the
task's running state being published) as its median and p99, and over one raw write.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, update

from benchmarks.common import summary, write_results
from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.builtin import builtin_kinds
from keiko_desktop.core.tasks.events import TaskUpdated
from keiko_desktop.core.tasks.kinds import TaskServices
from keiko_desktop.core.tasks.records import NewTask
from keiko_desktop.core.tasks.service import TaskService
from keiko_desktop.store import Database, open_database
from keiko_desktop.store.tables import tasks, utcnow

TASKS = 1000
LATENCY_SAMPLES = 200
ROUNDS = 3


def service(database: Database, bus: EventBus) -> TaskService:
    settings = Settings(task_workers=2)
    services = TaskServices(lambda: settings)
    return TaskService(database.tasks, builtin_kinds(services), services, bus, lambda: settings)


async def raw_round(database: Database) -> float:
    """Seconds for TASKS tasks' minimal storage: insert, start, finish."""
    start = time.perf_counter()
    for i in range(TASKS):
        now = utcnow()
        values = {"kind": "reminder", "name": f"r{i}", "status": "pending"}
        new_id = await database.write(
            lambda s, v=values, n=now: s.execute(
                insert(tasks).values(**v, created_at=n, updated_at=n).returning(tasks.c.id)
            ).scalar_one()
        )
        for status in ("running", "completed"):
            await database.write(
                lambda s, i=new_id, st=status: s.execute(
                    update(tasks).where(tasks.c.id == i).values(status=st, updated_at=utcnow())
                )
            )
    return time.perf_counter() - start


async def engine_round(database: Database) -> tuple[float, float]:
    """(seconds to add TASKS reminders, seconds for the engine to run them all)."""
    bus = EventBus(asyncio.get_running_loop())
    tasks_service = service(database, bus)
    start = time.perf_counter()
    for i in range(TASKS):
        await tasks_service.add(NewTask("reminder", {"text": f"r{i}"}))
    added = time.perf_counter() - start
    start = time.perf_counter()
    tasks_service.start("worker")
    await tasks_service.wait_idle()
    ran = time.perf_counter() - start
    await tasks_service.aclose()
    return added, ran


async def latency(database: Database) -> tuple[list[float], list[float]]:
    """Enqueue-to-start seconds per task (one at a time, the engine idle), and raw writes."""
    bus = EventBus(asyncio.get_running_loop())
    tasks_service = service(database, bus)
    started: dict[int, float] = {}
    arrived = asyncio.Event()

    def on_update(event: TaskUpdated) -> None:
        if event.task.status == "running" and event.task.id not in started:
            started[event.task.id] = time.perf_counter()
            arrived.set()

    bus.subscribe(TaskUpdated, on_update)
    tasks_service.start("worker")
    await tasks_service.wait_owner()
    samples = []
    for i in range(LATENCY_SAMPLES):
        arrived.clear()
        record = await tasks_service.add(NewTask("reminder", {"text": f"l{i}"}))
        added = time.perf_counter()
        await asyncio.wait_for(arrived.wait(), 10)
        samples.append(started[record.id] - added)
        await asyncio.sleep(0.002)
    await tasks_service.aclose()
    raw = []
    for _ in range(LATENCY_SAMPLES):
        start = time.perf_counter()
        await database.write(
            lambda s: s.execute(update(tasks).where(tasks.c.id == 1).values(progress=1))
        )
        raw.append(time.perf_counter() - start)
    return samples, raw


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        raw_s, added_s, ran_s = [], [], []
        for r in range(ROUNDS):
            raw_db = await open_database(Path(folder) / f"raw{r}.sqlite3")
            raw_s.append(await raw_round(raw_db))
            await raw_db.aclose()
            engine_db = await open_database(Path(folder) / f"engine{r}.sqlite3")
            added, ran = await engine_round(engine_db)
            await engine_db.aclose()
            added_s.append(added)
            ran_s.append(ran)
        lat_db = await open_database(Path(folder) / "latency.sqlite3")
        samples, raw_writes = await latency(lat_db)
        await lat_db.aclose()
    raw_rate = TASKS / statistics.median(raw_s)
    engine_rate = TASKS / (statistics.median(added_s) + statistics.median(ran_s))
    run_rate = TASKS / statistics.median(ran_s)
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    write_results(
        "tasks",
        {
            "headline": {
                "engine_tasks_per_s": round(engine_rate, 1),
                "engine_run_tasks_per_s": round(run_rate, 1),
                "raw_tasks_per_s": round(raw_rate, 1),
                "engine_over_raw": round(engine_rate / raw_rate, 3),
                "latency_median_ms": round(statistics.median(samples) * 1000, 2),
                "latency_p99_ms": round(p99 * 1000, 2),
                "raw_write_median_ms": round(statistics.median(raw_writes) * 1000, 3),
                "latency_median_over_raw_write": round(
                    statistics.median(samples) / statistics.median(raw_writes), 2
                ),
            },
            "tasks": TASKS,
            "workers": 2,
            "raw_s": summary(raw_s),
            "add_s": summary(added_s),
            "run_s": summary(ran_s),
            "latency_s": summary(samples),
        },
    )


if __name__ == "__main__":
    asyncio.run(main())
