"""WindowState: the window's size, position, splitter, last chat and whether the tray hint was
given, in an INI file under the Keiko config dir (so KEIKO_HOME moves it, and tests never touch
the user's)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QMainWindow, QSplitter

STATE_FILE = "window.ini"


class WindowState:
    """Reads and writes the window's geometry and the last open conversation."""

    def __init__(self, config_dir: Path) -> None:
        self.path = config_dir / STATE_FILE
        self._settings = QSettings(str(self.path), QSettings.Format.IniFormat)

    def restore(self, window: QMainWindow, splitter: QSplitter) -> bool:
        """Apply the saved geometry; False when there was none (first start)."""
        geometry = self._settings.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            window.restoreGeometry(geometry)
            splitter_state = self._settings.value("window/splitter")
            if isinstance(splitter_state, QByteArray):
                splitter.restoreState(splitter_state)
            return True
        return False

    def save(self, window: QMainWindow, splitter: QSplitter) -> None:
        self._settings.setValue("window/geometry", window.saveGeometry())
        self._settings.setValue("window/splitter", splitter.saveState())
        self._settings.sync()

    @property
    def last_conversation(self) -> int | None:
        value = self._settings.value("chat/last_conversation")
        try:
            return int(str(value)) if value not in (None, "") else None
        except ValueError:
            return None

    @last_conversation.setter
    def last_conversation(self, conversation_id: int | None) -> None:
        self._settings.setValue("chat/last_conversation", conversation_id or "")
        self._settings.sync()

    @property
    def tray_hint_shown(self) -> bool:
        """Whether Keiko has said once that closing the window keeps it in the tray."""
        return self._flag("desktop/tray_hint_shown")

    @tray_hint_shown.setter
    def tray_hint_shown(self, shown: bool) -> None:
        self._set_flag("desktop/tray_hint_shown", shown)

    @property
    def welcome_seen(self) -> bool:
        """Whether the person dismissed the first-run welcome (Got it)."""
        return self._flag("desktop/welcome_seen")

    @welcome_seen.setter
    def welcome_seen(self, seen: bool) -> None:
        self._set_flag("desktop/welcome_seen", seen)

    def _flag(self, key: str) -> bool:
        return str(self._settings.value(key, False)).lower() in ("true", "1")

    def _set_flag(self, key: str, value: bool) -> None:
        self._settings.setValue(key, bool(value))
        self._settings.sync()
