"""Small SQL helpers the repositories share."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult

IN_CHUNK = 500
"""Ids per ``IN (...)``, well under SQLite's limit on bound parameters."""


def rowcount(result: Any) -> int:
    """How many rows an UPDATE or DELETE touched."""
    return int(cast(CursorResult[Any], result).rowcount)


def like_pattern(word: str) -> str:
    """``%word%`` for ``LIKE ... ESCAPE '\\'``, with ``\\``, ``%`` and ``_`` taken literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
