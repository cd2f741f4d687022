"""Toasts: short notices in the bottom-right corner of the window ("Task 'X' completed").

A ``ToastOverlay`` is a frameless child of the window it sits on (not a top-level window: no
window manager places it, and it never takes the keyboard from what the user is typing in). It
shows one notice at a time, queued in order, each for ``SHOW_MS`` (longer while the pointer is
on it); a click or Esc (while it has focus) dismisses it; "Show" asks for the task it is about.
Past ``MAX_QUEUED`` waiting notices the rest are counted into one ("3 more tasks ended"), so a
folder of 500 files does not keep the corner busy for an hour. Screen readers hear each notice
as an alert. Text may quote a task's name or error: plain text, escaped.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAccessible,
    QAccessibleEvent,
    QEnterEvent,
    QKeyEvent,
    QMouseEvent,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QToolButton,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import LIGHT, Theme

SHOW_MS = 5000
GAP_MS = 200
MAX_QUEUED = 3
WIDTH = 380
MARGIN = 16
Tone = Literal["ok", "error", "info"]


@dataclass(frozen=True)
class Toast:
    """One notice; ``task_id``: the task "Show" selects (None: no Show button, unless it is
    the ``summary`` of the notices that did not fit, whose Show opens the page)."""

    text: str
    task_id: int | None = None
    tone: Tone = "info"
    summary: bool = False

    @property
    def offers_show(self) -> bool:
        return self.task_id is not None or self.summary


def toast_style(t: Theme) -> str:
    return f"""
#Toast {{ background: {t.text}; border-radius: 8px; }}
#Toast QLabel {{ color: {t.window}; }}
#Toast QPushButton {{ color: {t.window}; background: transparent; border: 1px solid {t.faint};
    border-radius: 6px; font-weight: 600; padding: 3px 10px; }}
