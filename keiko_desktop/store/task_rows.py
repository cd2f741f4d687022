"""Rows of the task tables as records (``core.tasks.records``), and records as row values."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, cast

from sqlalchemy import Row

from keiko_desktop.core.tasks.records import (
    PRIORITIES,
    AttemptOutcome,
    ScheduleRecord,
    ScheduleSpec,
    TaskAttempt,
    TaskRecord,
    TaskStatus,
)

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
