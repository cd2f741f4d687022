"""How a task reads in the window: its status in words, its times, its duration, and the
query the Tasks page filters with (shared by the table, its detail and the toasts)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.clock import utc_now
from keiko_desktop.core.tasks.records import TaskRecord
from keiko_desktop.ui.theme import Theme

STATUS_WORDS = {
    "pending": "Pending",
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
}


def duration_text(seconds: float | None) -> str:
    """``12 s``, ``3 min 4 s``, ``2 h 5 min``, ``3 d 4 h`` ("" when there is none)."""
    if seconds is None:
        return ""
    whole = int(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def started_text(moment: datetime | None, now: datetime | None = None) -> str:
    """Local time, short: ``14:03`` today, ``12 Mar 14:03`` this year, else ``12 Mar 2024``."""
    if moment is None:
        return ""
    local = moment.astimezone() if moment.tzinfo is not None else moment
    today = (now or datetime.now().astimezone()).astimezone(local.tzinfo)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    if local.year == today.year:
        return local.strftime("%d %b %H:%M")
    return local.strftime("%d %b %Y")


def duration_of(task: TaskRecord, now: datetime) -> float | None:
    """Seconds from the latest start to the end, or to ``now`` while it runs."""
    if task.started_at is None:
        return None
    end = task.finished_at or (now if task.status == "running" else None)
    return None if end is None else max(0.0, (end - task.started_at).total_seconds())


def status_text(task: TaskRecord, now: datetime | None = None) -> str:
    """The status word, with what a running or pending task is doing."""
    if task.status == "running":
        if task.cancel_requested:
            return "Cancelling…"
        return "Waiting for subtasks" if task.waiting else "Running"
    waits = task.not_before is not None and task.not_before > (now or utc_now())
    if task.status == "pending" and waits and task.not_before is not None:
        word = "Retrying" if task.attempts else "Pending"
        return f"{word} ({started_text(task.not_before)})"
    return STATUS_WORDS.get(task.status, one_line(task.status, 20))


def status_colour(status: str, theme: Theme) -> str:
    return {
        "pending": theme.faint,
        "running": theme.accent,
        "completed": theme.status_ok,
        "failed": theme.status_error,
        "cancelled": theme.muted,
    }.get(status, theme.faint)


@dataclass(frozen=True)
class TaskQuery:
    """Which rows are shown: ``status``/``kind`` None means any; ``search``: every word in
    the name, kind (or its label), result or error, case-insensitive."""

    status: str | None = None
    kind: str | None = None
    search: str = ""

    def words(self) -> tuple[str, ...]:
        return tuple(self.search.casefold().split())


def matches(task: TaskRecord, query: TaskQuery, label: str, words: Sequence[str]) -> bool:
    if query.status is not None and task.status != query.status:
        return False
    if query.kind is not None and task.kind != query.kind:
        return False
    if not words:
        return True
    text = f"{task.name}\n{task.kind}\n{label}\n{task.result}\n{task.error or ''}".casefold()
    return all(word in text for word in words)
