"""Schedules of tasks (``task_schedules``): the schedules half of ``SqliteTaskRepository``.

A schedule stores its spec as JSON (``core.tasks.schedule.spec_to_dict``) and the next time it
fires. Firing is one transaction that adds the task (its idempotency key names the schedule and
the firing time, so a firing is never added twice) and moves ``next_run`` on, conditional on
``next_run`` still being the time that fired.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from keiko_desktop.core.tasks.records import (
    NewSchedule,
    NewTask,
    ScheduleRecord,
    TaskRecord,
    priority_rank,
)
from keiko_desktop.store.sql import rowcount
from keiko_desktop.store.tables import task_schedules, utcnow
from keiko_desktop.store.task_rows import insert_task, params_json, schedule_record

if TYPE_CHECKING:
    from keiko_desktop.store.database import Database


def _get(session: Session, schedule_id: int) -> ScheduleRecord | None:
    row = session.execute(select(task_schedules).where(task_schedules.c.id == schedule_id)).first()
    return None if row is None else schedule_record(row)


class TaskScheduleMixin:
    _db: Database

    async def add_schedule(self, new: NewSchedule, next_run: datetime | None) -> ScheduleRecord:
        from keiko_desktop.core.tasks.schedule import spec_to_dict

        def run(session: Session) -> ScheduleRecord:
            now = utcnow()
            new_id = session.execute(
                insert(task_schedules)
                .values(
                    name=new.name,
                    kind=new.kind,
                    params=params_json(new.params),
                    priority=priority_rank(new.priority),
                    spec=json.dumps(spec_to_dict(new.spec), sort_keys=True),
                    enabled=True,
                    next_run=next_run,
                    max_attempts=new.max_attempts,
                    timeout=new.timeout,
                    created_at=now,
                    updated_at=now,
                )
                .returning(task_schedules.c.id)
            ).scalar_one()
            made = _get(session, new_id)
            assert made is not None
            return made

        return await self._db.write(run)

    async def get_schedule(self, schedule_id: int) -> ScheduleRecord | None:
        return await self._db.read(lambda s: _get(s, schedule_id))

    async def list_schedules(self) -> list[ScheduleRecord]:
        def run(session: Session) -> list[ScheduleRecord]:
            query = select(task_schedules).order_by(task_schedules.c.id)
            return [schedule_record(row) for row in session.execute(query)]

        return await self._db.read(run)

    async def delete_schedule(self, schedule_id: int) -> bool:
        """Delete it (its tasks stay, no longer linked); whether it existed."""
        return await self._db.write(
            lambda s: bool(
                rowcount(
                    s.execute(delete(task_schedules).where(task_schedules.c.id == schedule_id))
                )
            )
        )

    async def set_schedule(
        self, schedule_id: int, *, enabled: bool, next_run: datetime | None
    ) -> ScheduleRecord | None:
        def run(session: Session) -> ScheduleRecord | None:
            session.execute(
                sql_update(task_schedules)
                .where(task_schedules.c.id == schedule_id)
                .values(enabled=enabled, next_run=next_run, updated_at=utcnow())
            )
            return _get(session, schedule_id)

        return await self._db.write(run)

    async def due_schedules(self, now: datetime) -> list[ScheduleRecord]:
        """Enabled schedules whose next run is at or before ``now``."""

        def run(session: Session) -> list[ScheduleRecord]:
            query = (
                select(task_schedules)
                .where(task_schedules.c.enabled.is_(True), task_schedules.c.next_run <= now)
                .order_by(task_schedules.c.next_run)
            )
            return [schedule_record(row) for row in session.execute(query)]

        return await self._db.read(run)

    async def next_schedule_at(self) -> datetime | None:
        def run(session: Session) -> datetime | None:
            from sqlalchemy import func

            return session.execute(
                select(func.min(task_schedules.c.next_run)).where(
                    task_schedules.c.enabled.is_(True)
                )
            ).scalar_one_or_none()

        return await self._db.read(run)

    async def fire_schedule(
        self,
        schedule_id: int,
        fired: datetime,
        next_run: datetime | None,
        task: NewTask | None,
        ran: datetime | None = None,
    ) -> TaskRecord | None:
        """Add ``task`` (None: a missed firing skipped) for the firing due at ``fired`` (run as
        the firing at ``ran``, by default ``fired``) and move the schedule's next run to
        ``next_run``, only if its next run is still ``fired``; the task added (None when
        nothing was, or it existed)."""

        def run(session: Session) -> TaskRecord | None:
            now = utcnow()
            moved = rowcount(
                session.execute(
                    sql_update(task_schedules)
                    .where(task_schedules.c.id == schedule_id, task_schedules.c.next_run == fired)
                    .values(
                        next_run=next_run,
                        updated_at=now,
                        **({"last_run": ran or fired} if task is not None else {}),
                    )
                )
            )
            if not moved or task is None:
                return None
            record, new = insert_task(session, task, now)
            return record if new else None

        return await self._db.write(run)
