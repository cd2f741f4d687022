"""MessageView: the scrolling list of messages in one conversation.

A column of ``MessageWidget``s in a scroll area. Only the messages loaded so far are built;
scrolling near the top asks for earlier ones (``earlier_requested``). The view keeps an anchor
while its content changes: the bottom (it follows a streaming reply), a message (after a search
jump), a distance from the bottom (while earlier messages are prepended), or nothing once the user
has scrolled away.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from keiko_desktop.core.ports import StoredMessage
from keiko_desktop.ui.widgets.message_widget import MessageWidget, RenderContext

COLUMN_MAX_WIDTH = 800
EARLIER_THRESHOLD_PX = 400


def display_order(messages: Sequence[StoredMessage]) -> list[StoredMessage]:
    """Messages in the order shown: the tool calls of a reply come before the reply itself.

    A reply is stored (as a placeholder) before the model makes its calls, so by id its ``tool``
    messages come after it; they share its ``parent_id`` (the user's message).
    """
    out: list[StoredMessage] = []
    for message in messages:
        index = len(out)
        if message.role == "tool" and message.parent_id is not None:
            for i in range(len(out) - 1, -1, -1):
                other = out[i]
                if other.role == "assistant" and other.parent_id == message.parent_id:
                    index = i
                    break
                if other.role == "user":
                    break
        out.insert(index, message)
    return out


class MessageView(QScrollArea):
    """The messages of one conversation.

    Signals:
        earlier_requested(): the user scrolled near the top and earlier messages exist.
        edit_requested(int): a user message should be edited and resent.
        regenerate_requested(int): the last reply should be written again.
        delete_requested(int): a message should be deleted.
        source_clicked(int): a reply's source (a chunk id) should be shown.
    """

    earlier_requested = Signal()
    edit_requested = Signal(int)
    regenerate_requested = Signal(int)
    delete_requested = Signal(int)
    source_clicked = Signal(int)

    def __init__(self, ctx: RenderContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MessageView")
        self._ctx = ctx
        self._widgets: dict[int, MessageWidget] = {}
        self._has_more = False
        self._earlier_pending = False
        self._anchor: tuple[str, int] = ("bottom", 0)
        self._programmatic = False
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

        content = QWidget()
        content.setObjectName("MessageColumn")
        row = QHBoxLayout(content)
        row.setContentsMargins(24, 16, 24, 24)
        row.addStretch(1)
        self.column = QWidget(content)
        self.column.setObjectName("MessageColumn")
        self.column.setMaximumWidth(COLUMN_MAX_WIDTH)
        row.addWidget(self.column, 100)
        row.addStretch(1)
        self._layout = QVBoxLayout(self.column)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.setSpacing(8)
        self.loading_label = QLabel("Loading earlier messages…", self.column)
        self.loading_label.setObjectName("MessageMeta")
        self.loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.loading_label.hide()
        self._layout.addWidget(self.loading_label)
        self._layout.addStretch(1)
        self.setWidget(content)
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._on_flash_timer_timeout)
        self._flashed: MessageWidget | None = None
        self._earlier_timer = QTimer(self)
        self._earlier_timer.setSingleShot(True)
        self._earlier_timer.setInterval(60)
        self._earlier_timer.timeout.connect(self._maybe_request_earlier)

        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._on_vbar_range_changed)
        bar.valueChanged.connect(self._on_vbar_value_changed)

    # ------------------------------------------------------------------ queries
    def message_ids(self) -> list[int]:
        return list(self._widgets)

    def widget_for(self, message_id: int) -> MessageWidget | None:
        return self._widgets.get(message_id)

    def last_widget(self) -> MessageWidget | None:
        return next(reversed(self._widgets.values()), None)

    @property
    def render_context(self) -> RenderContext:
        return self._ctx

    @property
    def has_more(self) -> bool:
        return self._has_more

    @property
    def following(self) -> bool:
        """True while the view sticks to the bottom (auto-scroll)."""
        return self._anchor[0] == "bottom"

    # ------------------------------------------------------------------ setters
    def set_messages(self, messages: Sequence[StoredMessage], has_more: bool) -> None:
        """Show ``messages`` (oldest first) in place of whatever was shown; scroll to the end."""
        self.column.setUpdatesEnabled(False)
        try:
            self.clear()
            for message in display_order(messages):
                self._widgets[message.id] = self._insert(len(self._widgets), message)
        finally:
            self.column.setUpdatesEnabled(True)
        self._set_has_more(has_more)
        self._refresh_last()
        self._anchor = ("bottom", 0)
        self._apply_anchor()

    def prepend_messages(self, messages: Sequence[StoredMessage], has_more: bool) -> None:
        """Add earlier messages above the shown ones without moving what the user sees."""
        bar = self.verticalScrollBar()
        if self._anchor[0] != "message":
            self._anchor = ("from_bottom", bar.maximum() - bar.value())
        self.column.setUpdatesEnabled(False)
        try:
            new = [m for m in display_order(messages) if m.id not in self._widgets]
            earlier = {m.id: self._insert(i, m) for i, m in enumerate(new)}
            self._widgets = {**earlier, **self._widgets}
        finally:
            self.column.setUpdatesEnabled(True)
        self._earlier_pending = False
        self._set_has_more(has_more)
        self._refresh_last()

    def append_message(self, message: StoredMessage) -> MessageWidget:
        widget = self._widgets.get(message.id)
        if widget is not None:
            widget.update_message(message)
            return widget
        widget = self._insert(len(self._widgets), message)
        self._widgets[message.id] = widget
        self._refresh_last()
        return widget

    def insert_before(self, message: StoredMessage, before_id: int) -> MessageWidget:
        """Show ``message`` just above message ``before_id`` (a tool call above its reply);
        at the end when that message is not shown."""
        if message.id in self._widgets or before_id not in self._widgets:
            return self.append_message(message)
        order = list(self._widgets)
        index = order.index(before_id)
        widget = self._insert(index, message)
        order.insert(index, message.id)
        widgets = {**self._widgets, message.id: widget}
        self._widgets = {mid: widgets[mid] for mid in order}
        self._refresh_last()
        return widget

    def update_message(self, message: StoredMessage) -> None:
        widget = self._widgets.get(message.id)
        if widget is not None:
            widget.update_message(message)

    def set_message_text(self, message_id: int, text: str) -> None:
        """Replace one message's text (a streaming reply); only that message re-renders."""
        widget = self._widgets.get(message_id)
        if widget is not None:
            widget.set_text(text)

    def remove_message(self, message_id: int) -> None:
        widget = self._widgets.pop(message_id, None)
        if widget is not None:
            if widget is self._flashed:
                self._flashed = None
            self._layout.removeWidget(widget)
            widget.deleteLater()
            self._refresh_last()

    def remove_after(self, message_id: int) -> None:
        """Remove every message newer than ``message_id``."""
        for mid in [m for m in self._widgets if m > message_id]:
            self.remove_message(mid)

    def clear(self) -> None:
        for widget in self._widgets.values():
            self._layout.removeWidget(widget)
            widget.deleteLater()
        self._widgets.clear()
        self._flashed = None
        self._earlier_pending = False
        self._set_has_more(False)

    def set_render_context(self, ctx: RenderContext) -> None:
        self._ctx = ctx
        for widget in self._widgets.values():
            widget.set_context(ctx)

    def scroll_to_bottom(self) -> None:
        self._anchor = ("bottom", 0)
        self._apply_anchor()

    def scroll_to_message(self, message_id: int, flash: bool = True) -> None:
        """Bring a message into view (and keep it there while the layout settles)."""
        widget = self._widgets.get(message_id)
        if widget is None:
            return
        self._anchor = ("message", message_id)
        self._apply_anchor()
        if flash:
            self._on_flash_timer_timeout()
            self._flashed = widget
            widget.setProperty("flash", True)
            widget.setStyleSheet(
                f"#Message {{ background: {self._ctx.theme.selected}; border-radius: 10px; }}"
            )
            self._flash_timer.start(1600)

    # ------------------------------------------------------------------ internals
    def _insert(self, index: int, message: StoredMessage) -> MessageWidget:
        """Build a widget for ``message`` at position ``index`` (the caller keeps the order)."""
        widget = MessageWidget(message, self._ctx, self.column)
        widget.edit_requested.connect(self.edit_requested)
        widget.regenerate_requested.connect(self.regenerate_requested)
        widget.delete_requested.connect(self.delete_requested)
        widget.source_clicked.connect(self.source_clicked)
        self._layout.insertWidget(1 + index, widget)  # after the "loading earlier" label
        return widget

    def _refresh_last(self) -> None:
        last = self.last_widget()
        for widget in self._widgets.values():
            widget.set_is_last(widget is last)

    def _set_has_more(self, has_more: bool) -> None:
        self._has_more = has_more
        self.loading_label.setVisible(has_more)

    def _apply_anchor(self) -> None:
        bar = self.verticalScrollBar()
        kind, value = self._anchor
        target: int | None = None
        if kind == "bottom":
            target = bar.maximum()
        elif kind == "from_bottom":
            target = bar.maximum() - value
        elif kind == "message":
            widget = self._widgets.get(value)
            content = self.widget()
            if widget is not None and content is not None:
                target = widget.mapTo(content, QPoint(0, 0)).y() - 16
        if target is not None and target != bar.value():
            self._programmatic = True
            try:
                bar.setValue(target)
            finally:
                self._programmatic = False

    def _maybe_request_earlier(self) -> None:
        bar = self.verticalScrollBar()
        if self._has_more and not self._earlier_pending and bar.value() < EARLIER_THRESHOLD_PX:
            self._earlier_pending = True
            self.earlier_requested.emit()

    def _on_vbar_range_changed(self, _minimum: int, _maximum: int) -> None:
        self._apply_anchor()
        if self._has_more:
            self._earlier_timer.start()  # once the layout has settled

    def _on_vbar_value_changed(self, value: int) -> None:
        if self._programmatic:
            return
        bar = self.verticalScrollBar()
        self._anchor = ("bottom", 0) if value >= bar.maximum() - 4 else ("free", 0)
        self._maybe_request_earlier()

    def _on_flash_timer_timeout(self) -> None:
        if self._flashed is not None:
            self._flashed.setStyleSheet("")
            self._flashed = None
