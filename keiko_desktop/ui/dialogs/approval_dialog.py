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

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.approvals import ApprovalRequest, describe_arguments
from keiko_desktop.core.tools.models import ApprovalAnswer
from keiko_desktop.ui.dialogs.answer_dialog import AnswerDialog, allow_deny_buttons
from keiko_desktop.ui.widgets.heading import heading_label


class ApprovalDialog(AnswerDialog):
    """Asks whether ``request`` may run.

    Signals:
        answered(str): the user's answer, an ``ApprovalAnswer`` value (once); not emitted when
            the dialog is dismissed.
    """

    answered = Signal(str)

    def __init__(self, request: ApprovalRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
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
        buttons = allow_deny_buttons(self, "&Always allow")
        self.allow_once_button = buttons.allow_once
        self.always_button = buttons.always
        self.deny_button = buttons.deny
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.arguments, 1)
        layout.addWidget(self.show_all_button)
        layout.addWidget(self.countdown)
        layout.addWidget(buttons.box)
        self.allow_once_button.clicked.connect(self._on_allow_once_button_clicked)
        self.always_button.clicked.connect(self._on_always_button_clicked)
        self.deny_button.clicked.connect(self._on_deny_button_clicked)
        self._start_countdown(request.remaining, "denied")

    # ------------------------------------------------------------------ answering
    def answer(self, answer: ApprovalAnswer) -> None:
        """Emit ``answer`` (if nothing was answered yet) and close."""
        self._settle(answer.value, answer is not ApprovalAnswer.DENY)

    def _closed_answer(self) -> object:
        return ApprovalAnswer.DENY.value

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


def _shown(arguments: dict[str, Any], folded: bool) -> str:
    return describe_arguments(arguments, folded, "Show all unfolds them").rstrip("\n")
