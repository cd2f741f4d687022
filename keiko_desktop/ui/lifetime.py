"""AppLifetime: the one place that decides whether Keiko quits or keeps running in the tray.

- Closing the window (its close button, the window manager, Alt+F4) asks ``window_closing``:
  with a tray icon shown (and the desktop still having a tray) and ``close_to_tray`` on, the
  window only hides; the first time ever a balloon from the tray says so ("Keiko is still
  running in the tray…") and a toast repeats it when the window comes back (the window is
  hidden when the balloon shows). That it was said is remembered in ``WindowState``.
  Otherwise, without a tray or with the setting off, closing quits, exactly as before there
  was a tray.
- ``quit()`` (the tray's Quit, Ctrl+Q in the window) quits whatever the setting: the window is
  closed (so its geometry is saved) and ``quit_requested`` is emitted, once.
- ``show_window()`` brings the window back from hidden or minimized, raised and active.
- ``notify()``: while the window is hidden in the tray, notices (a task ended) are balloons.

The application never quits because its last window closed (``setQuitOnLastWindowClosed``
is off): a hidden window or the Quick ask popup closing must not end Keiko; only this does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QWidget

from keiko_desktop.ui.tray import TrayIcon
from keiko_desktop.ui.widgets.toast import Toast, ToastOverlay
from keiko_desktop.ui.window_state import WindowState

log = logging.getLogger(__name__)

HINT_TITLE = "Keiko is still running"
HINT_TEXT = (
    "Keiko is still running in the tray, so Quick ask and tasks keep working. "
    "Click its icon to open the window; choose Quit in its menu to end it."
)
TOAST_TEXT = (
    "Closing the window keeps Keiko in the tray. Quit from the tray menu or with Ctrl+Q "
    "(Settings > Desktop changes this)."
)


class AppLifetime(QObject):
    """Decides what closing the window means, and when Keiko quits (see the module docs).

    Signals:
        quit_requested(): Keiko should quit now (emitted once).
        window_hidden(): the window was closed into the tray.
    """

    quit_requested = Signal()
    window_hidden = Signal()

    def __init__(
        self,
        window: QWidget,
        tray: TrayIcon | None,
        close_to_tray: Callable[[], bool],
        state: WindowState | None = None,
        toasts: ToastOverlay | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._tray = tray
        self._close_to_tray = close_to_tray
        self._state = state
        self._toasts = toasts
        self._hinted = state.tray_hint_shown if state is not None else False
        self._toast_pending = False
        self._quitting = False
        self._quit_sent = False
        window.installEventFilter(self)

    @property
    def quitting(self) -> bool:
        return self._quitting

    @property
    def keeps_running(self) -> bool:
        """Whether closing the window now would hide it (a tray is there and wanted)."""
        return (
            not self._quitting
            and self._tray is not None
            and self._tray.visible
            and bool(self._close_to_tray())
        )

    # ------------------------------------------------------------------ closing
    def window_closing(self, event: QCloseEvent) -> None:
        """The window is being closed: hide it into the tray (ignoring the event), or quit."""
        if self.keeps_running:
            event.ignore()
            self._window.hide()
            self.window_hidden.emit()
            self._hint_once()
            return
        event.accept()
        self._quit()

    def quit(self) -> None:
        """Quit: close the window (its state is saved) and emit ``quit_requested``."""
        self._quitting = True
        self._window.close()  # a hidden window gets its close event too
        self._quit()

    def stop(self) -> None:
        """Keiko is shutting down: closing the window from now on is not hiding it."""
        self._quit()

    def _quit(self) -> None:
        self._quitting = True
        if not self._quit_sent:
            self._quit_sent = True
            log.info("quitting")
            self.quit_requested.emit()

    def _hint_once(self) -> None:
        if self._hinted:
            return
        self._hinted = True
        if self._state is not None:
            self._state.tray_hint_shown = True
        if self._tray is not None:
            self._tray.show_message(HINT_TITLE, HINT_TEXT)
        self._toast_pending = self._toasts is not None

    # ------------------------------------------------------------------ showing
    def show_window(self) -> None:
        """Show the window (from hidden or minimized), raise it and give it the keyboard."""
        window = self._window
        if self._quitting:
            return
        if window.isMinimized():
            window.setWindowState(
                (window.windowState() & ~Qt.WindowState.WindowMinimized)
                | Qt.WindowState.WindowActive
            )
        window.show()
        window.raise_()
        window.activateWindow()
        if self._toast_pending and self._toasts is not None:
            self._toast_pending = False
            self._toasts.notify(Toast(TOAST_TEXT))

    def notify(self, title: str, text: str) -> bool:
        """A notice while the window is hidden in the tray goes to a tray balloon (shown, the
        window's own toasts say it); whether a balloon was shown."""
        if self._window.isVisible() or self._tray is None:
            return False
        return self._tray.show_message(title, text)

    def hide_window(self) -> None:
        """Hide the window into the tray (nothing without a tray: it could not come back)."""
        if self._tray is not None and self._tray.visible:
            self._window.hide()
            self.window_hidden.emit()

    def toggle_window(self) -> None:
        """The tray icon was clicked: hide a window that is shown, else show it."""
        window = self._window
        if window.isVisible() and not window.isMinimized():
            self.hide_window()
        else:
            self.show_window()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self._window and self._tray is not None:
            if event.type() == QEvent.Type.Show:
                self._tray.set_window_visible(True)
            elif event.type() == QEvent.Type.Hide:
                self._tray.set_window_visible(False)
        return False
