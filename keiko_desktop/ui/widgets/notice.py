"""A hidden, word-wrapped line of plain text for a page's status or error (never markup)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def notice_label(parent: QWidget, *, error: bool = False) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    if error:
        label.setObjectName("ErrorText")
    label.setWordWrap(True)
    label.hide()
    return label
