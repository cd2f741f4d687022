"""ApprovalDialog: may this tool run? Allow once, always allow, or deny.

One dialog per ``ToolApprovalRequested``. It shows the server, the tool and its (already
redacted) arguments, and counts down to the automatic deny. Closing it is a deny. If the request
is settled elsewhere (timed out, answered from the CLI) the dialog closes itself.
``ApprovalPrompter`` opens a dialog for each request the bridge relays.
"""

from __future__ import annotations

import json
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
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
from keiko_desktop.core.tools.events import ToolApprovalRequested
from keiko_desktop.core.tools.models import ApprovalAnswer
from keiko_desktop.ui.widgets.heading import heading_label


class ApprovalDialog(QDialog):
    """Asks whether ``request`` may run.

    Signals:
        answered(str): the user's answer, an ``ApprovalAnswer`` value; not emitted when the
            request was settled elsewhere.
    """

    answered = Signal(str)

    def __init__(self, request: ApprovalRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        self._finished = False
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
        request.add_done_callback(self._on_request_done)

    # ------------------------------------------------------------------ answering
    def answer(self, answer: ApprovalAnswer) -> None:
        """Answer the request (if still open) and close."""
        if self.request.answer(answer):
            self.answered.emit(answer.value)
        self._finish(answer is not ApprovalAnswer.DENY)

    def _finish(self, accepted: bool) -> None:
        self._timer.stop()
        if not self._finished:
            self._finished = True
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
        if not self.request.done:
            self.request.answer(ApprovalAnswer.DENY)
            self.answered.emit(ApprovalAnswer.DENY.value)
        self._timer.stop()
        super().closeEvent(event)

    def _on_timer_timeout(self) -> None:
        seconds = int(self.request.remaining() + 0.5)
        self.countdown.setText(f"If you do not answer, it is denied in {seconds} s.")

    def _on_request_done(self, _request: ApprovalRequest) -> None:
        # Runs later, from the loop: the dialog may be closed (and deleted) by then.
        if self._finished or not shiboken6.isValid(self):
            return
        self._finish(False)


def _pretty(arguments: dict[str, Any]) -> str:
    if not arguments:
        return "(no arguments)"
    return json.dumps(arguments, indent=2, ensure_ascii=False, default=str)


class ApprovalPrompter(QObject):
    """Opens an ``ApprovalDialog`` for every approval request it is shown.

    Connect the bridge's ``tool_approval_requested`` signal to ``show_request``.

    Signals:
        dialog_opened(ApprovalDialog): a dialog is on screen (for tests and focus handling).
    """

    dialog_opened = Signal(object)

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self._parent_widget = parent_widget
        self.open_dialogs: list[ApprovalDialog] = []

    def show_request(self, event: ToolApprovalRequested) -> None:
        request = event.request
        if request is None or request.done:
            return
        dialog = ApprovalDialog(request, self._parent_widget)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _code, d=dialog: self._forget(d))
        self.open_dialogs.append(dialog)
        dialog.show()
        dialog.raise_()
        self.dialog_opened.emit(dialog)

    def _forget(self, dialog: ApprovalDialog) -> None:
        if dialog in self.open_dialogs:
            self.open_dialogs.remove(dialog)
