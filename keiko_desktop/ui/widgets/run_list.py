"""RunList: past and current runs (newest first) with a search box.

Each row shows a run's title (its prompt or goal) and, under it, its status (a coloured dot),
kind, agent and when it started. Titles come from the user or a model: plain text, escaped.
Typing in the search box asks for a search after a pause (``SEARCH_DELAY_MS``); Down moves from
the box into the list.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSize,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QKeyEvent, QPainter
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QListView,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.agents.records import RunRecord
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.theme import LIGHT, Theme
from keiko_desktop.ui.widgets.row_card import paint_row_card

SEARCH_DELAY_MS = 250
RUN_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole
_STATUS_WORDS = {
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "cancelled": "Cancelled",
    "interrupted": "Interrupted",
    "resumed": "Resumed in a newer run",
}
_KIND_WORDS = {"agent": "agent run", "plan": "plan", "batch": "batch"}
AnyIndex = QModelIndex | QPersistentModelIndex


def when_text(moment: datetime, now: datetime | None = None) -> str:
    """``just now``, ``5 min ago``, ``14:03``, ``Yesterday 14:03``, ``12 Mar 14:03``."""
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    now = now or datetime.now()
    seconds = (now - moment).total_seconds()
    if 0 <= seconds < 60:
        return "just now"
    if 0 <= seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    days = (now.date() - moment.date()).days
    if days == 0:
        return moment.strftime("%H:%M")
    if days == 1:
        return moment.strftime("Yesterday %H:%M")
    if moment.year == now.year:
        return moment.strftime("%d %b %H:%M")
    return moment.strftime("%d %b %Y")


def status_colour(status: str, theme: Theme) -> QColor:
    colours = {
        "running": theme.accent,
        "completed": theme.status_ok,
        "failed": theme.status_error,
        "cancelled": theme.faint,
        "interrupted": theme.warn_text,
        "resumed": theme.faint,
    }
    return QColor(colours.get(status, theme.faint))


def run_facts(run: RunRecord, now: datetime | None = None) -> str:
    """The second line of a row: status, kind, agent, when."""
    parts = [_STATUS_WORDS.get(run.status, one_line(run.status, 20))]
    parts.append(_KIND_WORDS.get(run.kind, one_line(run.kind, 20)))
    if run.agent:
        parts.append(one_line(run.agent, 64))
    parts.append(when_text(run.created_at, now))
    return " · ".join(parts)


class RunListModel(QAbstractListModel):
    """The runs, in the order given."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runs: list[RunRecord] = []

    def set_runs(self, runs: Sequence[RunRecord]) -> None:
        self.beginResetModel()
        self._runs = list(runs)
        self.endResetModel()

    def run_at(self, row: int) -> RunRecord:
        return self._runs[row]

    def row_of(self, run_id: int) -> int | None:
        for row, run in enumerate(self._runs):
            if run.id == run_id:
                return row
        return None

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._runs)

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._runs):
            return None
        run = self._runs[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return one_line(run.title, 300) or "(untitled)"
        if role in (Qt.ItemDataRole.AccessibleTextRole, Qt.ItemDataRole.ToolTipRole):
            title = one_line(run.title, 300) or "(untitled)"
            text = f"{title} — {run_facts(run)}"
            if run.error and role == Qt.ItemDataRole.ToolTipRole:
                text += f"\n{one_line(run.error, 300)}"
            return text
        if role == ID_ROLE:
            return run.id
        if role == RUN_ROLE:
            return run
        return None


class RunDelegate(QStyledItemDelegate):
    """Paints a row in two lines: the title, then a status dot and the facts."""

    def __init__(self, theme: Theme, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.theme = theme

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:  # noqa: N802
        line = QFontMetrics(option.font).lineSpacing()  # type: ignore[attr-defined]
        return QSize(200, 2 * line + 16)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        run = index.data(RUN_ROLE)
        if not isinstance(run, RunRecord):
            return
        t = self.theme
        rect: QRect = option.rect  # type: ignore[attr-defined]
        state = option.state  # type: ignore[attr-defined]
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        card = rect.adjusted(4, 1, -4, -1)
        paint_row_card(painter, card, state, t, 6)
        font = QFont(option.font)  # type: ignore[attr-defined]
        metrics = QFontMetrics(font)
        line = metrics.lineSpacing()
        inner = card.adjusted(10, 7, -10, -7)
        title_font = QFont(font)
        title_font.setWeight(QFont.Weight.Medium)
        painter.setFont(title_font)
        painter.setPen(QColor(t.text))
        title = QFontMetrics(title_font).elidedText(
            str(index.data(Qt.ItemDataRole.DisplayRole)), Qt.TextElideMode.ElideRight, inner.width()
        )
        painter.drawText(
            QRect(inner.left(), inner.top(), inner.width(), line),
            Qt.AlignmentFlag.AlignVCenter,
            title,
        )
        second = QRect(inner.left(), inner.top() + line, inner.width(), line)
        dot = 7
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(status_colour(run.status, t))
        painter.drawEllipse(second.left(), second.center().y() - dot // 2 + 1, dot, dot)
        small = QFont(font)
        small.setPointSizeF(max(6.0, font.pointSizeF() * 0.9))
        painter.setFont(small)
        painter.setPen(QColor(t.muted))
        facts = QFontMetrics(small).elidedText(
            run_facts(run), Qt.TextElideMode.ElideRight, inner.width() - dot - 6
        )
        painter.drawText(second.adjusted(dot + 6, 0, 0, 0), Qt.AlignmentFlag.AlignVCenter, facts)
        painter.restore()


class RunList(QWidget):
    """Runs with a search box. Passive: ``set_runs`` shows what the presenter found.

    Signals:
        run_selected(int): the user selected this run (click or keys).
        search_changed(str): the search text, once typing paused for ``SEARCH_DELAY_MS``.
    """

    run_selected = Signal(int)
    search_changed = Signal(str)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunList")
        self._restoring = False
        self.search = QLineEdit(self)
        self.search.setAccessibleName("Search runs")
        self.search.setPlaceholderText("Search runs…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Search the titles, agents and results of runs")
        self.model = RunListModel(self)
        self.delegate = RunDelegate(theme, self)
        self.view = QListView(self)
        self.view.setObjectName("RunListView")
        self.view.setAccessibleName("Runs")
        self.view.setModel(self.model)
        self.view.setItemDelegate(self.delegate)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.view.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.view.setUniformItemSizes(True)
        self.view.setMouseTracking(True)
        self.view.setFrameShape(QListView.Shape.NoFrame)
        self.view.setStyleSheet("QListView#RunListView { background: transparent; border: none; }")
        self.empty_label = QLabel("No runs yet.", self)
        self.empty_label.setObjectName("PlaceholderText")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(SEARCH_DELAY_MS)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.empty_label, 1)

        self.search.textChanged.connect(self._on_search_text_changed)
        self.search.installEventFilter(self)
        self._debounce.timeout.connect(self._on_debounce_timeout)
        selection = self.view.selectionModel()
        selection.currentChanged.connect(self._on_selection_current_changed)
        self._update_empty()

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self.delegate.theme = theme
        self.view.viewport().update()

    def set_runs(self, runs: Sequence[RunRecord]) -> None:
        """Show ``runs``; the selected run stays selected if it is still there (no signal)."""
        keep = self.selected_run_id
        self._restoring = True
        try:
            self.model.set_runs(runs)
            if keep is not None:
                self._select(keep)
        finally:
            self._restoring = False
        self._update_empty()

    def select_run(self, run_id: int) -> bool:
        """Select a run without emitting ``run_selected``; False when it is not listed."""
        self._restoring = True
        try:
            return self._select(run_id)
        finally:
            self._restoring = False

    # ------------------------------------------------------------------ queries
    @property
    def selected_run_id(self) -> int | None:
        index = self.view.currentIndex()
        if not index.isValid() or not self.view.selectionModel().isSelected(index):
            return None
        return int(index.data(ID_ROLE))

    def run_ids(self) -> list[int]:
        return [self.model.run_at(row).id for row in range(self.model.rowCount())]

    # ------------------------------------------------------------------ events
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if (
            watched is self.search
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Down
            and self.model.rowCount()
        ):
            self.view.setFocus(Qt.FocusReason.TabFocusReason)
            if self.selected_run_id is None:
                self.view.setCurrentIndex(self.model.index(0))
            return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ slots
    def _on_search_text_changed(self, _text: str) -> None:
        self._debounce.start()

    def _on_debounce_timeout(self) -> None:
        self.search_changed.emit(self.search.text().strip())

    def _on_selection_current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if self._restoring or not current.isValid():
            return
        self.run_selected.emit(int(current.data(ID_ROLE)))

    # ------------------------------------------------------------------ internals
    def _select(self, run_id: int) -> bool:
        row = self.model.row_of(run_id)
        if row is None:
            return False
        index = self.model.index(row)
        self.view.selectionModel().setCurrentIndex(
            index, QItemSelectionModel.SelectionFlag.ClearAndSelect
        )
        self.view.scrollTo(index)
        return True

    def _update_empty(self) -> None:
        empty = self.model.rowCount() == 0
        query = self.search.text().strip()
        if query:
            self.empty_label.setText(f"No runs match “{one_line(query, 60)}”.")
        else:
            self.empty_label.setText("No runs yet.\nRuns of agents, plans and batches show here.")
        self.empty_label.setVisible(empty)
        self.view.setVisible(not empty)
