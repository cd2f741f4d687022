"""RunTimeline: a run's spans as a Gantt chart, one painted widget however many spans there are.

Each row is a span in tree order (``SpanRows``): its name, indented under its parent, on the
left, and a bar from its start to its end on a shared time axis. Bars are coloured by kind
(plan, step, model, tool, middleware); a failed span is red, a cancelled one grey, and one
still running is striped (the stripes move while ``live``). Only the rows in view are painted.

Keys: Up/Down, PageUp/PageDown, Home/End select a span (the view follows); Left/Right scroll in
time; + and - zoom, 0 fits the whole run. Ctrl+wheel zooms around the pointer; a click selects.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Iterable

from PySide6.QtCore import QEvent, QPoint, QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QHelpEvent,
    QHideEvent,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QResizeEvent,
    QShowEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip, QWidget

from keiko_desktop.core.agents.records import Span
from keiko_desktop.ui.theme import LIGHT, Theme
from keiko_desktop.ui.widgets.span_rows import SpanRows
from keiko_desktop.ui.widgets.timeline_paint import paint_timeline
from keiko_desktop.ui.widgets.timeline_style import (
    HEADER_HEIGHT,
    LABEL_WIDTH,
    PAD,
    ROW_HEIGHT,
    TimelineColors,
    describe,
    span_summary,
)

MIN_SCALE = 1e-3
MAX_SCALE = 2e6
"""Pixels per second: zoom stops at one pixel per half microsecond."""
ZOOM_STEP = 1.25
STRIPE_MS = 90


class RunTimeline(QAbstractScrollArea):
    """The spans of one run on a time axis. Passive: it shows what it is given.

    Signals:
        span_selected(object): the user selected this ``Span`` (click or keys).
        selected_span_updated(object): the selected span changed (``add_spans`` brought a new
            version of it: its duration, status, tokens).
        zoom_changed(float): the scale changed (pixels per second).
    """

    span_selected = Signal(object)
    selected_span_updated = Signal(object)
    zoom_changed = Signal(float)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("RunTimeline")
        self.setAccessibleName("Run timeline")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFrameShape(QAbstractScrollArea.Shape.NoFrame)
        self.viewport().setMouseTracking(False)
        self._rows = SpanRows()
        self._selected: str | None = None
        self._scale = 100.0
        self._fit = True
        self._live = False
        self._stripe = 0
        self._theme = theme
        self._colors = TimelineColors.for_theme(theme)
        self._stripes = QTimer(self)
        self._stripes.setInterval(STRIPE_MS)
        self._stripes.timeout.connect(self._on_stripes_timeout)
        self.horizontalScrollBar().setSingleStep(40)
        self.verticalScrollBar().setSingleStep(ROW_HEIGHT)
        self._refresh()

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._colors = TimelineColors.for_theme(theme)
        self.viewport().update()

    def set_spans(self, spans: Iterable[Span]) -> None:
        """Show these spans instead (another run). A selection whose key is still there stays."""
        self._rows.clear()
        self._rows.update(spans)
        if self._selected is not None and self._selected not in self._rows:
            self._selected = None
        self._fit = True
        self._refresh()

    def add_spans(self, spans: Iterable[Span]) -> None:
        """New spans are inserted in tree order; known ones (by key) are replaced."""
        change = self._rows.update(spans)
        if not change.moved and not change.changed:
            return
        self._refresh()
        if self._selected is not None and self._selected in change.changed:
            self.selected_span_updated.emit(self._rows.get(self._selected))

    def clear(self) -> None:
        self.set_spans(())

    def set_live(self, live: bool) -> None:
        """While live, spans still running reach to now and their stripes move."""
        self._live = live
        self._refresh()

    def select_key(self, key: str | None) -> None:
        """Select a span by key (no signal); None clears the selection."""
        if key is None or key in self._rows:
            self._selected = key
            if key is not None:
                self._ensure_visible(self._rows.row_of(key))
            self._update_description()
            self.viewport().update()

    def zoom_by(self, factor: float, anchor: int | None = None) -> None:
        """Scale time by ``factor``, keeping the moment under ``anchor`` (pixels from the
        timeline's left edge; default the middle) where it is."""
        width = self._timeline_width()
        anchor = width // 2 if anchor is None else anchor
        bar = self.horizontalScrollBar()
        moment = (bar.value() + anchor - PAD) / self._scale
        fit = self._fit_scale()
        scale = min(MAX_SCALE, max(fit, self._scale * factor))
        if math.isclose(scale, self._scale):
            return
        self._fit = scale <= fit * 1.0001
        self._scale = scale
        self._update_scrollbars()
        bar.setValue(round(moment * scale + PAD - anchor))
        self.viewport().update()
        self.zoom_changed.emit(scale)

    def zoom_fit(self) -> None:
        self._fit = True
        self._refresh()
        self.zoom_changed.emit(self._scale)

    # ------------------------------------------------------------------ queries
    @property
    def scale(self) -> float:
        """Pixels per second."""
        return self._scale

    @property
    def run_start(self) -> float | None:
        """The earliest span's start (None without spans): what offsets count from."""
        return self._rows.start if len(self._rows) else None

    @property
    def selected_span(self) -> Span | None:
        return None if self._selected is None else self._rows.get(self._selected)

    def row_count(self) -> int:
        return len(self._rows)

    def spans(self) -> list[Span]:
        """Every span, in row (tree) order."""
        return [self._rows.span_at(i) for i in range(len(self._rows))]

    def depth_of(self, key: str) -> int:
        return self._rows.depth_at(self._rows.row_of(key))

    def row_rect(self, key: str) -> QRect:
        """Where the row of ``key`` is, in viewport coordinates."""
        y = HEADER_HEIGHT + self._rows.row_of(key) * ROW_HEIGHT - self.verticalScrollBar().value()
        return QRect(0, y, self.viewport().width(), ROW_HEIGHT)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(720, HEADER_HEIGHT + 12 * ROW_HEIGHT)

    # ------------------------------------------------------------------ events
    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        key = event.key()
        page = max(1, (self.viewport().height() - HEADER_HEIGHT) // ROW_HEIGHT - 1)
        moves = {
            Qt.Key.Key_Up: -1,
            Qt.Key.Key_Down: 1,
            Qt.Key.Key_PageUp: -page,
            Qt.Key.Key_PageDown: page,
        }
        if key in moves and len(self._rows):
            current = -1 if self._selected is None else self._rows.row_of(self._selected)
            target = 0 if current < 0 else current + moves[Qt.Key(key)]
            self._select_row(max(0, min(len(self._rows) - 1, target)))
        elif key in (Qt.Key.Key_Home, Qt.Key.Key_End) and len(self._rows):
            self._select_row(0 if key == Qt.Key.Key_Home else len(self._rows) - 1)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.zoom_by(ZOOM_STEP)
        elif key in (Qt.Key.Key_Minus, Qt.Key.Key_Underscore):
            self.zoom_by(1 / ZOOM_STEP)
        elif key == Qt.Key.Key_0:
            self.zoom_fit()
        elif key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            bar = self.horizontalScrollBar()
            step = max(20, self._timeline_width() // 8)
            bar.setValue(bar.value() + (step if key == Qt.Key.Key_Right else -step))
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        row = self._row_at(event.position().toPoint())
        if row is not None and event.button() == Qt.MouseButton.LeftButton:
            self._select_row(row)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        event.accept()  # the press selected; nothing is dragged

    def wheelEvent(self, event: QWheelEvent) -> None:  # noqa: N802
        if event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            steps = event.angleDelta().y() / 120
            if steps:
                anchor = int(event.position().x()) - LABEL_WIDTH
                self.zoom_by(ZOOM_STEP**steps, max(0, anchor))
            event.accept()
            return
        super().wheelEvent(event)

    def viewportEvent(self, event: QEvent) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
            row = self._row_at(event.pos())
            if row is None:
                QToolTip.hideText()
            else:
                text = span_summary(self._rows.span_at(row), self._rows.start)
                QToolTip.showText(event.globalPos(), f"<qt>{html.escape(text)}</qt>", self)
            return True
        return super().viewportEvent(event)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self._refresh()  # the stripes move only while it is shown

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        super().hideEvent(event)
        self._stripes.stop()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._refresh()

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self.viewport())
        try:
            paint_timeline(self, painter, event.rect())
        finally:
            painter.end()

    # ------------------------------------------------------------------ for the painter
    @property
    def rows(self) -> SpanRows:
        return self._rows

    @property
    def colors(self) -> TimelineColors:
        return self._colors

    @property
    def stripe_offset(self) -> int:
        return self._stripe

    @property
    def selected_key(self) -> str | None:
        return self._selected

    def time_end(self) -> float:
        """Where running spans end: now while live, else the latest time known."""
        end = self._rows.end
        return max(end, time.time()) if self._live and self._running() else end

    def x_of(self, moment: float) -> float:
        """The viewport x of a moment (seconds since the epoch)."""
        offset = (moment - self._rows.start) * self._scale
        return LABEL_WIDTH + PAD + offset - self.horizontalScrollBar().value()

    # ------------------------------------------------------------------ internals
    def _running(self) -> bool:
        return self._rows.statuses["running"] > 0

    def _timeline_width(self) -> int:
        return max(40, self.viewport().width() - LABEL_WIDTH)

    def _fit_scale(self) -> float:
        total = self.time_end() - self._rows.start
        usable = max(20, self._timeline_width() - 2 * PAD)
        return max(MIN_SCALE, min(MAX_SCALE, usable / max(total, 1e-3)))

    def _refresh(self) -> None:
        """Geometry after the spans, the size or the live state changed."""
        if self._fit:
            self._scale = self._fit_scale()
        self._update_scrollbars()
        animate = self._live and self._running() and self.isVisible()
        if animate and not self._stripes.isActive():
            self._stripes.start()
        elif not animate:
            self._stripes.stop()
        self._update_description()
        self.viewport().update()

    def _update_scrollbars(self) -> None:
        rows_height = len(self._rows) * ROW_HEIGHT
        view_height = max(0, self.viewport().height() - HEADER_HEIGHT)
        vbar = self.verticalScrollBar()
        vbar.setPageStep(max(ROW_HEIGHT, view_height))
        vbar.setRange(0, max(0, rows_height - view_height))
        content = (self.time_end() - self._rows.start) * self._scale + 2 * PAD
        hbar = self.horizontalScrollBar()
        width = self._timeline_width()
        hbar.setPageStep(width)
        hbar.setRange(0, max(0, math.ceil(content - width)))

    def _row_at(self, point: QPoint) -> int | None:
        if point.y() < HEADER_HEIGHT:
            return None
        row = (point.y() - HEADER_HEIGHT + self.verticalScrollBar().value()) // ROW_HEIGHT
        return row if 0 <= row < len(self._rows) else None

    def _select_row(self, row: int) -> None:
        span = self._rows.span_at(row)
        self._ensure_visible(row)
        if span.key == self._selected:
            return
        self._selected = span.key
        self._update_description()
        self.viewport().update()
        self.span_selected.emit(span)

    def _ensure_visible(self, row: int) -> None:
        vbar = self.verticalScrollBar()
        top = row * ROW_HEIGHT
        view_height = self.viewport().height() - HEADER_HEIGHT
        if top < vbar.value():
            vbar.setValue(top)
        elif top + ROW_HEIGHT > vbar.value() + view_height:
            vbar.setValue(top + ROW_HEIGHT - view_height)
        span = self._rows.span_at(row)
        hbar = self.horizontalScrollBar()
        x = (span.start - self._rows.start) * self._scale + PAD
        if not hbar.value() <= x <= hbar.value() + self._timeline_width() - PAD:
            hbar.setValue(round(x - PAD))

    def _update_description(self) -> None:
        selected = self.selected_span
        text = describe(self._rows.kinds, self._rows.statuses, len(self._rows))
        if selected is not None:
            text += " Selected: " + span_summary(selected, self._rows.start)
        self.setAccessibleDescription(text)

    def _on_stripes_timeout(self) -> None:
        if not (self._live and self._running() and self.isVisible()):
            self._stripes.stop()
            return
        self._stripe = (self._stripe + 2) % 16
        if self._fit:
            self._scale = self._fit_scale()
        self._update_scrollbars()
        self.viewport().update()
