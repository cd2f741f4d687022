"""What the task engine needs of the store (implemented by ``store.tasks``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from keiko_desktop.core.tasks.records import (
    AttemptOutcome,
    LeaseHolder,
    NewSchedule,
    NewTask,
    ScheduleRecord,
    TaskAttempt,
    TaskFilter,
    TaskRecord,
)


class TaskRepository(Protocol):
    """Tasks, attempts, schedules and the lease. ``token`` names an engine's lease: changes
    of running tasks are refused (None, nothing changed) to any engine but their owner."""

    async def add_task(self, new: NewTask) -> tuple[TaskRecord, bool]:
        """Add ``new`` (defaults resolved), or find the task with its idempotency key:
        (the task, whether it is new)."""
        ...

    async def get_task(self, task_id: int) -> TaskRecord | None: ...

    async def list_tasks(self, filter: TaskFilter) -> list[TaskRecord]: ...

    async def counts(self) -> dict[str, int]: ...

    async def attempts(self, task_id: int) -> list[TaskAttempt]: ...

    async def changed_since(self, since: datetime, limit: int) -> list[TaskRecord]: ...

    async def request_cancel(self, task_id: int) -> list[TaskRecord]: ...

    async def retry(self, task_id: int) -> list[TaskRecord]: ...

    async def delete_tasks(self, task_ids: Sequence[int]) -> list[int]: ...

    async def claim(
        self, token: str, limit: int, now: datetime
    ) -> tuple[list[TaskRecord], datetime | None]:
        """Ready tasks now running under ``token``, and when the next one may start if
        fewer than ``limit`` were ready."""
        ...

    async def finish(
        self,
        token: str,
        task_id: int,
        outcome: AttemptOutcome,
        *,
        result: str = "",
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> TaskRecord | None: ...

    async def spawn(
        self, token: str, parent_id: int, children: Sequence[NewTask], summary: str
    ) -> tuple[TaskRecord | None, list[TaskRecord]]: ...

    async def settle_parents(
        self, token: str, parent_ids: Sequence[int] | None
    ) -> list[TaskRecord]: ...

    async def cancel_requests(self, token: str) -> list[int]: ...

    async def set_progress(self, task_id: int, progress: float, text: str) -> None: ...

    async def link_run(self, task_id: int, run_id: int) -> TaskRecord | None: ...

    async def lease_holder(self) -> LeaseHolder | None: ...

    async def acquire_lease(
        self, token: str, role: str, ttl: float
    ) -> tuple[bool, LeaseHolder | None, list[int]]: ...

    async def heartbeat(self, token: str, ttl: float) -> bool: ...

    async def release_lease(self, token: str) -> None: ...

    async def add_schedule(self, new: NewSchedule, next_run: datetime | None) -> ScheduleRecord: ...

    async def get_schedule(self, schedule_id: int) -> ScheduleRecord | None: ...

    async def list_schedules(self) -> list[ScheduleRecord]: ...

    async def delete_schedule(self, schedule_id: int) -> bool: ...

    async def set_schedule(
        self, schedule_id: int, *, enabled: bool, next_run: datetime | None
    ) -> ScheduleRecord | None: ...

    async def due_schedules(self, now: datetime) -> list[ScheduleRecord]: ...

    async def next_schedule_at(self) -> datetime | None: ...

    async def fire_schedule(
        self,
        schedule_id: int,
        fired: datetime,
        next_run: datetime | None,
        task: NewTask | None,
        ran: datetime | None = None,
    ) -> TaskRecord | None: ...
