"""ApprovalPresenter: the window's ``Approver``: one ``ApprovalDialog`` per Ask request.

The controller registers it on the Core (``core.set_approver``). The approval broker awaits
``approve(request)``: a dialog opens, and its answer is returned. When the broker gives up first
(the request timed out, or the reply that asked was stopped) the wait is cancelled and the
dialog closes unanswered.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from keiko_desktop.core.tools.approvals import ApprovalRequest
from keiko_desktop.core.tools.models import ApprovalAnswer
from keiko_desktop.ui.dialogs.approval_dialog import ApprovalDialog
from keiko_desktop.ui.presenters.dialog_answer import answer_in_dialog


class ApprovalPresenter(QObject):
    """Implements ``core.tools.approvals.Approver`` with dialogs over ``parent_widget``.

    Signals:
        dialog_opened(ApprovalDialog): a dialog is on screen (for tests and focus handling).
    """

    dialog_opened = Signal(object)

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self._parent_widget = parent_widget
        self.open_dialogs: list[ApprovalDialog] = []

    async def approve(self, request: ApprovalRequest) -> ApprovalAnswer:
        """Show ``request`` and wait for the user's answer."""
        dialog = ApprovalDialog(request, self._parent_widget)
        return await answer_in_dialog(
            dialog, self.open_dialogs, self.dialog_opened, _answer, activate=False
        )


def _answer(value: object) -> ApprovalAnswer:
    return ApprovalAnswer(str(value))  # the dialog emits an ApprovalAnswer value
