"""``SqliteConversationRepository``: the ``ConversationRepository`` port over SQLite.

Every method runs on the database's worker thread. Conversations are soft-deleted (undoable with
``restore_conversation``) until ``purge_deleted`` removes them for good.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast, get_args

from sqlalchemy import Row, delete, func, insert, select
from sqlalchemy import update as sql_update
from sqlalchemy.orm import Session

from keiko_desktop.core.errors import StoreError
from keiko_desktop.core.ports import (
    Conversation,
    MessageStatus,
    MessageUpdate,
    Role,
    SearchHit,
    StoredMessage,
)
from keiko_desktop.store.owners import NO_OWNER, mark_orphans, orphaned_rows, owner_values
from keiko_desktop.store.search import search_messages
from keiko_desktop.store.sql import rowcount
from keiko_desktop.store.tables import conversations, messages, utcnow

if TYPE_CHECKING:
    from keiko_desktop.store.database import Database

_ROLES = frozenset(get_args(Role))
_STATUSES = frozenset(get_args(MessageStatus))
# MessageUpdate fields stored in a column of the same name.
_UPDATABLE = (
    "content",
    "status",
    "model",
    "prompt_tokens",
    "completion_tokens",
    "time_to_first_token",
    "tokens_per_second",
    "duration",
    "error",
    "note",
)

_message_count = (
    select(func.count(messages.c.id))
    .where(messages.c.conversation_id == conversations.c.id)
    .correlate(conversations)
    .scalar_subquery()
    .label("message_count")
)
_conversation_columns = (
    conversations.c.id,
    conversations.c.title,
    conversations.c.created_at,
    conversations.c.updated_at,
    conversations.c.pinned,
    _message_count,
)


def _conversation(row: Row[*tuple[Any, ...]]) -> Conversation:
    return Conversation(
        id=row.id,
        title=row.title,
        created_at=row.created_at,
        updated_at=row.updated_at,
        pinned=bool(row.pinned),
        message_count=row.message_count,
    )


def _message(row: Row[*tuple[Any, ...]]) -> StoredMessage:
    return StoredMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        role=cast(Role, row.role),
        content=row.content,
        status=cast(MessageStatus, row.status),
        created_at=row.created_at,
        model=row.model,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        time_to_first_token=row.time_to_first_token,
        tokens_per_second=row.tokens_per_second,
        duration=row.duration,
        parent_id=row.parent_id,
        error=row.error,
        note=row.note,
    )


def _check_status(status: str) -> None:
    if status not in _STATUSES:
        raise ValueError(f"message status must be one of {sorted(_STATUSES)}, not {status!r}")


def _get_conversation(session: Session, conversation_id: int) -> Conversation | None:
    row = session.execute(
        select(*_conversation_columns).where(
            conversations.c.id == conversation_id, conversations.c.deleted_at.is_(None)
        )
    ).first()
    return None if row is None else _conversation(row)


def _get_message(session: Session, message_id: int) -> StoredMessage | None:
    row = session.execute(select(messages).where(messages.c.id == message_id)).first()
    return None if row is None else _message(row)


class SqliteConversationRepository:
    """Conversations and messages in the Keiko database (implements ``ConversationRepository``)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    @property
    def database(self) -> Database:
        return self._db

    # ------------------------------------------------------------------ conversations

    async def create_conversation(self, title: str = "") -> Conversation:
        def run(session: Session) -> Conversation:
            now = utcnow()
            new_id = session.execute(
                insert(conversations)
                .values(title=title, created_at=now, updated_at=now, pinned=False)
                .returning(conversations.c.id)
            ).scalar_one()
            created = _get_conversation(session, new_id)
            assert created is not None
            return created

        return await self._db.write(run)

    async def get_conversation(self, conversation_id: int) -> Conversation | None:
        """The conversation, or None if there is none or it is deleted."""
        return await self._db.read(lambda s: _get_conversation(s, conversation_id))

    async def list_conversations(self, limit: int = 200) -> list[Conversation]:
        """Conversations not deleted: pinned first, then the most recently active."""

        def run(session: Session) -> list[Conversation]:
            rows = session.execute(
                select(*_conversation_columns)
                .where(conversations.c.deleted_at.is_(None))
                .order_by(
                    conversations.c.pinned.desc(),
                    conversations.c.updated_at.desc(),
                    conversations.c.id.desc(),
                )
                .limit(max(0, limit))
            )
            return [_conversation(row) for row in rows]

        return await self._db.read(run)

    async def rename_conversation(self, conversation_id: int, title: str) -> None:
        await self._set_conversation(conversation_id, title=title)

    async def set_pinned(self, conversation_id: int, pinned: bool) -> None:
        await self._set_conversation(conversation_id, pinned=bool(pinned))

    async def delete_conversation(self, conversation_id: int) -> None:
        """Hide the conversation (undo with ``restore_conversation``); a no-op if already gone."""

        def run(session: Session) -> None:
            session.execute(
                sql_update(conversations)
                .where(conversations.c.id == conversation_id, conversations.c.deleted_at.is_(None))
                .values(deleted_at=utcnow())
            )

        await self._db.write(run)

    async def discard_if_empty(self, conversation_id: int) -> bool:
        """Delete the conversation for good if it holds no message (one made for a message
        that could not be stored); True when it went."""

        def run(session: Session) -> int:
            has_messages = (
                select(messages.c.id).where(messages.c.conversation_id == conversation_id).exists()
            )
            result = session.execute(
                delete(conversations).where(conversations.c.id == conversation_id, ~has_messages)
            )
            return rowcount(result)

        return bool(await self._db.write(run))

    async def restore_conversation(self, conversation_id: int) -> None:
        """Undo ``delete_conversation``, unless the conversation has been purged."""
        await self._set_conversation(conversation_id, deleted_at=None)

    async def purge_deleted(self, older_than_seconds: float = 0.0) -> int:
        """Really delete conversations deleted at least ``older_than_seconds`` ago.

        Their messages go with them (and out of the search index). Returns how many went.
        """

        def run(session: Session) -> int:
            cutoff = utcnow() - timedelta(seconds=max(0.0, older_than_seconds))
            result = session.execute(
                delete(conversations).where(
                    conversations.c.deleted_at.is_not(None), conversations.c.deleted_at <= cutoff
                )
            )
            return rowcount(result)

        return await self._db.write(run)

    async def _set_conversation(self, conversation_id: int, **values: object) -> None:
        def run(session: Session) -> None:
            session.execute(
                sql_update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(values)
            )

        await self._db.write(run)

    # ------------------------------------------------------------------ messages

    async def add_message(
        self,
        conversation_id: int,
        role: Role,
        content: str,
        status: MessageStatus = "complete",
        model: str | None = None,
        parent_id: int | None = None,
    ) -> StoredMessage:
        """Store a message and mark its conversation as active now.

        A ``streaming`` message is owned by this process and this Database until its status
        changes: ``mark_streaming_interrupted`` in any process leaves it alone meanwhile.
        """
        if role not in _ROLES:
            raise ValueError(f"message role must be one of {sorted(_ROLES)}, not {role!r}")
        _check_status(status)

        def run(session: Session) -> StoredMessage:
            now = utcnow()
            found = session.execute(
                sql_update(conversations)
                .where(conversations.c.id == conversation_id)
                .values(updated_at=now)
            )
            if rowcount(found) == 0:
                raise StoreError(
                    f"Cannot add a message: there is no conversation {conversation_id}.",
                    "It may have been deleted for good; start a new conversation.",
                )
            if parent_id is not None:
                parent = _get_message(session, parent_id)
                if parent is None or parent.conversation_id != conversation_id:
                    raise StoreError(
                        f"Cannot add a message: message {parent_id} is not in "
                        f"conversation {conversation_id}.",
                        "Reload the conversation and try again.",
                    )
            owner = owner_values(self._db.owner()) if status == "streaming" else NO_OWNER
            new_id = session.execute(
                insert(messages)
                .values(
                    conversation_id=conversation_id,
                    parent_id=parent_id,
                    role=role,
                    content=content,
                    status=status,
                    model=model,
                    created_at=now,
                    updated_at=now,
                    **owner,
                )
                .returning(messages.c.id)
            ).scalar_one()
            stored = _get_message(session, new_id)
            assert stored is not None
            return stored

        return await self._db.write(run)

    async def update_message(self, message_id: int, update: MessageUpdate) -> None:
        """Change the fields of ``update`` that are not None; a no-op for an unknown id.

        A new status also sets the owner: ``streaming`` makes this process and Database the
        owner, any other status clears it (an owner means something only while streaming).
        """
        values: dict[str, object] = {
            name: getattr(update, name) for name in _UPDATABLE if getattr(update, name) is not None
        }
        if not values:
            return
        if update.status is not None:
            _check_status(update.status)
        values["updated_at"] = utcnow()

        def run(session: Session) -> None:
            owner: dict[str, object] = {}
            if update.status == "streaming":
                owner = owner_values(self._db.owner())
            elif update.status is not None:
                owner = NO_OWNER
            session.execute(
                sql_update(messages).where(messages.c.id == message_id).values({**values, **owner})
            )

        await self._db.write(run)

    async def get_message(self, message_id: int) -> StoredMessage | None:
        return await self._db.read(lambda s: _get_message(s, message_id))

    async def delete_message(self, message_id: int) -> None:
        """Delete one message for good; replies that branched from it lose their parent."""

        def run(session: Session) -> None:
            session.execute(delete(messages).where(messages.c.id == message_id))

        await self._db.write(run)

    async def list_messages(
        self, conversation_id: int, limit: int | None = None, before_id: int | None = None
    ) -> list[StoredMessage]:
        """Messages oldest first. With ``limit``, the last ``limit`` before ``before_id``.

        To load lazily as the user scrolls up, pass the id of the oldest message shown as
        ``before_id``; an empty list means the start has been reached.
        """

        def run(session: Session) -> list[StoredMessage]:
            query = select(messages).where(messages.c.conversation_id == conversation_id)
            if before_id is not None:
                query = query.where(messages.c.id < before_id)
            if limit is None:
                rows = list(session.execute(query.order_by(messages.c.id)))
            else:
                newest = query.order_by(messages.c.id.desc()).limit(max(0, limit))
                rows = list(session.execute(newest))
                rows.reverse()
            return [_message(row) for row in rows]

        return await self._db.read(run)

    async def count_messages(self, conversation_id: int) -> int:
        def run(session: Session) -> int:
            return int(
                session.execute(
                    select(func.count(messages.c.id)).where(
                        messages.c.conversation_id == conversation_id
                    )
                ).scalar_one()
            )

        return await self._db.read(run)

    async def mark_streaming_interrupted(self) -> int:
        """Mark ``streaming`` replies whose writer is gone as ``interrupted``; return how many.

        A reply whose owner (``owners.owner_alive``) may still be writing it, in this process
        or another, is left alone; one with no owner (from before m005) counts as orphaned.
        Checked and marked in one write transaction, so no writer can change them in between.
        """

        def run(session: Session) -> int:
            orphans = [row.id for row in orphaned_rows(session, messages, "streaming")]
            values = {"status": "interrupted", "updated_at": utcnow()}
            return mark_orphans(session, messages, orphans, "streaming", values)

        return await self._db.write(run)

    # ------------------------------------------------------------------ search

    async def search(self, text: str, limit: int = 50) -> list[SearchHit]:
        """Messages containing every word of ``text`` (any input is safe), best match first."""
        return await self._db.read(lambda s: search_messages(s, text, limit))
