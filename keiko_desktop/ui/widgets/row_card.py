"""The rounded card a list row is painted on: filled when selected or hovered, outlined in
the accent colour when it has the keyboard focus."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QStyle

from keiko_desktop.ui.theme import Theme


def paint_row_card(
    painter: QPainter, card: QRect, state: QStyle.StateFlag, theme: Theme, radius: int
) -> None:
    if state & QStyle.StateFlag.State_Selected:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.selected))
        painter.drawRoundedRect(card, radius, radius)
    elif state & QStyle.StateFlag.State_MouseOver:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(theme.hover))
        painter.drawRoundedRect(card, radius, radius)
    if state & QStyle.StateFlag.State_HasFocus and state & QStyle.StateFlag.State_Selected:
        painter.setPen(QColor(theme.accent))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(card.adjusted(0, 0, -1, -1), radius, radius)
