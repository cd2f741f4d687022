"""``SqliteAttachmentRepository``: ``core.files.ports.AttachmentRepository`` over SQLite (tables
made by ``m009_attachments``).

An attachment is one row per content (``sha256`` unique) with its pages' text
(``attachment_pages``) and its chunks (``chunks``, indexed by the external-content FTS5 table
``chunks_fts``, kept by triggers). ``message_attachments`` links messages to attachments
(deleting a message or an attachment deletes the link), ``message_sources`` names the chunks a
reply was given. Search ranks with FTS5's bm25; ``Passage.score`` is ``-bm25`` (higher is
better). Every method runs on the database's worker thread; ``add`` is one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from keiko_desktop.core.files.types import (
    AttachmentError,
    AttachmentInfo,
    Extracted,
    PageText,
    Passage,
)
from keiko_desktop.store.attachment_rows import (
    MAX_LIMIT,
    PASSAGE_COLUMNS,
    SEARCH_SQL,
    bounded,
    get_info,
    info_by_sha,
    info_of,
    is_linked,
    passage_of,
    unique_ids,
)
from keiko_desktop.store.sql import IN_CHUNK
from keiko_desktop.store.tables import (
    attachment_pages,
    attachments,
    chunks,
    message_attachments,
    message_sources,
    messages,
    utcnow,
)

if TYPE_CHECKING:
    from keiko_desktop.core.files.ports import AttachmentRepository
    from keiko_desktop.store.database import Database


class SqliteAttachmentRepository:
    """Attachments, their pages and chunks, and their links to messages (implements
    ``AttachmentRepository``)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def find_by_sha(self, sha256: str) -> AttachmentInfo | None:
        return await self._db.read(lambda session: info_by_sha(session, sha256))

    async def get(self, attachment_id: int) -> AttachmentInfo | None:
        return await self._db.read(lambda session: get_info(session, attachment_id))

    async def add(
        self,
        sha256: str,
        name: str,
        extracted: Extracted,
        size: int,
        chunk_rows: Sequence[tuple[int | None, int, str]],
    ) -> AttachmentInfo:
        """One transaction: the row, its pages and its chunks. When a row with ``sha256``
        exists already (another ingest of the same content got there first) it is returned
        and nothing is written."""
        pages = list(extracted.pages)
        rows = list(chunk_rows)

        def run(session: Session) -> AttachmentInfo:
            existing = info_by_sha(session, sha256)
            if existing is not None:
                return existing
            attachment_id = session.execute(
                insert(attachments)
                .values(
                    sha256=sha256,
                    name=name,
                    kind=extracted.kind,
                    mime=extracted.mime,
                    size=size,
                    pages=sum(1 for p in pages if p.text.strip()),
                    chars=extracted.chars,
                    chunks=len(rows),
                    note=extracted.note,
                    created_at=utcnow(),
                )
                .returning(attachments.c.id)
            ).scalar_one()
            if pages:
                session.execute(
                    insert(attachment_pages),
                    [
                        {
                            "attachment_id": attachment_id,
                            "ordinal": i,
                            "page": p.page,
                            "text": p.text,
                        }
                        for i, p in enumerate(pages)
                    ],
                )
            if rows:
                session.execute(
                    insert(chunks),
                    [
                        {
                            "attachment_id": attachment_id,
                            "ordinal": i,
                            "page": page,
                            "start": start,
                            "text": body,
                        }
                        for i, (page, start, body) in enumerate(rows)
                    ],
                )
            info = get_info(session, attachment_id)
            assert info is not None
            return info

        return await self._db.write(run)

    async def link(self, message_id: int, attachment_ids: Sequence[int]) -> None:
        """Attach ``attachment_ids`` to the message, after any it has (in this order; one
        given twice, or linked already, counts once). ``AttachmentError`` when one is gone
        (discarded meanwhile); then nothing is linked."""
        wanted = unique_ids(attachment_ids)
        if not wanted:
            return

        def run(session: Session) -> None:
            found = set(
                session.execute(select(attachments.c.id).where(attachments.c.id.in_(wanted)))
                .scalars()
                .all()
            )
            if len(found) != len(wanted):
                raise AttachmentError(
                    "An attached file is gone: it was removed before the message was sent.",
                    "Attach it again.",
                )
            if (
                session.execute(select(messages.c.id).where(messages.c.id == message_id)).first()
                is None
            ):
                raise AttachmentError(
                    "The message to attach files to is gone.", "Send the message again."
                )
            have = {
                row.attachment_id: row.position
                for row in session.execute(
                    select(
                        message_attachments.c.attachment_id, message_attachments.c.position
                    ).where(message_attachments.c.message_id == message_id)
                )
            }
            position = max(have.values(), default=-1) + 1
            new = [a for a in wanted if a not in have]
            if new:
                session.execute(
                    insert(message_attachments),
                    [
                        {"message_id": message_id, "attachment_id": a, "position": position + i}
                        for i, a in enumerate(new)
                    ],
                )

        await self._db.write(run)

    async def for_message(self, message_id: int) -> list[AttachmentInfo]:
        def run(session: Session) -> list[AttachmentInfo]:
            rows = session.execute(
                select(attachments)
                .join(message_attachments, message_attachments.c.attachment_id == attachments.c.id)
                .where(message_attachments.c.message_id == message_id)
                .order_by(message_attachments.c.position, attachments.c.id)
            )
            return [info_of(row) for row in rows]

        return await self._db.read(run)

    async def for_conversation(self, conversation_id: int) -> list[AttachmentInfo]:
        """Every attachment of the conversation's messages, once each, in the order they were
        first attached."""

        def run(session: Session) -> list[AttachmentInfo]:
            rows = session.execute(
                select(
                    attachments, messages.c.id.label("message_id"), message_attachments.c.position
                )
                .join(message_attachments, message_attachments.c.attachment_id == attachments.c.id)
                .join(messages, messages.c.id == message_attachments.c.message_id)
                .where(messages.c.conversation_id == conversation_id)
                .order_by(messages.c.id, message_attachments.c.position)
            )
            seen: dict[int, AttachmentInfo] = {}
            for row in rows:
                if row.id not in seen:
                    seen[row.id] = info_of(row)
            return list(seen.values())

        return await self._db.read(run)

    async def search(self, attachment_ids: Sequence[int], query: str, limit: int) -> list[Passage]:
        """The best chunks of those attachments for ``query`` (an FTS5 MATCH expression, such
        as ``core.files.prompt.query_terms`` makes), best first; none for an empty query."""
        ids = unique_ids(attachment_ids)
        count = bounded(limit)
        if not ids or not query.strip() or count == 0:
            return []

        def run(session: Session) -> list[Passage]:
            found: list[Passage] = []
            for at in range(0, len(ids), IN_CHUNK):
                rows = session.execute(
                    SEARCH_SQL, {"query": query, "ids": ids[at : at + IN_CHUNK], "limit": count}
                )
                found.extend(passage_of(row, -float(row.score)) for row in rows)
            found.sort(key=lambda p: (-p.score, p.chunk.attachment_id, p.chunk.ordinal))
            return found[:count]

        return await self._db.read(run)

    async def first_chunks(self, attachment_ids: Sequence[int], limit: int) -> list[Passage]:
        """The beginning of each attachment, taking turns: every first chunk, then every
        second, and so on (attachments in the order given)."""
        ids = unique_ids(attachment_ids)
        count = bounded(limit)
        if not ids or count == 0:
            return []
        order = {a: i for i, a in enumerate(ids)}

        def run(session: Session) -> list[Passage]:
            found: list[Passage] = []
            for at in range(0, len(ids), IN_CHUNK):
                rows = session.execute(
                    select(*PASSAGE_COLUMNS)
                    .join(attachments, attachments.c.id == chunks.c.attachment_id)
                    .where(chunks.c.attachment_id.in_(ids[at : at + IN_CHUNK]))
                    .where(chunks.c.ordinal < count)
                    .order_by(chunks.c.ordinal, chunks.c.attachment_id)
                )
                found.extend(passage_of(row) for row in rows)
            found.sort(key=lambda p: (p.chunk.ordinal, order[p.chunk.attachment_id]))
            return found[:count]

        return await self._db.read(run)

    async def pages(self, attachment_id: int) -> list[PageText]:
        def run(session: Session) -> list[PageText]:
            rows = session.execute(
                select(attachment_pages.c.page, attachment_pages.c.text)
                .where(attachment_pages.c.attachment_id == attachment_id)
                .order_by(attachment_pages.c.ordinal)
            )
            return [PageText(row.page, row.text) for row in rows]

        return await self._db.read(run)

    async def chunk(self, chunk_id: int) -> Passage | None:
        def run(session: Session) -> Passage | None:
            row = session.execute(
                select(*PASSAGE_COLUMNS)
                .join(attachments, attachments.c.id == chunks.c.attachment_id)
                .where(chunks.c.id == chunk_id)
            ).first()
            return None if row is None else passage_of(row)

        return await self._db.read(run)

    async def set_sources(self, message_id: int, chunk_ids: Sequence[int]) -> None:
        """The chunks the reply ``message_id`` was given, best first (replacing any). Chunks
        that are gone meanwhile are left out."""
        wanted = unique_ids(chunk_ids)

        def run(session: Session) -> None:
            session.execute(
                delete(message_sources).where(message_sources.c.message_id == message_id)
            )
            if not wanted:
                return
            present: set[int] = set()
            for at in range(0, len(wanted), IN_CHUNK):
                present.update(
                    session.execute(
                        select(chunks.c.id).where(chunks.c.id.in_(wanted[at : at + IN_CHUNK]))
                    ).scalars()
                )
            kept = [c for c in wanted if c in present]
            if kept:
                session.execute(
                    insert(message_sources),
                    [
                        {"message_id": message_id, "chunk_id": c, "rank": i}
                        for i, c in enumerate(kept)
                    ],
                )

        await self._db.write(run)

    async def sources(self, message_id: int) -> list[Passage]:
        def run(session: Session) -> list[Passage]:
            rows = session.execute(
                select(*PASSAGE_COLUMNS)
                .join(message_sources, message_sources.c.chunk_id == chunks.c.id)
                .join(attachments, attachments.c.id == chunks.c.attachment_id)
                .where(message_sources.c.message_id == message_id)
                .order_by(message_sources.c.rank)
            )
            return [passage_of(row) for row in rows]

        return await self._db.read(run)

    async def delete_unlinked(
        self, attachment_ids: Sequence[int] | None = None, older_than: float | None = None
    ) -> list[str]:
        """Delete attachments no message links to: those of ``attachment_ids`` (when given)
        and made before ``older_than`` (seconds since the epoch, when given); both None: every
        unlinked one. Returns their sha256s, so their copies can be removed."""
        ids = None if attachment_ids is None else unique_ids(attachment_ids)
        if ids is not None and not ids:
            return []
        before = None if older_than is None else datetime.fromtimestamp(older_than, UTC)

        def run(session: Session) -> list[str]:
            query = select(attachments.c.id, attachments.c.sha256).where(~is_linked())
            if before is not None:
                query = query.where(attachments.c.created_at < before)
            rows: list[tuple[int, str]] = []
            if ids is None:
                rows.extend((row.id, row.sha256) for row in session.execute(query))
            else:
                for at in range(0, len(ids), IN_CHUNK):
                    part = ids[at : at + IN_CHUNK]
                    found = session.execute(query.where(attachments.c.id.in_(part)))
                    rows.extend((row.id, row.sha256) for row in found)
            gone = [row_id for row_id, _ in rows]
            for at in range(0, len(gone), IN_CHUNK):
                part = gone[at : at + IN_CHUNK]
                # Chunks first, explicitly: their FTS rows go with them through the trigger.
                session.execute(delete(chunks).where(chunks.c.attachment_id.in_(part)))
                session.execute(delete(attachments).where(attachments.c.id.in_(part)))
            return [sha for _, sha in rows]

        return await self._db.write(run)

    async def all_shas(self) -> set[str]:
        def run(session: Session) -> set[str]:
            return set(session.execute(select(attachments.c.sha256)).scalars())

        return await self._db.read(run)


if TYPE_CHECKING:  # mypy checks the class against the port
    _PORT: type[AttachmentRepository] = SqliteAttachmentRepository

__all__ = ["MAX_LIMIT", "SqliteAttachmentRepository"]
