"""Questions only Qt can answer, asked by `keiko doctor` without opening a window."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QSystemTrayIcon


def tray_available() -> bool:
    """True when a system tray host is running (never under offscreen or bare Xvfb)."""
    _app = QApplication.instance() or QApplication([])
    return bool(QSystemTrayIcon.isSystemTrayAvailable())
