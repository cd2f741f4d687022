"""SamplingPresenter: the window's ``SamplingApprover``: one ``SamplingDialog`` per request.

The controller registers it on the Core (``core.set_sampling_approver``). The sampling service
awaits ``review(request)``: a dialog opens and the person's review (answer and edited request)
is returned. When the service gives up first (no answer in time, the call was abandoned) the
wait is cancelled and the dialog closes unanswered.
"""

from __future__ import annotations

import asyncio

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from keiko_desktop.core.tools.sampling import SamplingRequest, SamplingReview
from keiko_desktop.ui.dialogs.sampling_dialog import SamplingDialog


class SamplingPresenter(QObject):
    """Implements ``core.tools.sampling.SamplingApprover`` with dialogs over ``parent_widget``.

    Signals:
        dialog_opened(SamplingDialog): a dialog is on screen (for tests and focus handling).
    """

    dialog_opened = Signal(object)

    def __init__(self, parent_widget: QWidget | None = None) -> None:
        super().__init__(parent_widget)
        self._parent_widget = parent_widget
        self.open_dialogs: list[SamplingDialog] = []

    async def review(self, request: SamplingRequest) -> SamplingReview:
        """Show ``request`` and wait for the person's review."""
        review: asyncio.Future[SamplingReview] = asyncio.get_running_loop().create_future()

        def on_answered(value: object) -> None:
            if not review.done() and isinstance(value, SamplingReview):
                review.set_result(value)

        dialog = SamplingDialog(request, self._parent_widget)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.answered.connect(on_answered)
        self.open_dialogs.append(dialog)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        self.dialog_opened.emit(dialog)
        try:
            return await review
        finally:
            self.open_dialogs.remove(dialog)
            if shiboken6.isValid(dialog) and not dialog.settled:
                dialog.dismiss()  # settled elsewhere: timed out, or the call was abandoned
