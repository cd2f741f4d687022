"""Rows of the attachment tables (m009) as ``core.files`` values, and the SQL the repository
(``store/attachments.py``) shares."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, bindparam, exists, select, text
from sqlalchemy.orm import Session

from keiko_desktop.core.files.types import AttachmentInfo, Chunk, FileKind, Passage
from keiko_desktop.store.tables import attachments, chunks, message_attachments

MAX_LIMIT = 10_000
"""The most passages one search or listing returns."""

SEARCH_SQL = text(
    """
    SELECT c.id AS id, c.attachment_id AS attachment_id, c.ordinal AS ordinal, c.page AS page,
           c.start AS start, c.text AS text, a.name AS name, bm25(chunks_fts) AS score
    FROM chunks_fts
    JOIN chunks AS c ON c.id = chunks_fts.rowid
    JOIN attachments AS a ON a.id = c.attachment_id
    WHERE chunks_fts MATCH :query AND c.attachment_id IN :ids
    ORDER BY score, c.attachment_id, c.ordinal
    LIMIT :limit
    """
).bindparams(bindparam("ids", expanding=True))


def info_of(row: Row[*tuple[Any, ...]]) -> AttachmentInfo:
    created: datetime = row.created_at
    return AttachmentInfo(
        id=row.id,
        sha256=row.sha256,
        name=row.name,
        kind=cast(FileKind, row.kind),
        mime=row.mime,
        size=row.size,
        pages=row.pages,
        chars=row.chars,
        chunks=row.chunks,
        note=row.note,
        created_at=created.timestamp(),
    )


def passage_of(row: Row[*tuple[Any, ...]], score: float = 0.0) -> Passage:
    chunk = Chunk(
        id=row.id,
        attachment_id=row.attachment_id,
        ordinal=row.ordinal,
        page=row.page,
        text=row.text,
        start=row.start,
    )
    return Passage(chunk, row.name, score)


PASSAGE_COLUMNS = (
    chunks.c.id,
    chunks.c.attachment_id,
    chunks.c.ordinal,
    chunks.c.page,
    chunks.c.start,
    chunks.c.text,
    attachments.c.name,
)


def bounded(limit: int) -> int:
    return max(0, min(int(limit), MAX_LIMIT))


def unique_ids(values: Sequence[int]) -> list[int]:
    """``values`` without repeats, in order."""
    return list(dict.fromkeys(int(v) for v in values))


def get_info(session: Session, attachment_id: int) -> AttachmentInfo | None:
    row = session.execute(select(attachments).where(attachments.c.id == attachment_id)).first()
    return None if row is None else info_of(row)


def info_by_sha(session: Session, sha256: str) -> AttachmentInfo | None:
    row = session.execute(select(attachments).where(attachments.c.sha256 == sha256)).first()
    return None if row is None else info_of(row)


def is_linked() -> Any:
    return exists().where(message_attachments.c.attachment_id == attachments.c.id)
