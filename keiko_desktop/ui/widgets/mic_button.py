"""MicButton: push to talk — hold it (mouse, or Space/Enter while it has the focus) to record.

Also ``VoiceToggle``, the composer's two checkable voice buttons (read replies aloud, voice
conversation). Passive like every widget: the voice presenter decides what holding means.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QFocusEvent, QHideEvent, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QToolButton, QWidget

from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import Theme

HOLD_KEYS = (Qt.Key.Key_Space, Qt.Key.Key_Return, Qt.Key.Key_Enter)
BUTTON_SIZE = QSize(32, 32)
ICON_SIZE = QSize(18, 18)


def _tip(key: str) -> str:
    return f"Hold to talk ({key})" if key else "Hold to talk"


class MicButton(QToolButton):
    """The push-to-talk button: pressed is recording, released is done.

    Holding with the mouse and letting go over the button sends; letting go away from it
    cancels (``cancelled``). Space or Enter held while the button has the focus work the
    same (auto-repeat ignored). Losing the focus or being hidden while held lets go.

    Signals:
        held(): the user started holding the button.
        let_go(): the user let go of it: what was said should be used.
        cancelled(): the user let go away from the button: drop what was recorded.
    """

    held = Signal()
    let_go = Signal()
    cancelled = Signal()

    def __init__(self, theme: Theme, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("MicButton")
        self.setAccessibleName("Push to talk")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFixedSize(BUTTON_SIZE)
        self.setIconSize(ICON_SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._holding: Literal["mouse", "key"] | None = None
        self._recording = False
        self._key = "Ctrl+Space"
        self._reason = ""
        self._theme = theme
        self.set_theme(theme)
        self._update_tip()

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._restyle()

    def set_available(self, ok: bool, reason: str = "") -> None:
        """Enable the button, or disable it and say why (tooltip and accessible description)."""
        self._reason = "" if ok else reason
        if not ok and self._holding is not None:
            self._finish(cancel=True)
        self.setEnabled(ok)
        self._update_tip()

    def set_key_text(self, key: str) -> None:
        """The push-to-talk key named in the tooltip ("" when there is none)."""
        self._key = key
        self._update_tip()

    def set_recording(self, recording: bool) -> None:
        """Show the recording state (accent colour) or the resting one."""
        if recording != self._recording:
            self._recording = recording
            self.setDown(recording or self._holding is not None)
            self._restyle()

    # ------------------------------------------------------------------ queries
    @property
    def holding(self) -> bool:
        return self._holding is not None

    @property
    def recording(self) -> bool:
        return self._recording

    @property
    def reason(self) -> str:
        """Why the button is disabled ("" when it is not)."""
        return self._reason

    # ------------------------------------------------------------------ events
    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._holding is None:
            event.accept()
            self._begin("mouse")
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if self._holding == "mouse":
            self.setDown(self.rect().contains(event.position().toPoint()))
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._holding == "mouse":
            event.accept()
            self._finish(cancel=not self.rect().contains(event.position().toPoint()))
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in HOLD_KEYS and not _has_modifiers(event):
            event.accept()
            if not event.isAutoRepeat() and self._holding is None:
                self._begin("key")
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() in HOLD_KEYS and not _has_modifiers(event):
            event.accept()
            if not event.isAutoRepeat() and self._holding == "key":
                self._finish(cancel=False)
            return
        super().keyReleaseEvent(event)

    def focusOutEvent(self, event: QFocusEvent) -> None:  # noqa: N802
        if self._holding == "key":
            self._finish(cancel=False)  # the key's release will not come here
        super().focusOutEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        if self._holding is not None:
            self._finish(cancel=False)
        super().hideEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.EnabledChange:
            self._restyle()

    # ------------------------------------------------------------------ internals
    def _begin(self, how: Literal["mouse", "key"]) -> None:
        if not self.isEnabled():
            return
        self._holding = how
        self.setDown(True)
        self.held.emit()

    def _finish(self, *, cancel: bool) -> None:
        self._holding = None
        self.setDown(self._recording)
        (self.cancelled if cancel else self.let_go).emit()

    def _update_tip(self) -> None:
        tip = self._reason or _tip(self._key)
        self.setToolTip(tip)
        self.setAccessibleDescription(tip)

    def _restyle(self) -> None:
        t = self._theme
        if self._recording:
            self.setIcon(icon("mic", t.accent_text))
            background, hover = t.accent, t.accent_hover
        else:
            self.setIcon(icon("mic", t.muted, t.faint))
            background, hover = "transparent", t.hover
        self.setStyleSheet(
            f"""
QToolButton#MicButton {{ background: {background}; border: 1px solid transparent;
    border-radius: 16px; }}
QToolButton#MicButton:hover {{ background: {hover}; }}
QToolButton#MicButton:focus {{ border: 1px solid {t.accent}; }}
"""
        )


def _has_modifiers(event: QKeyEvent) -> bool:
    return bool(event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier)


class VoiceToggle(QToolButton):
    """A round checkable icon button of the composer: muted when off, accent when on.

    Signals: those of QToolButton (``toggled(bool)`` when the user or a setter changes it).
    """

    def __init__(
        self, name: str, icon_name: str, tip: str, theme: Theme, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("VoiceToggle")
        self.setCheckable(True)
        self.setAccessibleName(name)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setFixedSize(BUTTON_SIZE)
        self.setIconSize(ICON_SIZE)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self._icon_name = icon_name
        self._tip = tip
        self._reason = ""
        self._theme = theme
        self.toggled.connect(self._on_self_toggled)
        self.set_theme(theme)
        self._update_tip()

    def set_theme(self, theme: Theme) -> None:
        t = self._theme = theme
        self.setStyleSheet(
            f"""
QToolButton#VoiceToggle {{ background: transparent; border: 1px solid transparent;
    border-radius: 16px; }}
QToolButton#VoiceToggle:hover {{ background: {t.hover}; }}
QToolButton#VoiceToggle:checked {{ background: {t.selected}; }}
QToolButton#VoiceToggle:focus {{ border: 1px solid {t.accent}; }}
"""
        )
        self._on_self_toggled(self.isChecked())

    def set_available(self, ok: bool, reason: str = "") -> None:
        """Enable it, or disable it and say why (tooltip and accessible description)."""
        self._reason = "" if ok else reason
        self.setEnabled(ok)
        self._update_tip()

    def set_on(self, on: bool) -> None:
        """Show it on or off without ``clicked`` (``toggled`` still follows)."""
        self.setChecked(on)

    def _update_tip(self) -> None:
        tip = self._reason or self._tip
        self.setToolTip(tip)
        self.setAccessibleDescription(tip)

    def _on_self_toggled(self, on: bool) -> None:
        t = self._theme
        self.setIcon(icon(self._icon_name, t.accent if on else t.muted, t.faint))
