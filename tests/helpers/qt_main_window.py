"""Fixtures: the main window shown offscreen, and another window made Qt's active one (as when
X gives the main window keys that Qt did not count it active for). Import them into a test
module to use them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication, QWidget

from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.theme import ThemeManager


@pytest.fixture(name="window")
def main_window_fixture(qapp: QApplication, qtbot: Any) -> Iterator[MainWindow]:
    themes = ThemeManager(qapp, "light")
    win = MainWindow(themes)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    themes.deleteLater()


@pytest.fixture
def other_window_active(qapp: QApplication, qtbot: Any, window: MainWindow) -> QWidget:
    """Another window is Qt's active one, as when X gives our window keys Qt did not count."""
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    qtbot.waitExposed(other)
    other.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is other, timeout=2000)
    return other
