"""What the task engine stores: tasks, their attempts, schedules (frozen records).

Times are aware UTC datetimes. A task's ``priority`` is one of ``PRIORITIES`` (its index is its
rank: critical runs first); ``status`` moves pending -> running -> completed | failed |
cancelled, and back to pending for a retry (after a backoff: ``not_before``) or when the
process that ran it died.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

Priority = Literal["low", "normal", "high", "critical"]
PRIORITIES: tuple[Priority, ...] = get_args(Priority)
TaskStatus = Literal["pending", "running", "completed", "failed", "cancelled"]
TASK_STATUSES: tuple[TaskStatus, ...] = get_args(TaskStatus)
FINISHED: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
AttemptOutcome = Literal[
    "running", "completed", "failed", "timed_out", "cancelled", "interrupted", "stopped"
]
"""``interrupted``: its process died; ``stopped``: Keiko was closed (not counted)."""
ATTEMPT_OUTCOMES: tuple[AttemptOutcome, ...] = get_args(AttemptOutcome)

MAX_NAME = 200
MAX_RESULT = 100_000
"""Characters of a result kept (the rest is cut, saying so)."""
MAX_ERROR = 4_000


def priority_rank(priority: str) -> int:
    return PRIORITIES.index(priority)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TaskRecord:
    id: int
    name: str
    kind: str
    params: Mapping[str, Any]
    priority: Priority
    status: TaskStatus
    created_at: datetime
    updated_at: datetime
    progress: float = 0.0
    """0 to 100."""
    progress_text: str = ""
    attempts: int = 0
    """Attempts started so far (a retry by the user starts again from 0)."""
    max_attempts: int = 1
    timeout: float = 0.0
    """Seconds one attempt may take; 0: no limit."""
    result: str = ""
    error: str | None = None
    started_at: datetime | None = None
    """When the latest attempt started."""
    finished_at: datetime | None = None
    not_before: datetime | None = None
    """A pending task does not start before this (a retry's backoff, a ``--at``)."""
    idempotency_key: str | None = None
    parent_id: int | None = None
    schedule_id: int | None = None
    run_id: int | None = None
    """The agent run whose trace belongs to this task, if any."""
    waiting: bool = False
    """A running parent waiting for its children (it holds no worker)."""
    cancel_requested: bool = False
    children: int = 0
    """How many child tasks it has."""

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def duration(self) -> float | None:
        """Seconds from the latest start to the end (or to now while running)."""
        if self.started_at is None:
            return None
        from keiko_desktop.core.tasks.clock import utc_now

        end = self.finished_at or (utc_now() if self.status == "running" else None)
        return None if end is None else max(0.0, (end - self.started_at).total_seconds())


@dataclass(frozen=True)
class TaskAttempt:
    task_id: int
    number: int
    started_at: datetime
    outcome: AttemptOutcome
    ended_at: datetime | None = None
    error: str | None = None


@dataclass(frozen=True)
class NewTask:
    """A task to add. ``max_attempts``/``timeout`` None: the kind's default (else settings)."""

    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    name: str = ""
    priority: Priority = "normal"
    max_attempts: int | None = None
    timeout: float | None = None
    idempotency_key: str | None = None
    parent_id: int | None = None
    schedule_id: int | None = None
    not_before: datetime | None = None


@dataclass(frozen=True)
class TaskFilter:
    """Which tasks to list: ``status``/``kind`` None means any; ``search``: every word in the
    name, kind, result or error; ``parent_id`` None: top-level tasks and children alike."""

    status: TaskStatus | None = None
    kind: str | None = None
    search: str = ""
    parent_id: int | None = None
    limit: int = 10_000


ScheduleKind = Literal["once", "every", "daily", "weekly", "cron"]
SCHEDULE_KINDS: tuple[ScheduleKind, ...] = get_args(ScheduleKind)


@dataclass(frozen=True)
class ScheduleSpec:
    """When a schedule fires. ``once``: at ``at`` (aware). ``every``: every ``minutes`` from
    ``at`` (or from when it was made). ``daily``: at ``time`` ("HH:MM", local wall time).
    ``weekly``: on ``weekdays`` (0 = Monday) at ``time``. ``cron``: the 5-field ``cron``
    expression in local time. ``timezone``: an IANA name; "" is the machine's."""

    kind: ScheduleKind
    at: datetime | None = None
    minutes: int = 0
    time: str = ""
    weekdays: tuple[int, ...] = ()
    cron: str = ""
    timezone: str = ""


@dataclass(frozen=True)
class NewSchedule:
    name: str
    kind: str
    spec: ScheduleSpec
    params: Mapping[str, Any] = field(default_factory=dict)
    priority: Priority = "normal"
    max_attempts: int | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class ScheduleRecord:
    id: int
    name: str
    kind: str
    params: Mapping[str, Any]
    priority: Priority
    spec: ScheduleSpec
    enabled: bool
    created_at: datetime
    next_run: datetime | None
    """None: it will not fire again (a ``once`` that fired)."""
    last_run: datetime | None = None
    max_attempts: int | None = None
    timeout: float | None = None


@dataclass(frozen=True)
class LeaseHolder:
    """Who runs tasks: the process holding the lease (``role`` "window" or "worker")."""

    pid: int
    role: str
    heartbeat_at: datetime
    expires_at: datetime
