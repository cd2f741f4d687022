"""A reply being streamed into the chat: its pieces so far, and the placeholder it starts as."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from keiko_desktop.core.chat.service import Reply
from keiko_desktop.core.ports import StoredMessage


@dataclass
class Stream:
    """A reply being shown: the text so far and how much of it is on screen."""

    reply: Reply
    pieces: list[str] = field(default_factory=list)
    length: int = 0
    shown: int = 0

    def text(self) -> str:
        return "".join(self.pieces)


def placeholder_for(reply: Reply) -> StoredMessage:
    """The empty, streaming assistant message shown until the reply's text comes."""
    return StoredMessage(
        id=reply.message_id,
        conversation_id=reply.conversation_id,
        role="assistant",
        content="",
        status="streaming",
        created_at=datetime.now(),
        parent_id=reply.user_message.id,
    )
