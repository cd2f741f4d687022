"""ToastOverlay: notices in the window's corner, one at a time, queued, dismissed by a click,
Esc or time, "Show" naming the task; and the window's toasts for tasks that end."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit, QMainWindow, QStatusBar

from keiko_desktop.ui.widgets import toast as toast_module
from keiko_desktop.ui.widgets.toast import MAX_QUEUED, Toast, ToastOverlay


@pytest.fixture
def host(qtbot: Any) -> QMainWindow:
    window = QMainWindow()
    window.setCentralWidget(QLineEdit(window))
    window.setStatusBar(QStatusBar(window))
    window.resize(900, 600)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_a_toast_sits_bottom_right_above_the_status_bar(host: QMainWindow) -> None:
    toasts = ToastOverlay(host)
    toasts.notify(Toast("Task “Water” completed.", 7, "ok"))
    assert toasts.isVisible()
    assert toasts.text == "Task “Water” completed."
    assert toasts.accessibleName() == "Notification"
    assert toasts.accessibleDescription() == "Task “Water” completed."
    geometry = toasts.geometry()
    assert geometry.right() <= host.width() - 16
    assert geometry.right() >= host.width() - 40
    assert geometry.bottom() <= host.statusBar().geometry().top()
    host.resize(700, 500)
    QTest.qWait(20)
    assert toasts.geometry().right() <= 700 - 16  # follows the window
    assert toasts.show_button.isVisible()
    assert toasts.show_button.accessibleName() == "Show the task"


def test_toasts_queue_and_show_asks_for_the_task(host: QMainWindow, qtbot: Any) -> None:
    toasts = ToastOverlay(host)
    asked: list[object] = []
    toasts.show_requested.connect(asked.append)
    toasts.notify(Toast("first", 1, "ok"))
    toasts.notify(Toast("second", 2, "error"))
    assert toasts.text == "first"
    assert toasts.waiting == 1
    toasts.show_button.click()
    assert asked == [1]
    assert not toasts.isVisible()
    qtbot.waitUntil(lambda: toasts.text == "second", timeout=2000)
    toasts.notify(Toast("no task"))
    toasts.close_button.click()
    qtbot.waitUntil(lambda: toasts.text == "no task", timeout=2000)
    assert not toasts.show_button.isVisibleTo(toasts)


def test_a_click_or_esc_dismisses_and_focus_goes_back(host: QMainWindow, qtbot: Any) -> None:
    toasts = ToastOverlay(host)
    editor = host.centralWidget()
    editor.setFocus()
    toasts.notify(Toast("one", 1))
    assert host.focusWidget() is editor  # a toast never takes the keyboard by itself
    QTest.mouseClick(toasts, Qt.MouseButton.LeftButton, pos=QPoint(40, 10))
    assert toasts.current is None
    toasts.notify(Toast("two", 2))
    qtbot.waitUntil(lambda: toasts.text == "two", timeout=2000)
    toasts.show_button.setFocus()
    QTest.keyClick(toasts.show_button, Qt.Key.Key_Escape)
    assert toasts.current is None
    assert not toasts.isVisible()


def test_it_hides_by_itself(host: QMainWindow, qtbot: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toast_module, "SHOW_MS", 150)
    toasts = ToastOverlay(host)
    gone: list[bool] = []
    toasts.dismissed.connect(lambda: gone.append(True))
    toasts.notify(Toast("short", None))
    qtbot.waitUntil(lambda: not toasts.isVisible(), timeout=2000)
    assert gone == [True]


def test_a_flood_is_summed_up(host: QMainWindow, qtbot: Any) -> None:
    toasts = ToastOverlay(host)
    asked: list[object] = []
    toasts.show_requested.connect(asked.append)
    for n in range(20):
        toasts.notify(Toast(f"task {n}", n))
    assert toasts.waiting == MAX_QUEUED + 1  # three waiting, and one for the rest
    seen = [toasts.text]
    for _ in range(MAX_QUEUED + 1):
        toasts.dismiss()
        qtbot.waitUntil(lambda: toasts.current is not None, timeout=2000)
        seen.append(toasts.text)
    assert seen == ["task 0", "task 1", "task 2", "task 3", "16 more tasks ended."]
    assert toasts.show_button.accessibleName() == "Show the tasks"
    toasts.show_button.click()
    assert asked == [None]  # the page, no task
    toasts.clear()
    assert toasts.waiting == 0


def test_names_are_escaped(host: QMainWindow) -> None:
    toasts = ToastOverlay(host)
    toasts.notify(Toast("Task “\x1b]52;c;evil\x07” completed."))
    assert "\x1b" not in toasts.text
    assert "\\x1b" in toasts.text
    assert toasts.label.textFormat() == Qt.TextFormat.PlainText
