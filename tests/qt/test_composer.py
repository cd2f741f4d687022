"""The composer: Enter sends, Shift+Enter breaks a line, Up edits, empty is refused."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QWidget

from keiko_desktop.ui.shortcuts import WINDOW_SHORTCUTS
from keiko_desktop.ui.theme import LIGHT
from keiko_desktop.ui.widgets.composer import Composer, approx_tokens


def make(qtbot: Any) -> Composer:
    composer = Composer(LIGHT)
    qtbot.addWidget(composer)
    composer.show()
    return composer


def test_enter_sends_and_clears(qtbot: Any) -> None:
    composer = make(qtbot)
    qtbot.keyClicks(composer.editor, "hello")
    with qtbot.waitSignal(composer.send_requested, timeout=1000) as blocker:
        qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    assert blocker.args == ["hello"]
    assert composer.text == ""


def test_shift_enter_adds_a_line(qtbot: Any) -> None:
    composer = make(qtbot)
    qtbot.keyClicks(composer.editor, "a")
    with qtbot.assertNotEmitted(composer.send_requested):
        qtbot.keyClick(composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    qtbot.keyClicks(composer.editor, "b")
    assert composer.text == "a\nb"


def test_empty_message_is_refused(qtbot: Any) -> None:
    composer = make(qtbot)
    qtbot.keyClicks(composer.editor, "   ")
    with qtbot.assertNotEmitted(composer.send_requested):
        qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    assert not composer.send_button.isEnabled()
    assert "Type a message" in composer.hint.text()


def test_up_in_an_empty_box_asks_to_edit(qtbot: Any) -> None:
    composer = make(qtbot)
    with qtbot.waitSignal(composer.edit_last_requested, timeout=1000):
        qtbot.keyClick(composer.editor, Qt.Key.Key_Up)
    composer.begin_edit(7, "old text")
    assert composer.editing_message_id == 7
    with qtbot.waitSignal(composer.edit_submitted, timeout=1000) as blocker:
        qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    assert blocker.args == [7, "old text"]
    assert composer.editing_message_id is None


def test_busy_shows_stop_and_holds_the_next_message(qtbot: Any) -> None:
    composer = make(qtbot)
    composer.set_busy(True)
    assert composer.stop_button.isVisible()
    assert not composer.send_button.isVisible()
    qtbot.keyClicks(composer.editor, "next")
    with qtbot.assertNotEmitted(composer.send_requested):
        qtbot.keyClick(composer.editor, Qt.Key.Key_Return)
    assert composer.text == "next"
    with qtbot.waitSignal(composer.stop_requested, timeout=1000):
        composer.stop_button.click()


def test_length_hint_against_the_context(qtbot: Any) -> None:
    composer = make(qtbot)
    composer.set_context_length(8)
    composer.set_text("x" * 40)
    assert "40 characters" in composer.hint.text()
    assert "~10 tokens of 8" in composer.hint.text()
    assert "too long" in composer.hint.text()
    assert approx_tokens("abcd") == 1
    assert approx_tokens("abcde") == 2


def test_box_grows_with_its_text(qtbot: Any) -> None:
    composer = make(qtbot)
    one_line = composer.editor.height()
    composer.set_text("a\nb\nc\nd")
    assert composer.editor.height() > one_line


def _override_accepted(widget: QWidget, key: Qt.Key, modifiers: Qt.KeyboardModifier) -> bool:
    event = QKeyEvent(QEvent.Type.ShortcutOverride, key, modifiers)
    event.ignore()
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_the_box_leaves_the_window_keys_to_the_window(qtbot: Any) -> None:
    composer = make(qtbot)
    composer.set_text("some text")
    for shortcut in WINDOW_SHORTCUTS:
        combination = shortcut.sequence[0]
        assert not _override_accepted(
            composer.editor, combination.key(), combination.keyboardModifiers()
        ), shortcut.keys
    # its own editing keys stay its own
    ctrl = Qt.KeyboardModifier.ControlModifier
    assert _override_accepted(composer.editor, Qt.Key.Key_A, ctrl)
    assert _override_accepted(composer.editor, Qt.Key.Key_Z, ctrl)
    assert _override_accepted(composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier)
