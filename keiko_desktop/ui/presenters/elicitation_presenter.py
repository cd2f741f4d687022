"""ElicitationPresenter: the window's ``Elicitor``: one ``ElicitationDialog`` per question a
server asks (elicitation, form or URL mode).

The controller registers it on the Core (``core.set_elicitor``), beside the approvals; chat
turns and agent runs share it. The broker awaits ``elicit(request)``: a dialog opens and the
user's answer is returned. An accepted link (URL mode) is opened here, in the system browser
(``QDesktopServices``), only after the user chose to open it. When the broker gives up first
(no answer in time, or the call was stopped) the wait is cancelled and the dialog closes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QWidget

from keiko_desktop.core.tools.elicitation import ElicitAction, ElicitAnswer, ElicitationRequest
from keiko_desktop.ui.dialogs.elicitation_dialog import ElicitationDialog
from keiko_desktop.ui.presenters.dialog_answer import answer_in_dialog


def open_in_browser(url: QUrl) -> bool:
    return bool(QDesktopServices.openUrl(url))


class ElicitationPresenter(QObject):
    """Implements ``core.tools.elicitation.Elicitor`` with dialogs over ``parent_widget``.

    Signals:
        dialog_opened(ElicitationDialog): a dialog is on screen (for tests and focus).
    """

    dialog_opened = Signal(object)

    def __init__(
        self,
        parent_widget: QWidget | None = None,
        open_url: Callable[[QUrl], bool] = open_in_browser,
    ) -> None:
        super().__init__(parent_widget)
        self._parent_widget = parent_widget
        self._open_url = open_url
        self.open_dialogs: list[ElicitationDialog] = []

    async def elicit(self, request: ElicitationRequest) -> ElicitAnswer:
        """Show ``request`` and wait for the user's answer."""
        dialog = ElicitationDialog(request, self._parent_widget)
        result = await answer_in_dialog(dialog, self.open_dialogs, self.dialog_opened, _answer)
        if request.mode == "url" and result.action is ElicitAction.ACCEPT:
            url = QUrl(request.url, QUrl.ParsingMode.StrictMode)
            if not url.isValid() or url.scheme().lower() not in ("http", "https"):
                return ElicitAnswer.decline()
            if not self._open_url(url):
                return ElicitAnswer.cancel()  # no browser: the user could not go there
        return result


def _answer(value: object) -> ElicitAnswer | None:
    return value if isinstance(value, ElicitAnswer) else None
