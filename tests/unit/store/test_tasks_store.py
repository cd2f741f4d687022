"""The tasks tables: idempotency, the queue's order, the lease (one holder; taken over from a
dead or expired one, recovering its running tasks), completion only under the lease."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import psutil
import pytest
from sqlalchemy import update

from keiko_desktop.core.tasks.errors import TaskError
from keiko_desktop.core.tasks.records import NewTask, TaskFilter
from keiko_desktop.store import Database
from keiko_desktop.store.tables import task_lease, utcnow
from keiko_desktop.store.task_lease import MAX_INTERRUPTIONS
from tests.helpers.processes import dead_process


def new(text: str = "x", **kw: object) -> NewTask:
    values: dict[str, object] = {"max_attempts": 3, "timeout": 0.0} | kw
    return NewTask("note", {"text": text}, name=text, **values)  # type: ignore[arg-type]


async def test_an_idempotency_key_adds_a_task_once(db: Database) -> None:
    first, made = await db.tasks.add_task(new("a", idempotency_key="k1"))
    again, made_again = await db.tasks.add_task(new("b", idempotency_key="k1"))
    assert made
    assert not made_again
    assert again.id == first.id
    assert again.name == "a"
    assert len(await db.tasks.list_tasks(TaskFilter())) == 1


async def test_claim_takes_the_most_urgent_ready_tasks_under_the_lease(db: Database) -> None:
    repo = db.tasks
    low, _ = await repo.add_task(new("low", priority="low"))
    later, _ = await repo.add_task(
        new("later", priority="critical", not_before=utcnow() + timedelta(hours=1))
    )
    high, _ = await repo.add_task(new("high", priority="high"))
    normal, _ = await repo.add_task(new("normal"))
    assert await repo.claim("nobody", 5, utcnow()) == ([], None)  # no lease, no work
    held, _holder, _ = await repo.acquire_lease("t1", "worker", 10)
    assert held
    claimed, _later = await repo.claim("t1", 2, utcnow())
    assert [t.id for t in claimed] == [high.id, normal.id]
    assert all(t.status == "running" and t.attempts == 1 for t in claimed)
    rest, later_at = await repo.claim("t1", 5, utcnow())
    assert [t.id for t in rest] == [low.id]  # the critical one waits for its time
    waiting = await repo.get_task(later.id)
    assert waiting is not None
    assert later_at == waiting.not_before


async def test_only_the_lease_holder_can_finish_a_task(db: Database) -> None:
    repo = db.tasks
    task, _ = await repo.add_task(new())
    await repo.acquire_lease("t1", "worker", 10)
    [_claimed], _ = await repo.claim("t1", 1, utcnow())
    assert await repo.finish("t2", task.id, "completed", result="stolen") is None
    done = await repo.finish("t1", task.id, "completed", result="ok")
    assert done is not None
    assert done.status == "completed"
    assert done.result == "ok"
    assert await repo.finish("t1", task.id, "completed", result="twice") is None
    assert [a.outcome for a in await repo.attempts(task.id)] == ["completed"]


async def test_a_live_lease_is_not_taken(db: Database, child: subprocess.Popen[bytes]) -> None:
    repo = db.tasks
    await repo.acquire_lease("t1", "worker", 10)
    await _own_by(db, child.pid, psutil.Process(child.pid).create_time())  # another process
    held, holder, _ = await repo.acquire_lease("t2", "window", 10)
    assert not held
    assert holder is not None
    assert holder.pid == child.pid
    assert holder.role == "worker"


async def test_a_dead_holders_lease_is_taken_and_its_tasks_recovered(db: Database) -> None:
    repo = db.tasks
    task, _ = await repo.add_task(new())
    await repo.acquire_lease("t1", "worker", 10)
    await repo.claim("t1", 1, utcnow())
    await _own_by(db, *dead_process())  # the worker was killed -9
    held, _holder, recovered = await repo.acquire_lease("t2", "worker", 10)
    assert held
    assert recovered == [task.id]
    back = await repo.get_task(task.id)
    assert back is not None
    assert back.status == "pending"
    assert back.attempts == 1
    assert [a.outcome for a in await repo.attempts(task.id)] == ["interrupted"]
    assert await repo.finish("t1", task.id, "completed") is None  # the old owner is refused


async def test_an_expired_lease_is_taken(db: Database, child: subprocess.Popen[bytes]) -> None:
    repo = db.tasks
    await repo.acquire_lease("t1", "worker", 10)
    await _own_by(db, child.pid, psutil.Process(child.pid).create_time())
    await db.write(
        lambda s: s.execute(update(task_lease).values(expires_at=utcnow() - timedelta(seconds=1)))
    )
    held, _holder, _ = await repo.acquire_lease("t2", "window", 10)
    assert held
    assert not await repo.heartbeat("t1", 10)  # the stalled owner learns it lost the lease


async def test_a_task_that_keeps_killing_its_worker_fails(db: Database) -> None:
    repo = db.tasks
    task, _ = await repo.add_task(new(max_attempts=10))
    for round_ in range(MAX_INTERRUPTIONS):
        token = f"t{round_}"
        held, _h, _r = await repo.acquire_lease(token, "worker", 10)
        assert held
        claimed, _ = await repo.claim(token, 1, utcnow())
        assert [t.id for t in claimed] == [task.id]
        await _own_by(db, *dead_process())
    await repo.acquire_lease("last", "worker", 10)
    ended = await repo.get_task(task.id)
    assert ended is not None
    assert ended.status == "failed"
    assert f"stopped {MAX_INTERRUPTIONS} times" in (ended.error or "")


async def test_cancel_pending_at_once_running_on_request(db: Database) -> None:
    repo = db.tasks
    running, _ = await repo.add_task(new("r"))
    pending, _ = await repo.add_task(new("p"))
    await repo.acquire_lease("t1", "worker", 10)
    await repo.claim("t1", 1, utcnow())
    [cancelled] = await repo.request_cancel(pending.id)
    assert cancelled.status == "cancelled"
    [asked] = await repo.request_cancel(running.id)
    assert asked.status == "running"
    assert asked.cancel_requested
    assert await repo.cancel_requests("t1") == [running.id]
    with pytest.raises(TaskError, match="already cancelled"):
        await repo.request_cancel(pending.id)


async def test_delete_refuses_a_running_task_and_takes_children(db: Database) -> None:
    repo = db.tasks
    parent, _ = await repo.add_task(new("parent"))
    child, _ = await repo.add_task(new("child", parent_id=parent.id))
    busy, _ = await repo.add_task(new("busy", priority="critical"))
    await repo.acquire_lease("t1", "worker", 10)
    await repo.claim("t1", 1, utcnow())
    with pytest.raises(TaskError, match="Cancel it first"):
        await repo.delete_tasks([busy.id, parent.id])
    assert await repo.get_task(parent.id) is not None  # nothing went
    assert sorted(await repo.delete_tasks([parent.id])) == sorted([parent.id, child.id])


async def test_retry_starts_a_failed_task_over(db: Database) -> None:
    repo = db.tasks
    task, _ = await repo.add_task(new())
    await repo.acquire_lease("t1", "worker", 10)
    await repo.claim("t1", 1, utcnow())
    await repo.finish("t1", task.id, "failed", error="boom")
    [again] = await repo.retry(task.id)
    assert again.status == "pending"
    assert again.attempts == 0
    assert again.error is None
    with pytest.raises(TaskError, match="only a failed or cancelled"):
        await repo.retry(task.id)


async def _own_by(db: Database, pid: int, started: float) -> None:
    """Make the lease look held by process ``pid`` (another Keiko process)."""
    await db.write(
        lambda s: s.execute(
            update(task_lease).values(owner_pid=pid, owner_started=started, owner_token="other")
        )
    )
