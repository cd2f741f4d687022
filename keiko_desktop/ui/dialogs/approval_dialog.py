"""ApprovalDialog: may this tool run? Allow once, always allow, or deny.

Passive: it shows one ``ApprovalRequest`` (the server, the tool and its already redacted
arguments), counts down to the automatic deny, and emits the user's answer. Closing it or
pressing Esc is a deny. ``dismiss()`` closes it unanswered (the request timed out, or the reply
that asked was stopped). ``presenters.approval_presenter.ApprovalPresenter`` opens one per
request and hands the answer back to the core.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.tools.approvals import ApprovalRequest
from keiko_desktop.core.tools.models import ApprovalAnswer
from keiko_desktop.ui.widgets.heading import heading_label


class ApprovalDialog(QDialog):
    """Asks whether ``request`` may run.

    Signals:
        answered(str): the user's answer, an ``ApprovalAnswer`` value (once); not emitted when
            the dialog is dismissed.
    """

    answered = Signal(str)

    def __init__(self, request: ApprovalRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self._settled = False
        self.setWindowTitle("Keiko — allow a tool?")
        self.setMinimumWidth(480)
        self.title = heading_label(self, 1.1)
        self.title.setText(f"Allow {request.tool} from {request.server}?")
        self.subtitle = QLabel(self)
        self.subtitle.setWordWrap(True)
        self.subtitle.setText(
            f"The tool {request.qualified_name} wants to run with these arguments "
            "(secrets are hidden):"
        )
        self.arguments = QPlainTextEdit(self)
        self.arguments.setReadOnly(True)
        self.arguments.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.arguments.setPlainText(_pretty(request.arguments))
        self.arguments.setMinimumHeight(100)
        self.countdown = QLabel(self)
        self.allow_once_button = QPushButton("Allow once", self)
        self.always_button = QPushButton("Always allow", self)
        self.deny_button = QPushButton("Deny", self)
        self.deny_button.setDefault(True)  # Enter never approves by accident
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.deny_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.addButton(self.always_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.allow_once_button, QDialogButtonBox.ButtonRole.AcceptRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.arguments, 1)
        layout.addWidget(self.countdown)
        layout.addWidget(buttons)
        self.allow_once_button.clicked.connect(self._on_allow_once_button_clicked)
        self.always_button.clicked.connect(self._on_always_button_clicked)
        self.deny_button.clicked.connect(self._on_deny_button_clicked)
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._timer.start()
        self._on_timer_timeout()

    @property
    def settled(self) -> bool:
        """Answered or dismissed."""
        return self._settled

    # ------------------------------------------------------------------ answering
    def answer(self, answer: ApprovalAnswer) -> None:
        """Emit ``answer`` (if nothing was answered yet) and close."""
        if not self._settled:
            self._settled = True
            self.answered.emit(answer.value)
        self._finish(answer is not ApprovalAnswer.DENY)

    def dismiss(self) -> None:
        """Close without an answer: the question was settled elsewhere."""
        self._settled = True
        self._finish(False)

    def _finish(self, accepted: bool) -> None:
        self._timer.stop()
        if self.isVisible():
            self.done(QDialog.DialogCode.Accepted if accepted else QDialog.DialogCode.Rejected)

    def _on_allow_once_button_clicked(self) -> None:
        self.answer(ApprovalAnswer.ALLOW_ONCE)

    def _on_always_button_clicked(self) -> None:
        self.answer(ApprovalAnswer.ALWAYS_ALLOW)

    def _on_deny_button_clicked(self) -> None:
        self.answer(ApprovalAnswer.DENY)

    def reject(self) -> None:  # Esc
        self.answer(ApprovalAnswer.DENY)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        if not self._settled:
            self._settled = True
            self.answered.emit(ApprovalAnswer.DENY.value)
        self._timer.stop()
        super().closeEvent(event)

    def _on_timer_timeout(self) -> None:
        seconds = int(self.request.remaining() + 0.5)
        self.countdown.setText(f"If you do not answer, it is denied in {seconds} s.")


def _pretty(arguments: dict[str, Any]) -> str:
    if not arguments:
        return "(no arguments)"
    return json.dumps(arguments, indent=2, ensure_ascii=False, default=str)
