"""Background tasks over SQLite: ``SqliteTaskRepository`` (``core.tasks.ports``'
``TaskRepository``; tables made by ``m008_tasks``).

The queue is the ``tasks`` table itself: the owner of the lease (``task_lease.py``) claims the
most urgent ready rows (priority, then age) in one write transaction, marks them ``running``
under its lease token and opens an attempt row for each. Every later change of a running task
(progress aside) is conditional on that token, so a task whose owner lost the lease can never be
completed twice: ``finish`` returns None for it. Any process may add, list and cancel: a pending
task is cancelled at once, a running one gets ``cancel_requested`` and its owner stops it.
Every method runs on the database's worker thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from keiko_desktop.core.tasks.errors import TaskError
from keiko_desktop.core.tasks.records import (
    FINISHED,
    MAX_ERROR,
    MAX_RESULT,
    AttemptOutcome,
    NewTask,
    TaskAttempt,
    TaskFilter,
    TaskRecord,
    priority_rank,
)
from keiko_desktop.store.sql import IN_CHUNK, like_pattern, rowcount
from keiko_desktop.store.tables import task_attempts, tasks, utcnow
from keiko_desktop.store.task_lease import TaskLeaseMixin
from keiko_desktop.store.task_rows import attempt_record, params_json, task_record
from keiko_desktop.store.task_schedules import TaskScheduleMixin

if TYPE_CHECKING:
    from keiko_desktop.store.database import Database

_SEARCHED = (tasks.c.name, tasks.c.kind, tasks.c.result, tasks.c.error)
_child = tasks.alias("child")
_CHILDREN = (
    select(func.count()).where(_child.c.parent_id == tasks.c.id).scalar_subquery().label("n")
)


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… (cut: {len(text) - limit} more characters)"


def get_task(session: Session, task_id: int) -> TaskRecord | None:
    row = session.execute(select(tasks, _CHILDREN).where(tasks.c.id == task_id)).first()
    return None if row is None else task_record(row, row.n)


def _records(session: Session, ids: Sequence[int]) -> list[TaskRecord]:
    found: list[TaskRecord] = []
    for start in range(0, len(ids), IN_CHUNK):
        query = select(tasks, _CHILDREN).where(tasks.c.id.in_(ids[start : start + IN_CHUNK]))
        found.extend(task_record(row, row.n) for row in session.execute(query))
    order = {task_id: i for i, task_id in enumerate(ids)}
    return sorted(found, key=lambda t: order[t.id])


def insert_task(session: Session, new: NewTask, now: datetime) -> tuple[TaskRecord, bool]:
    """Insert ``new`` (its defaults resolved by the service), or find the task that has its
    idempotency key: (the task, whether it is new)."""
    if new.idempotency_key is not None:
        existing = session.execute(
            select(tasks.c.id).where(tasks.c.idempotency_key == new.idempotency_key)
        ).scalar()
        if existing is not None:
            found = get_task(session, existing)
            assert found is not None
            return found, False
    assert new.max_attempts is not None
    assert new.timeout is not None
    new_id = session.execute(
        insert(tasks)
        .values(
            name=new.name,
            kind=new.kind,
            params=params_json(new.params),
            priority=priority_rank(new.priority),
            status="pending",
            max_attempts=new.max_attempts,
            timeout=new.timeout,
            idempotency_key=new.idempotency_key,
            parent_id=new.parent_id,
            schedule_id=new.schedule_id,
            not_before=new.not_before,
            created_at=now,
            updated_at=now,
        )
        .returning(tasks.c.id)
    ).scalar_one()
    created = get_task(session, new_id)
    assert created is not None
    return created, True


class SqliteTaskRepository(TaskLeaseMixin, TaskScheduleMixin):
    """Tasks, their attempts, schedules and the lease (implements ``TaskRepository``)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # ------------------------------------------------------------------ adding and reading

    async def add_task(self, new: NewTask) -> tuple[TaskRecord, bool]:
        return await self._db.write(lambda s: insert_task(s, new, utcnow()))

    async def get_task(self, task_id: int) -> TaskRecord | None:
        return await self._db.read(lambda s: get_task(s, task_id))

    async def list_tasks(self, filter: TaskFilter) -> list[TaskRecord]:
        """Newest first. See ``TaskFilter``."""

        def run(session: Session) -> list[TaskRecord]:
            query = select(tasks, _CHILDREN).order_by(tasks.c.id.desc())
            if filter.status is not None:
                query = query.where(tasks.c.status == filter.status)
            if filter.kind is not None:
                query = query.where(tasks.c.kind == filter.kind)
            if filter.parent_id is not None:
                query = query.where(tasks.c.parent_id == filter.parent_id)
            for word in filter.search.split():
                pattern = like_pattern(word)
                query = query.where(or_(*(c.ilike(pattern, escape="\\") for c in _SEARCHED)))
            query = query.limit(max(0, filter.limit))
            return [task_record(row, row.n) for row in session.execute(query)]

        return await self._db.read(run)

    async def counts(self) -> dict[str, int]:
        def run(session: Session) -> dict[str, int]:
            query = select(tasks.c.status, func.count()).group_by(tasks.c.status)
            return {row[0]: row[1] for row in session.execute(query)}

        return await self._db.read(run)

    async def attempts(self, task_id: int) -> list[TaskAttempt]:
        def run(session: Session) -> list[TaskAttempt]:
            query = (
                select(task_attempts)
                .where(task_attempts.c.task_id == task_id)
                .order_by(task_attempts.c.number)
            )
            return [attempt_record(row) for row in session.execute(query)]

        return await self._db.read(run)

    async def changed_since(self, since: datetime, limit: int) -> list[TaskRecord]:
        """Tasks updated at or after ``since``, oldest change first, at most ``limit``."""

        def run(session: Session) -> list[TaskRecord]:
            query = (
                select(tasks, _CHILDREN)
                .where(tasks.c.updated_at >= since)
                .order_by(tasks.c.updated_at, tasks.c.id)
                .limit(limit)
            )
            return [task_record(row, row.n) for row in session.execute(query)]

        return await self._db.read(run)

    # ------------------------------------------------------------------ what users do

    async def request_cancel(self, task_id: int) -> list[TaskRecord]:
        """Cancel a pending task (and its pending children) at once, ask the owner to stop a
        running one (and its running children); the changed tasks. ``TaskError`` when it is
        unknown or finished."""

        def run(session: Session) -> list[TaskRecord]:
            task = get_task(session, task_id)
            if task is None:
                raise TaskError(f"There is no task {task_id}.")
            if task.finished:
                raise TaskError(f"Task {task_id} is already {task.status}.")
            now = utcnow()
            ids = [task_id, *_descendants(session, task_id)]
            changed: list[int] = []
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                pending = session.execute(
                    sql_update(tasks)
                    .where(tasks.c.id.in_(chunk), tasks.c.status == "pending")
                    .values(status="cancelled", finished_at=now, updated_at=now)
                    .returning(tasks.c.id)
                ).scalars()
                changed.extend(pending)
                running = session.execute(
                    sql_update(tasks)
                    .where(tasks.c.id.in_(chunk), tasks.c.status == "running")
                    .values(cancel_requested=True, updated_at=now)
                    .returning(tasks.c.id)
                ).scalars()
                changed.extend(running)
            return _records(session, changed)

        return await self._db.write(run)

    async def retry(self, task_id: int) -> list[TaskRecord]:
        """A failed or cancelled task (and its failed or cancelled children) pending again,
        its attempts from 0. ``TaskError`` in any other state."""

        def run(session: Session) -> list[TaskRecord]:
            task = get_task(session, task_id)
            if task is None:
                raise TaskError(f"There is no task {task_id}.")
            if task.status not in ("failed", "cancelled"):
                raise TaskError(
                    f"Task {task_id} is {task.status}; only a failed or cancelled task can be"
                    " retried.",
                    "Duplicate it to run it again.",
                )
            ids = [task_id, *_descendants(session, task_id)]
            now = utcnow()
            changed: list[int] = []
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                changed.extend(
                    session.execute(
                        sql_update(tasks)
                        .where(tasks.c.id.in_(chunk), tasks.c.status.in_(("failed", "cancelled")))
                        .values(_AGAIN | {"attempts": 0, "updated_at": now})
                        .returning(tasks.c.id)
                    ).scalars()
                )
            return _records(session, changed)

        return await self._db.write(run)

    async def delete_tasks(self, task_ids: Sequence[int]) -> list[int]:
        """Delete the tasks and their children; the ids that went. ``TaskError`` (nothing
        deleted) when one of them, or a child, is running."""

        def run(session: Session) -> list[int]:
            ids = list(dict.fromkeys(task_ids))
            for task_id in list(ids):
                ids.extend(_descendants(session, task_id))
            ids = list(dict.fromkeys(ids))
            gone: list[int] = []
            for start in range(0, len(ids), IN_CHUNK):
                chunk = ids[start : start + IN_CHUNK]
                busy = session.execute(
                    select(tasks.c.id, tasks.c.name).where(
                        tasks.c.id.in_(chunk), tasks.c.status == "running"
                    )
                ).first()
                if busy is not None:
                    raise TaskError(f"Task {busy.id} ({busy.name}) is running.", "Cancel it first.")
                gone.extend(
                    session.execute(select(tasks.c.id).where(tasks.c.id.in_(chunk))).scalars()
                )
            for start in range(0, len(gone), IN_CHUNK):  # children go by the cascade too
                session.execute(delete(tasks).where(tasks.c.id.in_(gone[start : start + IN_CHUNK])))
            return gone

        return await self._db.write(run)

    # ------------------------------------------------------------------ the owner's work

    async def claim(
        self, token: str, limit: int, now: datetime
    ) -> tuple[list[TaskRecord], datetime | None]:
        """Up to ``limit`` ready tasks, most urgent first, now ``running`` under ``token``,
        each with a new attempt (none when ``token`` does not hold a live lease); and, when
        fewer than ``limit`` were ready, when the next pending one may start (None: none
        waits)."""

        def run(session: Session) -> tuple[list[TaskRecord], datetime | None]:
            if limit <= 0 or not self.holds_lease(session, token, now):
                return [], None
            ready = session.execute(
                select(tasks.c.id)
                .where(
                    tasks.c.status == "pending",
                    or_(tasks.c.not_before.is_(None), tasks.c.not_before <= now),
                )
                .order_by(tasks.c.priority.desc(), tasks.c.id)
                .limit(limit)
            ).scalars()
            ids = list(ready)
            later = None
            if len(ids) < limit:
                later = session.execute(
                    select(func.min(tasks.c.not_before)).where(tasks.c.status == "pending")
                ).scalar_one_or_none()
            if not ids:
                return [], later
            # ``now`` (the engine's clock) decides what is ready; what is stored is when it
            # really started, never before the task was added (the write may have queued).
            stamp = max(now, utcnow())
            session.execute(
                sql_update(tasks)
                .where(tasks.c.id.in_(ids))
                .values(
                    status="running",
                    attempts=tasks.c.attempts + 1,
                    lease=token,
                    started_at=stamp,
                    finished_at=None,
                    waiting=False,
                    not_before=None,
                    updated_at=stamp,
                )
            )
            numbers = dict(
                session.execute(
                    select(task_attempts.c.task_id, func.max(task_attempts.c.number))
                    .where(task_attempts.c.task_id.in_(ids))
                    .group_by(task_attempts.c.task_id)
                ).all()
            )
            session.execute(
                insert(task_attempts),
                [
                    {
                        "task_id": i,
                        "number": (numbers.get(i) or 0) + 1,
                        "started_at": stamp,
                        "outcome": "running",
                    }
                    for i in ids
                ],
            )
            return _records(session, ids), later

        return await self._db.write(run)

    async def finish(
        self,
        token: str,
        task_id: int,
        outcome: AttemptOutcome,
        *,
        result: str = "",
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> TaskRecord | None:
        """End the running attempt of ``task_id`` under ``token``: ``completed``, ``failed``
        or ``timed_out`` (pending again at ``retry_at`` when given, else failed),
        ``cancelled``, or ``stopped`` (Keiko closed: pending again, the attempt not counted).
        None when the task is not running under ``token`` (nothing changes)."""

        def run(session: Session) -> TaskRecord | None:
            now = utcnow()
            values: dict[str, Any] = {"lease": None, "updated_at": now, "waiting": False}
            if outcome == "completed":
                values |= {"status": "completed", "progress": 100.0, "error": None}
                values["result"] = cut(result, MAX_RESULT)
            elif outcome in ("failed", "timed_out"):
                values["error"] = cut(error or "It failed.", MAX_ERROR)
                if retry_at is not None:
                    values |= {"status": "pending", "not_before": retry_at}
                else:
                    values["status"] = "failed"
            elif outcome == "cancelled":
                values |= {"status": "cancelled", "error": error}
            elif outcome == "stopped":
                values |= {"status": "pending", "attempts": func.max(0, tasks.c.attempts - 1)}
            else:
                raise ValueError(f"a finished attempt cannot be {outcome!r}")
            if values["status"] in FINISHED:
                values["finished_at"] = now
            changed = rowcount(
                session.execute(
                    sql_update(tasks)
                    .where(tasks.c.id == task_id, tasks.c.status == "running")
                    .where(tasks.c.lease == token)
                    .values(values)
                )
            )
            if not changed:
                return None
            end_attempt(session, task_id, outcome, now, error)
            return get_task(session, task_id)

        return await self._db.write(run)

    async def spawn(
        self, token: str, parent_id: int, children: Sequence[NewTask], summary: str
    ) -> tuple[TaskRecord | None, list[TaskRecord]]:
        """Add ``children`` (an existing idempotency key keeps its task) and let the running
        parent wait for them, holding no worker; (the parent, the new children). The parent
        is None when it is no longer running under ``token`` (nothing is added)."""

        def run(session: Session) -> tuple[TaskRecord | None, list[TaskRecord]]:
            now = utcnow()
            changed = rowcount(
                session.execute(
                    sql_update(tasks)
                    .where(tasks.c.id == parent_id, tasks.c.status == "running")
                    .where(tasks.c.lease == token)
                    .values(waiting=True, progress_text=summary[:300], updated_at=now)
                )
            )
            if not changed:
                return None, []
            created = []
            for child in children:
                record, new = insert_task(session, child, now)
                if new:
                    created.append(record)
            return get_task(session, parent_id), created

        return await self._db.write(run)

    async def settle_parents(
        self, token: str, parent_ids: Sequence[int] | None
    ) -> list[TaskRecord]:
        """Waiting parents under ``token`` (those in ``parent_ids``; None: all) with their
        progress brought up to date (children finished / children), and ended when every
        child has: completed when all completed, cancelled when it was asked to stop, else
        failed naming the failures. The parents that changed."""

        def run(session: Session) -> list[TaskRecord]:
            query = select(tasks.c.id, tasks.c.cancel_requested, tasks.c.progress).where(
                tasks.c.status == "running", tasks.c.waiting.is_(True), tasks.c.lease == token
            )
            if parent_ids is not None:
                query = query.where(tasks.c.id.in_(list(parent_ids)[:IN_CHUNK]))
            changed = []
            now = utcnow()
            for parent in session.execute(query).all():
                if _settle(session, parent, now):
                    changed.append(parent.id)
            return _records(session, changed)

        return await self._db.write(run)

    async def cancel_requests(self, token: str) -> list[int]:
        """Running tasks under ``token`` that someone asked to stop (parents excluded: their
        children are stopped, and they end when those have)."""

        def run(session: Session) -> list[int]:
            query = select(tasks.c.id).where(
                tasks.c.status == "running",
                tasks.c.lease == token,
                tasks.c.cancel_requested.is_(True),
                tasks.c.waiting.is_(False),
            )
            return list(session.execute(query).scalars())

        return await self._db.read(run)

    async def set_progress(self, task_id: int, progress: float, text: str) -> None:
        await self._db.write(
            lambda s: s.execute(
                sql_update(tasks)
                .where(tasks.c.id == task_id, tasks.c.status == "running")
                .values(progress=progress, progress_text=text[:300], updated_at=utcnow())
            )
        )

    async def link_run(self, task_id: int, run_id: int) -> TaskRecord | None:
        def run(session: Session) -> TaskRecord | None:
            session.execute(
                sql_update(tasks)
                .where(tasks.c.id == task_id)
                .values(run_id=run_id, updated_at=utcnow())
            )
            return get_task(session, task_id)

        return await self._db.write(run)


_AGAIN: dict[str, Any] = {
    "status": "pending",
    "error": None,
    "result": "",
    "progress": 0.0,
    "progress_text": "",
    "not_before": None,
    "cancel_requested": False,
    "waiting": False,
    "finished_at": None,
    "lease": None,
}


def end_attempt(
    session: Session, task_id: int, outcome: AttemptOutcome, now: datetime, error: str | None
) -> None:
    """Close the task's ``running`` attempt row with ``outcome``."""
    session.execute(
        sql_update(task_attempts)
        .where(task_attempts.c.task_id == task_id, task_attempts.c.outcome == "running")
        .values(outcome=outcome, ended_at=now, error=None if error is None else error[:MAX_ERROR])
    )


def _descendants(session: Session, task_id: int) -> list[int]:
    """Every task below ``task_id`` (children, theirs, ...), bounded by the table."""
    found: list[int] = []
    frontier = [task_id]
    seen = {task_id}
    while frontier:
        rows = session.execute(
            select(tasks.c.id).where(tasks.c.parent_id.in_(frontier[:IN_CHUNK]))
        ).scalars()
        frontier = frontier[IN_CHUNK:]
        for child in rows:
            if child not in seen:
                seen.add(child)
                found.append(child)
                frontier.append(child)
    return found


def _settle(session: Session, parent: Any, now: datetime) -> bool:
    counts: dict[str, int] = dict(
        session.execute(
            select(tasks.c.status, func.count())
            .where(tasks.c.parent_id == parent.id)
            .group_by(tasks.c.status)
        ).all()
    )
    total = sum(counts.values())
    done = sum(n for status, n in counts.items() if status in FINISHED)
    failed = counts.get("failed", 0)
    progress = 100.0 * done / total if total else 100.0
    text = f"{done} of {total} done" + (f", {failed} failed" if failed else "")
    values: dict[str, Any] = {"progress": progress, "progress_text": text, "updated_at": now}
    if done < total:
        if abs(progress - parent.progress) < 1e-9:
            return False
    elif parent.cancel_requested and counts.get("completed", 0) < total:
        values |= {"status": "cancelled", "finished_at": now, "lease": None, "waiting": False}
    elif failed or counts.get("cancelled", 0):
        values |= {"status": "failed", "finished_at": now, "lease": None, "waiting": False}
        values["error"] = (
            f"{failed} of {total} child tasks failed"
            + (f", {counts.get('cancelled', 0)} were cancelled" if counts.get("cancelled") else "")
            + "."
        )
    else:
        values |= {"status": "completed", "finished_at": now, "lease": None, "waiting": False}
        values["result"] = f"All {total} child tasks completed."
    session.execute(sql_update(tasks).where(tasks.c.id == parent.id).values(values))
    if values.get("status") in FINISHED:
        outcome: AttemptOutcome = values["status"]
        end_attempt(session, parent.id, outcome, now, values.get("error"))
    return True
