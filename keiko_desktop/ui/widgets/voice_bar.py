"""VoiceBar: the strip above the message box while voice is in use — a level meter, the time
recorded, what is happening ("Release to send · Esc cancels", "Transcribing…", "Listening…")
and a button that cancels it. Also ``ElidingLabel``, a line of text that ends in "…" rather
than being cut (or widening its layout) when narrow."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPaintEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import Theme

SEGMENTS = 12
DECAY = 0.6
"""How much of the last level a quieter one keeps: the meter rises at once and falls gently."""

STATES: dict[str, tuple[str, str, bool, bool]] = {
    # state: (default hint, the cancel button's name, meter shown, time shown)
    "recording": ("Release to send · Esc cancels", "Cancel recording", True, True),
    "transcribing": ("Transcribing…", "Cancel transcription", False, False),
    "listening": ("Listening…", "End the voice conversation", True, False),
    "thinking": ("Keiko is answering…", "End the voice conversation", True, False),
    "speaking": ("Speaking · Esc stops", "Stop speaking", False, False),
    "message": ("", "Dismiss", False, False),
}


def format_elapsed(seconds: float) -> str:
    """``0:04``, ``1:02``: minutes and seconds recorded."""
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


class ElidingLabel(QLabel):
    """One line of plain text, elided at the right when it does not fit (the whole text stays
    its ``text()``, so its accessible name and tooltip have it all). It never asks for more
    width than ``minimumWidth``."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(
            self.text(), Qt.TextElideMode.ElideRight, rect.width()
        )
        if len(shown) < 4 and shown != self.text():
            return  # a letter and "…" say nothing
        painter = QPainter(self)
        align = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        self.style().drawItemText(
            painter,
            rect,
            int(align),
            self.palette(),
            self.isEnabled(),
            shown,
            self.foregroundRole(),
        )
        painter.end()


class LevelMeter(QWidget):
    """A row of segments lit up to the input level (0..1)."""

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Microphone level")
        self.setFixedSize(QSize(SEGMENTS * 6, 14))
        self._theme = theme
        self._level = 0.0
        self._shown = 0.0

    @property
    def level(self) -> float:
        """The last level set."""
        return self._level

    @property
    def shown(self) -> float:
        """The level drawn (rises at once, falls gently)."""
        return self._shown

    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.update()

    def set_level(self, level: float) -> None:
        level = min(1.0, max(0.0, level))
        self._level = level
        shown = level if level >= self._shown else self._shown * DECAY + level * (1 - DECAY)
        if abs(shown - self._shown) > 0.005 or level == 0.0:
            self._shown = shown
            self.setAccessibleDescription(f"{round(shown * 10) * 10} percent")
            self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        lit = round(self._shown * SEGMENTS)
        width = self.width() / SEGMENTS
        on, off = QColor(self._theme.accent), QColor(self._theme.border)
        for i in range(SEGMENTS):
            # Taller towards the loud end, like a speaker's meter.
            h = self.height() * (0.45 + 0.55 * (i + 1) / SEGMENTS)
            rect = QRectF(i * width + 1, (self.height() - h) / 2, width - 2, h)
            painter.setBrush(on if i < lit else off)
            painter.drawRoundedRect(rect, 1.5, 1.5)
        painter.end()


class VoiceBar(QFrame):
    """Shown by the voice presenter while it records, transcribes, listens or speaks.

    Signals:
        cancel_requested(): the user pressed its cancel button.
    """

    cancel_requested = Signal()

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("VoiceBar")
        self.setAccessibleName("Voice input")
        self._state = "message"
        self.meter = LevelMeter(theme, self)
        self.elapsed = QLabel("0:00", self)
        self.elapsed.setObjectName("VoiceElapsed")
        self.elapsed.setAccessibleName("Time recorded")
        self.elapsed.setTextFormat(Qt.TextFormat.PlainText)
        self.hint = ElidingLabel(self)  # never widens the composer at the window's minimum
        self.hint.setObjectName("VoiceHint")
        self.hint.setAccessibleName("Voice status")
        self.cancel_button = QToolButton(self)
        self.cancel_button.setObjectName("VoiceCancel")
        self.cancel_button.setIconSize(QSize(14, 14))
        self.cancel_button.setFixedSize(QSize(22, 22))
        self.cancel_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self.cancel_button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        row = QHBoxLayout(self)
        row.setContentsMargins(2, 0, 0, 0)
        row.setSpacing(10)
        row.addWidget(self.meter, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.elapsed, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.hint, 1, Qt.AlignmentFlag.AlignVCenter)
        row.addWidget(self.cancel_button, 0, Qt.AlignmentFlag.AlignVCenter)
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.set_theme(theme)
        self.set_state("message")

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self.meter.set_theme(theme)
        self.cancel_button.setIcon(icon("close", theme.muted))
        self.setStyleSheet(
            f"""
QFrame#VoiceBar {{ background: transparent; border: none; }}
QLabel#VoiceElapsed {{ color: {theme.text}; }}
QLabel#VoiceHint {{ color: {theme.muted}; }}
QToolButton#VoiceCancel {{ border: none; border-radius: 11px; background: transparent; }}
QToolButton#VoiceCancel:hover {{ background: {theme.hover}; }}
QToolButton#VoiceCancel:focus {{ border: 1px solid {theme.accent}; }}
"""
        )

    def set_state(self, state: str, hint: str | None = None) -> None:
        """One of ``STATES`` (recording, transcribing, listening, thinking, speaking, message),
        with its usual hint or ``hint`` (plain text, shown on one line)."""
        default, cancel_name, meter, elapsed = STATES[state]
        self._state = state
        text = one_line(hint if hint is not None else default, 200)
        self.hint.setText(text)
        self.hint.setToolTip(text)
        self.setAccessibleDescription(text)
        self.cancel_button.setAccessibleName(cancel_name)
        self.cancel_button.setToolTip(f"{cancel_name} (Esc)")
        self.meter.setVisible(meter)
        self.elapsed.setVisible(elapsed)
        if not meter:
            self.meter.set_level(0.0)
        if state == "recording":
            self.set_elapsed(0.0)

    def set_level(self, level: float) -> None:
        """The input level, 0 (silence) to 1 (loud)."""
        self.meter.set_level(level)

    def set_elapsed(self, seconds: float) -> None:
        text = format_elapsed(seconds)
        if text != self.elapsed.text():
            self.elapsed.setText(text)

    # ------------------------------------------------------------------ queries
    @property
    def state(self) -> str:
        return self._state

    @property
    def hint_text(self) -> str:
        return self.hint.text()
