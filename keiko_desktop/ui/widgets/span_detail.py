"""SpanDetail: the selected span of a run, read-only: what it was, how it went, and its detail.

Names and details come from models and tools, so they are shown as plain text only, escaped
with ``core.safe_text`` (control and invisible characters become visible escapes).
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QLabel,
    QPlainTextEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.agents.records import Span
from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.ui.widgets.heading import heading_label
from keiko_desktop.ui.widgets.timeline_style import KIND_WORDS, format_seconds

MAX_DETAIL_CHARS = 20_000
_STATUS_WORDS = {
    "running": "Running",
    "ok": "Finished",
    "error": "Failed",
    "cancelled": "Cancelled",
}


def _plain_label(parent: QWidget) -> QLabel:
    label = QLabel(parent)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setWordWrap(True)
    return label


class SpanDetail(QFrame):
    """Shows one span (or a hint to select one). Passive: ``set_span`` is all it does.

    Signals:
        (none)
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SpanDetail")
        self.setAccessibleName("Span details")
        self._span: Span | None = None
        self._run_start: float | None = None

        self.placeholder = QLabel("Select a span in the timeline to see its details.", self)
        self.placeholder.setObjectName("PlaceholderText")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)

        page = QWidget(self)
        self.title = heading_label(page, 1.05)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.kind = _plain_label(page)
        self.status = _plain_label(page)
        self.started = _plain_label(page)
        self.duration = _plain_label(page)
        self.tokens = _plain_label(page)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(4)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft)
        for text, value in (
            ("Kind", self.kind),
            ("Status", self.status),
            ("Started", self.started),
            ("Took", self.duration),
            ("Tokens", self.tokens),
        ):
            label = QLabel(text, page)
            label.setObjectName("PlaceholderText")
            label.setBuddy(value)
            value.setAccessibleName(text)
            form.addRow(label, value)
        self.detail_label = QLabel("Detail", page)
        self.detail_label.setObjectName("PlaceholderText")
        self.detail = QPlainTextEdit(page)
        self.detail.setReadOnly(True)
        self.detail.setAccessibleName("Span detail")
        self.detail.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.detail.setTabChangesFocus(True)
        page_layout = QVBoxLayout(page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        page_layout.setSpacing(8)
        page_layout.addWidget(self.title)
        page_layout.addLayout(form)
        page_layout.addWidget(self.detail_label)
        page_layout.addWidget(self.detail, 1)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(page)
        self._page = page
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 10, 12, 10)
        layout.addWidget(self.stack)
        self.set_span(None)

    # ------------------------------------------------------------------ setters
    def set_span(self, span: Span | None, run_start: float | None = None) -> None:
        """Show ``span`` (None: the hint). ``run_start`` (seconds since the epoch) adds the
        span's offset into its run to its start time."""
        self._span = span
        self._run_start = run_start
        if span is None:
            self.stack.setCurrentWidget(self.placeholder)
            self.setAccessibleDescription("No span selected.")
            return
        self.stack.setCurrentWidget(self._page)
        self.title.setText(one_line(span.name, 300) or "(unnamed)")
        self.kind.setText(KIND_WORDS.get(span.kind, (span.kind, ""))[0].capitalize())
        self.status.setText(_STATUS_WORDS.get(span.status, one_line(span.status, 40)))
        when = datetime.fromtimestamp(span.start).strftime("%H:%M:%S.%f")[:-3]
        if run_start is not None:
            when += f"  (+{format_seconds(max(0.0, span.start - run_start))})"
        self.started.setText(when)
        self.duration.setText(
            "still running" if span.duration is None else format_seconds(span.duration)
        )
        if span.prompt_tokens or span.completion_tokens:
            self.tokens.setText(
                f"{span.prompt_tokens:,} in · {span.completion_tokens:,} out"
                f" · {span.prompt_tokens + span.completion_tokens:,} total"
            )
        else:
            self.tokens.setText("—")
        detail = span.detail[:MAX_DETAIL_CHARS]
        if len(span.detail) > MAX_DETAIL_CHARS:
            detail += f"\n[{len(span.detail) - MAX_DETAIL_CHARS:,} more characters not shown]"
        self.detail.setPlainText(printable(detail))
        has_detail = bool(span.detail)
        self.detail_label.setVisible(has_detail)
        self.detail.setVisible(has_detail)
        self.setAccessibleDescription(
            f"{self.title.text()}: {self.kind.text()}, {self.status.text()}, "
            f"took {self.duration.text()}."
        )

    # ------------------------------------------------------------------ queries
    @property
    def span(self) -> Span | None:
        return self._span
