"""TaskProgressDelegate: the Progress column of the tasks table, a thin bar and its percentage.

Painted (not a ``QProgressBar`` per row): the row's background as the style draws it
(selection, hover), a rounded track in the theme's border colour, the done part in the status
colour (accent while running, green when completed, red when failed, grey when cancelled), and
the ``45 %`` text at the right. A pending task that never started has no bar.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QObject, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from keiko_desktop.ui.theme import LIGHT, Theme
from keiko_desktop.ui.widgets.task_table import PROGRESS_ROLE, STATUS_ROLE
from keiko_desktop.ui.widgets.task_text import status_colour

BAR_HEIGHT = 6
MARGIN = 8
TEXT_GAP = 6
AnyIndex = QModelIndex | QPersistentModelIndex


class TaskProgressDelegate(QStyledItemDelegate):
    """Paints the progress cell (see the module docs)."""

    def __init__(self, theme: Theme = LIGHT, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:  # noqa: N802
        metrics = QFontMetrics(option.font)  # type: ignore[attr-defined]
        return QSize(120, metrics.height() + 8)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        # Not initStyleOption: it asks the model for a dozen roles this cell never uses; the
        # view's option already has the state (selected, hovered) the background needs.
        opt = QStyleOptionViewItem(option)
        widget = opt.widget  # type: ignore[attr-defined]
        style = widget.style() if widget is not None else QApplication.style()
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        text = index.data(Qt.ItemDataRole.DisplayRole)
        value = index.data(PROGRESS_ROLE)
        if value is None:
            return
        t = self.theme
        rect: QRect = opt.rect.adjusted(MARGIN, 0, -MARGIN, 0)  # type: ignore[attr-defined]
        metrics = QFontMetrics(opt.font)  # type: ignore[attr-defined]
        text_width = metrics.horizontalAdvance("100 %")
        bar_width = max(0, rect.width() - text_width - TEXT_GAP)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        if bar_width >= 12:
            top = rect.center().y() - BAR_HEIGHT / 2 + 1
            track = QRectF(rect.left(), top, bar_width, BAR_HEIGHT)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(t.border))
            painter.drawRoundedRect(track, BAR_HEIGHT / 2, BAR_HEIGHT / 2)
            done = max(0.0, min(100.0, float(value))) / 100.0
            if done > 0:
                fill = QRectF(track)
                fill.setWidth(max(BAR_HEIGHT, track.width() * done))
                painter.setBrush(QColor(status_colour(str(index.data(STATUS_ROLE)), t)))
                painter.drawRoundedRect(fill, BAR_HEIGHT / 2, BAR_HEIGHT / 2)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        painter.setPen(QColor(t.text if selected else t.muted))
        painter.setFont(opt.font)  # type: ignore[attr-defined]
        painter.drawText(
            rect, int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter), str(text)
        )
        painter.restore()
