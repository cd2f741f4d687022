"""Errors of the tasks package."""

from __future__ import annotations

from keiko_desktop.core.errors import KeikoError


class TaskError(KeikoError):
    """A task is unknown, cannot be changed in its state, or failed while it ran."""


class TaskParamError(TaskError):
    """A task's kind is unknown or a parameter is missing or out of bounds; names the field."""

    def __init__(self, field: str, message: str, hint: str = "") -> None:
        super().__init__(f"Task parameter '{field}': {message}", hint or "Fix that parameter.")
        self.field = field
        self.detail = message
        """What is wrong, without the field's name (shown under the field itself)."""


class ScheduleError(TaskError):
    """A schedule (a time, an interval, a cron expression) is invalid; says which part."""
