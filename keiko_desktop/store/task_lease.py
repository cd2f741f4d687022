"""The task lease: which one process runs tasks (one row of ``task_lease``, id 1).

An engine takes the lease when nobody holds it, when it expired (no heartbeat for its time to
live), or when its holder is gone (``owners.owner_alive``: a dead pid or a closed Database), and
keeps it by heartbeats. Taking it recovers the tasks the last holder left ``running``: they go
back to pending, the attempt counted and recorded as ``interrupted`` (after
``MAX_INTERRUPTIONS`` such attempts a task fails instead, so a task that kills its worker cannot
loop for ever). Releasing it (a clean stop) needs the engine to have stopped its tasks first.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy import update as sql_update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from keiko_desktop.core.tasks.records import LeaseHolder
from keiko_desktop.store.owners import owner_alive, owner_values
from keiko_desktop.store.sql import rowcount
from keiko_desktop.store.tables import task_attempts, task_lease, tasks, utcnow

if TYPE_CHECKING:
    from keiko_desktop.store.database import Database

MAX_INTERRUPTIONS = 3


def _holder(row: Any) -> LeaseHolder:
    return LeaseHolder(
        pid=row.owner_pid or 0,
        role=row.role,
        heartbeat_at=row.heartbeat_at,
        expires_at=row.expires_at,
    )


def _live(row: Any, now: datetime) -> bool:
    return bool(row.expires_at > now) and owner_alive(
        row.owner_pid, row.owner_started, row.owner_token
    )


def holds_lease(session: Session, token: str, now: datetime) -> bool:
    """Whether ``token`` holds the lease, unexpired at ``now``."""
    row = session.execute(select(task_lease).where(task_lease.c.id == 1)).first()
    return row is not None and row.token == token and row.expires_at > now


class TaskLeaseMixin:
    """The lease half of ``SqliteTaskRepository``."""

    _db: Database

    async def lease_holder(self) -> LeaseHolder | None:
        """Who holds a live lease now (None: nobody, or a holder that is gone)."""

        def run(session: Session) -> LeaseHolder | None:
            row = session.execute(select(task_lease).where(task_lease.c.id == 1)).first()
            if row is None or not _live(row, utcnow()):
                return None
            return _holder(row)

        return await self._db.read(run)

    async def acquire_lease(
        self, token: str, role: str, ttl: float
    ) -> tuple[bool, LeaseHolder | None, list[int]]:
        """Take or keep the lease for ``ttl`` seconds: (whether ``token`` holds it, the
        holder, the tasks recovered from the previous holder)."""

        def run(session: Session) -> tuple[bool, LeaseHolder | None, list[int]]:
            now = utcnow()
            row = session.execute(select(task_lease).where(task_lease.c.id == 1)).first()
            if row is not None and row.token != token and _live(row, now):
                return False, _holder(row), []
            fresh = row is None or row.token != token
            values = {
                "token": token,
                "role": role,
                "heartbeat_at": now,
                "expires_at": now + timedelta(seconds=ttl),
                **owner_values(self._db.owner()),
            }
            upsert = sqlite_insert(task_lease).values(id=1, **values)
            session.execute(upsert.on_conflict_do_update(index_elements=["id"], set_=values))
            recovered = _recover(session, token, now) if fresh else []
            held = session.execute(select(task_lease).where(task_lease.c.id == 1)).one()
            return True, _holder(held), recovered

        return await self._db.write(run)

    async def heartbeat(self, token: str, ttl: float) -> bool:
        """Extend the lease ``token`` holds; False when it is no longer ``token``'s."""

        def run(session: Session) -> bool:
            now = utcnow()
            return bool(
                rowcount(
                    session.execute(
                        sql_update(task_lease)
                        .where(task_lease.c.id == 1, task_lease.c.token == token)
                        .values(heartbeat_at=now, expires_at=now + timedelta(seconds=ttl))
                    )
                )
            )

        return await self._db.write(run)

    async def release_lease(self, token: str) -> None:
        """Give the lease up (a clean stop), so another process may take it at once."""
        await self._db.write(
            lambda s: s.execute(delete(task_lease).where(task_lease.c.token == token))
        )


def _recover(session: Session, token: str, now: datetime) -> list[int]:
    """Tasks left running by a holder that is gone: pending again (or failed after
    ``MAX_INTERRUPTIONS`` interrupted attempts); their ids."""
    orphans = list(
        session.execute(
            select(tasks.c.id).where(
                tasks.c.status == "running", (tasks.c.lease != token) | tasks.c.lease.is_(None)
            )
        ).scalars()
    )
    for task_id in orphans:
        session.execute(
            sql_update(task_attempts)
            .where(task_attempts.c.task_id == task_id, task_attempts.c.outcome == "running")
            .values(outcome="interrupted", ended_at=now, error="Keiko stopped while it ran.")
        )
        interrupted = session.execute(
            select(func.count()).where(
                task_attempts.c.task_id == task_id, task_attempts.c.outcome == "interrupted"
            )
        ).scalar_one()
        values: dict[str, Any] = {"lease": None, "waiting": False, "updated_at": now}
        if interrupted >= MAX_INTERRUPTIONS:
            values |= {
                "status": "failed",
                "finished_at": now,
                "error": f"The process running it stopped {interrupted} times while it ran.",
            }
        else:
            values |= {"status": "pending", "not_before": None}
        session.execute(sql_update(tasks).where(tasks.c.id == task_id).values(values))
    return orphans
