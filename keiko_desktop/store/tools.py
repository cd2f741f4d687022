"""Tool tables: the audit log, per-tool policies and notes, over the Keiko database.

Implements ``core.tools.ports``: ``ToolAuditRepository``, ``ToolPolicyRepository`` and
``NoteRepository``. Tables are created by ``m004_tool_audit_policies_notes``. Arguments arrive
redacted; nothing here ever sees a secret.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    Row,
    String,
    Table,
    Text,
    and_,
    delete,
    insert,
    or_,
    select,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from keiko_desktop.core.tools.models import AuditEntry, Decision, Note, StoredPolicy
from keiko_desktop.store.sql import like_pattern
from keiko_desktop.store.tables import UTCDateTime, metadata, utcnow

if TYPE_CHECKING:
    from keiko_desktop.store.database import Database

tool_audit = Table(
    "tool_audit",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("server", Text, nullable=False),
    Column("tool", Text, nullable=False),
    Column("arguments", Text, nullable=False, default="{}"),
    Column("decision", String(16), nullable=False),
    Column("is_error", Boolean, nullable=False),
    Column("duration", Float, nullable=True),
    Column("result_size", Integer, nullable=False, default=0),
    Column("conversation_id", Integer, nullable=True),
    Column("agent", Text, nullable=True),
    Column("error", Text, nullable=True),
    Index("ix_tool_audit_created_at", "created_at"),
    Index("ix_tool_audit_server_tool", "server", "tool"),
    sqlite_autoincrement=True,
)

tool_policies = Table(
    "tool_policies",
    metadata,
    Column("tool", Text, primary_key=True),
    Column("policy", String(8), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("fingerprint", Text, nullable=True),
)

notes = Table(
    "notes",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_notes_updated_at", "updated_at"),
    sqlite_autoincrement=True,
)


def _audit(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=row.id,
        created_at=row.created_at,
        server=row.server,
        tool=row.tool,
        arguments=row.arguments,
        decision=cast(Decision, row.decision),
        is_error=bool(row.is_error),
        duration=row.duration,
        result_size=row.result_size,
        conversation_id=row.conversation_id,
        agent=row.agent,
        error=row.error,
    )


def _note(row: Row[Any]) -> Note:
    return Note(row.id, row.title, row.body, row.created_at, row.updated_at)


class SqliteToolRepository:
    """Audit log, policies and notes. Every method runs on the database's worker thread."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # ---------------------------------------------------------------- audit
    async def record_tool_call(self, entry: AuditEntry) -> int:
        def run(session: Session) -> int:
            return int(
                session.execute(
                    insert(tool_audit)
                    .values(
                        created_at=entry.created_at or utcnow(),
                        server=entry.server,
                        tool=entry.tool,
                        arguments=entry.arguments,
                        decision=entry.decision,
                        is_error=entry.is_error,
                        duration=entry.duration,
                        result_size=entry.result_size,
                        conversation_id=entry.conversation_id,
                        agent=entry.agent,
                        error=entry.error,
                    )
                    .returning(tool_audit.c.id)
                ).scalar_one()
            )

        return await self._db.write(run)

    async def list_tool_calls(
        self, limit: int = 100, server: str | None = None
    ) -> list[AuditEntry]:
        """The newest calls first."""

        def run(session: Session) -> list[AuditEntry]:
            query = select(tool_audit).order_by(tool_audit.c.id.desc()).limit(max(0, limit))
            if server is not None:
                query = query.where(tool_audit.c.server == server)
            return [_audit(row) for row in session.execute(query)]

        return await self._db.read(run)

    # ---------------------------------------------------------------- policies
    async def load_policies(self) -> dict[str, StoredPolicy]:
        def run(session: Session) -> dict[str, StoredPolicy]:
            rows = session.execute(
                select(tool_policies.c.tool, tool_policies.c.policy, tool_policies.c.fingerprint)
            )
            return {row.tool: StoredPolicy(row.policy, row.fingerprint) for row in rows}

        return await self._db.read(run)

    async def set_policy(self, tool: str, policy: str, fingerprint: str | None = None) -> None:
        def run(session: Session) -> None:
            statement = sqlite_insert(tool_policies).values(
                tool=tool, policy=policy, fingerprint=fingerprint, updated_at=utcnow()
            )
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=[tool_policies.c.tool],
                    set_={
                        "policy": policy,
                        "fingerprint": fingerprint,
                        "updated_at": statement.excluded.updated_at,
                    },
                )
            )

        await self._db.write(run)

    async def clear_policy(self, tool: str) -> None:
        await self._db.write(
            lambda s: s.execute(delete(tool_policies).where(tool_policies.c.tool == tool))
        )

    # ---------------------------------------------------------------- notes
    async def create_note(self, title: str, body: str) -> Note:
        def run(session: Session) -> Note:
            now = utcnow()
            row = session.execute(
                insert(notes)
                .values(title=title, body=body, created_at=now, updated_at=now)
                .returning(*notes.c)
            ).one()
            return _note(row)

        return await self._db.write(run)

    async def get_note(self, note_id: int) -> Note | None:
        def run(session: Session) -> Note | None:
            row = session.execute(select(notes).where(notes.c.id == note_id)).first()
            return None if row is None else _note(row)

        return await self._db.read(run)

    async def search_notes(self, text: str, limit: int = 20) -> list[Note]:
        """Notes containing every word of ``text`` (title or body, case-insensitive)."""
        words = [w for w in text.split() if w]

        def run(session: Session) -> list[Note]:
            query = select(notes).order_by(notes.c.updated_at.desc(), notes.c.id.desc())
            conditions = [
                or_(
                    notes.c.title.ilike(like_pattern(w), escape="\\"),
                    notes.c.body.ilike(like_pattern(w), escape="\\"),
                )
                for w in words
            ]
            if conditions:
                query = query.where(and_(*conditions))
            return [_note(row) for row in session.execute(query.limit(max(0, limit)))]

        return await self._db.read(run)

    async def list_notes(self, limit: int = 50) -> list[Note]:
        return await self.search_notes("", limit)
