"""Rows of the task tables as records (``core.tasks.records``), records as row values, and the
reads and the insert every part of the task repository shares."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, func, insert, select
from sqlalchemy.orm import Session

from keiko_desktop.core.tasks.records import (
    PRIORITIES,
    AttemptOutcome,
    NewTask,
    ScheduleRecord,
    ScheduleSpec,
    TaskAttempt,
    TaskRecord,
    TaskStatus,
    priority_rank,
)
from keiko_desktop.store.sql import IN_CHUNK
from keiko_desktop.store.tables import tasks

log = logging.getLogger(__name__)


def params_json(params: Mapping[str, Any]) -> str:
    return json.dumps(dict(params), ensure_ascii=False, sort_keys=True)


def _params(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError:
        log.warning("%s has damaged parameters; showing none", what)
        return {}
    return value if isinstance(value, dict) else {}


def _priority(rank: int) -> Any:
    return PRIORITIES[min(max(int(rank), 0), len(PRIORITIES) - 1)]


def task_record(row: Row[Any], children: int = 0) -> TaskRecord:
    return TaskRecord(
        id=row.id,
        name=row.name,
        kind=row.kind,
        params=_params(row.params, f"task {row.id}"),
        priority=_priority(row.priority),
        status=cast(TaskStatus, row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        progress=row.progress,
        progress_text=row.progress_text,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        timeout=row.timeout,
        result=row.result,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
        not_before=row.not_before,
        idempotency_key=row.idempotency_key,
        parent_id=row.parent_id,
        schedule_id=row.schedule_id,
        run_id=row.run_id,
        waiting=bool(row.waiting),
        cancel_requested=bool(row.cancel_requested),
        children=children,
    )


def attempt_record(row: Row[Any]) -> TaskAttempt:
    return TaskAttempt(
        task_id=row.task_id,
        number=row.number,
        started_at=row.started_at,
        outcome=cast(AttemptOutcome, row.outcome),
        ended_at=row.ended_at,
        error=row.error,
    )


def schedule_record(row: Row[Any]) -> ScheduleRecord:
    from keiko_desktop.core.tasks.errors import ScheduleError
    from keiko_desktop.core.tasks.schedule import spec_from_dict

    try:
        spec = spec_from_dict(json.loads(row.spec or "{}"))
    except (ScheduleError, json.JSONDecodeError, TypeError, ValueError):
        log.warning("schedule %s is damaged; it is shown switched off", row.id)
        spec = ScheduleSpec(kind="once")
        return _schedule(row, spec, enabled=False)
    return _schedule(row, spec, enabled=bool(row.enabled))


def _schedule(row: Row[Any], spec: ScheduleSpec, *, enabled: bool) -> ScheduleRecord:
    return ScheduleRecord(
        id=row.id,
        name=row.name,
        kind=row.kind,
        params=_params(row.params, f"schedule {row.id}"),
        priority=_priority(row.priority),
        spec=spec,
        enabled=enabled,
        created_at=row.created_at,
        next_run=row.next_run,
        last_run=row.last_run,
        max_attempts=row.max_attempts,
        timeout=row.timeout,
    )


# ---------------------------------------------------------------------- reading and adding

_child = tasks.alias("child")
CHILDREN = select(func.count()).where(_child.c.parent_id == tasks.c.id).scalar_subquery().label("n")


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n… (cut: {len(text) - limit} more characters)"


def get_task(session: Session, task_id: int) -> TaskRecord | None:
    row = session.execute(select(tasks, CHILDREN).where(tasks.c.id == task_id)).first()
    return None if row is None else task_record(row, row.n)


def records_of(session: Session, ids: Sequence[int]) -> list[TaskRecord]:
    found: list[TaskRecord] = []
    for start in range(0, len(ids), IN_CHUNK):
        query = select(tasks, CHILDREN).where(tasks.c.id.in_(ids[start : start + IN_CHUNK]))
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
