"""A new task made complete: its name by default says what it does; bounds on the rest."""

from __future__ import annotations

import pytest

from keiko_desktop.core.config import Settings
from keiko_desktop.core.tasks.builtin import builtin_kinds
from keiko_desktop.core.tasks.defaults import resolved
from keiko_desktop.core.tasks.errors import TaskParamError
from keiko_desktop.core.tasks.kinds import TaskServices
from keiko_desktop.core.tasks.records import NewTask

SETTINGS = Settings(task_retries=4, task_timeout=120.0)
KINDS = builtin_kinds(TaskServices(lambda: SETTINGS))


def test_a_default_name_says_what_the_task_does() -> None:
    reminder = resolved(NewTask("reminder", {"text": "Call Ann\nabout Friday"}), KINDS, SETTINGS)
    assert reminder.name == "Reminder: Call Ann\\nabout Friday"  # one line, escaped
    summary = resolved(NewTask("summarise", {"path": "/home/me/notes/"}), KINDS, SETTINGS)
    assert summary.name == "Summarise: notes"  # the folder's name, not its whole path
    named = resolved(NewTask("reminder", {"text": "x"}, name="  Mine  "), KINDS, SETTINGS)
    assert named.name == "Mine"


def test_attempts_and_time_limit_come_from_the_task_its_kind_or_the_settings() -> None:
    summary = resolved(NewTask("summarise", {"path": "/tmp/a.txt"}), KINDS, SETTINGS)
    assert (summary.max_attempts, summary.timeout) == (5, 120.0)  # the settings
    reminder = resolved(NewTask("reminder", {"text": "x"}), KINDS, SETTINGS)
    assert reminder.max_attempts == 1  # the kind says once
    mine = resolved(NewTask("reminder", {"text": "x"}, max_attempts=3, timeout=5), KINDS, SETTINGS)
    assert (mine.max_attempts, mine.timeout) == (3, 5.0)


@pytest.mark.parametrize(
    ("new", "field"),
    [
        (NewTask("reminder", {"text": "x"}, max_attempts=0), "retries"),
        (NewTask("reminder", {"text": "x"}, timeout=-1), "timeout"),
        (NewTask("reminder", {"text": "x"}, timeout=float("nan")), "timeout"),
        (NewTask("reminder", {"text": "x"}, idempotency_key=""), "key"),
        (NewTask("reminder", {"text": "x"}, priority="urgent"), "priority"),  # type: ignore[arg-type]
        (NewTask("nosuch", {}), "kind"),
    ],
)
def test_out_of_bounds_fields_are_refused_naming_them(new: NewTask, field: str) -> None:
    with pytest.raises(TaskParamError) as caught:
        resolved(new, KINDS, SETTINGS)
    assert caught.value.field == field
