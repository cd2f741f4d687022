"""SamplingPresenter: the window's ``SamplingApprover``: one ``SamplingDialog`` per request.

The controller registers it on the Core (``core.set_sampling_approver``). The sampling service
awaits ``review(request)``: a dialog opens and the person's review (answer and edited request)
is returned. When the service gives up first (no answer in time, the call was abandoned) the
wait is cancelled and the dialog closes unanswered.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from keiko_desktop.core.tools.sampling import SamplingRequest, SamplingReview
from keiko_desktop.ui.dialogs.sampling_dialog import SamplingDialog
from keiko_desktop.ui.presenters.dialog_answer import answer_in_dialog


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
        dialog = SamplingDialog(request, self._parent_widget)
        return await answer_in_dialog(dialog, self.open_dialogs, self.dialog_opened, _review)


def _review(value: object) -> SamplingReview | None:
    return value if isinstance(value, SamplingReview) else None
