"""Colours and words of the run timeline: a colour per span kind and status, the time axis's
steps and labels, and the one-line summaries the tooltip and the accessible description read."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from PySide6.QtGui import QColor

from keiko_desktop.core.agents.records import Span
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.theme import Theme

ROW_HEIGHT = 26
HEADER_HEIGHT = 30
LABEL_WIDTH = 260
"""The name column on the left, which does not scroll in time."""
INDENT = 14
PAD = 14
"""Room left of the run's start and right of its end, in pixels."""

_KINDS_LIGHT = {
    "run": "#4f46e5",
    "plan": "#7c3aed",
    "step": "#0d9488",
    "model": "#2563eb",
    "tool": "#d97706",
    "middleware": "#94a3b8",
}
_KINDS_DARK = {
    "run": "#8b8ef8",
    "plan": "#a78bfa",
    "step": "#2dd4bf",
    "model": "#60a5fa",
    "tool": "#fbbf24",
    "middleware": "#7b8799",
}
KIND_WORDS = {
    "run": ("run", "runs"),
    "plan": ("plan", "plans"),
    "step": ("step", "steps"),
    "model": ("model call", "model calls"),
    "tool": ("tool call", "tool calls"),
    "middleware": ("middleware", "middleware"),
}


@dataclass(frozen=True)
class TimelineColors:
    """The colours one theme paints the timeline with."""

    background: QColor
    header: QColor
    grid: QColor
    border: QColor
    text: QColor
    muted: QColor
    selected: QColor
    focus: QColor
    error: QColor
    cancelled: QColor
    kinds: Mapping[str, QColor]

    @classmethod
    def for_theme(cls, theme: Theme) -> TimelineColors:
        kinds = _KINDS_DARK if theme.is_dark else _KINDS_LIGHT
        grid = QColor(theme.border)
        grid.setAlphaF(0.55)
        return cls(
            background=QColor(theme.window),
            header=QColor(theme.sidebar),
            grid=grid,
            border=QColor(theme.border),
            text=QColor(theme.text),
            muted=QColor(theme.muted),
            selected=QColor(theme.selected),
            focus=QColor(theme.accent),
            error=QColor(theme.status_error),
            cancelled=QColor(theme.faint),
            kinds={kind: QColor(colour) for kind, colour in kinds.items()},
        )

    def bar(self, span: Span) -> QColor:
        if span.status == "error":
            return self.error
        if span.status == "cancelled":
            return self.cancelled
        return self.kinds.get(span.kind, self.muted)

    @staticmethod
    def text_on(colour: QColor) -> QColor:
        """Black or white, whichever reads better on ``colour``."""
        r, g, b = colour.redF(), colour.greenF(), colour.blueF()
        luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
        return QColor("#111318") if luminance > 0.55 else QColor("#ffffff")


def tick_step(scale: float, min_pixels: float = 90.0) -> float:
    """The axis step in seconds: 1, 2 or 5 times a power of ten, at least ``min_pixels``
    apart at ``scale`` pixels per second."""
    seconds = min_pixels / max(scale, 1e-9)
    power = 10.0 ** math.floor(math.log10(seconds))
    for factor in (1, 2, 5, 10):
        if factor * power >= seconds:
            return factor * power
    return 10 * power  # pragma: no cover - the loop always returns


def format_seconds(seconds: float, step: float | None = None) -> str:
    """``250 ms``, ``1.25 s``, ``14.2 s``, ``2:05``; with an axis ``step``, just as precise as
    the step needs (``0 s``, ``500 ms``, ``1 s``, ``1.5 s``)."""
    if seconds == 0:
        return "0 s"
    if step is None:
        size = abs(seconds)
        if size < 0.01:
            return f"{seconds * 1000:.1f} ms"
        if size < 1:
            return f"{seconds * 1000:.0f} ms"
        if size < 10:
            return f"{seconds:.2f} s"
        if size < 60:
            return f"{seconds:.1f} s"
        minutes, rest = divmod(round(seconds), 60)
        return f"{minutes}:{rest:02d}"
    if step < 1 and abs(seconds) < 1:
        ms = seconds * 1000
        return f"{ms:.0f} ms" if step >= 0.001 else f"{ms:.3g} ms"
    if abs(seconds) < 60 or step < 1:
        decimals = 0 if step >= 1 else min(3, max(1, -math.floor(math.log10(step))))
        return f"{seconds:.{decimals}f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}:{rest:02d}"


def span_summary(span: Span, run_start: float) -> str:
    """One line for a span: name, kind, status, start offset, duration and tokens. The name is
    escaped (it may come from a model or a tool)."""
    word = KIND_WORDS.get(span.kind, (span.kind, span.kind))[0]
    status = "still running" if span.status == "running" else span.status
    parts = [one_line(span.name, 120) or "(unnamed)", word, status]
    parts.append(f"at +{format_seconds(span.start - run_start)}")
    if span.duration is not None:
        parts.append(f"took {format_seconds(span.duration)}")
    tokens = span.prompt_tokens + span.completion_tokens
    if tokens:
        parts.append(f"{span.prompt_tokens:,} + {span.completion_tokens:,} tokens")
    return ", ".join(parts) + "."


def describe(kinds: Mapping[str, int], statuses: Mapping[str, int], total: int) -> str:
    """The accessible description: how many spans of each kind, how many failed or run."""
    if not total:
        return "No spans."
    parts = []
    for kind, (one, many) in KIND_WORDS.items():
        count = kinds.get(kind, 0)
        if count:
            parts.append(f"{count:,} {one if count == 1 else many}")
    text = f"{total:,} spans: " + ", ".join(parts) + "."
    states = [
        f"{statuses.get(status, 0):,} {word}"
        for status, word in (
            ("error", "failed"),
            ("cancelled", "cancelled"),
            ("running", "running"),
        )
        if statuses.get(status, 0)
    ]
    if states:
        text += " " + ", ".join(states).capitalize() + "."
    return text
