"""The Tasks page in the real `keiko` window under Xvfb, driven like a person with xdotool.

A person opens the Tasks page from the rail, makes a reminder in the New task dialog (it runs
at once and a toast says it completed), then a summary of a folder with the real bundled
model: its progress bar moves while it runs; they select it and press Cancel, and it stops.
What the app stored is read from its database. Screenshots go to ``screenshots/x11-tasks/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import write_settings
from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

DIALOG = "^New task$"
REMINDER = "Stretch your legs"

# Where things are, from the window's top-left corner (a dialog's, from its own).
RAIL_TASKS = (27, 121)
NEW_TASK = (124, 62)
CANCEL = (218, 62)
FIRST_ROW = (272, 126)
KIND = (305, 28)
REMINDER_TEXT = (292, 335)
PATH_FIELD = (265, 213)


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    write_settings(keiko_home, schema_version=2, chat={"temperature": 0.0, "max_tokens": 64})
    shots = fresh_shots("x11-tasks")
    with launched(xserver, keiko_home, tmp_path / "keiko.log", shots) as p:
        yield p


def _click(p: Person, origin: tuple[int, int, int, int], at: tuple[int, int]) -> None:
    left, top, _width, _height = origin
    p.x.xdotool("mousemove", "--sync", str(left + at[0]), str(top + at[1]), "click", "1")
    time.sleep(0.3)


def _open_dialog(p: Person, window: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    _click(p, window, NEW_TASK)
    dialog = p.wait("the New task dialog", lambda: p.x.visible_windows(DIALOG), timeout=15)[0]
    return p.x.geometry(dialog)


def _task(p: Person, kind: str) -> tuple[int, str, float] | None:
    rows = p.rows(f"SELECT id, status, progress FROM tasks WHERE kind = '{kind}' ORDER BY id")
    return (int(rows[-1][0]), str(rows[-1][1]), float(rows[-1][2])) if rows else None


def test_a_person_adds_tasks_sees_progress_and_cancels(person: Person, tmp_path: Path) -> None:
    p = person
    folder = tmp_path / "reading"
    folder.mkdir()
    sentence = "The harbour wakes early; boats go out, nets are mended, gulls argue. "
    for i in range(8):
        (folder / f"part{i}.txt").write_text(f"Part {i}. " + sentence * 90, encoding="utf-8")

    window = p.x.geometry(p.wait("the main window", lambda: p.x.visible_windows(MAIN), 60)[0])
    _click(p, window, RAIL_TASKS)
    p.wait("the tasks page", lambda: p.rows("SELECT token FROM task_lease"), timeout=30)
    p.shot("tasks page empty")

    dialog = _open_dialog(p, window)
    _click(p, dialog, REMINDER_TEXT)  # a reminder is the first kind: its text
    p.type(REMINDER)
    p.shot("reminder dialog")
    p.key("ctrl+Return")  # the text has several lines: Enter is a new line there
    p.wait("the dialog closed", lambda: not p.x.visible_windows(DIALOG), timeout=15)
    done = p.wait(
        "the reminder completed",
        lambda: p.rows("SELECT result FROM tasks WHERE kind = 'reminder' AND status = 'completed'"),
        timeout=30,
    )
    assert done[0][0] == REMINDER
    time.sleep(0.5)
    p.shot("reminder completed with a toast")

    dialog = _open_dialog(p, window)
    _click(p, dialog, KIND)
    p.type("Summarise")
    p.key("Return")
    time.sleep(0.5)
    _click(p, dialog, PATH_FIELD)
    p.type(str(folder))
    p.shot("summary dialog")
    p.key("Return")
    p.wait("the dialog closed", lambda: not p.x.visible_windows(DIALOG), timeout=15)
    started = p.wait(
        "the summary making progress",
        lambda: (t := _task(p, "summarise")) is not None and t[1] == "running" and t[2] > 0 and t,
        timeout=120,
    )
    p.shot("summary progress")
    p.wait(
        "more progress",
        lambda: (t := _task(p, "summarise")) is not None and t[2] > started[2],
        timeout=120,
    )
    p.shot("summary more progress")

    _click(p, window, FIRST_ROW)  # newest first: the summary
    _click(p, window, CANCEL)
    asked = time.monotonic()
    p.wait(
        "the summary cancelled",
        lambda: (t := _task(p, "summarise")) is not None and t[1] == "cancelled",
        timeout=10,
    )
    assert time.monotonic() - asked < 5  # it stops within a second; the store is read each 0.1 s
    time.sleep(0.5)
    p.shot("summary cancelled")
    assert p.proc.poll() is None, p.output()
