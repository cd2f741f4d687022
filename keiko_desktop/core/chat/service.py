"""ChatService: send a message, stream the reply, and never lose either.

The user message is written before generation starts. The reply is written as ``streaming``,
updated at least every ``flush_interval`` seconds while it grows, and marked ``complete``,
``interrupted`` or ``error`` at the end, so a crash loses at most the last moments of a reply.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.titles import make_title
from keiko_desktop.core.config import Settings
from keiko_desktop.core.errors import EmptyPromptError, KeikoError
from keiko_desktop.core.events import (
    ConversationChanged,
    EventBus,
    MessageCompleted,
    MessageCreated,
)
from keiko_desktop.core.ports import (
    ChatMessage,
    ChatModel,
    ConversationRepository,
    GenerationParams,
    GenerationStats,
    MessageStatus,
    MessageUpdate,
    StoredMessage,
)

log = logging.getLogger(__name__)

_END = object()


@dataclass(frozen=True)
class ReplyResult:
    """How a reply ended."""

    message_id: int
    text: str
    status: MessageStatus
    model: str
    stats: GenerationStats
    error: str | None = None


class Reply:
    """A reply in progress. Iterate it for text pieces; ``cancel()`` stops it."""

    def __init__(self, conversation_id: int, user_message: StoredMessage, message_id: int) -> None:
        self.conversation_id = conversation_id
        self.user_message = user_message
        self.message_id = message_id
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._cancel_requested = asyncio.Event()
        self._task: asyncio.Task[ReplyResult] | None = None

    def cancel(self) -> None:
        self._cancel_requested.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested.is_set()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        while True:
            item = await self._queue.get()
            if item is _END:
                return
            yield item  # type: ignore[misc]

    async def result(self) -> ReplyResult:
        """Wait for the reply to end; never raises for model errors (see ``status``)."""
        assert self._task is not None
        return await asyncio.shield(self._task)


class ChatService:
    """Conversations with the current model."""

    def __init__(
        self,
        repo: ConversationRepository,
        models: ModelManager,
        bus: EventBus,
        settings: Callable[[], Settings],
        flush_interval: float = 0.5,
    ) -> None:
        self.repo = repo
        self.models = models
        self._bus = bus
        self._settings = settings
        self.flush_interval = flush_interval
        self._active: dict[int, Reply] = {}

    # ----------------------------------------------------------------- queries
    def active_reply(self, conversation_id: int) -> Reply | None:
        return self._active.get(conversation_id)

    async def recover(self) -> int:
        """Mark replies left ``streaming`` by a crash as ``interrupted``. Run at start-up."""
        return await self.repo.mark_streaming_interrupted()

    # ----------------------------------------------------------------- commands
    async def send(self, conversation_id: int | None, text: str) -> Reply:
        """Store ``text`` as the user's message and start the reply to it."""
        if not text.strip():
            raise EmptyPromptError("The message is empty.", "Type something to send.")
        if conversation_id is None:
            conversation = await self.repo.create_conversation("")
            conversation_id = conversation.id
            self._bus.publish(ConversationChanged(conversation_id, "created"))
        user = await self.repo.add_message(conversation_id, "user", text)
        self._bus.publish(MessageCreated(conversation_id, user.id, "user"))
        return await self._start_reply(conversation_id, user)

    async def regenerate(self, conversation_id: int) -> Reply:
        """Replace the last reply (complete, interrupted or failed) with a new one."""
        messages = await self.repo.list_messages(conversation_id)
        while messages and messages[-1].role == "assistant":
            await self.repo.delete_message(messages.pop().id)
        if not messages or messages[-1].role != "user":
            raise KeikoError("There is no message to reply to.", "Send a message first.")
        return await self._start_reply(conversation_id, messages[-1])

    async def edit_and_resend(self, message_id: int, text: str) -> Reply:
        """Change a user message, drop everything after it, and reply again."""
        if not text.strip():
            raise EmptyPromptError("The message is empty.", "Type something to send.")
        original = await self.repo.get_message(message_id)
        if original is None or original.role != "user":
            raise KeikoError("That message cannot be edited.", "Only your own messages can.")
        for later in await self.repo.list_messages(original.conversation_id):
            if later.id > message_id:
                await self.repo.delete_message(later.id)
        await self.repo.update_message(message_id, MessageUpdate(content=text))
        edited = await self.repo.get_message(message_id)
        assert edited is not None
        return await self._start_reply(original.conversation_id, edited)

    async def stop_all(self) -> None:
        """Cancel every reply in progress and wait for each to be stored."""
        replies = list(self._active.values())
        for reply in replies:
            reply.cancel()
        for reply in replies:
            await reply.result()

    # ----------------------------------------------------------------- internals
    async def _start_reply(self, conversation_id: int, user: StoredMessage) -> Reply:
        if conversation_id in self._active:
            raise KeikoError(
                "A reply is still being written in this chat.", "Stop it first, or wait."
            )
        placeholder = await self.repo.add_message(
            conversation_id, "assistant", "", status="streaming", parent_id=user.id
        )
        self._bus.publish(MessageCreated(conversation_id, placeholder.id, "assistant"))
        reply = Reply(conversation_id, user, placeholder.id)
        self._active[conversation_id] = reply
        reply._task = asyncio.get_running_loop().create_task(self._run(reply))
        return reply

    async def _history(self, conversation_id: int, upto_id: int) -> list[ChatMessage]:
        settings = self._settings()
        history: list[ChatMessage] = []
        if settings.system_prompt.strip():
            history.append(ChatMessage("system", settings.system_prompt))
        for m in await self.repo.list_messages(conversation_id):
            if m.id > upto_id:
                break
            if m.status == "error" or (m.role == "assistant" and not m.content):
                continue
            if m.role in ("user", "assistant", "system"):
                history.append(ChatMessage(m.role, m.content))
        return history

    async def _run(self, reply: Reply) -> ReplyResult:
        pieces: list[str] = []
        stats = GenerationStats()
        status: MessageStatus = "complete"
        error: str | None = None
        model_name = ""
        try:
            status, stats, model_name = await self._generate(reply, pieces)
        except asyncio.CancelledError:
            status = "interrupted"
        except KeikoError as exc:
            status, error = "error", str(exc)
        except Exception as exc:
            log.exception("reply %s failed", reply.message_id)
            status, error = "error", f"The model failed: {exc}"
        finally:
            reply._queue.put_nowait(_END)
            self._active.pop(reply.conversation_id, None)
        text = "".join(pieces)
        tps = stats.tokens_per_second
        update = MessageUpdate(
            content=text,
            status=status,
            model=model_name or None,
            prompt_tokens=stats.prompt_tokens,
            completion_tokens=stats.completion_tokens,
            time_to_first_token=stats.time_to_first_token,
            tokens_per_second=tps,
            duration=stats.total_time,
            error=error,
        )
        try:
            await self.repo.update_message(reply.message_id, update)
        except KeikoError as exc:
            log.error("could not store reply %s: %s", reply.message_id, exc)
            status, error = "error", str(exc)
        self._bus.publish(MessageCompleted(reply.conversation_id, reply.message_id, status))
        if status == "complete":
            await self._maybe_title(reply.conversation_id, reply.user_message.content, text)
        return ReplyResult(reply.message_id, text, status, model_name, stats, error)

    async def _generate(
        self, reply: Reply, pieces: list[str]
    ) -> tuple[MessageStatus, GenerationStats, str]:
        model = await self._wait_for_model(reply)
        if model is None:
            return "interrupted", GenerationStats(finish_reason="cancelled"), ""
        await self.repo.update_message(reply.message_id, MessageUpdate(model=model.name))
        settings = self._settings()
        params = GenerationParams(temperature=settings.temperature, max_tokens=settings.max_tokens)
        history = await self._history(reply.conversation_id, reply.user_message.id)
        generation = model.generate(history, params)
        watcher = asyncio.ensure_future(reply._cancel_requested.wait())
        watcher.add_done_callback(lambda _f: generation.cancel())
        last_flush = time.monotonic()
        flushed = 0
        try:
            async for piece in generation:
                pieces.append(piece)
                reply._queue.put_nowait(piece)
                now = time.monotonic()
                if now - last_flush >= self.flush_interval and len(pieces) != flushed:
                    last_flush, flushed = now, len(pieces)
                    await self.repo.update_message(
                        reply.message_id, MessageUpdate(content="".join(pieces))
                    )
        finally:
            watcher.cancel()
        stats = generation.stats
        status: MessageStatus = "interrupted" if stats.finish_reason == "cancelled" else "complete"
        return status, stats, model.name

    async def _wait_for_model(self, reply: Reply) -> ChatModel | None:
        """The model, or None if the user stopped the reply while it was still loading."""
        getter = asyncio.ensure_future(self.models.get())
        stopper = asyncio.ensure_future(reply._cancel_requested.wait())
        done, _ = await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if getter in done:
            stopper.cancel()
            return getter.result()
        getter.cancel()
        return None

    async def _maybe_title(self, conversation_id: int, user_text: str, reply_text: str) -> None:
        conversation = await self.repo.get_conversation(conversation_id)
        if conversation is not None and not conversation.title:
            await self.repo.rename_conversation(conversation_id, make_title(user_text, reply_text))
            self._bus.publish(ConversationChanged(conversation_id, "renamed"))
