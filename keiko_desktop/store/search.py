"""Full-text search over messages with FTS5, safe for whatever the user types.

User text is never passed to ``MATCH`` as query syntax: it is split on white space and every
piece becomes a quoted FTS5 string (``"`` doubled inside), so ``"``, ``*``, ``AND``, ``NEAR``,
``(`` and ``:`` are just text. The pieces must all match (in any order); the last one also
matches as a prefix, so results appear while the user is still typing a word.
"""

from __future__ import annotations

import re
from typing import cast

from sqlalchemy import text
from sqlalchemy.orm import Session

from keiko_desktop.core.ports import Role, SearchHit

SNIPPET_TOKENS = 12
_WORD = re.compile(r"\w")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_SEARCH_SQL = text(
    """
    SELECT m.id AS message_id,
           m.conversation_id AS conversation_id,
           m.role AS role,
           c.title AS title,
           snippet(messages_fts, 0, '[', ']', '…', :tokens) AS snippet
    FROM messages_fts
    JOIN messages AS m ON m.id = messages_fts.rowid
    JOIN conversations AS c ON c.id = m.conversation_id
    WHERE messages_fts MATCH :query AND c.deleted_at IS NULL
    ORDER BY messages_fts.rank, m.id DESC
    LIMIT :limit
    """
)


def fts_query(user_text: str) -> str | None:
    """An FTS5 query that matches messages containing every word of ``user_text``.

    Returns None when the text has nothing searchable (only spaces or punctuation).
    """
    cleaned = _CONTROL.sub(" ", user_text)
    words = cleaned.split()
    pieces = [p for p in words if _WORD.search(p)]
    if not pieces:
        return None
    quoted = ['"' + p.replace('"', '""') + '"' for p in pieces]
    if not cleaned[-1].isspace() and pieces[-1] is words[-1]:
        quoted[-1] += "*"  # the word being typed
    return " ".join(quoted)


def search_messages(session: Session, user_text: str, limit: int) -> list[SearchHit]:
    """Best matches first (FTS5 rank, then newest), skipping deleted conversations."""
    query = fts_query(user_text)
    if query is None or limit <= 0:
        return []
    rows = session.execute(_SEARCH_SQL, {"query": query, "limit": limit, "tokens": SNIPPET_TOKENS})
    return [
        SearchHit(
            conversation_id=row.conversation_id,
            conversation_title=row.title,
            message_id=row.message_id,
            role=cast(Role, row.role),
            snippet=row.snippet,
        )
        for row in rows
    ]
