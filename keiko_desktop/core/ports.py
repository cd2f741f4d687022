"""Protocols the adapters implement. The core depends only on these.

A ``ChatModel`` produces a ``Generation``: an async iterator of text pieces (one per token where
the backend streams; a backend that cannot yields its reply as one piece) that can be cancelled
and reports its ``stats`` once it has ended. Capabilities beyond that are ports of their own: a
model that can call tools is a ``ToolCallingModel`` (and says ``supports_tools``); use
``tool_calling(model)`` rather than probing for methods.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from keiko_desktop.core.tools.models import ToolSpec

Role = Literal["system", "user", "assistant", "tool"]
MessageStatus = Literal["streaming", "complete", "interrupted", "error"]
FinishReason = Literal["stop", "length", "cancelled", "error"]


@dataclass(frozen=True)
class ChatMessage:
    """One turn as the model sees it."""

    role: Role
    content: str


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings for one reply."""

    temperature: float = 0.7
    max_tokens: int = 512
    top_p: float = 0.95
    seed: int | None = None
    stop: tuple[str, ...] = ()
    grammar: str | None = None
    """A GBNF grammar the reply must follow (backends that cannot constrain ignore it)."""


@dataclass(frozen=True)
class GenerationStats:
    """What one reply cost. Times are seconds."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    time_to_first_token: float | None = None
    total_time: float = 0.0
    finish_reason: FinishReason = "stop"
    trimmed_messages: int = 0

    @property
    def tokens_per_second(self) -> float | None:
        """Decode speed: tokens after the first over the time after the first token."""
        if self.time_to_first_token is None or self.completion_tokens < 2:
            return None
        decode_time = self.total_time - self.time_to_first_token
        if decode_time <= 0:
            return None
        return (self.completion_tokens - 1) / decode_time


class Generation(Protocol):
    """A reply being produced. Iterate it for text pieces; ``cancel()`` stops it soon."""

    def __aiter__(self) -> AsyncIterator[str]: ...

    def cancel(self) -> None: ...

    @property
    def stats(self) -> GenerationStats: ...


@runtime_checkable
class ChatModel(Protocol):
    """A loaded language model."""

    name: str
    supports_tools: bool
    """True when this model can call tools: it is a ``ToolCallingModel`` and the backend (or the
    endpoint behind it) can do it now."""
    context_length: int

    def generate(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Generation: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ToolCallRequest:
    """A call a model asked for: ``server.tool`` and its arguments (not yet checked)."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ToolTurn:
    """What a model did with tools offered: the calls it asked for, or none (it answers).

    ``text`` is the model's turn as the next turn should see it (llama.cpp: its JSON call).
    ``answer``, when the model chose to answer, is that answer already streaming, to iterate
    (or cancel) like any ``Generation``; None means the caller asks for it with ``generate()``.
    """

    calls: tuple[ToolCallRequest, ...] = ()
    text: str = ""
    answer: Generation | None = None
    stats: GenerationStats | None = None
    """What the turn cost when it was read whole (a call); an ``answer`` has its own stats."""


@runtime_checkable
class ToolCallingModel(ChatModel, Protocol):
    """A model that can call tools (llama.cpp: a reply constrained by a grammar built from the
    tools' schemas; a remote OpenAI-compatible model: native function calling)."""

    async def call_tools(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        params: GenerationParams,
        *,
        require: bool = False,
    ) -> ToolTurn:
        """One turn with ``tools`` offered. ``require``: the model must call one. Tool results
        come back in ``messages`` as ``tool`` messages, each a
        ``<tool_result tool="server.tool">…</tool_result>`` block (``core.tools.untrusted_text``).
        """
        ...


def tool_calling(model: ChatModel) -> ToolCallingModel | None:
    """``model`` as a ``ToolCallingModel`` when it can call tools now, else None."""
    if isinstance(model, ToolCallingModel) and model.supports_tools:
        return model
    return None


DEFAULT_BACKEND = "llama.cpp"


@dataclass(frozen=True)
class ModelInfo:
    """A model a provider knows: the bundled default, a file the user added, or a model a
    backend offers by id (``ollama/llama3``). ``backend`` names what loads it."""

    name: str
    path: str
    """The GGUF file (llama.cpp), or the backend's own id for the model."""
    size_bytes: int
    bundled: bool = False
    description: str = ""
    backend: str = DEFAULT_BACKEND


