"""Protocols the adapters implement. The core depends only on these.

A ``ChatModel`` declares what it can do as attributes (``can_stream``, ``supports_tools``,
``context_length``) and produces a ``Generation``: an async iterator of text pieces that can be
cancelled and reports its ``stats`` once it has ended.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

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
    can_stream: bool
    supports_tools: bool
    context_length: int

    def generate(self, messages: Sequence[ChatMessage], params: GenerationParams) -> Generation: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class ModelInfo:
    """A model the registry knows: the bundled default, or a file the user added."""

    name: str
    path: str
    size_bytes: int
    bundled: bool = False
    description: str = ""


class ModelProvider(Protocol):
    """Finds and loads models."""

    def list_models(self) -> list[ModelInfo]: ...

    def default_model(self) -> ModelInfo: ...

    def resolve(self, name_or_path: str) -> ModelInfo:
        """A model by name or path; empty means the default. ModelLoadError if unknown."""
        ...

    async def load(self, info: ModelInfo) -> ChatModel: ...


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


class ConversationRepository(Protocol):
    """Conversations and their messages. Every method runs off the event loop."""

    async def create_conversation(self, title: str = "") -> Conversation: ...

    async def get_conversation(self, conversation_id: int) -> Conversation | None: ...

    async def list_conversations(self, limit: int = 200) -> list[Conversation]: ...

    async def rename_conversation(self, conversation_id: int, title: str) -> None: ...

    async def set_pinned(self, conversation_id: int, pinned: bool) -> None: ...

    async def delete_conversation(self, conversation_id: int) -> None: ...

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
    ) -> StoredMessage: ...

    async def update_message(self, message_id: int, update: MessageUpdate) -> None: ...

    async def get_message(self, message_id: int) -> StoredMessage | None: ...

    async def delete_message(self, message_id: int) -> None: ...

    async def list_messages(
        self, conversation_id: int, limit: int | None = None, before_id: int | None = None
    ) -> list[StoredMessage]: ...

    async def count_messages(self, conversation_id: int) -> int: ...

    async def mark_streaming_interrupted(self) -> int: ...

    async def search(self, text: str, limit: int = 50) -> list[SearchHit]: ...
