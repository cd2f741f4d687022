"""The Settings dialog's voice editors: the microphone (the system's, from ``ui.voice.devices``,
listed when the dialog opens), the push-to-talk key (pressed, not typed) and the line saying
whether this desktop lets Keiko hear that key outside its window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QComboBox, QKeySequenceEdit, QLabel, QWidget

from keiko_desktop.core.safe_text import one_line

SYSTEM_MICROPHONE = "System default"
HOTKEY_WORKS = "This desktop lets Keiko hear the key while another window has the focus."


def system_microphones() -> Sequence[tuple[str, str]]:
    """The microphones there are, (id, description), the default first (QtMultimedia)."""
    from keiko_desktop.ui.voice.devices import input_status

    return input_status().devices


def hotkey_support() -> tuple[bool, str]:
    """Whether push-to-talk can be heard outside the window here, and if not why."""
    from keiko_desktop.ui.voice.global_hotkey import GlobalHotkey

    return GlobalHotkey.support()


class MicrophoneChooser(QComboBox):
    """ "System default" and the microphones there are; its value is a device id ("" the
    default). A saved microphone that is not connected stays listed, marked so."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.set_microphones(())

    def set_microphones(self, devices: Sequence[tuple[str, str]]) -> None:
        """The microphones to offer, (id, description), after "System default"."""
        current = self.value() if self.count() else ""
        self.clear()
        self.addItem(SYSTEM_MICROPHONE, "")
        for device_id, description in devices:
            self.addItem(one_line(description, 80), device_id)
            self.setItemData(self.count() - 1, one_line(device_id), Qt.ItemDataRole.ToolTipRole)
        self.select(current)

    def value(self) -> str:
        return str(self.currentData() or "")

    def select(self, wanted: Any) -> None:
        wanted = str(wanted)
        index = self.findData(wanted)
        if index < 0:
            index = self.findText(one_line(wanted, 80))  # the setting may name a description
        if index < 0:
            self.addItem(f"{one_line(wanted, 80)} (not connected)", wanted)
            index = self.count() - 1
        self.setCurrentIndex(index)


class KeyEdit(QKeySequenceEdit):
    """One key combination, pressed to set it (Ctrl+Space); its value is Qt's portable text.
    While it has the focus the push-to-talk key stands aside (``ui.voice.ptt_keys``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMaximumSequenceLength(1)
        self.setClearButtonEnabled(True)

    def value(self) -> str:
        return self.keySequence().toString(QKeySequence.SequenceFormat.PortableText)

    def show_key(self, value: Any) -> None:
        sequence = QKeySequence.fromString(str(value), QKeySequence.SequenceFormat.PortableText)
        self.setKeySequence(sequence)


def hotkey_note(support: tuple[bool, str], parent: QWidget | None = None) -> QLabel:
    """The line under "Push-to-talk outside the window": whether it works here."""
    supported, why_not = support
    note = QLabel(HOTKEY_WORKS if supported else why_not, parent)
    note.setObjectName("PlaceholderText")
    note.setTextFormat(Qt.TextFormat.PlainText)
    note.setWordWrap(True)
    note.setAccessibleName("Push-to-talk outside the window here")
    return note
