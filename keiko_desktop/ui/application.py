"""The desktop app: ``run(argv)`` shows the window first, then builds the core on a qasync loop.

Start-up order (design §2b): QApplication, theme and the main window (only Qt and the UI
modules), show it, and only then import qasync and the composition root (SQLAlchemy, llama.cpp)
and open the database; the model loads in the background with its state in the status bar.

Single instance (``ui/single_instance.py``): before any window is built the app listens on
its home's socket; when another Keiko already does, ``request`` (or ``show``: raise its window)
goes to it and this process exits 0. ``keiko`` itself forwards without Qt first
(``cli/window.py``); this check covers two launches at once and Windows.

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
from keiko_desktop.core.instance_protocol import InstanceRequest, socket_path
from keiko_desktop.core.logs import enable_crash_traces, setup_logging
from keiko_desktop.ui import dialog_focus
from keiko_desktop.ui.icons import app_icon
from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.single_instance import InstanceServer, send_request
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


def _single_instance(paths: Paths, request: InstanceRequest) -> InstanceServer | None:
    """This process's server, or None when another Keiko answered and ``request`` went to it
    (the caller exits). A socket that can neither be listened on nor reached is logged and
    the server returned not listening: Keiko runs on without a single instance."""
    server = InstanceServer()
    try:
        path = socket_path(paths)
    except OSError as exc:
        log.warning("no single instance: %s", exc)
        return server
    if server.listen(path):
        return server
    if send_request(path, request):
        log.info("another Keiko runs; asked it to %s", request.action)
        return None
    log.warning("could not listen on %s nor reach the Keiko there; going on without it", path)
    return server


def _welcome_dismissed(state: WindowState) -> None:
    state.welcome_seen = True
    log.info("the welcome was dismissed")


def run(argv: list[str], request: InstanceRequest | None = None) -> int:
    """Open the main window and run until it is closed; with ``request``, act on it once the
    Core is there (``AppController.handle_request``). When another Keiko runs for this home,
    hand it ``request`` (or ``show``) and return 0 instead. Returns the exit status."""
    app = _application(argv)
    paths = Paths.from_env()
    paths.ensure()
    setup_logging(paths)
    enable_crash_traces(paths)
    server = _single_instance(paths, request or InstanceRequest("show"))
    if server is None:
        return 0
    try:
        return _run(app, paths, server, request)
    finally:
        server.close()


def _run(
    app: QApplication, paths: Paths, server: InstanceServer, request: InstanceRequest | None
) -> int:
    settings, settings_error = _load_settings(paths)
    themes = ThemeManager(app, settings.theme)
    state = WindowState(paths.config_dir)
    window = MainWindow(themes, state)
    dialog_focus.install(app)
    if os.environ.get(BENCH_ENV):
        return _exit_when_shown(app, window)
    if not state.welcome_seen:
        welcome = window.chat_panel.show_welcome(paths.data_dir, paths.config_dir)
        welcome.dismissed.connect(lambda: _welcome_dismissed(state))
        log.info("first start: the welcome is shown")
    window.show()

    import asyncio

    from keiko_desktop.ui.controller import AppController
    from keiko_desktop.ui.error_reporter import ErrorReporter
    from keiko_desktop.ui.event_loop import create_event_loop
    from keiko_desktop.ui.quit_signals import QuitSignals

    loop = create_event_loop(app)
    asyncio.set_event_loop(loop)
    reporter = ErrorReporter(window, paths.log_dir)
    reporter.install(loop)
    app.setQuitOnLastWindowClosed(False)
    controller = AppController(window, themes, state, instance=server)
    signals = QuitSignals(controller.lifetime.quit)
    signals.install()  # SIGTERM, SIGHUP: a clean quit, like the tray's Quit
    if request is not None:
        controller.handle_request(request)  # queued until the Core is attached
    if settings_error is not None:
        window.chat_panel.show_error(settings_error.message, settings_error.hint)
    try:
        return int(loop.run_until_complete(controller.run_until_closed(paths, settings)))
    finally:
        signals.uninstall()
        reporter.uninstall()
        loop.close()
        asyncio.set_event_loop(None)
        sys.stdout.flush()
