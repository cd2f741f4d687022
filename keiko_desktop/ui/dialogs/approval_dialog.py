"""ApprovalDialog: may this tool run? Allow once, always allow, or deny.

Passive: it shows one ``ApprovalRequest`` (the server, the tool, its description and every
argument in full: nothing is redacted from the person approving; long values are folded,
and "Show all" unfolds them), all as plain text (``core.tools.approvals.describe_arguments``
escapes control characters), counts down to the automatic deny, and emits the user's answer.
Closing it or pressing Esc is a deny. ``dismiss()`` closes it unanswered (the request timed
out, or the reply that asked was stopped). ``presenters.approval_presenter.ApprovalPresenter``
opens one per request and hands the answer back to the core.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
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

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.approvals import ApprovalRequest, describe_arguments
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
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setText(f"Allow {request.tool} from {request.server}?")
        self.subtitle = QLabel(self)
        self.subtitle.setTextFormat(Qt.TextFormat.PlainText)
        self.subtitle.setWordWrap(True)
        about = f" It says: {one_line(request.description, 500)}" if request.description else ""
        self.subtitle.setText(
            f"The tool {request.qualified_name} wants to run with the arguments below, exactly"
            f" as they would be sent.{about}"
        )
        self.arguments = QPlainTextEdit(self)
        self.arguments.setReadOnly(True)
        self.arguments.setAccessibleName("Tool arguments")
        self.arguments.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.arguments.setPlainText(_shown(request.arguments, folded=True))
        self.arguments.setMinimumHeight(100)
        self.show_all_button = QPushButton("Show all", self)
        self.show_all_button.setAccessibleName("Show every argument unfolded")
        self.show_all_button.setVisible(
            _shown(request.arguments, folded=False) != self.arguments.toPlainText()
        )
        self.show_all_button.clicked.connect(self._on_show_all_button_clicked)
        self.countdown = QLabel(self)
        self.allow_once_button = QPushButton("Allow &once", self)  # Alt+O
        self.always_button = QPushButton("&Always allow", self)  # Alt+A
        self.deny_button = QPushButton("&Deny", self)  # Alt+D, Esc, Enter
        self.deny_button.setDefault(True)  # Enter never approves by accident
        buttons = QDialogButtonBox(self)
        buttons.addButton(self.deny_button, QDialogButtonBox.ButtonRole.RejectRole)
        buttons.addButton(self.always_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.allow_once_button, QDialogButtonBox.ButtonRole.AcceptRole)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.arguments, 1)
        layout.addWidget(self.show_all_button)
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

    def _on_show_all_button_clicked(self) -> None:
        self.arguments.setPlainText(_shown(self.request.arguments, folded=False))
        self.show_all_button.setVisible(False)

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


def _shown(arguments: dict[str, Any], folded: bool) -> str:
    return describe_arguments(arguments, folded, "Show all unfolds them").rstrip("\n")
