"""SearchDialog (Ctrl+K): type to search every chat; hits are highlighted; Enter opens one."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.ports import SearchHit
from keiko_desktop.ui.theme import Theme

DEBOUNCE_MS = 150
HIT_ROLE = Qt.ItemDataRole.UserRole


def snippet_html(snippet: str, theme: Theme) -> str:
    """A search snippet (hits marked with [ and ]) as HTML with the hits highlighted."""
    out = html.escape(snippet.replace("\n", " "))
    out = out.replace("[", f'<span style="background-color: {theme.mark_bg}; font-weight: 600;">')
    return out.replace("]", "</span>")


class SearchDialog(QDialog):
    """Full-text search of every message. Passive: a presenter runs the queries.

    Signals:
        query_changed(str): the user paused typing this query.
        hit_activated(int, int): open conversation (first) at message (second).
    """

    query_changed = Signal(str)
    hit_activated = Signal(int, int)

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Search chats")
        self.setMinimumSize(QSize(560, 420))
        self._theme = theme
        self.query = QLineEdit(self)
        self.query.setPlaceholderText("Search every chat…")
        self.query.setClearButtonEnabled(True)
        self.results = QListWidget(self)
        self.results.setObjectName("SearchResults")
        self.results.setUniformItemSizes(False)
        self.status = QLabel(self)
        self.status.setObjectName("PlaceholderText")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 14, 14, 12)
        layout.setSpacing(8)
        layout.addWidget(self.query)
        layout.addWidget(self.results, 1)
        layout.addWidget(self.status)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self._on_debounce_timeout)
        self.query.textChanged.connect(self._on_query_text_changed)
        self.query.returnPressed.connect(self._on_query_return_pressed)
        self.query.installEventFilter(self)
        self.results.itemActivated.connect(self._on_results_item_activated)
        self.set_status("Type to search the text of every message.")

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self._theme = theme

    def set_results(self, hits: Sequence[SearchHit]) -> None:
        self.results.clear()
        for hit in hits:
            item = QListWidgetItem()
            item.setData(HIT_ROLE, (hit.conversation_id, hit.message_id))
            label = QLabel(self._hit_html(hit))
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setWordWrap(True)
            label.setContentsMargins(8, 6, 8, 6)
            label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            width = max(200, self.results.viewport().width() - 8)
            item.setSizeHint(QSize(width, label.heightForWidth(width) + 4))
            self.results.addItem(item)
            self.results.setItemWidget(item, label)
        if hits:
            self.results.setCurrentRow(0)
            self.set_status(f"{len(hits)} result{'s' if len(hits) != 1 else ''} — Enter opens one")
        elif self.query.text().strip():
            self.set_status("Nothing found.")
        else:
            self.set_status("Type to search the text of every message.")

    def set_status(self, text: str) -> None:
        self.status.setText(text)

    def reset(self) -> None:
        self.query.clear()
        self.results.clear()
        self.query.setFocus()

    # ------------------------------------------------------------------ internals
    def _hit_html(self, hit: SearchHit) -> str:
        t = self._theme
        title = html.escape(hit.conversation_title or "New chat")
        who = "You" if hit.role == "user" else "Keiko"
        return (
            f'<div style="color: {t.muted}; font-size: small;">{title} · {who}</div>'
            f'<div style="color: {t.text};">{snippet_html(hit.snippet, t)}</div>'
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self.query and event.type() == QEvent.Type.KeyPress:
            assert isinstance(event, QKeyEvent)
            step = {Qt.Key.Key_Down: 1, Qt.Key.Key_Up: -1}.get(Qt.Key(event.key()))
            if step and self.results.count():
                row = max(0, min(self.results.count() - 1, self.results.currentRow() + step))
                self.results.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)

    def _on_query_text_changed(self, _text: str) -> None:
        self._debounce.start()

    def _on_debounce_timeout(self) -> None:
        self.query_changed.emit(self.query.text().strip())

    def _on_query_return_pressed(self) -> None:
        item = self.results.currentItem()
        if item is not None:
            self._on_results_item_activated(item)

    def _on_results_item_activated(self, item: QListWidgetItem) -> None:
        conversation_id, message_id = item.data(HIT_ROLE)
        self.accept()
        self.hit_activated.emit(int(conversation_id), int(message_id))
