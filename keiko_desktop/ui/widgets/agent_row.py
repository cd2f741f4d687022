"""How an agent looks in the list: a row painted as its icon in a soft tile, its name, and a
status dot, the status word and the description; and the colours and words of the statuses."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QStyledItemDelegate, QStyleOptionViewItem

from keiko_desktop.core.agents.profiles import AgentProfile
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.theme import Theme
from keiko_desktop.ui.widgets.row_card import paint_row_card

PROFILE_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2
NAME_ROLE = Qt.ItemDataRole.UserRole
STATUS_WORDS: dict[str, str] = {
    "inactive": "Inactive",
    "ready": "Ready",
    "busy": "Busy",
    "error": "Error",
}
AnyIndex = QModelIndex | QPersistentModelIndex


def status_colour(status: str, theme: Theme) -> QColor:
    colours = {
        "inactive": theme.faint,
        "ready": theme.status_ok,
        "busy": theme.accent,
        "error": theme.status_error,
    }
    return QColor(colours.get(status, theme.faint))


def status_text(status: str, detail: str = "") -> str:
    """``Ready``, ``Error: its model is missing``."""
    word = STATUS_WORDS.get(status, one_line(status, 20))
    return f"{word}: {one_line(detail, 200)}" if detail else word


class AgentDelegate(QStyledItemDelegate):
    """Paints a row: the icon in a soft tile, the name, then a status dot, word and description."""

    def __init__(self, theme: Theme, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:  # noqa: N802
        line = QFontMetrics(option.font).lineSpacing()  # type: ignore[attr-defined]
        return QSize(220, max(2 * line + 18, 48))

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        profile = index.data(PROFILE_ROLE)
        if not isinstance(profile, AgentProfile):
            return
        t = self.theme
        rect: QRect = option.rect  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        card = rect.adjusted(4, 2, -4, -2)
        paint_row_card(painter, card, state, t, 8)
        tile = QRect(card.left() + 8, card.center().y() - 16, 32, 32)
        tint = QColor(t.accent)
        tint.setAlpha(40 if t.is_dark else 28)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(tint)
        painter.drawRoundedRect(tile, 8, 8)
        decoration = index.data(Qt.ItemDataRole.DecorationRole)
        if decoration is not None:
            decoration.paint(painter, tile.adjusted(7, 7, -7, -7))
        font = QFont(option.font)  # type: ignore[attr-defined]
        line = QFontMetrics(font).lineSpacing()
        inner = QRect(
            tile.right() + 10, card.top(), card.right() - tile.right() - 18, card.height()
        )
        top = inner.center().y() - line
        name_font = QFont(font)
        name_font.setWeight(QFont.Weight.DemiBold)
        painter.setFont(name_font)
        painter.setPen(QColor(t.text))
        name = QFontMetrics(name_font).elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole)), Qt.TextElideMode.ElideRight, inner.width()
        )
        painter.drawText(
            QRect(inner.left(), top, inner.width(), line), Qt.AlignmentFlag.AlignVCenter, name
        )
        second = QRect(inner.left(), top + line, inner.width(), line)
        status = str(index.data(STATUS_ROLE))
        dot = 7
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(status_colour(status, t))
        painter.drawEllipse(second.left(), second.center().y() - dot // 2 + 1, dot, dot)
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.9))
        painter.setFont(small)
        painter.setPen(QColor(t.muted))
        facts = STATUS_WORDS.get(status, status)
        if profile.description:
            facts += " · " + one_line(profile.description, 200)
        facts = QFontMetrics(small).elidedText(
            facts, Qt.TextElideMode.ElideRight, second.width() - dot - 6
        )
        painter.drawText(second.adjusted(dot + 6, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, facts)
        painter.restore()
