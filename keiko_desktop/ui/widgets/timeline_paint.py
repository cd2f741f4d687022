"""Painting the run timeline: the rows in view, their bars, the grid and the time axis."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import QPoint, QRect, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QPainter, QPen

from keiko_desktop.core.agents.records import Span
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.widgets.timeline_style import (
    HEADER_HEIGHT,
    INDENT,
    LABEL_WIDTH,
    ROW_HEIGHT,
    TimelineColors,
    format_seconds,
    tick_step,
)

if TYPE_CHECKING:
    from keiko_desktop.ui.widgets.run_timeline import RunTimeline

BAR_MARGIN = 7
SWATCH = 8


def paint_timeline(view: RunTimeline, p: QPainter, clip: QRect) -> None:
    colors = view.colors
    viewport = view.viewport()
    width, height = viewport.width(), viewport.height()
    p.fillRect(clip, colors.background)
    # Lines are axis-aligned: no antialiasing (it costs ~0.2 ms a line); the bars get it.
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    rows = view.rows
    top = view.verticalScrollBar().value()
    step = tick_step(view.scale)
    ticks = _ticks(view, step, width)

    p.setPen(QPen(colors.grid, 1))
    for x, _ in ticks:
        p.drawLine(x, HEADER_HEIGHT, x, height)

    if not len(rows):
        p.setPen(colors.muted)
        p.drawText(
            QRect(0, HEADER_HEIGHT, width, height - HEADER_HEIGHT),
            Qt.AlignmentFlag.AlignCenter,
            "No spans yet.",
        )
    first = max(0, top // ROW_HEIGHT)
    last = min(len(rows), (top + height - HEADER_HEIGHT) // ROW_HEIGHT + 1)
    metrics = QFontMetrics(p.font())
    small = QFont(p.font())
    small.setPointSizeF(max(6.0, small.pointSizeF() * 0.88))
    small_metrics = QFontMetrics(small)
    time_end = view.time_end()
    for row in range(first, last):
        y = HEADER_HEIGHT + row * ROW_HEIGHT - top
        span = rows.span_at(row)
        if span.key == view.selected_key:
            p.fillRect(0, y, width, ROW_HEIGHT, colors.selected)
            if view.hasFocus():
                p.fillRect(0, y, 3, ROW_HEIGHT, colors.focus)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        _paint_label(p, colors, span, rows.depth_at(row), y, metrics, small, small_metrics)
        p.save()
        p.setClipRect(QRect(LABEL_WIDTH, HEADER_HEIGHT, width - LABEL_WIDTH, height))
        _paint_bar(p, view, span, y, time_end, small, small_metrics)
        p.restore()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    _paint_header(p, colors, ticks, step, width, small)
    p.setPen(QPen(colors.border, 1))
    p.drawLine(LABEL_WIDTH, 0, LABEL_WIDTH, height)


def _ticks(view: RunTimeline, step: float, width: int) -> list[tuple[int, float]]:
    start = view.rows.start
    left = (LABEL_WIDTH - view.x_of(start)) / view.scale  # seconds at the timeline's left edge
    k = max(0, math.ceil(left / step))
    ticks: list[tuple[int, float]] = []
    while len(ticks) < 200:
        seconds = k * step
        x = round(view.x_of(start + seconds))
        if x > width:
            break
        if x >= LABEL_WIDTH:
            ticks.append((x, seconds))
        k += 1
    return ticks


def _paint_label(
    p: QPainter,
    colors: TimelineColors,
    span: Span,
    depth: int,
    y: int,
    metrics: QFontMetrics,
    small: QFont,
    small_metrics: QFontMetrics,
) -> None:
    x = 12 + min(depth, 12) * INDENT
    kind_colour = colors.kinds.get(span.kind, colors.muted)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(kind_colour)
    p.drawRoundedRect(QRectF(x, y + (ROW_HEIGHT - SWATCH) / 2, SWATCH, SWATCH), 2, 2)
    x += SWATCH + 7
    if span.duration is not None:
        took = format_seconds(span.duration)
    else:
        took = "running" if span.status == "running" else ""
    took_width = small_metrics.horizontalAdvance(took) if took else 0
    name_width = LABEL_WIDTH - x - took_width - 18
    name = metrics.elidedText(
        one_line(span.name, 200) or "(unnamed)", Qt.TextElideMode.ElideRight, max(0, name_width)
    )
    if span.status == "error":
        p.setPen(colors.error)
    elif span.status == "cancelled":
        p.setPen(colors.muted)
    else:
        p.setPen(colors.text)
    p.drawText(
        QRect(x, y, max(0, name_width), ROW_HEIGHT),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        name,
    )
    if took:
        p.save()
        p.setFont(small)
        p.setPen(colors.muted)
        p.drawText(
            QRect(LABEL_WIDTH - took_width - 10, y, took_width, ROW_HEIGHT),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
            took,
        )
        p.restore()


def _paint_bar(
    p: QPainter,
    view: RunTimeline,
    span: Span,
    y: int,
    time_end: float,
    small: QFont,
    small_metrics: QFontMetrics,
) -> None:
    colors = view.colors
    end = span.end if span.end is not None else max(time_end, span.start)
    x0 = view.x_of(span.start)
    x1 = max(x0 + 3, view.x_of(end))
    viewport_width = view.viewport().width()
    if x1 < LABEL_WIDTH or x0 > viewport_width:
        return
    bar = QRectF(x0, y + BAR_MARGIN, x1 - x0, ROW_HEIGHT - 2 * BAR_MARGIN)
    colour = colors.bar(span)
    p.setPen(Qt.PenStyle.NoPen)
    if span.status == "running":
        faded = QColor(colour)
        faded.setAlphaF(0.28)
        p.setBrush(faded)
        p.drawRoundedRect(bar, 3, 3)
        # Stripes without antialiasing, inside the rounded ends: a pattern fill is cheap then.
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setBrushOrigin(QPoint(view.stripe_offset, 0))
        inner = bar.adjusted(2, 1, -2, -1).toAlignedRect()
        p.fillRect(
            inner.intersected(QRect(LABEL_WIDTH, 0, viewport_width, 1 << 20)), _stripes(colour)
        )
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.setPen(QPen(colour, 1))
        p.drawRoundedRect(bar.adjusted(0.5, 0.5, -0.5, -0.5), 3, 3)
    else:
        p.setBrush(colour)
        p.drawRoundedRect(bar, 3, 3)
    text = _bar_text(span)
    if not text:
        return
    p.setFont(small)
    text_width = small_metrics.horizontalAdvance(text)
    if span.status != "running" and bar.width() >= text_width + 12:
        p.setPen(colors.text_on(colour))
        left = max(bar.left(), float(LABEL_WIDTH)) + 6
        if left + text_width > bar.right() - 6:
            left = bar.left() + 6
        p.drawText(
            QRectF(left, bar.top(), text_width + 2, bar.height()),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            text,
        )
    elif bar.right() + 6 + text_width < viewport_width:
        p.setPen(colors.muted)
        p.drawText(
            QRectF(bar.right() + 6, y, text_width + 2, ROW_HEIGHT),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            text,
        )


def _stripes(colour: QColor) -> QBrush:
    return QBrush(colour, Qt.BrushStyle.BDiagPattern)


def _bar_text(span: Span) -> str:
    parts = []
    if span.status == "error":
        parts.append("failed")
    elif span.status == "cancelled":
        parts.append("cancelled")
    tokens = span.prompt_tokens + span.completion_tokens
    if tokens:
        parts.append(f"{tokens:,} tok")
    return " · ".join(parts)


def _paint_header(
    p: QPainter,
    colors: TimelineColors,
    ticks: list[tuple[int, float]],
    step: float,
    width: int,
    small: QFont,
) -> None:
    p.fillRect(0, 0, width, HEADER_HEIGHT, colors.header)
    p.setPen(QPen(colors.border, 1))
    p.drawLine(0, HEADER_HEIGHT - 1, width, HEADER_HEIGHT - 1)
    p.setFont(small)
    p.setPen(colors.muted)
    p.drawText(
        QRect(12, 0, LABEL_WIDTH - 24, HEADER_HEIGHT),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
        "Span",
    )
    p.drawText(
        QRect(12, 0, LABEL_WIDTH - 22, HEADER_HEIGHT),
        Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
        "Took",
    )
    for x, seconds in ticks:
        p.setPen(QPen(colors.border, 1))
        p.drawLine(x, HEADER_HEIGHT - 6, x, HEADER_HEIGHT - 1)
        p.setPen(colors.muted)
        p.drawText(
            QRect(x + 4, 0, 120, HEADER_HEIGHT - 2),
            Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
            format_seconds(seconds, step),
        )
