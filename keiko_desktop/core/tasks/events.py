"""Events of the tasks package.

``TaskUpdated`` is published for every stored change of a task (added, started, retried, its
progress stored, finished); ``TaskFinished`` (a ``TaskUpdated``) when it completed, failed or was
cancelled, so a notification needs one subscription; ``TaskProgressed`` for live progress (at most
about ten a second per task, never stored on its own).
"""

from __future__ import annotations

from dataclasses import dataclass

from keiko_desktop.core.events import Event
from keiko_desktop.core.tasks.records import TaskRecord


@dataclass(frozen=True)
class TaskUpdated(Event):
    task: TaskRecord


@dataclass(frozen=True)
class TaskFinished(TaskUpdated):
    """Completed, failed (with no attempt left) or cancelled."""


@dataclass(frozen=True)
class TaskProgressed(Event):
    task_id: int
    progress: float
    text: str = ""


@dataclass(frozen=True)
class TasksRemoved(Event):
    task_ids: tuple[int, ...]


@dataclass(frozen=True)
class TasksReloaded(Event):
    """Many tasks changed at once (or in another process): read them again."""


@dataclass(frozen=True)
class SchedulesChanged(Event):
    """A schedule was added, deleted, switched on or off, or fired."""


@dataclass(frozen=True)
class TaskOwnerChanged(Event):
    """Whether this process runs tasks; else ``holder`` says who does ("" when nobody)."""

    owner: bool
    holder: str = ""
