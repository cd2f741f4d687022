"""SearchPresenter: runs the Ctrl+K search against the repository and opens the chosen hit."""

from __future__ import annotations

from PySide6.QtCore import QObject

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.dialogs.search_dialog import SearchDialog
from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.presenters.chat_presenter import ChatPresenter
from keiko_desktop.ui.task_runner import TaskRunner

RESULT_LIMIT = 50


class SearchPresenter(QObject):
    """Owns the search dialog (made on first use) and its queries."""

    def __init__(
        self,
        window: MainWindow,
        chat: ChatPresenter,
        core: CoreHandle,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._chat = chat
        self._core = core
        self._seq = 0
        self.dialog: SearchDialog | None = None
        self.tasks = TaskRunner(self._show_error)
        window.search_requested.connect(self._on_window_search_requested)

    def open(self) -> SearchDialog:
        if self.dialog is None:
            self.dialog = SearchDialog(self._window.render_context.theme, self._window)
            self.dialog.query_changed.connect(self._on_dialog_query_changed)
            self.dialog.hit_activated.connect(self._on_dialog_hit_activated)
        self.dialog.set_theme(self._window.render_context.theme)
        self.dialog.reset()
        self.dialog.open()
        return self.dialog

    def _on_window_search_requested(self) -> None:
        self.open()

    def _on_dialog_query_changed(self, text: str) -> None:
        self._seq += 1
        self.tasks.spawn(self._search(text, self._seq), "search")

    def _on_dialog_hit_activated(self, conversation_id: int, message_id: int) -> None:
        self._window.show_page("chat")
        self._chat.open_conversation(conversation_id, focus_message=message_id)

    async def _search(self, text: str, seq: int) -> None:
        if self.dialog is None:
            return
        if not text:
            self.dialog.set_results([])
            return
        core = await self._core.get()
        hits = await core.conversations.search(text, limit=RESULT_LIMIT)
        if seq == self._seq and self.dialog is not None:
            self.dialog.set_results(hits)

    def _show_error(self, error: KeikoError) -> None:
        if self.dialog is not None:
            self.dialog.set_status(f"{error.message} {error.hint}".strip())
