"""The owner's half of ``SqliteTaskRepository``: claiming ready tasks under the lease, ending
attempts, spawning children and settling their parents, cancel requests, progress.

Every change of a running task is conditional on the lease token it runs under, so an engine
that lost the lease can never complete a task a second time (``finish`` returns None).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from keiko_desktop.core.tasks.records import (
    FINISHED,
    MAX_ERROR,
    MAX_RESULT,
    AttemptOutcome,
    NewTask,
    TaskRecord,
)
from keiko_desktop.store.sql import IN_CHUNK, rowcount
from keiko_desktop.store.tables import task_attempts, tasks, utcnow
from keiko_desktop.store.task_lease import holds_lease
from keiko_desktop.store.task_rows import cut, get_task, insert_task, records_of

if TYPE_CHECKING:
    from keiko_desktop.store.database import Database


class TaskQueueMixin:
    _db: Database

    async def claim(
        self, token: str, limit: int, now: datetime
    ) -> tuple[list[TaskRecord], datetime | None]:
        """Up to ``limit`` ready tasks, most urgent first, now ``running`` under ``token``,
        each with a new attempt (none when ``token`` does not hold a live lease); and, when
        fewer than ``limit`` were ready, when the next pending one may start (None: none
        waits)."""

        def run(session: Session) -> tuple[list[TaskRecord], datetime | None]:
            if limit <= 0 or not holds_lease(session, token, now):
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
            return records_of(session, ids), later

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
            return records_of(session, changed)

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


def end_attempt(
    session: Session, task_id: int, outcome: AttemptOutcome, now: datetime, error: str | None
) -> None:
    """Close the task's ``running`` attempt row with ``outcome``."""
    session.execute(
        sql_update(task_attempts)
        .where(task_attempts.c.task_id == task_id, task_attempts.c.outcome == "running")
        .values(outcome=outcome, ended_at=now, error=None if error is None else error[:MAX_ERROR])
    )


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
