"""The desktop app: ``run(argv)`` shows the window first, then builds the core on a qasync loop.

Start-up order (design §2b): QApplication, theme and the main window (only Qt and the UI
modules), show it, and only then import qasync and the composition root (SQLAlchemy, llama.cpp)
and open the database; the model loads in the background with its state in the status bar.

``KEIKO_BENCH_EXIT_ON_SHOW=1`` prints ``{"shown_at": <time.time()>}`` once the window is on
screen and exits: benchmarks/bench_window.py measures start-up with it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from keiko_desktop.core.config import Paths, Settings, load_settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.logs import setup_logging
from keiko_desktop.ui.icons import app_icon
from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.theme import ThemeManager
from keiko_desktop.ui.window_state import WindowState

log = logging.getLogger(__name__)

BENCH_ENV = "KEIKO_BENCH_EXIT_ON_SHOW"


def _load_settings(paths: Paths) -> tuple[Settings, KeikoError | None]:
    try:
        return load_settings(paths), None
    except KeikoError as exc:
        log.error("settings: %s", exc)
        return Settings(), exc


def _application(argv: list[str]) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv)
    app.setApplicationName("Keiko")
    app.setApplicationDisplayName("Keiko")
    app.setOrganizationName("Keiko")
    app.setDesktopFileName("keiko-desktop")
    app.setWindowIcon(app_icon())
    return app


def _exit_when_shown(app: QApplication, window: MainWindow) -> int:
    def report() -> None:
        print(json.dumps({"shown_at": time.time()}), flush=True)  # noqa: T201
        app.quit()

    window.first_exposed.connect(lambda: QTimer.singleShot(0, report))
    window.show()
    return app.exec()


def run(argv: list[str]) -> int:
    """Open the main window and run until it is closed. Returns the exit status."""
    app = _application(argv)
    paths = Paths.from_env()
    paths.ensure()
    setup_logging(paths)
    settings, settings_error = _load_settings(paths)
    themes = ThemeManager(app, settings.theme)
    state = WindowState(paths.config_dir)
    window = MainWindow(themes, state)
    if os.environ.get(BENCH_ENV):
        return _exit_when_shown(app, window)
    window.show()

    import asyncio

    from keiko_desktop.ui.controller import AppController
    from keiko_desktop.ui.error_reporter import ErrorReporter
    from keiko_desktop.ui.event_loop import create_event_loop

    loop = create_event_loop(app)
    asyncio.set_event_loop(loop)
    reporter = ErrorReporter(window, paths.log_dir)
    reporter.install(loop)
    app.setQuitOnLastWindowClosed(False)
    controller = AppController(window, themes, state)
    if settings_error is not None:
        window.chat_panel.show_error(settings_error.message, settings_error.hint)
    try:
        return int(loop.run_until_complete(controller.run_until_closed(paths, settings)))
    finally:
        reporter.uninstall()
        loop.close()
        asyncio.set_event_loop(None)
        sys.stdout.flush()
