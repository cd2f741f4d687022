"""The Tasks page: its widgets with TaskRecords built here, then the real window on the real
TaskService (``build_core`` in a temp KEIKO_HOME, the engine started by the window): tasks
made in the dialog run and end in the table, a toast says so and Show selects the task;
cancel, retry, duplicate and delete; schedules made, switched off and deleted; and the banner
when another process holds the tasks' lease."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QWidget,
)

from keiko_desktop.app import build_core
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.tasks.clock import utc_now
from keiko_desktop.core.tasks.events import TaskProgressed
from keiko_desktop.core.tasks.records import NewTask, TaskRecord
from keiko_desktop.store import open_database
from keiko_desktop.ui.dialogs.task_dialog import TaskDialog
from keiko_desktop.ui.panels.task_list_page import EMPTY_TEXT
from keiko_desktop.ui.panels.tasks_panel import TasksPanel
from keiko_desktop.ui.presenters.tasks_presenter import finished_text, owner_text
from keiko_desktop.ui.theme import DARK, LIGHT
from keiko_desktop.ui.widgets.task_table import DURATION, PROGRESS, STATUS
from tests.qt.conftest import Harness

NOW = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)
KINDS = [("reminder", "Reminder"), ("summarise", "Summarise")]


def record(task_id: int, **changes: Any) -> TaskRecord:
    base = TaskRecord(
        task_id, f"Task {task_id}", "reminder", {"text": "x"}, "normal", "pending", NOW, NOW
    )
    return replace(base, **changes)


@pytest.fixture
def panel(qtbot: Any) -> TasksPanel:
    widget = TasksPanel()
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.set_kinds(KINDS)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def select(panel: TasksPanel, *ids: int) -> None:
    selection = panel.table.selectionModel()
    selection.clear()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for task_id in ids:
        row = panel.model.row_of(task_id)
        assert row is not None
        selection.setCurrentIndex(panel.model.index(row, 0), flags)


def visible_controls(root: QWidget) -> list[QWidget]:
    kinds = (QAbstractButton, QLineEdit, QPlainTextEdit, QAbstractItemView, QComboBox)
    return [
        w
        for w in root.findChildren(QWidget)
        if isinstance(w, kinds)
        and w.isVisibleTo(root)
        and w.focusPolicy() != Qt.FocusPolicy.NoFocus
    ]


# ---------------------------------------------------------------------- widgets, plain data
def test_the_empty_page_says_what_tasks_are(panel: TasksPanel) -> None:
    page = panel.tasks_page
    assert page.empty_label.isVisibleTo(panel)
    assert page.empty_label.text() == EMPTY_TEXT
    assert not page.table.isVisibleTo(panel)
    assert page.new_button.isEnabled()
    assert not any(b.isEnabled() for b in page.buttons()[1:])
    panel.set_tasks([record(1, status="failed")])
    assert page.table.isVisibleTo(panel)
    page.status_filter.setCurrentIndex(page.status_filter.findData("running"))
    assert page.empty_label.text() == "No tasks match these filters."


def test_buttons_follow_the_selection(panel: TasksPanel) -> None:
    page = panel.tasks_page
    panel.set_tasks(
        [
            record(1, status="running"),
            record(2, status="failed"),
            record(3, status="completed"),
        ]
    )
    asked: dict[str, list[object]] = {"cancel": [], "retry": [], "dup": []}
    page.cancel_requested.connect(asked["cancel"].append)
    page.retry_requested.connect(asked["retry"].append)
    page.duplicate_requested.connect(asked["dup"].append)
    select(panel, 3)
    assert not page.cancel_button.isEnabled()
    assert not page.retry_button.isEnabled()
    assert page.duplicate_button.isEnabled()
    select(panel, 1, 2, 3)
    assert page.cancel_button.isEnabled()
    assert page.retry_button.isEnabled()
    page.cancel_button.click()
    page.retry_button.click()
    page.duplicate_button.click()
    assert asked == {"cancel": [[1]], "retry": [[2]], "dup": [[3, 2, 1]]}
    panel.model.upsert(record(1, status="cancelled", updated_at=NOW + timedelta(seconds=1)))
    QTest.qWait(10)  # the buttons follow on the next turn of the loop
    assert not page.cancel_button.isEnabled()


def test_delete_asks_first_for_more_than_one(panel: TasksPanel) -> None:
    deleted: list[object] = []
    panel.delete_confirmed.connect(deleted.append)
    panel.set_tasks([record(i) for i in range(1, 4)])
    select(panel, 2)
    panel.table.setFocus()
    QTest.keyClick(panel.table, Qt.Key.Key_Delete)
    assert deleted == [[2]]  # one: at once
    select(panel, 1, 3)
    QTest.keyClick(panel.table, Qt.Key.Key_Delete)
    box = panel.confirm
    assert isinstance(box, QMessageBox)
    assert "2 selected tasks" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert deleted == [[2]]
    panel.tasks_page.delete_button.click()
    assert panel.confirm is not None
    panel.confirm.button(QMessageBox.StandardButton.Yes).click()
    assert deleted == [[2], [3, 1]]


def test_ctrl_shift_n_asks_for_a_new_task(panel: TasksPanel) -> None:
    asked: list[bool] = []
    panel.new_requested.connect(lambda: asked.append(True))
    panel.tasks_page.search.setFocus()
    QTest.keyClick(
        panel.tasks_page.search,
        Qt.Key.Key_N,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert asked == [True]
    assert panel.tasks_page.search.text() == ""
    panel.tasks_page.new_button.click()
    assert asked == [True, True]


def test_search_filters_as_you_type_and_esc_clears_it(panel: TasksPanel, qtbot: Any) -> None:
    page = panel.tasks_page
    panel.set_tasks(
        [
            record(1, name="Water the plants", status="completed", result="basil and mint"),
            record(2, name="Summarise", kind="summarise", status="failed", error="No folder"),
        ]
    )
    select(panel, 2)
    QTest.keyClicks(page.search, "mint")
    qtbot.waitUntil(lambda: panel.model.task_ids() == [1], timeout=2000)
    assert panel.current_id is None
    assert panel.escape()
    assert panel.model.task_ids() == [2, 1]
    assert panel.current_id == 2  # selected again once shown again
    assert not panel.escape()
    page.kind_filter.setCurrentIndex(page.kind_filter.findData("summarise"))
    assert panel.model.task_ids() == [2]
    assert panel.select_task(1)  # a hidden task: the filters go
    assert page.kind_filter.currentData() is None
    assert panel.current_id == 1


def test_the_detail_follows_the_current_task(panel: TasksPanel) -> None:
    failed = record(4, status="failed", error="boom\x1b[2J", attempts=2, max_attempts=3)
    panel.set_tasks([failed, record(5, status="completed", result="All done.")])
    selected: list[object] = []
    panel.tasks_page.task_selected.connect(selected.append)
    select(panel, 4)
    assert selected == [4]
    detail = panel.detail
    detail.set_task(failed, "Reminder")
    assert detail.tabs.currentWidget() is detail.error
    assert detail.error.toPlainText() == "boom\\x1b[2J"
    assert "attempt 2 of 3" in detail.facts.text()
    assert not detail.tabs.isTabEnabled(4)  # no trace


def test_every_control_has_a_name_a_tip_and_a_key_of_its_own(panel: TasksPanel) -> None:
    panel.set_tasks([record(1, status="running")])
    select(panel, 1)
    panel.set_owner_text(owner_text(None))
    for tab in (0, 1):
        panel.tabs.setCurrentIndex(tab)
        for widget in visible_controls(panel):
            assert widget.accessibleName(), widget
            if isinstance(widget, QAbstractButton) and widget.text():
                assert widget.toolTip(), widget.text()
        texts = [w.text() for w in panel.findChildren(QAbstractButton) if w.isVisibleTo(panel)]
        texts += [
            w.text() for w in panel.findChildren(QLabel) if w.isVisibleTo(panel) and w.buddy()
        ]
        texts += [panel.tabs.tabText(i) for i in range(panel.tabs.count())]
        texts.append("S&how")  # the window's toast
        keys = [m.group(1).lower() for t in texts if (m := re.search(r"&([^&])", t))]
        assert len(keys) == len(set(keys)), keys


def test_tab_reaches_the_toolbar_the_table_and_the_detail(panel: TasksPanel) -> None:
    failed = record(1, status="failed", error="x")
    panel.set_tasks([failed, record(2)])
    select(panel, 1)
    panel.detail.set_task(failed)  # the presenter does this
    page = panel.tasks_page
    assert not page.cancel_button.isEnabled()  # so not in the chain
    page.new_button.setFocus()
    seen: set[QWidget] = set()
    for _ in range(30):
        focused = QApplication.focusWidget()
        assert focused is not None
        seen.add(focused)
        QTest.keyClick(focused, Qt.Key.Key_Tab)
    wanted = {
        page.new_button,
        page.retry_button,
        page.duplicate_button,
        page.delete_button,
        page.status_filter,
        page.kind_filter,
        page.search,
        page.table,
        panel.detail.error,
    }
    assert wanted <= seen, wanted - seen


def test_running_durations_tick_and_the_theme_follows(panel: TasksPanel, qtbot: Any) -> None:
    started = utc_now() - timedelta(seconds=5)
    panel.set_tasks([record(1, status="running", started_at=started), record(2)])
    cell = panel.model.index(panel.model.row_of(1) or 0, DURATION)
    first = cell.data()
    assert first in ("5 s", "6 s")
    qtbot.waitUntil(lambda: cell.data() != first, timeout=3000)  # the page's 1 s tick
    status = panel.model.index(cell.row(), STATUS)
    dot = status.data(Qt.ItemDataRole.DecorationRole)
    assert QColor(dot.toImage().pixel(5, 5)).name() == LIGHT.accent  # running
    panel.set_theme(DARK)
    dot = status.data(Qt.ItemDataRole.DecorationRole)
    assert QColor(dot.toImage().pixel(5, 5)).name() == DARK.accent


def test_texts_for_the_banner_and_the_toasts() -> None:
    from keiko_desktop.core.tasks.records import LeaseHolder

    worker = LeaseHolder(4242, "worker", NOW, NOW)
    assert owner_text(worker) == (
        "Tasks run in `keiko tasks worker` (pid 4242); this window shows them and can add "
        "and cancel."
    )
    assert owner_text(replace(worker, role="window")).startswith(
        "Tasks run in another Keiko window (pid 4242)"
    )
    assert owner_text(None) == ""
    assert finished_text(record(1, name="Plants", status="completed")) == (
        "Task “Plants” completed.",
        "ok",
    )
    assert finished_text(record(1, name="P", status="failed", error="no disk")) == (
        "Task “P” failed: no disk",
        "error",
    )
    assert finished_text(record(1, status="cancelled")) is None


# ---------------------------------------------------------------------- the real service
@pytest.fixture
def real(make_harness: Callable[..., Harness], paths: Paths) -> Harness:
    return make_harness(
        lambda: build_core(paths, Settings(threads=1, task_retries=0), start_model=False)
    )


def open_tasks(h: Harness) -> TasksPanel:
    h.window.show_page("tasks")
    h.wait(h.controller.tasks.loaded.is_set, timeout=20)
    return h.window.tasks_panel


def add(h: Harness, new: NewTask) -> TaskRecord:
    assert h.core.tasks is not None
    return h.run(h.core.tasks.add(new))


def stored(h: Harness, task_id: int) -> TaskRecord:
    assert h.core.tasks is not None
    return h.run(h.core.tasks.get(task_id))


def dialog_of(h: Harness, action: Callable[[], None]) -> TaskDialog:
    presenter = h.controller.tasks
    action()
    h.wait(lambda: presenter.dialog is not None and presenter.dialog.isVisible())
    assert presenter.dialog is not None
    return presenter.dialog


def test_a_task_made_in_the_dialog_runs_and_a_toast_says_so(real: Harness) -> None:
    panel = open_tasks(real)
    assert isinstance(panel, TasksPanel)
    assert panel.tasks_page.empty_label.isVisibleTo(panel)
    assert not panel.banner.isVisibleTo(panel)  # this window runs the tasks
    dialog = dialog_of(real, panel.tasks_page.new_button.click)
    dialog.kind.setCurrentIndex(dialog.kind.findData("reminder"))
    QTest.keyClicks(dialog.editors["text"].focus_target, "Water the plants")
    QTest.keyClicks(dialog.name, "Plants")
    dialog.create_button.click()
    real.wait(lambda: not dialog.isVisible())
    real.wait(lambda: any(panel.model.task(i).name == "Plants" for i in panel.model.task_ids()))  # type: ignore[union-attr]
    task_id = panel.model.task_ids()[0]
    assert panel.current_id == task_id  # the new task is selected
    real.wait(lambda: stored(real, task_id).status == "completed", timeout=20)
    real.wait(lambda: panel.model.index(0, STATUS).data() == "Completed")
    toasts = real.window.toasts
    real.wait(lambda: toasts.current is not None)
    assert toasts.text == "Task “Plants” completed."
    real.window.show_page("chat")
    toasts.show_button.click()
    real.wait(lambda: real.window.page == "tasks")
    assert panel.current_id == task_id
    detail = panel.detail
    real.wait(lambda: detail.result.toPlainText() == "Water the plants")
    attempts = detail.attempts
    real.wait(
        lambda: (
            attempts.topLevelItemCount() == 1 and attempts.topLevelItem(0).text(2) == "Completed"
        )
    )  # type: ignore[union-attr]


def test_live_progress_and_a_task_another_process_adds(real: Harness, paths: Paths) -> None:
    panel = open_tasks(real)
    later = utc_now() + timedelta(hours=1)
    task = add(real, NewTask("reminder", {"text": "a"}, name="Later", not_before=later))
    real.wait(lambda: panel.model.row_of(task.id) is not None)
    real.core.bus.publish(TaskProgressed(task.id, 42.0, "half way"))
    real.wait(lambda: panel.model.task(task.id).progress == 42.0)  # type: ignore[union-attr]
    row = panel.model.row_of(task.id) or 0
    assert panel.model.index(row, PROGRESS).data(Qt.ItemDataRole.ToolTipRole) == "half way"
    other = real.run(open_database(paths.database))
    try:
        new = NewTask(
            "reminder", {"text": "b"}, name="From elsewhere", max_attempts=1, timeout=60.0
        )
        added, _ = real.run(other.tasks.add_task(new))
    finally:
        real.run(other.aclose())
    real.wait(lambda: panel.model.row_of(added.id) is not None, timeout=10)  # the watcher
    real.wait(lambda: panel.model.task(added.id).status == "completed", timeout=20)  # type: ignore[union-attr]


def test_esc_dismisses_the_toast_then_clears_the_search(real: Harness) -> None:
    panel = open_tasks(real)
    task = add(real, NewTask("reminder", {"text": "ding"}, name="Ding"))
    toasts = real.window.toasts
    real.wait(lambda: toasts.current is not None, timeout=20)
    assert toasts.text == "Task “Ding” completed."
    panel.tasks_page.search.setText("nothing like it")
    real.wait(lambda: panel.model.row_of(task.id) is None)
    panel.table.setFocus()
    QTest.keyClick(real.window.windowHandle(), Qt.Key.Key_Escape)
    assert toasts.current is None
    assert panel.tasks_page.search.text() == "nothing like it"
    QTest.keyClick(real.window.windowHandle(), Qt.Key.Key_Escape)
    assert panel.tasks_page.search.text() == ""
    assert panel.model.row_of(task.id) is not None


def test_the_dialog_suggests_the_agents(real: Harness) -> None:
    panel = open_tasks(real)
    dialog = dialog_of(real, panel.tasks_page.new_button.click)
    dialog.kind.setCurrentIndex(dialog.kind.findData("agent"))
    line = dialog.editors["agent"].widget
    assert isinstance(line, QLineEdit)
    completer = line.completer()
    assert completer is not None
    assert real.core.agents is not None
    names = [p.name for p in real.run(real.core.agents.list_agents())]
    assert completer.model().rowCount() == len(names) > 0
    dialog.reject()


def test_without_a_task_service_the_page_says_so(harness: Harness) -> None:
    harness.window.show_page("tasks")
    panel = harness.window.tasks_panel
    harness.wait(lambda: panel.error_text != "")
    assert panel.error_text.startswith("Tasks are not available in this window.")


def test_a_failed_task_says_why(real: Harness, tmp_path: Any) -> None:
    panel = open_tasks(real)
    missing = tmp_path / "nowhere.txt"
    task = add(real, NewTask("summarise", {"path": str(missing)}, name="Summary"))
    real.wait(lambda: stored(real, task.id).status == "failed", timeout=30)
    toasts = real.window.toasts
    real.wait(lambda: toasts.current is not None, timeout=5)
    assert toasts.text.startswith("Task “Summary” failed: ")
    assert "nowhere.txt" in toasts.text
    real.wait(lambda: panel.model.task(task.id) is not None)
    assert panel.model.task(task.id).status == "failed"  # type: ignore[union-attr]
    assert panel.select_task(task.id)
    real.wait(lambda: "nowhere.txt" in panel.detail.error.toPlainText())
    assert panel.detail.tabs.currentWidget() is panel.detail.error


def test_cancel_retry_duplicate_and_delete(real: Harness) -> None:
    panel = open_tasks(real)
    page = panel.tasks_page
    later = utc_now() + timedelta(hours=2)
    first = add(real, NewTask("reminder", {"text": "a"}, name="Later", not_before=later))
    second = add(real, NewTask("reminder", {"text": "b"}, name="Also later", not_before=later))
    real.wait(lambda: panel.model.row_of(second.id) is not None)
    assert (
        panel.model.index(panel.model.row_of(first.id) or 0, STATUS).data().startswith("Pending (")
    )
    assert panel.select_task(first.id)
    page.cancel_button.click()
    real.wait(lambda: stored(real, first.id).status == "cancelled")
    real.wait(lambda: panel.model.task(first.id).status == "cancelled")  # type: ignore[union-attr]
    real.wait(lambda: page.retry_button.isEnabled())
    page.retry_button.click()
    real.wait(lambda: stored(real, first.id).status != "cancelled", timeout=10)
    page.duplicate_button.click()
    real.wait(lambda: panel.model.total() == 3)
    copy_id = panel.current_id
    assert copy_id not in (first.id, second.id)
    assert stored(real, copy_id).name == "Later (copy)"  # type: ignore[arg-type]
    real.wait(lambda: stored(real, first.id).finished)  # retried: it ran (no wait any more)
    select_ids = [second.id, first.id]
    selection = panel.table.selectionModel()
    selection.clear()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for task_id in select_ids:
        selection.select(panel.model.index(panel.model.row_of(task_id) or 0, 0), flags)
    page.delete_button.click()
    assert panel.confirm is not None
    panel.confirm.button(QMessageBox.StandardButton.Yes).click()
    real.wait(
        lambda: panel.model.row_of(first.id) is None and panel.model.row_of(second.id) is None
    )
    assert real.core.tasks is not None
    left = [t.id for t in real.run(real.core.tasks.list_tasks())]
    assert left == [copy_id]


def test_schedules_are_made_switched_off_and_deleted(real: Harness) -> None:
    panel = open_tasks(real)
    schedules = panel.schedules
    panel.tabs.setCurrentWidget(schedules)
    assert schedules.empty_label.isVisibleTo(panel)
    dialog = dialog_of(real, schedules.new_button.click)
    assert dialog.when.kind == "daily"
    dialog.kind.setCurrentIndex(dialog.kind.findData("reminder"))
    dialog.editors["text"].put("Stand up")
    dialog.name.setText("Morning")
    dialog.when.daily_time.setTime(dialog.when.daily_time.time().fromString("07:30", "HH:mm"))
    dialog.create_button.click()
    real.wait(lambda: not dialog.isVisible())
    real.wait(lambda: len(schedules.schedule_ids()) == 1)
    item = schedules.items()[0]
    assert [item.text(c) for c in range(3)] == ["Morning", "Reminder", "daily at 07:30"]
    assert item.checkState(5) == Qt.CheckState.Checked
    schedule_id = schedules.schedule_ids()[0]
    schedules.tree.setCurrentItem(item)
    schedules.toggle_button.click()
    assert real.core.tasks is not None
    real.wait(lambda: not real.run(real.core.tasks.list_schedules())[0].enabled)
    real.wait(lambda: schedules.items()[0].text(3) == "off")
    schedules.tree.setCurrentItem(schedules.items()[0])
    schedules.delete_button.click()
    real.wait(lambda: not real.run(real.core.tasks.list_schedules()))
    real.wait(lambda: schedule_id not in schedules.schedule_ids())


@pytest.fixture
def lease_taken(paths: Paths, run: Any) -> Iterator[None]:
    """Another "process" (another Database on the same file) holds the tasks' lease."""
    database = run(open_database(paths.database))
    held, _holder, _ = run(database.tasks.acquire_lease("the-worker", "worker", 120.0))
    assert held
    yield
    run(database.tasks.release_lease("the-worker"))
    run(database.aclose())


