"""ChatService: send a message, stream the reply, and never lose either.

The user message is written before generation starts. The reply is written as ``streaming``,
updated at least every ``flush_interval`` seconds while it grows, and marked ``complete``,
``interrupted`` or ``error`` at the end, so a crash loses at most the last moments of a reply.

With tools (``set_tools``), a model that can call them (``ports.tool_calling``) and the
``tools_in_chat`` setting on, a reply runs the ``ToolLoop`` first: each call the model makes is
stored as a ``tool`` message (JSON, see ``tool_message_content``) between the user's message and
the reply. Then the answer streams into the reply like a plain one (the same ``_stream``), piece
by piece, with its token counts; its times count from the start of the reply, tool calls
included.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from keiko_desktop.core.chat.fallback import answer_with_fallbacks, fallback_chain
from keiko_desktop.core.chat.messages import check_prompt, tool_message_content
from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.titles import make_title
from keiko_desktop.core.config import Settings
from keiko_desktop.core.errors import KeikoError, ReplyInterruptedError
from keiko_desktop.core.events import (
    ConversationChanged,
    EventBus,
    MessageCompleted,
    MessageCreated,
)
from keiko_desktop.core.pieces import PieceQueue
from keiko_desktop.core.ports import (
    ChatMessage,
    ChatModel,
    ConversationRepository,
    Generation,
    GenerationParams,
    GenerationStats,
    MessageStatus,
    MessageUpdate,
    StoredMessage,
    ToolCallingModel,
    tool_calling,
)

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

    from keiko_desktop.core.agents.profiles import AgentProfile
    from keiko_desktop.core.agents.runner import ToolStep
    from keiko_desktop.core.files.service import AttachmentService
    from keiko_desktop.core.tools.service import ToolService

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReplyResult:
    """How a reply ended."""

    message_id: int
    text: str
    status: MessageStatus
    model: str
    stats: GenerationStats
    error: str | None = None
    note: str | None = None
    """Which fallback model answered, and why (``core/chat/fallback.py``)."""


class Reply:
    """A reply in progress. Iterate it for text pieces; ``cancel()`` stops it."""

    def __init__(self, conversation_id: int, user_message: StoredMessage, message_id: int) -> None:
        self.conversation_id = conversation_id
        self.user_message = user_message
        self.message_id = message_id
        self._pieces = PieceQueue()
        self._cancel_requested = asyncio.Event()
        self._task: asyncio.Task[ReplyResult] | None = None
        self._first_piece_at: float | None = None  # perf_counter time the first text came
        self.note: str | None = None

    def cancel(self) -> None:
        self._cancel_requested.set()

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested.is_set()

    def __aiter__(self) -> AsyncIterator[str]:
        return aiter(self._pieces)

    async def result(self) -> ReplyResult:
        """Wait for the reply to end; never raises for model errors (see ``status``)."""
        assert self._task is not None
        return await asyncio.shield(self._task)


class AgentSource(Protocol):
    """What chat needs of the agents (``AgentService``): a conversation's agent, and its model."""

    async def conversation_agent(self, conversation_id: int) -> AgentProfile | None: ...

    def lease(self, model: str) -> AbstractAsyncContextManager[ChatModel]: ...

    async def tools(self) -> ToolService | None:
        """The tool service, started if need be (for an agent with tools)."""
        ...