class ModelProvider(Protocol):
    """Finds, adds and loads models."""

    def list_models(self) -> list[ModelInfo]: ...

    def default_model(self) -> ModelInfo: ...

    def resolve(self, name_or_path: str) -> ModelInfo:
        """A model by name, id (``ollama/llama3``) or file path; empty means the default.
        ModelLoadError if unknown."""
        ...

    def add_model(self, path: str) -> ModelInfo:
        """Check the model file at ``path`` and remember it (for this run; the caller saves
        ``Settings.extra_models``). Adding a known file returns its entry. ModelLoadError if
        it is not a usable model."""
        ...

    async def load(self, info: ModelInfo) -> ChatModel: ...


class Store(Protocol):
    """The open database the repositories live in; the Core closes it last."""

    @property
    def closed(self) -> bool: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class Conversation:
    """A chat, as stored."""

    id: int
    title: str
    created_at: datetime
    updated_at: datetime
    pinned: bool = False
    message_count: int = 0


@dataclass(frozen=True)
class StoredMessage:
    """A message, as stored."""

    id: int
    conversation_id: int
    role: Role
    content: str
    status: MessageStatus
    created_at: datetime
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    time_to_first_token: float | None = None
    tokens_per_second: float | None = None
    duration: float | None = None
    parent_id: int | None = None
    error: str | None = None
    note: str | None = None
    """For the reader, not the model: e.g. which fallback model answered, and why."""


@dataclass(frozen=True)
class SearchHit:
    """A message that matched a full-text search; ``snippet`` marks hits with [ and ]."""

    conversation_id: int
    conversation_title: str
    message_id: int
    role: Role
    snippet: str


@dataclass(frozen=True)
class MessageUpdate:
    """Fields to change on a stored message; None leaves a field as it is."""

    content: str | None = None
    status: MessageStatus | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    time_to_first_token: float | None = None
    tokens_per_second: float | None = None
    duration: float | None = None
    error: str | None = None
    note: str | None = None


class ConversationRepository(Protocol):
    """Conversations and their messages. Every method runs off the event loop."""

    async def create_conversation(self, title: str = "") -> Conversation: ...

    async def get_conversation(self, conversation_id: int) -> Conversation | None: ...

    async def list_conversations(self, limit: int = 200) -> list[Conversation]: ...

    async def rename_conversation(self, conversation_id: int, title: str) -> None: ...

    async def set_pinned(self, conversation_id: int, pinned: bool) -> None: ...

    async def delete_conversation(self, conversation_id: int) -> None: ...

    async def discard_if_empty(self, conversation_id: int) -> bool: ...

    async def restore_conversation(self, conversation_id: int) -> None: ...

    async def purge_deleted(self, older_than_seconds: float = 0.0) -> int: ...

    async def add_message(
        self,
        conversation_id: int,
        role: Role,
        content: str,
        status: MessageStatus = "complete",
        model: str | None = None,
        parent_id: int | None = None,
    ) -> StoredMessage:
        """Store a message; a ``streaming`` one is owned by this writer until its status changes."""
        ...

    async def update_message(self, message_id: int, update: MessageUpdate) -> None:
        """Change the fields that are not None; a status other than ``streaming`` ends ownership."""
        ...

    async def get_message(self, message_id: int) -> StoredMessage | None: ...

    async def delete_message(self, message_id: int) -> None: ...

    async def list_messages(
        self, conversation_id: int, limit: int | None = None, before_id: int | None = None
    ) -> list[StoredMessage]: ...

    async def count_messages(self, conversation_id: int) -> int: ...

    async def mark_streaming_interrupted(self) -> int:
        """Mark ``streaming`` replies whose writer is gone as ``interrupted``; return how many.

        Replies a live writer (this process or another) is still streaming are left alone.
        """
        ...

    async def search(self, text: str, limit: int = 50) -> list[SearchHit]: ...


class CpuBackends(Protocol):
    """llama.cpp's CPU configurations: what this build offers and which one is in use."""

    def choices(self) -> tuple[str, ...]:
        """Every configuration id this build offers (``zen4``, ``zen4:no-repack``, …)."""
        ...

    def describe(self) -> str:
        """The configuration in use and how it was chosen, for a person."""
        ...
