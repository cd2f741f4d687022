"""TaskTableModel and its progress delegate, with TaskRecords built here: rows change one at a
time (the signals say which), sorting and filtering keep the selection, and a long random
sequence of updates always matches a model rebuilt from scratch (checked by Qt's own
QAbstractItemModelTester as it goes)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QAbstractItemModelTester
from PySide6.QtWidgets import QTableView

from keiko_desktop.core.tasks.records import PRIORITIES, TASK_STATUSES, TaskRecord
from keiko_desktop.ui.theme import LIGHT
from keiko_desktop.ui.widgets.task_progress_delegate import TaskProgressDelegate
from keiko_desktop.ui.widgets.task_table import (
    DURATION,
    ID_ROLE,
    KIND,
    NAME,
    PRIORITY,
    PROGRESS,
    STARTED,
    STATUS,
    TaskTableModel,
)
from keiko_desktop.ui.widgets.task_text import TaskQuery, duration_text, matches, started_text

NOW = datetime(2025, 3, 12, 15, 0, 0, tzinfo=UTC)
LABELS = {"reminder": "Reminder", "agent": "Ask an agent", "summarise": "Summarise"}


def task(task_id: int, **changes: Any) -> TaskRecord:
    base = TaskRecord(
        id=task_id,
        name=f"Task {task_id:03d}",
        kind="reminder",
        params={"text": "hi"},
        priority="normal",
        status="pending",
        created_at=NOW - timedelta(minutes=100 - task_id),
        updated_at=NOW,
    )
    return replace(base, **changes)


class Spy:
    """Every change signal of a model, in order, as tuples."""

    def __init__(self, model: TaskTableModel) -> None:
        self.calls: list[tuple[Any, ...]] = []
        model.dataChanged.connect(
            lambda a, b, _roles=(): self.calls.append(
                ("changed", a.row(), b.row(), a.column(), b.column())
            )
        )
        model.rowsInserted.connect(lambda _p, a, b: self.calls.append(("inserted", a, b)))
        model.rowsRemoved.connect(lambda _p, a, b: self.calls.append(("removed", a, b)))
        model.rowsMoved.connect(lambda _p, a, b, _d, r: self.calls.append(("moved", a, b, r)))
        model.modelReset.connect(lambda: self.calls.append(("reset",)))
        model.layoutChanged.connect(lambda *_a: self.calls.append(("layout",)))


@pytest.fixture
def model(qapp: Any) -> TaskTableModel:
    m = TaskTableModel(LIGHT, now=lambda: NOW)
    m.set_kind_labels(LABELS)
    QAbstractItemModelTester(m, QAbstractItemModelTester.FailureReportingMode.Warning, m)
    return m


def texts(model: TaskTableModel, column: int) -> list[str]:
    return [model.index(r, column).data() for r in range(model.rowCount())]


def test_duration_and_start_texts() -> None:
    assert duration_text(None) == ""
    assert duration_text(12.7) == "12 s"
    assert duration_text(184) == "3 min 4 s"
    assert duration_text(180) == "3 min"
    assert duration_text(7500) == "2 h 5 min"
    assert duration_text(3 * 86400 + 4 * 3600 + 5) == "3 d 4 h"
    moment = datetime(2025, 3, 12, 9, 5, tzinfo=UTC)
    local = moment.astimezone()
    assert started_text(moment, now=moment) == local.strftime("%H:%M")
    assert started_text(moment, now=moment + timedelta(days=40)) == local.strftime("%d %b %H:%M")
    assert started_text(moment, now=moment + timedelta(days=400)) == local.strftime("%d %b %Y")


def test_rows_show_every_column_newest_first(model: TaskTableModel) -> None:
    started = NOW - timedelta(seconds=184)
    model.set_tasks(
        [
            task(1, status="completed", started_at=started, finished_at=NOW, progress=100),
            task(2, kind="agent", status="running", started_at=started, progress=45,
                 priority="high", name="Ask\x1b[31m"),
            task(3),
        ]
    )  # fmt: skip
    assert model.task_ids() == [3, 2, 1]
    row = model.row_of(2)
    assert row == 1
    cells = [model.index(1, c).data() for c in range(7)]
    assert cells == [
        "Ask\\x1b[31m",  # escaped
        "Ask an agent",
        "Running",
        "High",
        "45 %",
        started_text(started),
        "3 min 4 s",  # to now while it runs
    ]
    assert texts(model, PROGRESS) == ["", "45 %", "100 %"]  # a pending task has no bar
    assert texts(model, DURATION)[2] == "3 min 4 s"
    assert model.index(0, STATUS).data(Qt.ItemDataRole.DecorationRole) is not None
    spoken = model.index(1, NAME).data(Qt.ItemDataRole.AccessibleTextRole)
    assert spoken == "Ask\\x1b[31m — Running — Ask an agent — 45 percent"


def test_an_update_changes_one_row_and_a_new_task_inserts_one(model: TaskTableModel) -> None:
    model.set_tasks([task(i) for i in range(1, 11)])
    spy = Spy(model)
    model.upsert(task(4, status="running", started_at=NOW))
    row = model.row_of(4)
    assert spy.calls == [("changed", row, row, 0, 6)]
    spy.calls.clear()
    model.upsert(task(11))
    assert spy.calls == [("inserted", 0, 0)]
    assert model.task_ids()[0] == 11
    spy.calls.clear()
    model.set_progress(4, 30.0, "3 of 10 files")
    assert spy.calls == [("changed", row + 1, row + 1, PROGRESS, PROGRESS)]
    assert model.index(row + 1, PROGRESS).data(Qt.ItemDataRole.ToolTipRole) == "3 of 10 files"
    model.set_progress(99, 50.0)  # unknown: nothing
    model.set_progress(4, 30.0, "3 of 10 files")  # the same again: nothing
    assert len(spy.calls) == 1


def test_removed_tasks_go_a_range_at_a_time(model: TaskTableModel) -> None:
    model.set_tasks([task(i) for i in range(1, 11)])
    spy = Spy(model)
    model.remove([3, 4, 5, 9, 42])
    assert spy.calls == [("removed", 5, 7), ("removed", 1, 1)]  # as the view had them
    assert model.task_ids() == [10, 8, 7, 6, 2, 1]
    assert model.total() == 6


def test_the_tick_repaints_only_the_duration_of_running_rows(model: TaskTableModel) -> None:
    model.set_tasks(
        [task(i, status="running", started_at=NOW) if i in (2, 7) else task(i) for i in range(10)]
    )
    spy = Spy(model)
    model.tick()
    rows = sorted(model.row_of(i) for i in (2, 7))  # type: ignore[type-var]
    assert spy.calls == [("changed", r, r, DURATION, DURATION) for r in rows]
    model.upsert(task(2, status="completed", started_at=NOW, finished_at=NOW))
    spy.calls.clear()
    model.tick()
    assert spy.calls == [("changed", model.row_of(7), model.row_of(7), DURATION, DURATION)]


def test_sorting_keeps_the_selection_and_moves_a_changed_row(
    model: TaskTableModel, qtbot: Any
) -> None:
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    tasks = [task(i, name=name) for i, name in enumerate(["delta", "Alpha", "charlie", "bravo"])]
    model.set_tasks(tasks)
    selection = view.selectionModel()
    flags = (
        QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
    )
    selection.setCurrentIndex(model.index(model.row_of(2) or 0, 0), flags)  # type: ignore[arg-type]
    model.sort(NAME, Qt.SortOrder.AscendingOrder)
    assert texts(model, NAME) == ["Alpha", "bravo", "charlie", "delta"]
    assert view.currentIndex().data(ID_ROLE) == 2
    model.sort(NAME, Qt.SortOrder.DescendingOrder)
    assert texts(model, NAME) == ["delta", "charlie", "bravo", "Alpha"]
    assert [i.data(ID_ROLE) for i in selection.selectedRows()] == [2]
    spy = Spy(model)
    model.upsert(replace(tasks[2], name="zulu"))
    assert spy.calls[0] == ("moved", 1, 1, 0)
    assert texts(model, NAME) == ["zulu", "delta", "bravo", "Alpha"]
    assert view.currentIndex().data(ID_ROLE) == 2  # the selection went with it
    model.sort(STATUS, Qt.SortOrder.AscendingOrder)
    model.upsert(replace(tasks[1], status="cancelled"))
    assert model.task_ids()[-1] == 1
    model.sort(-1)
    assert model.task_ids() == [3, 2, 1, 0]  # no column: newest first


def test_every_column_sorts(model: TaskTableModel) -> None:
    rng = random.Random(3)
    model.set_tasks(random_task(rng, i) for i in range(200))
    for column in (NAME, KIND, STATUS, PRIORITY, PROGRESS, STARTED, DURATION):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            model.sort(column, order)
            assert model.task_ids() == reference(model, column, order)


def test_filters_by_status_kind_and_words(model: TaskTableModel) -> None:
    model.set_tasks(
        [
            task(1, name="Water the plants", status="completed", result="Done: basil, mint"),
            task(2, name="Summarise notes", kind="summarise", status="failed",
                 error="No such folder: /tmp/notes"),
            task(3, name="Remind me", status="pending"),
        ]
    )  # fmt: skip
    model.set_query(TaskQuery(status="failed"))
    assert model.task_ids() == [2]
    model.set_query(TaskQuery(kind="reminder"))
    assert model.task_ids() == [3, 1]
    model.set_query(TaskQuery(search="MINT basil"))
    assert model.task_ids() == [1]
    model.set_query(TaskQuery(search="folder summarise"))  # the error and the kind
    assert model.task_ids() == [2]
    model.set_query(TaskQuery(search="summar"))  # the kind's label counts too
    assert model.task_ids() == [2]
    model.set_query(TaskQuery(status="pending"))
    spy = Spy(model)
    model.upsert(task(3, status="running"))  # no longer matches: its row goes
    model.upsert(task(4))  # matches: a row
    model.upsert(task(5, status="failed"))  # does not: kept, not shown
    assert model.task_ids() == [4]
    assert spy.calls == [("removed", 0, 0), ("inserted", 0, 0)]
    assert model.total() == 5
    model.set_query(TaskQuery())
    assert model.task_ids() == [5, 4, 3, 2, 1]


def random_task(rng: random.Random, task_id: int) -> TaskRecord:
    status = rng.choice(TASK_STATUSES)
    started = NOW - timedelta(seconds=rng.randint(0, 5000)) if status != "pending" else None
    finished = started + timedelta(seconds=rng.randint(0, 900)) if started else None
    return task(
        task_id,
        name=rng.choice(["alpha", "Beta", "gamma", "delta", ""]) + f" {rng.randint(0, 9)}",
        kind=rng.choice(list(LABELS)),
        status=status,
        priority=rng.choice(PRIORITIES),
        progress=float(rng.randint(0, 100)),
        started_at=started,
        finished_at=finished if status in ("completed", "failed", "cancelled") else None,
        result=rng.choice(["", "basil", "mint leaves"]),
    )


def reference(model: TaskTableModel, column: int, order: Qt.SortOrder) -> list[int]:
    """The shown ids as a model built from scratch would have them."""
    fresh = TaskTableModel(LIGHT, now=lambda: NOW)
    fresh.set_kind_labels(LABELS)
    fresh.set_tasks(model.task(i) for i in all_ids(model))  # type: ignore[misc]
    fresh.set_query(model.query)
    fresh.sort(column, order)
    return fresh.task_ids()


def all_ids(model: TaskTableModel) -> list[int]:
    return list(model._tasks)


@pytest.mark.parametrize("seed", [1, 2])
def test_random_updates_match_a_model_built_from_scratch(model: TaskTableModel, seed: int) -> None:
    rng = random.Random(seed)
    model.set_tasks(random_task(rng, i) for i in range(1, 121))
    next_id = 121
    columns = (-1, NAME, KIND, STATUS, PRIORITY, PROGRESS, STARTED)
    for step in range(400):
        action = rng.random()
        ids = all_ids(model)
        if step % 80 == 0:
            column = rng.choice(columns)
            order = rng.choice([Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder])
            model.sort(column, order)
            query = rng.choice(
                [TaskQuery(), TaskQuery(status="running"), TaskQuery(search="mint"),
                 TaskQuery(kind="agent", search="a")]
            )  # fmt: skip
            model.set_query(query)
        if action < 0.45 and ids:
            old = model.task(rng.choice(ids))
            assert old is not None
            fresh = random_task(rng, old.id)
            model.upsert(fresh)
        elif action < 0.75 and ids:
            model.set_progress(rng.choice(ids), float(rng.randint(0, 100)), "x")
        elif action < 0.9:
            model.upsert(random_task(rng, next_id))
            next_id += 1
        elif ids:
            model.remove(rng.sample(ids, min(len(ids), rng.randint(1, 4))))
        if step % 25 == 0:
            order = (
                Qt.SortOrder.DescendingOrder if model._descending else Qt.SortOrder.AscendingOrder
            )
            assert model.task_ids() == reference(model, model.sort_column, order), step
    for row in range(model.rowCount()):
        assert model.row_of(model.task_at(row).id) == row


def test_matches_needs_every_word() -> None:
    record = task(1, name="Plant basil", result="ok")
    assert matches(record, TaskQuery(search="basil plant"), "Reminder", ("basil", "plant"))
    assert not matches(record, TaskQuery(search="basil rose"), "Reminder", ("basil", "rose"))


def test_the_delegate_paints_the_done_part_in_the_status_colour(
    model: TaskTableModel, qtbot: Any
) -> None:
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setItemDelegateForColumn(PROGRESS, TaskProgressDelegate(LIGHT, view))
    model.set_tasks(
        [
            task(1, status="running", progress=50.0, started_at=NOW),
            task(2, status="failed", progress=100.0, started_at=NOW),
            task(3),
        ]
    )
    view.setColumnWidth(PROGRESS, 220)
    view.resize(900, 300)
    view.show()
    qtbot.waitExposed(view)
    image = view.viewport().grab().toImage()

    def colours_in(task_id: int) -> set[str]:
        rect = view.visualRect(model.index(model.row_of(task_id) or 0, PROGRESS))
        y = rect.center().y() + 1
        return {QColor(image.pixel(x, y)).name() for x in range(rect.left(), rect.right())}

    running, failed, pending = colours_in(1), colours_in(2), colours_in(3)
    assert LIGHT.accent in running  # the done half
    assert LIGHT.border in running  # the rest of the track
    assert LIGHT.status_error in failed
    assert LIGHT.border not in failed  # all done
    assert LIGHT.accent not in pending
    assert LIGHT.border not in pending  # no bar at all
    assert model.index(model.row_of(3) or 0, PROGRESS).data() == ""


def test_header_and_flags(model: TaskTableModel) -> None:
    header = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
    assert header == ["Name", "Kind", "Status", "Priority", "Progress", "Started", "Duration"]
    model.set_tasks([task(1)])
    flags = model.flags(model.index(0, 0))
    assert flags & Qt.ItemFlag.ItemIsSelectable
    assert not flags & Qt.ItemFlag.ItemIsEditable
    assert model.flags(QModelIndex()) == Qt.ItemFlag.NoItemFlags
    assert model.index(0, KIND).data() == "Reminder"
    assert model.index(0, STARTED).data() == ""
