"""ChatPresenter: drives the Chat panel with the ChatService.

It opens conversations (the last ``PAGE`` messages, earlier ones on demand), sends, stops,
regenerates, edits and resends, deletes messages, and streams replies into the view: pieces are
gathered as they come and shown at most every ``FRAME_MS`` (slower for long replies whose
rendering costs more), always into the one streaming message only.

It also keeps the chat's agent in view: the composer's chooser lists the agents (refreshed on
``AgentsChanged``) and shows the one the open conversation is bound to, the header names it,
and choosing another binds the conversation (``core.agents.set_conversation_agent``). A new
chat is bound to the chooser's agent as soon as its first message has created it, before the
reply reads the binding. Without ``core.agents`` the chooser is hidden.

Files (``self.files``, a ``ChatFiles``): the composer's chips go with the message they are sent
with, shown on it; replies show their sources; ``ask_new`` asks in a new chat with files.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from keiko_desktop.core.agents.events import AgentsChanged
from keiko_desktop.core.chat.service import Reply
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import ConversationChanged, MessageCreated, ModelStateChanged
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.panels.chat_panel import ChatPanel
from keiko_desktop.ui.presenters.chat_agents import ChatAgents
from keiko_desktop.ui.presenters.chat_files import ChatFiles
from keiko_desktop.ui.presenters.chat_stream import Stream, placeholder_for
from keiko_desktop.ui.presenters.live_tool_calls import LiveToolCallsPresenter
from keiko_desktop.ui.task_runner import TaskRunner

PAGE = 50
FRAME_MS = 33
MAX_FRAME_MS = 250


class ChatPresenter(QObject):
    """Owns the async work behind the Chat panel.

    Signals:
        conversation_opened(object): the panel now shows this conversation id (None: a new chat).
        reply_started(int, int): a reply (conversation id, message id) started streaming.
        reply_piece(int, str): a piece of that reply's text (message id, piece), as it comes.
        reply_finished(int, str): a reply (message id) ended with this status.
    """

    conversation_opened = Signal(object)
    reply_started = Signal(int, int)
    reply_piece = Signal(int, str)
    reply_finished = Signal(int, str)

    def __init__(
        self, panel: ChatPanel, core: CoreHandle, bridge: EventBridge, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._panel = panel
        self._view = panel.view
        self._composer = panel.composer
        self._core = core
        self._conversation_id: int | None = None
        self._streams: dict[int, Stream] = {}
        self._open_seq = 0
        self._model_state = "loading"
        self.tasks = TaskRunner(self._show_error)
        self.agents = ChatAgents(panel, core, self.tasks, lambda: self._conversation_id)
        self.files = ChatFiles(panel, core, self.tasks, self)
        self.live_calls = LiveToolCallsPresenter(
            panel.live_calls, bridge, lambda: self._conversation_id, self
        )
        self.conversation_opened.connect(self.live_calls.conversation_opened)
        self._frame = QTimer(self)
        self._frame.setInterval(FRAME_MS)
        self._frame.timeout.connect(self._on_frame_timeout)

        self._composer.send_requested.connect(self._on_composer_send_requested)
        self._composer.edit_submitted.connect(self._on_composer_edit_submitted)
        self._composer.stop_requested.connect(self._on_composer_stop_requested)
        self._composer.edit_last_requested.connect(self._on_composer_edit_last_requested)
        self._composer.agent_chosen.connect(self._on_composer_agent_chosen)
        self._view.earlier_requested.connect(self._on_view_earlier_requested)
        self._view.edit_requested.connect(self._on_view_edit_requested)
        self._view.regenerate_requested.connect(self._on_view_regenerate_requested)
        self._view.delete_requested.connect(self._on_view_delete_requested)
        self._panel.notice.close_button.clicked.connect(self._panel.clear_error)
        bridge.model_state_changed.connect(self._on_bridge_model_state_changed)
        bridge.conversation_changed.connect(self._on_bridge_conversation_changed)
        bridge.message_created.connect(self._on_bridge_message_created)
        # The bridge's agents_changed comes with the Agents panel; until then, the bus.
        agents_changed = getattr(bridge, "agents_changed", None)
        if agents_changed is not None:
            agents_changed.connect(self._on_bridge_agents_changed)
        else:
            self.agents.follow_bus(self._on_bridge_agents_changed)

    # ------------------------------------------------------------------ public
    @property
    def panel(self) -> ChatPanel:
        return self._panel

    @property
    def conversation_id(self) -> int | None:
        return self._conversation_id

    def is_streaming(self, conversation_id: int | None = None) -> bool:
        cid = self._conversation_id if conversation_id is None else conversation_id
        return cid in self._streams

    def new_chat(self) -> None:
        """Show an empty chat; the conversation is created by the first message."""
        self._open_seq += 1
        self._conversation_id = None
        self._view.clear()
        self._panel.show_empty(True)
        self._panel.set_title("New chat")
        self._panel.set_agent(None)  # bound by the first message, to the chooser's agent
        self._composer.end_edit()
        self._update_busy()
        self._composer.focus_editor()
        self.agents.list_once()
        self.conversation_opened.emit(None)

    def open_conversation(self, conversation_id: int, focus_message: int | None = None) -> None:
        self._open_seq += 1
        self._conversation_id = conversation_id
        self._composer.end_edit()
        self._update_busy()
        self.agents.list_once()
        self.tasks.spawn(
            self._open(conversation_id, self._open_seq, focus_message), "open conversation"
        )

    def ask_new(self, text: str, paths: list[Path]) -> None:
        """Ask ``text`` in a new chat with ``paths`` attached, once they are read."""
        self.new_chat()
        self.tasks.spawn(self.files.ask_new(paths, text), "ask in a new chat")

    def stop(self, conversation_id: int | None = None) -> None:
        cid = self._conversation_id if conversation_id is None else conversation_id
        stream = self._streams.get(cid) if cid is not None else None
        if stream is not None:
            stream.reply.cancel()

    def escape(self) -> None:
        """Esc: stop the reply in this chat, or else leave edit mode."""
        if self.is_streaming():
            self.stop()
        elif self._composer.editing_message_id is not None:
            self._composer.end_edit()

    def close(self) -> None:
        """Stop all work (shutdown); replies must have been stopped already."""
        self._frame.stop()
        self.tasks.close()
        self.files.close()

    def set_context_length(self, tokens: int) -> None:
        self._composer.set_context_length(tokens)

    # ------------------------------------------------------------------ slots
    def _on_composer_send_requested(self, text: str) -> None:
        self.tasks.spawn(self._send(text), "send")

    def _on_composer_edit_submitted(self, message_id: int, text: str) -> None:
        self.tasks.spawn(self._edit_and_resend(message_id, text), "edit and resend")

    def _on_composer_stop_requested(self) -> None:
        self.stop()

    def _on_composer_edit_last_requested(self) -> None:
        for mid in reversed(self._view.message_ids()):
            widget = self._view.widget_for(mid)
            if widget is not None and widget.message.role == "user":
                self._on_view_edit_requested(mid)
                return

    def _on_composer_agent_chosen(self, name: str | None) -> None:
        if self._conversation_id is not None:  # a new chat is bound when its first message is
            self.tasks.spawn(self.agents.bind(self._conversation_id, name), "choose agent")

    def _on_bridge_agents_changed(self, _event: AgentsChanged) -> None:
        self.tasks.spawn(self.agents.list(), "list agents")

    def _on_view_edit_requested(self, message_id: int) -> None:
        widget = self._view.widget_for(message_id)
        if widget is None or self.is_streaming():
            return
        self._composer.begin_edit(message_id, widget.text)

    def _on_view_regenerate_requested(self, _message_id: int) -> None:
        if self._conversation_id is not None and not self.is_streaming():
            self.tasks.spawn(self._regenerate(self._conversation_id), "regenerate")

    def _on_view_delete_requested(self, message_id: int) -> None:
        self.tasks.spawn(self._delete_message(message_id), "delete message")

    def _on_view_earlier_requested(self) -> None:
        if self._conversation_id is not None:
            self.tasks.spawn(self._load_earlier(self._conversation_id), "load earlier")

    def _on_bridge_model_state_changed(self, event: ModelStateChanged) -> None:
        self._model_state = event.state
        pending = "Loading the model…" if event.state == "loading" else "Thinking…"
        for stream in self._streams.values():
            widget = self._view.widget_for(stream.reply.message_id)
            if widget is not None:
                widget.set_pending_text(pending)

    def _on_bridge_conversation_changed(self, event: ConversationChanged) -> None:
        if event.conversation_id == self._conversation_id and event.change == "renamed":
            self.tasks.spawn(self._refresh_title(event.conversation_id), "title")

    def _on_bridge_message_created(self, event: MessageCreated) -> None:
        if event.role == "tool" and event.conversation_id == self._conversation_id:
            self.tasks.spawn(self._show_tool_message(event), "show tool call")

    def _on_frame_timeout(self) -> None:
        started = time.perf_counter()
        changed = False
        for stream in self._streams.values():
            if stream.length != stream.shown and stream.reply.conversation_id == (
                self._conversation_id
            ):
                self._view.set_message_text(stream.reply.message_id, stream.text())
                stream.shown = stream.length
                changed = True
        if not changed:
            self._frame.stop()
            self._frame.setInterval(FRAME_MS)
            return
        # A long reply costs more to lay out: show it less often, so typing stays smooth.
        cost_ms = (time.perf_counter() - started) * 1000
        self._frame.setInterval(int(min(MAX_FRAME_MS, max(FRAME_MS, cost_ms * 4))))

    # ------------------------------------------------------------------ work
    async def _open(self, conversation_id: int, seq: int, focus: int | None) -> None:
        core = await self._core.get()
        repo = core.conversations
        conversation = await repo.get_conversation(conversation_id)
        if seq != self._open_seq:
            return
        if conversation is None:
            self.new_chat()
            raise KeikoError(
                "That chat no longer exists.", "Pick another one, or start a new chat."
            )
        messages = await repo.list_messages(conversation_id, limit=PAGE + 1)
        has_more = len(messages) > PAGE
        messages = messages[-PAGE:]
        while focus is not None and messages and focus < messages[0].id and has_more:
            earlier = await repo.list_messages(
                conversation_id, limit=4 * PAGE + 1, before_id=messages[0].id
            )
            has_more = len(earlier) > 4 * PAGE
            messages = earlier[-4 * PAGE :] + messages
        if seq != self._open_seq:
            return
        self._panel.set_title(conversation.title)
        self._panel.show_empty(not messages)
        self._view.set_messages(messages, has_more)
        stream = self._streams.get(conversation_id)
        if stream is not None:
            stream.shown = 0
            self._frame.start()
        self._update_busy()
        if focus is not None:
            self._view.scroll_to_message(focus)
        self.conversation_opened.emit(conversation_id)
        await self.agents.show_binding(conversation_id)
        await self.files.decorate(conversation_id, messages)

    async def _show_tool_message(self, event: MessageCreated) -> None:
        """A tool call the model just made: its card goes above the reply being written."""
        core = await self._core.get()
        message = await core.conversations.get_message(event.message_id)
        if message is None or event.conversation_id != self._conversation_id:
            return
        stream = self._streams.get(event.conversation_id)
        if stream is not None:
            self._view.insert_before(message, stream.reply.message_id)
        elif message.id not in self._view.message_ids():
            self._view.append_message(message)

    async def _load_earlier(self, conversation_id: int) -> None:
        ids = self._view.message_ids()
        if not ids:
            return
        core = await self._core.get()
        earlier = await core.conversations.list_messages(
            conversation_id, limit=PAGE + 1, before_id=ids[0]
        )
        if conversation_id != self._conversation_id:
            return
        self._view.prepend_messages(earlier[-PAGE:], len(earlier) > PAGE)
        await self.files.decorate(conversation_id, earlier[-PAGE:])

    async def _send(self, text: str) -> None:
        core = await self._core.get()
        self._panel.clear_error()
        conversation_id = self._conversation_id
        agent = self._composer.agent if conversation_id is None else None
        infos = self.files.take_for_send()
        ids = [info.id for info in infos]
        try:
            reply = await core.chat.send(conversation_id, text, attachments=ids)
        except BaseException as exc:
            self.files.give_back(infos)
            if isinstance(exc, KeikoError) and not self._composer.text:
                self._composer.set_text(text)
            raise
        if agent is not None:
            await self.agents.bind_new(core, reply.conversation_id, agent)
        if conversation_id is None and self._conversation_id is None:
            self._conversation_id = reply.conversation_id
            self._open_seq += 1
            self._view.clear()
            self._panel.set_title("New chat")
            self._panel.set_agent(agent)
            self.conversation_opened.emit(reply.conversation_id)
        if reply.conversation_id == self._conversation_id:
            self._panel.show_empty(False)
            self._view.append_message(reply.user_message)
            self.files.show_sent(reply.user_message.id, infos)
            self._show_placeholder(reply)
            self._view.scroll_to_bottom()
        await self._stream(reply)

    async def _regenerate(self, conversation_id: int) -> None:
        core = await self._core.get()
        self._panel.clear_error()
        reply = await core.chat.regenerate(conversation_id)
        if reply.conversation_id == self._conversation_id:
            self._view.remove_after(reply.user_message.id)
            self._show_placeholder(reply)
            self._view.scroll_to_bottom()
        await self._stream(reply)

    async def _edit_and_resend(self, message_id: int, text: str) -> None:
        core = await self._core.get()
        self._panel.clear_error()
        reply = await core.chat.edit_and_resend(message_id, text)
        if reply.conversation_id == self._conversation_id:
            self._view.remove_after(message_id)
            self._view.update_message(reply.user_message)
            self._show_placeholder(reply)
            self._view.scroll_to_bottom()
        await self._stream(reply)

    async def _delete_message(self, message_id: int) -> None:
        core = await self._core.get()
        await core.conversations.delete_message(message_id)
        self._view.remove_message(message_id)

    async def _refresh_title(self, conversation_id: int) -> None:
        core = await self._core.get()
        conversation = await core.conversations.get_conversation(conversation_id)
        if conversation is not None and conversation_id == self._conversation_id:
            self._panel.set_title(conversation.title)

    def _show_placeholder(self, reply: Reply) -> None:
        widget = self._view.append_message(placeholder_for(reply))
        if self._model_state != "ready":
            widget.set_pending_text("Loading the model…")

    async def _stream(self, reply: Reply) -> None:
        stream = Stream(reply)
        self._streams[reply.conversation_id] = stream
        self._update_busy()
        self.reply_started.emit(reply.conversation_id, reply.message_id)
        try:
            async for piece in reply:
                self.reply_piece.emit(reply.message_id, piece)
                stream.pieces.append(piece)
                stream.length += len(piece)
                if not self._frame.isActive():
                    self._frame.start()
            result = await reply.result()
        finally:
            self._streams.pop(reply.conversation_id, None)
            self._update_busy()
        core = await self._core.get()
        stored = await core.conversations.get_message(result.message_id)
        if reply.conversation_id == self._conversation_id:
            if stored is not None:
                self._view.update_message(stored)
                await self.files.show_sources(stored.id)
            else:
                self._view.remove_message(result.message_id)
        self.reply_finished.emit(result.message_id, result.status)

    def _update_busy(self) -> None:
        self._composer.set_busy(self.is_streaming())

    def _show_error(self, error: KeikoError) -> None:
        self._panel.show_error(error.message, error.hint)
