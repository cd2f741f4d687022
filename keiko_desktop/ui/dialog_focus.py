"""ParentRefocus: when a dialog closes and no Keiko window is active, its parent is made active.

With no window manager, or one whose focus follows the pointer, X11 gives the keyboard focus to
the root window when a dialog's window goes away, and Qt then counts no window as active: keys
still reach the parent (Enter, Ctrl+Tab), but its shortcuts and mnemonics stay silent (Alt+M in
Settings after the endpoint dialog closed). Installed on the application on xcb only; a window
manager that gave the focus back already leaves nothing to do.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QDialog, QWidget


class ParentRefocus(QObject):
    """An application event filter: a closing dialog's parent window becomes active again."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Hide and isinstance(watched, QDialog):
            parent = watched.parentWidget()
            if watched.isWindow() and parent is not None:
                target = parent.window()
                QTimer.singleShot(0, lambda: _refocus(target))
        return False


def _refocus(window: QWidget) -> None:
    if not shiboken6.isValid(window) or not window.isVisible():
        return
    if QApplication.activeWindow() is None:
        window.activateWindow()


def install(app: QApplication) -> ParentRefocus | None:
    """The filter, installed on ``app`` when it runs on X11 (else None)."""
    if app.platformName() != "xcb":
        return None
    refocus = ParentRefocus(app)
    app.installEventFilter(refocus)
    return refocus
