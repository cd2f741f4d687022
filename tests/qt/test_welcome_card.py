"""The first-run welcome on the empty chat, and the window's mnemonics when Qt does not count
the window active (X11 without a window manager): Alt+G presses Got it all the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.widgets.welcome_card import WelcomeCard

ALT = Qt.KeyboardModifier.AltModifier


def test_the_welcome_says_what_runs_here_and_where_the_data_is(qtbot: Any) -> None:
    data, config = Path("/home/ann/.local/share/keiko"), Path("/home/ann/<b>config</b>")
    card = WelcomeCard(data, config)
    qtbot.addWidget(card)
    text = "\n".join(point.text() for point in card.points)
    assert "runs on this computer" in text
    assert str(data) in text
    assert str(config) in text
    assert all(point.textFormat() == Qt.TextFormat.PlainText for point in card.points)
    assert card.accessibleName() == "Welcome to Keiko"
    assert card.open_button.accessibleName()
    assert card.got_it_button.accessibleName()


@pytest.mark.usefixtures("other_window_active")
def test_alt_g_dismisses_the_welcome_even_when_another_window_is_active(
    window: MainWindow, qtbot: Any, tmp_path: Path
) -> None:
    card = window.chat_panel.show_welcome(tmp_path / "data", tmp_path / "config")
    qtbot.waitUntil(card.isVisible, timeout=2000)
    assert QApplication.activeWindow() is not window
    window.chat_panel.composer.focus_editor()

    QTest.keyClick(window.windowHandle(), Qt.Key.Key_X, ALT)  # no such mnemonic
    assert card.isVisible()
    typed = window.chat_panel.composer.editor.toPlainText()
    with qtbot.waitSignal(card.dismissed, timeout=2000):
        QTest.keyClick(window.windowHandle(), Qt.Key.Key_G, ALT)
    assert not card.isVisible()
    assert window.chat_panel.composer.editor.toPlainText() == typed  # no "g" typed
    assert window.focusWidget() is window.chat_panel.composer.editor  # the keys go back there