@pytest.mark.usefixtures("lease_taken")
def test_a_banner_says_who_runs_the_tasks(real: Harness) -> None:
    panel = open_tasks(real)
    real.wait(lambda: panel.banner.isVisibleTo(panel), timeout=10)
    assert panel.banner.text() == (
        f"Tasks run in `keiko tasks worker` (pid {os.getpid()}); this window shows them and "
        "can add and cancel."
    )
    task = add(real, NewTask("reminder", {"text": "waits"}))
    real.wait(lambda: panel.model.row_of(task.id) is not None)
    assert stored(real, task.id).status == "pending"  # nobody here runs it
    assert panel.select_task(task.id)
    panel.tasks_page.cancel_button.click()  # but it can be cancelled from here
    real.wait(lambda: stored(real, task.id).status == "cancelled")


def test_the_bridge_relays_task_events_once_each(qapp: Any, run: Any) -> None:
    from keiko_desktop.core.tasks.events import (
        SchedulesChanged,
        TaskFinished,
        TaskOwnerChanged,
        TasksReloaded,
        TasksRemoved,
        TaskUpdated,
    )
    from keiko_desktop.ui.bridge import EventBridge
    from tests.helpers.events import running_loop_bus

    async def bus() -> Any:
        return running_loop_bus()

    events = run(bus())
    bridge = EventBridge()
    bridge.attach(events)
    seen: list[tuple[str, object]] = []
    for name in (
        "task_updated",
        "task_finished",
        "task_progressed",
        "tasks_removed",
        "tasks_reloaded",
        "schedules_changed",
        "task_owner_changed",
    ):
        getattr(bridge, name).connect(lambda e, n=name: seen.append((n, e)))
    done = TaskFinished(record(1, status="completed"))
    changed = TaskUpdated(record(2, status="running"))
    for event in (
        done,
        changed,
        TaskProgressed(2, 50.0, "half"),
        TasksRemoved((1,)),
        TasksReloaded(),
        SchedulesChanged(),
        TaskOwnerChanged(False, "keiko tasks worker (pid 9)"),
    ):
        events.publish(event)
    names = [n for n, _ in seen]
    assert names == [
        "task_updated",  # a TaskFinished is a TaskUpdated: the table applies it too
        "task_finished",
        "task_updated",
        "task_progressed",
        "tasks_removed",
        "tasks_reloaded",
        "schedules_changed",
        "task_owner_changed",
    ]
    assert seen[0][1] is done
    assert seen[1][1] is done
    bridge.detach()
    events.publish(changed)
    assert len(seen) == len(names)


def test_no_toast_when_notifications_are_off(real: Harness) -> None:
    open_tasks(real)
    real.core.update_settings(replace(real.core.settings, task_notify=False))
    task = add(real, NewTask("reminder", {"text": "quiet"}, name="Quiet"))
    real.wait(lambda: stored(real, task.id).status == "completed", timeout=20)
    real.settle(0.3)
    assert real.window.toasts.current is None