#Toast QPushButton:hover, #Toast QPushButton:focus {{ border: 1px solid {t.window}; }}
#Toast QToolButton {{ border: none; border-radius: 6px; padding: 2px; background: transparent; }}
#Toast QToolButton:focus {{ border: 1px solid {t.window}; }}
#Toast #ToastMark {{ border-radius: 4px; }}
"""


class ToastOverlay(QFrame):
    """The toasts of one window (see the module docs).

    Signals:
        show_requested(object): "Show" on a toast about this task id (None: the summary).
        dismissed(): a toast went away (timed out, clicked, Esc or closed).
    """

    show_requested = Signal(object)
    dismissed = Signal()

    def __init__(self, host: QWidget, theme: Theme = LIGHT) -> None:
        super().__init__(host)
        self.setObjectName("Toast")
        self.setAccessibleName("Notification")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._host = host
        self._queue: deque[Toast] = deque()
        self._overflow = 0
        self._current: Toast | None = None
        self._theme = theme
        self.mark = QLabel(self)
        self.mark.setObjectName("ToastMark")
        self.mark.setFixedSize(QSize(8, 8))
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setWordWrap(True)
        self.show_button = QPushButton("S&how", self)
        self.show_button.setAccessibleName("Show the task")
        self.show_button.setToolTip("Open the Tasks page at this task")
        self.close_button = QToolButton(self)
        self.close_button.setAccessibleName("Dismiss notification")
        self.close_button.setToolTip("Dismiss (Esc)")
        self.close_button.setIconSize(QSize(14, 14))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(14, 10, 8, 10)
        layout.setSpacing(10)
        layout.addWidget(self.mark, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.show_button, 0, Qt.AlignmentFlag.AlignVCenter)
        layout.addWidget(self.close_button, 0, Qt.AlignmentFlag.AlignTop)
        self.setFixedWidth(WIDTH)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(SHOW_MS)
        self._timer.timeout.connect(self.dismiss)
        self._gap = QTimer(self)
        self._gap.setSingleShot(True)
        self._gap.setInterval(GAP_MS)
        self._gap.timeout.connect(self._show_next)
        self.show_button.clicked.connect(self._on_show_button_clicked)
        self.close_button.clicked.connect(self.dismiss)
        host.installEventFilter(self)
        self.set_theme(theme)
        self.hide()

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self.setStyleSheet(toast_style(theme))
        self.close_button.setIcon(icon("close", theme.window))
        self._paint_mark()

    def notify(self, toast: Toast) -> None:
        """Show ``toast`` now, or after the ones before it."""
        if len(self._queue) >= MAX_QUEUED:
            self._overflow += 1
        else:
            self._queue.append(toast)
        if self._current is None and not self._gap.isActive():
            self._show_next()

    def dismiss(self) -> None:
        """Hide the current toast; the next one follows after a short gap."""
        if self._current is None:
            return
        self._timer.stop()
        had_focus = self.isAncestorOf(self.focusWidget()) if self.focusWidget() else False
        self._current = None
        self.hide()
        if had_focus:
            self._host.setFocus(Qt.FocusReason.OtherFocusReason)
        self.dismissed.emit()
        if self._queue or self._overflow:
            self._gap.start()

    def clear(self) -> None:
        """Drop every toast, shown or waiting."""
        self._queue.clear()
        self._overflow = 0
        self._gap.stop()
        self.dismiss()

    # ------------------------------------------------------------------ queries
    @property
    def current(self) -> Toast | None:
        return self._current

    @property
    def waiting(self) -> int:
        return len(self._queue) + (1 if self._overflow else 0)

    @property
    def text(self) -> str:
        return self.label.text() if self._current is not None else ""

    # ------------------------------------------------------------------ events
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        if watched is self._host and event.type() == QEvent.Type.Resize and self.isVisible():
            self._place()
        return super().eventFilter(watched, event)

    def event(self, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ShortcutOverride
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Escape
        ):
            event.accept()  # Esc on a focused toast dismisses it (not the window's Esc)
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Escape:
            self.dismiss()
            return
        super().keyPressEvent(event)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton:
            self.dismiss()
            return
        super().mousePressEvent(event)

    def enterEvent(self, event: QEnterEvent) -> None:  # noqa: N802
        self._timer.stop()  # read at leisure while the pointer is on it
        super().enterEvent(event)

    def leaveEvent(self, event: QEvent) -> None:  # noqa: N802
        if self._current is not None:
            self._timer.start()
        super().leaveEvent(event)

    # ------------------------------------------------------------------ internals
    def _show_next(self) -> None:
        if self._queue:
            toast = self._queue.popleft()
        elif self._overflow:
            n, self._overflow = self._overflow, 0
            toast = Toast(f"{n} more task{'s' if n != 1 else ''} ended.", summary=True)
        else:
            return
        self._current = toast
        self.label.setText(one_line(toast.text, 400))
        self.setAccessibleDescription(self.label.text())
        self.show_button.setVisible(toast.offers_show)
        self.show_button.setAccessibleName("Show the tasks" if toast.summary else "Show the task")
        self._paint_mark()
        self.adjustSize()
        self._place()
        self.show()
        self.raise_()
        self._timer.start()
        QAccessible.updateAccessibility(QAccessibleEvent(self, QAccessible.Event.Alert))

    def _place(self) -> None:
        host = self._host.rect()
        bottom = MARGIN
        if isinstance(self._host, QMainWindow):
            bar = self._host.statusBar()
            if bar.isVisible():
                bottom += bar.height()
        height = (
            self.heightForWidth(WIDTH) if self.hasHeightForWidth() else self.sizeHint().height()
        )
        height = max(height, self.minimumSizeHint().height())
        self.resize(WIDTH, height)
        self.move(host.right() - WIDTH - MARGIN, host.bottom() - height - bottom)

    def _paint_mark(self) -> None:
        tone = self._current.tone if self._current is not None else "info"
        colour = {
            "ok": self._theme.status_ok,
            "error": self._theme.status_error,
            "info": self._theme.accent,
        }[tone]
        self.mark.setStyleSheet(f"background: {colour}; border-radius: 4px;")

    def _on_show_button_clicked(self) -> None:
        toast = self._current
        self.dismiss()
        if toast is not None:
            self.show_requested.emit(toast.task_id)
