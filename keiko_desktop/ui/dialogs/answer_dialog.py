"""AnswerDialog: what the dialogs that ask one question with a deadline share.

The approval, sampling and elicitation dialogs each show one request, count down to its
automatic "no", emit at most one answer, treat closing the window as that "no", and close
unanswered on ``dismiss()`` (the request was settled elsewhere: timed out or stopped). That
lifecycle lives here once, so the three cannot drift apart on the rule that matters: one
answer, never two, and a close is never a yes. ``allow_deny_buttons`` builds the Allow once /
Always / Deny row the approval and sampling dialogs both show, with Deny the default button so
Enter never allows by accident.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QPushButton, QWidget


class AnswerDialog(QDialog):
    """A dialog that asks one question and emits ``answered`` once, or not at all.

    Subclasses declare ``answered`` (their Signal), build their widgets, call
    ``_start_countdown`` and answer through ``_settle``; ``_closed_answer`` is what closing
    the window answers.
    """

    answered: ClassVar[Signal]

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._settled = False
        self.countdown = QLabel(self)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._remaining: Callable[[], float] = lambda: 0.0
        self._outcome = ""

    @property
    def settled(self) -> bool:
        """Answered or dismissed."""
        return self._settled

    def _closed_answer(self) -> object:
        """The answer emitted when the window is closed unanswered (a "no")."""
        raise NotImplementedError

    def _settle(self, value: object, accepted: bool) -> None:
        """Emit ``value`` (if nothing was answered yet) and close."""
        if not self._settled:
            self._settled = True
            self.answered.emit(value)
        self._finish(accepted)

    def dismiss(self) -> None:
        """Close without an answer: the question was settled elsewhere."""
        self._settled = True
        self._finish(False)

    def _finish(self, accepted: bool) -> None:
        self._timer.stop()
        if self.isVisible():
            self.done(QDialog.DialogCode.Accepted if accepted else QDialog.DialogCode.Rejected)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self._settled:
            self._settled = True
            self.answered.emit(self._closed_answer())
        self._timer.stop()
        super().closeEvent(event)

    def _start_countdown(self, remaining: Callable[[], float], outcome: str) -> None:
        """Show "If you do not answer, it is ``outcome`` in N s." now and every half second."""
        self._remaining = remaining
        self._outcome = outcome
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()
        self._on_timer_timeout()

    def _on_timer_timeout(self) -> None:
        seconds = int(self._remaining() + 0.5)
        self.countdown.setText(f"If you do not answer, it is {self._outcome} in {seconds} s.")


@dataclass(frozen=True)
class AllowDenyButtons:
    """The Allow once / Always / Deny buttons and the box that lays them out."""

    allow_once: QPushButton
    always: QPushButton
    deny: QPushButton
    box: QDialogButtonBox


def allow_deny_buttons(parent: QWidget, always_text: str) -> AllowDenyButtons:
    """Alt+O allows once, Alt+A (``always_text`` carries its ``&A``) always, Alt+D denies;
    Deny is the default button (Enter, like Esc, never approves by accident)."""
    allow_once = QPushButton("Allow &once", parent)  # Alt+O
    always = QPushButton(always_text, parent)  # Alt+A
    deny = QPushButton("&Deny", parent)  # Alt+D, Esc, Enter
    deny.setDefault(True)
    box = QDialogButtonBox(parent)
    box.addButton(deny, QDialogButtonBox.ButtonRole.RejectRole)
    box.addButton(always, QDialogButtonBox.ButtonRole.AcceptRole)
    box.addButton(allow_once, QDialogButtonBox.ButtonRole.AcceptRole)
    return AllowDenyButtons(allow_once, always, deny, box)