class ChatService:
    """Conversations with the current model, or with the agent a conversation is bound to."""

    def __init__(
        self,
        repo: ConversationRepository,
        models: ModelManager,
        bus: EventBus,
        settings: Callable[[], Settings],
        flush_interval: float = 0.5,
        *,
        tools: ToolService | None = None,
        require_tool_first: bool = False,
    ) -> None:
        self.repo = repo
        self.models = models
        self._bus = bus
        self._settings = settings
        self.flush_interval = flush_interval
        self._active: dict[int, Reply] = {}
        self.tools = tools
        self.require_tool_first = require_tool_first
        """Make the first reply of a tool turn a call (for agents that must look something up,
        and for tests with a model too small to choose)."""
        self.agents: AgentSource | None = None
        self.files: AttachmentService | None = None

    def set_agents(self, agents: AgentSource | None) -> None:
        """Answer in conversations bound to an agent as that agent (its prompt, model, tools)."""
        self.agents = agents

    def set_files(self, files: AttachmentService | None) -> None:
        """Attachments: linked to the messages they are sent with, passages put into turns."""
        self.files = files

    def set_tools(self, tools: ToolService | None) -> None:
        """Offer ``tools`` to models that can call them (the tool system starts after the core)."""
        self.tools = tools

    # ----------------------------------------------------------------- queries
    def active_reply(self, conversation_id: int) -> Reply | None:
        return self._active.get(conversation_id)

    async def recover(self) -> int:
        """Mark replies left ``streaming`` by a writer that died as ``interrupted``.

        Run at start-up. Replies another live process (``keiko ask``, a second window) is still
        writing are left alone; each call checks again, so one left by a crash since is caught.
        """
        return await self.repo.mark_streaming_interrupted()

    # ----------------------------------------------------------------- commands
    async def send(
        self, conversation_id: int | None, text: str, attachments: Sequence[int] = ()
    ) -> Reply:
        """Store ``text`` as the user's message, with ``attachments`` (ids from
        ``files.ingest``) linked to it, and start the reply to it.

        With no ``conversation_id`` a new conversation is made for it; when the message cannot
        be stored (disk full, database locked, an attachment gone) it and that conversation
        are deleted again, so a failed send never leaves an empty "Untitled" chat behind.
        """
        check_prompt(text)
        if attachments and self.files is None:
            raise KeikoError("Files cannot be attached here.", "Send the message without them.")
        if conversation_id is not None:
            user = await self._add_user(conversation_id, text, attachments)
        else:
            conversation = await self.repo.create_conversation("")
            try:
                user = await self._add_user(conversation.id, text, attachments)
            except BaseException:
                await self._discard(conversation.id)
                raise
            conversation_id = conversation.id
            self._bus.publish(ConversationChanged(conversation_id, "created"))
        self._bus.publish(MessageCreated(conversation_id, user.id, "user"))
        return await self._start_reply(conversation_id, user)

    async def _add_user(
        self, conversation_id: int, text: str, attachments: Sequence[int]
    ) -> StoredMessage:
        user = await self.repo.add_message(conversation_id, "user", text)
        if attachments and self.files is not None:
            try:
                await self.files.link(user.id, attachments)
            except BaseException:
                with contextlib.suppress(Exception):
                    await asyncio.shield(self.repo.delete_message(user.id))
                raise
        return user

    async def _discard(self, conversation_id: int) -> None:
        """Delete a conversation made for a message that could not be stored (best effort:
        the store is failing, so this may fail too)."""
        try:
            await asyncio.shield(self.repo.discard_if_empty(conversation_id))
        except Exception as exc:  # noqa: BLE001 - the first failure is the one to report
            log.warning("could not delete the empty conversation %s: %s", conversation_id, exc)

    async def regenerate(self, conversation_id: int) -> Reply:
        """Replace the last reply (complete, interrupted or failed) with a new one."""
        messages = await self.repo.list_messages(conversation_id)
        while messages and messages[-1].role in ("assistant", "tool"):
            await self.repo.delete_message(messages.pop().id)
        if not messages or messages[-1].role != "user":
            raise KeikoError("There is no message to reply to.", "Send a message first.")
        return await self._start_reply(conversation_id, messages[-1])

    async def edit_and_resend(self, message_id: int, text: str) -> Reply:
        """Change a user message, drop everything after it, and reply again."""
        check_prompt(text)
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

    async def _history(
        self, conversation_id: int, upto_id: int, agent: AgentProfile | None = None
    ) -> list[ChatMessage]:
        settings = self._settings()
        history: list[ChatMessage] = []
        system_prompt = agent.system_prompt if agent is not None else settings.system_prompt
        if system_prompt.strip():
            history.append(ChatMessage("system", system_prompt))
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
        except ReplyInterruptedError as exc:  # a stream cut mid-reply: keep what came
            status, error = "interrupted", str(exc)
        except KeikoError as exc:
            status, error = "error", str(exc)
        except Exception as exc:
            log.exception("reply %s failed", reply.message_id)
            status, error = "error", f"The model failed: {exc}"
        finally:
            reply._pieces.end()
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
            note=reply.note,
        )
        try:
            await self.repo.update_message(reply.message_id, update)
        except KeikoError as exc:
            log.error("could not store reply %s: %s", reply.message_id, exc)
            status, error = "error", str(exc)
        self._bus.publish(MessageCompleted(reply.conversation_id, reply.message_id, status))
        if status == "complete":
            await self._maybe_title(reply.conversation_id, reply.user_message.content, text)
        return ReplyResult(reply.message_id, text, status, model_name, stats, error, reply.note)

    async def _generate(
        self, reply: Reply, pieces: list[str]
    ) -> tuple[MessageStatus, GenerationStats, str]:
        agent = None
        if self.agents is not None:
            agent = await self.agents.conversation_agent(reply.conversation_id)

        async def primary() -> tuple[MessageStatus, GenerationStats, str]:
            if agent is not None and agent.model:
                async with self.agents.lease(agent.model) as model:  # type: ignore[union-attr]
                    return await self._generate_with(reply, pieces, model, agent)
            model = await self._wait_for_model(reply)
            if model is None:
                return "interrupted", GenerationStats(finish_reason="cancelled"), ""
            return await self._generate_with(reply, pieces, model, agent)

        async def fallback(model: ChatModel) -> tuple[MessageStatus, GenerationStats, str]:
            return await self._generate_with(reply, pieces, model, agent)

        def primary_name() -> str:
            if agent is not None and agent.model:
                return agent.model
            info = self.models.info
            return info.name if info is not None else "the model"

        result, reply.note = await answer_with_fallbacks(
            primary,
            primary_name,
            fallback_chain(self._settings(), agent),
            fallback,
            started=lambda: bool(pieces),
            lease=self.agents.lease if self.agents is not None else None,
            provider=self.models.provider,
        )
        return result

    async def _generate_with(
        self, reply: Reply, pieces: list[str], model: ChatModel, agent: AgentProfile | None
    ) -> tuple[MessageStatus, GenerationStats, str]:
        await self.repo.update_message(reply.message_id, MessageUpdate(model=model.name))
        settings = self._settings()
        params = GenerationParams(temperature=settings.temperature, max_tokens=settings.max_tokens)
        if agent is not None:
            params = GenerationParams(temperature=agent.temperature, max_tokens=agent.max_tokens)
        history = await self._history(reply.conversation_id, reply.user_message.id, agent)
        if self.files is not None:  # the newest turn carries passages of attached files
            history = await self.files.prepare_turn(
                history,
                reply.conversation_id,
                reply.user_message.id,
                reply.message_id,
                model,
                params.max_tokens,
            )
        if agent is not None and agent.tools and self.tools is None and self.agents is not None:
            self.tools = await self.agents.tools()  # the agent's tools start with its first turn
        tool_model = self._tool_model(model, settings, agent)
        if tool_model is not None:
            return await self._generate_with_tools(
                reply, pieces, tool_model, history, settings, params, agent
            )
        return await self._stream(reply, pieces, model, history, params)

    async def _stream(
        self,
        reply: Reply,
        pieces: list[str],
        model: ChatModel,
        history: list[ChatMessage],
        params: GenerationParams,
        generation: Generation | None = None,
    ) -> tuple[MessageStatus, GenerationStats, str]:
        """Stream the model's reply to ``history`` (or ``generation``, one already begun) into
        ``pieces`` (and the store, now and then)."""
        if generation is None:
            generation = model.generate(history, params)
        watcher = asyncio.ensure_future(reply._cancel_requested.wait())
        watcher.add_done_callback(lambda _f: generation.cancel())
        last_flush = time.monotonic()
        flushed = 0
        try:
            async for piece in generation:
                if reply._first_piece_at is None:
                    reply._first_piece_at = time.perf_counter()
                pieces.append(piece)
                reply._pieces.push(piece)
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

    # ----------------------------------------------------------------- tools
    def _tool_model(
        self, model: ChatModel, settings: Settings, agent: AgentProfile | None = None
    ) -> ToolCallingModel | None:
        """The model, when this reply may use tools: allowed (the setting, or an agent with
        tools), possible, and some are ready."""
        wanted = settings.tools_in_chat or (agent is not None and bool(agent.tools))
        if not wanted or self.tools is None or not self.tools.tools():
            return None
        return tool_calling(model)

    async def _generate_with_tools(
        self,
        reply: Reply,
        pieces: list[str],
        model: ToolCallingModel,
        history: list[ChatMessage],
        settings: Settings,
        params: GenerationParams,
        agent: AgentProfile | None = None,
    ) -> tuple[MessageStatus, GenerationStats, str]:
        """Run the agent runner's tool phase (each call stored as a ``tool`` message), then
        stream the answer."""
        from keiko_desktop.core.agents.runner import AgentRunner

        tools = self.tools
        assert tools is not None
        started = time.perf_counter()
        loop = AgentRunner(
            model,
            tools,
            profile=agent,
            max_steps=agent.max_steps if agent is not None else settings.tool_max_steps,
            max_tokens=params.max_tokens,
            require_tool_first=self.require_tool_first,
            order=settings.agent_middleware,
            conversation_id=reply.conversation_id,
        )

        async def store_step(step: ToolStep) -> None:
            content = tool_message_content(step, tools.redactor.redact(step.arguments))
            stored = await self.repo.add_message(
                reply.conversation_id, "tool", content, parent_id=reply.user_message.id
            )
            self._bus.publish(MessageCreated(reply.conversation_id, stored.id, "tool"))

        run = asyncio.ensure_future(loop.run(history, tools.tools(), on_step=store_step))
        stopper = asyncio.ensure_future(reply._cancel_requested.wait())
        try:
            await asyncio.wait({run, stopper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopper.cancel()
            if not run.done():  # stopped: end the model's reply or the approval wait first
                run.cancel()
                await asyncio.wait({run})
        if run.cancelled():
            elapsed = time.perf_counter() - started
            stats = GenerationStats(finish_reason="cancelled", total_time=elapsed)
            return "interrupted", stats, model.name
        outcome = run.result()
        status, stats, name = await self._stream(
            reply, pieces, model, outcome.messages, params, loop.answer(outcome, params)
        )
        if status == "complete" and outcome.answer is not None and not "".join(pieces).strip():
            # The model chose to answer and said nothing: write an answer freely.
            pieces.clear()
            status, stats, name = await self._stream(reply, pieces, model, outcome.messages, params)
        first = reply._first_piece_at
        stats = replace(
            stats,
            time_to_first_token=None if first is None else first - started,
            total_time=time.perf_counter() - started,
        )
        return status, stats, name

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
