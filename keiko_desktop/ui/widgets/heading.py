"""A bold, slightly larger, word-wrapping label for dialog titles."""

from __future__ import annotations

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QWidget


def heading_label(parent: QWidget, scale: float = 1.1) -> QLabel:
    label = QLabel(parent)
    font = QFont(label.font())
    font.setWeight(QFont.Weight.DemiBold)
    font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    label.setWordWrap(True)
    return label
