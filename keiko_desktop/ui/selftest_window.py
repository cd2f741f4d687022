"""The window part of `keiko --selftest` (cli/selftest.py): the main window built and shown on
whatever platform Qt runs (the self-test asks for ``offscreen``), then closed."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.theme import ThemeManager
from keiko_desktop.ui.window_state import WindowState


def show_main_window(config_dir: Path) -> str:
    """What showed, for the self-test's line; RuntimeError when the window did not show."""
    qInstallMessageHandler(lambda *_: None)  # the platform's chatter is not the command's output
    try:
        app = QApplication.instance() or QApplication([])
        assert isinstance(app, QApplication)
        window = MainWindow(ThemeManager(app, "system"), WindowState(config_dir))
        window.show()
        app.processEvents()
        shown, size = window.isVisible(), window.size()
        window.close()
        window.deleteLater()
        app.processEvents()
    finally:
        qInstallMessageHandler(None)
    if not shown:
        raise RuntimeError("the main window did not show")
    return f"the main window shows on {app.platformName()} ({size.width()}x{size.height()})"
