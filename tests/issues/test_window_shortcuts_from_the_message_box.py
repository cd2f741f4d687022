"""Regression: in the real X11 window, Ctrl+N, Ctrl+K and Ctrl+, did nothing from the message box.

The keys reached the focused message box, but the window's shortcuts (``Qt.WindowShortcut``) only
fire while Qt counts their window as the active one, and on X11 it often does not: with no window
manager or focus following the pointer (``PointerRoot``; Qt ignores that focus-in), and after a
dialog closes and X gives the focus back to the root window. QTest clicks on an active offscreen
window never showed it. ``ui/shortcuts.py``'s ``ShortcutRouter`` now delivers the window's keys from
the window's ``QWindow`` whenever Qt's shortcut map lets them through, and the composer refuses
``ShortcutOverride`` for them. Keys are sent to the ``QWindow`` here, as the platform sends them.
"""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.shortcuts import WINDOW_SHORTCUTS

CTRL = Qt.KeyboardModifier.ControlModifier


def test_the_message_box_refuses_shortcut_override_for_window_keys(window: MainWindow) -> None:
    editor = window.chat_panel.composer.editor
    for shortcut in WINDOW_SHORTCUTS:
        combination = shortcut.sequence[0]
        event = QKeyEvent(
            QEvent.Type.ShortcutOverride, combination.key(), combination.keyboardModifiers()
        )
        event.ignore()
        QApplication.sendEvent(editor, event)
        assert not event.isAccepted(), shortcut.keys


@pytest.mark.usefixtures("other_window_active")
def test_ctrl_n_k_comma_from_the_message_box_when_qt_does_not_count_the_window_active(
    window: MainWindow, qtbot: Any
) -> None:
    composer = window.chat_panel.composer
    composer.focus_editor()
    composer.set_text("keep this text")  # the cursor is at the start: Ctrl+K must not cut it
    assert QApplication.activeWindow() is not window
    handle = window.windowHandle()
    for key, signal in (
        (Qt.Key.Key_N, window.new_chat_requested),
        (Qt.Key.Key_K, window.search_requested),
        (Qt.Key.Key_Comma, window.settings_requested),
    ):
        with qtbot.waitSignal(signal, timeout=1000):
            QTest.keyClick(handle, key, CTRL)
    with qtbot.waitSignal(window.escape_pressed, timeout=1000):
        QTest.keyClick(handle, Qt.Key.Key_Escape)
    assert composer.text == "keep this text"


def test_an_active_window_fires_each_shortcut_once(window: MainWindow, qtbot: Any) -> None:
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=2000)
    window.chat_panel.composer.focus_editor()
    fired: list[str] = []
    window.new_chat_requested.connect(lambda: fired.append("new"))
    QTest.keyClick(window.windowHandle(), Qt.Key.Key_N, CTRL)
    qtbot.wait(20)
    assert fired == ["new"]
