"""ApprovalPresenter: the window's ``Approver``: one ``ApprovalDialog`` per Ask request.

The controller registers it on the Core (``core.set_approver``). The approval broker awaits
``approve(request)``: a dialog opens, and its answer is returned. When the broker gives up first
(the request timed out, or the reply that asked was stopped) the wait is cancelled and the
dialog closes unanswered.
"""

from __future__ import annotations

import asyncio

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from keiko_desktop.core.tools.approvals import ApprovalRequest
from keiko_desktop.core.tools.models import ApprovalAnswer
from keiko_desktop.ui.dialogs.approval_dialog import ApprovalDialog


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
        answer: asyncio.Future[ApprovalAnswer] = asyncio.get_running_loop().create_future()

        def on_answered(value: str) -> None:
            if not answer.done():
                answer.set_result(ApprovalAnswer(value))

        dialog = ApprovalDialog(request, self._parent_widget)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.answered.connect(on_answered)
        self.open_dialogs.append(dialog)
        dialog.show()
        dialog.raise_()
        self.dialog_opened.emit(dialog)
        try:
            return await answer
        finally:
            self.open_dialogs.remove(dialog)
            if shiboken6.isValid(dialog) and not dialog.settled:
                dialog.dismiss()  # settled elsewhere: timed out, or the reply was stopped
