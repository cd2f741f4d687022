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

from sqlalchemy import delete, func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from keiko_desktop.core.tasks.errors import TaskError
from keiko_desktop.core.tasks.records import (
    NewTask,
    TaskAttempt,
    TaskFilter,
    TaskRecord,
)
from keiko_desktop.store.sql import IN_CHUNK, like_pattern
from keiko_desktop.store.tables import task_attempts, tasks, utcnow
from keiko_desktop.store.task_lease import TaskLeaseMixin
from keiko_desktop.store.task_queue import TaskQueueMixin
from keiko_desktop.store.task_rows import (
    CHILDREN,
    attempt_record,
    get_task,
    insert_task,
    records_of,
    task_record,
)
from keiko_desktop.store.task_schedules import TaskScheduleMixin

if TYPE_CHECKING:
    from keiko_desktop.store.database import Database


_SEARCHED = (tasks.c.name, tasks.c.kind, tasks.c.result, tasks.c.error)


class SqliteTaskRepository(TaskLeaseMixin, TaskQueueMixin, TaskScheduleMixin):
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
            query = select(tasks, CHILDREN).order_by(tasks.c.id.desc())
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
                select(tasks, CHILDREN)
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
            return records_of(session, changed)

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
            return records_of(session, changed)

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
