"""Push-to-talk in the window: one press and one release per hold, whatever the focus, with
auto-repeat ignored; the key never types into the message box nor fires a shortcut."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QKeySequenceEdit, QLineEdit, QVBoxLayout, QWidget

from keiko_desktop.ui.voice.ptt_keys import PushToTalkKeys, parse_key

CTRL = Qt.KeyboardModifier.ControlModifier
NONE = Qt.KeyboardModifier.NoModifier
SPACE = Qt.Key.Key_Space


class Window(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.edit = QLineEdit(self)
        self.edit.setAccessibleName("Message")
        self.other = QLineEdit(self)
        self.other.setAccessibleName("Other")
        self.keys_edit = QKeySequenceEdit(self)
        self.keys_edit.setAccessibleName("Push-to-talk key")
        layout = QVBoxLayout(self)
        for widget in (self.edit, self.other, self.keys_edit):
            layout.addWidget(widget)
        self.shortcut_fired = 0
        shortcut = QShortcut(QKeySequence("Ctrl+Space"), self)
        shortcut.activated.connect(self._on_shortcut_activated)

    def _on_shortcut_activated(self) -> None:
        self.shortcut_fired += 1


@pytest.fixture
def window(qtbot: Any) -> Window:
    w = Window()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    w.activateWindow()
    w.edit.setFocus()
    return w


@pytest.fixture
def keys(qapp: QApplication) -> Iterator[tuple[PushToTalkKeys, list[str]]]:
    ptt = PushToTalkKeys("Ctrl+Space")
    seen: list[str] = []
    ptt.pressed.connect(lambda: seen.append("pressed"))
    ptt.released.connect(lambda: seen.append("released"))
    yield ptt, seen
    ptt.remove()
    ptt.deleteLater()


def send(widget: QWidget, kind: QEvent.Type, key: Qt.Key, mods: Any, repeat: bool = False) -> None:
    QApplication.sendEvent(widget, QKeyEvent(kind, key, mods, "", repeat))


def test_a_hold_is_one_press_and_one_release_and_types_nothing(
    window: Window, keys: tuple[PushToTalkKeys, list[str]]
) -> None:
    ptt, seen = keys
    QTest.keyPress(window.edit, Qt.Key.Key_Control)
    QTest.keyPress(window.edit, SPACE, CTRL)
    assert seen == ["pressed"]
    assert ptt.held
    # Held down: the keyboard repeats it; nothing more happens.
    for _ in range(5):
        send(window.edit, QEvent.Type.KeyRelease, SPACE, CTRL, repeat=True)
        send(window.edit, QEvent.Type.KeyPress, SPACE, CTRL, repeat=True)
    assert seen == ["pressed"]
    QTest.keyRelease(window.edit, SPACE, CTRL)
    QTest.keyRelease(window.edit, Qt.Key.Key_Control)
    assert seen == ["pressed", "released"]
    assert not ptt.held
    assert window.edit.text() == ""
    assert window.shortcut_fired == 0, "a shortcut took the push-to-talk key"
    # Other keys still reach the box.
    QTest.keyClicks(window.edit, "hi there")
    assert window.edit.text() == "hi there"
    assert seen == ["pressed", "released"]


def test_letting_go_of_the_modifier_first_ends_the_hold(
    window: Window, keys: tuple[PushToTalkKeys, list[str]]
) -> None:
    ptt, seen = keys
    QTest.keyPress(window.other, SPACE, CTRL)
    QTest.keyRelease(window.other, Qt.Key.Key_Control, NONE)
    assert seen == ["pressed", "released"]
    # Space let go after Ctrl: nothing more.
    QTest.keyRelease(window.other, SPACE, NONE)
    assert seen == ["pressed", "released"]
    assert not ptt.held


def test_space_alone_and_other_modifiers_are_not_the_key(
    window: Window, keys: tuple[PushToTalkKeys, list[str]]
) -> None:
    _, seen = keys
    QTest.keyClick(window.edit, SPACE)
    QTest.keyClick(window.edit, SPACE, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert seen == []
    assert window.edit.text() == " ", "a plain space no longer types"


def test_through_the_window_like_a_real_key(
    window: Window, keys: tuple[PushToTalkKeys, list[str]]
) -> None:
    """A real key arrives at the QWindow first and is then sent on to the focused widget:
    the filter sees both, and fires once."""
    _, seen = keys
    handle = window.windowHandle()
    assert handle is not None
    QTest.keyPress(handle, SPACE, CTRL)
    QTest.keyRelease(handle, SPACE, CTRL)
    assert seen == ["pressed", "released"]
    assert window.edit.text() == ""
    assert window.shortcut_fired == 0


def test_another_key_and_bad_keys(window: Window, keys: tuple[PushToTalkKeys, list[str]]) -> None:
    ptt, seen = keys
    ptt.set_key("F8")
    QTest.keyPress(window.edit, SPACE, CTRL)
    QTest.keyRelease(window.edit, SPACE, CTRL)
    assert seen == []
    QTest.keyPress(window.edit, Qt.Key.Key_F8)
    QTest.keyRelease(window.edit, Qt.Key.Key_F8)
    assert seen == ["pressed", "released"]
    for bad in ("", "Ctrl", "Ctrl+Space, A", "nonsense key", "Shift+"):
        with pytest.raises(ValueError, match=r"\S"):
            ptt.set_key(bad)
    assert ptt.key == "F8", "a bad key replaced the good one"
    assert parse_key("Ctrl+Space") == (SPACE, CTRL)
    assert parse_key("Meta+F5")[0] == Qt.Key.Key_F5


def test_stands_aside_while_a_new_key_is_being_chosen(
    window: Window, keys: tuple[PushToTalkKeys, list[str]]
) -> None:
    _, seen = keys
    window.keys_edit.setFocus()
    QTest.keyPress(window.keys_edit, SPACE, CTRL)
    QTest.keyRelease(window.keys_edit, SPACE, CTRL)
    assert seen == []
    assert window.keys_edit.keySequence().toString() == "Ctrl+Space"


def test_losing_the_focus_or_turning_it_off_while_held_lets_go(
    window: Window, keys: tuple[PushToTalkKeys, list[str]]
) -> None:
    ptt, seen = keys
    QTest.keyPress(window.edit, SPACE, CTRL)
    app = QApplication.instance()
    assert app is not None
    QApplication.sendEvent(app, QEvent(QEvent.Type.ApplicationDeactivate))
    assert seen == ["pressed", "released"]
    QTest.keyPress(window.edit, SPACE, CTRL)
    ptt.set_enabled(False)
    assert seen == ["pressed", "released", "pressed", "released"]
    QTest.keyClick(window.edit, SPACE, CTRL)
    assert len(seen) == 4
    ptt.set_enabled(True)
    ptt.remove()
    QTest.keyClick(window.edit, SPACE, CTRL)
    assert len(seen) == 4, "still listening after remove()"
