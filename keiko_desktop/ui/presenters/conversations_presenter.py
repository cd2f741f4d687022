"""ConversationsPresenter: the sidebar — list, open, new, rename, pin, delete with Undo."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import ConversationChanged
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.presenters.chat_presenter import ChatPresenter
from keiko_desktop.ui.task_runner import TaskRunner
from keiko_desktop.ui.widgets.conversation_list import UNTITLED, ConversationList, ordered
from keiko_desktop.ui.window_state import WindowState

REFRESH_DELAY_MS = 40


class ConversationsPresenter(QObject):
    """Keeps the sidebar in step with the database and the open chat."""

    def __init__(
        self,
        sidebar: ConversationList,
        chat: ChatPresenter,
        core: CoreHandle,
        bridge: EventBridge,
        state: WindowState | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._sidebar = sidebar
        self._chat = chat
        self._core = core
        self._state = state
        self.tasks = TaskRunner(self._show_error)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DELAY_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)

        sidebar.conversation_selected.connect(self._on_sidebar_conversation_selected)
        sidebar.new_requested.connect(self._on_sidebar_new_requested)
        sidebar.rename_requested.connect(self._on_sidebar_rename_requested)
        sidebar.delete_requested.connect(self._on_sidebar_delete_requested)
        sidebar.pin_requested.connect(self._on_sidebar_pin_requested)
        sidebar.undo_requested.connect(self._on_sidebar_undo_requested)
        chat.conversation_opened.connect(self._on_chat_conversation_opened)
        bridge.conversation_changed.connect(self._on_bridge_conversation_changed)
        bridge.message_completed.connect(self._on_bridge_message_completed)

    # ------------------------------------------------------------------ public
    def refresh(self) -> None:
        """Reload the list soon (several requests in a row make one reload)."""
        self._refresh_timer.start()

    async def reload(self) -> None:
        core = await self._core.get()
        conversations = await core.conversations.list_conversations()
        self._sidebar.set_conversations(ordered(conversations))

    def new_chat(self) -> None:
        self._chat.new_chat()

    def close(self) -> None:
        """Stop all work (shutdown)."""
        self._refresh_timer.stop()
        self.tasks.close()

    # ------------------------------------------------------------------ slots
    def _on_refresh_timer_timeout(self) -> None:
        self.tasks.spawn(self.reload(), "list conversations")

    def _on_sidebar_conversation_selected(self, conversation_id: int) -> None:
        self._chat.open_conversation(conversation_id)

    def _on_sidebar_new_requested(self) -> None:
        self._chat.new_chat()

    def _on_sidebar_rename_requested(self, conversation_id: int, title: str) -> None:
        self.tasks.spawn(self._rename(conversation_id, title), "rename")

    def _on_sidebar_delete_requested(self, conversation_id: int) -> None:
        self.tasks.spawn(self._delete(conversation_id), "delete conversation")

    def _on_sidebar_pin_requested(self, conversation_id: int, pinned: bool) -> None:
        self.tasks.spawn(self._pin(conversation_id, pinned), "pin")

    def _on_sidebar_undo_requested(self, token: object) -> None:
        if isinstance(token, int):
            self.tasks.spawn(self._restore(token), "restore conversation")

    def _on_chat_conversation_opened(self, conversation_id: int | None) -> None:
        self._sidebar.select(conversation_id)
        if self._state is not None:
            self._state.last_conversation = conversation_id

    def _on_bridge_conversation_changed(self, _event: ConversationChanged) -> None:
        self.refresh()

    def _on_bridge_message_completed(self, _event: object) -> None:
        self.refresh()  # the chat moved to the top of the list

    # ------------------------------------------------------------------ work
    async def _rename(self, conversation_id: int, title: str) -> None:
        core = await self._core.get()
        await core.conversations.rename_conversation(conversation_id, title)
        core.bus.publish(ConversationChanged(conversation_id, "renamed"))

    async def _pin(self, conversation_id: int, pinned: bool) -> None:
        core = await self._core.get()
        await core.conversations.set_pinned(conversation_id, pinned)
        core.bus.publish(ConversationChanged(conversation_id, "pinned"))

    async def _delete(self, conversation_id: int) -> None:
        core = await self._core.get()
        title = self._sidebar.title_of(conversation_id) or UNTITLED
        reply = core.chat.active_reply(conversation_id)
        if reply is not None:
            reply.cancel()
            await reply.result()
        await core.conversations.delete_conversation(conversation_id)
        if self._chat.conversation_id == conversation_id:
            self._chat.new_chat()
        core.bus.publish(ConversationChanged(conversation_id, "deleted"))
        self._sidebar.show_undo(f"Deleted “{_short(title)}”.", conversation_id)

    async def _restore(self, conversation_id: int) -> None:
        core = await self._core.get()
        await core.conversations.restore_conversation(conversation_id)
        core.bus.publish(ConversationChanged(conversation_id, "restored"))
        self._chat.open_conversation(conversation_id)

    def _show_error(self, error: KeikoError) -> None:
        # The chat panel has the one inline notice area; the sidebar has no room for one.
        self._chat.panel.show_error(error.message, error.hint)


def _short(title: str, limit: int = 28) -> str:
    return title if len(title) <= limit else title[: limit - 1] + "…"
