"""Cutting extracted text into passages: what retrieval ranks and a citation points to.

A chunk is a slice of one page's text, never of two, so every citation names one page. It is at
most ``target`` characters, cut at the last good boundary inside that window: a paragraph break,
else the end of a sentence, else a line break, else a space (only a word longer than half the
window is cut mid-word). A boundary is only taken in the window's second half, so chunks are
never tiny. The next chunk starts at most ``overlap`` characters back, at the first sentence
(else word) that begins there, so the words around a cut are in both chunks. ``start`` is the
chunk's offset in its page's text: the text is a true slice (``page_text[start:start +
len(text)] == text``), so the window can highlight it.
Pure and deterministic: the same pages always give the same chunks.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from keiko_desktop.core.files.types import PageText

TARGET_LIMITS = (100, 20_000)
"""Bounds of ``target`` (characters)."""

_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n")
_SENTENCE = re.compile(r"[.!?\u2026\u3002\uff01\uff1f][\"'\)\]\u00bb\u201d\u2019]*(?=\s)")
_LINE = re.compile(r"\n")
_WORD_START = re.compile(r"(?<=\s)\S")
_SENTENCE_START = re.compile(r"(?<=[.!?\u2026\u3002\uff01\uff1f\n])\s+(\S)")

Chunked = tuple[int | None, int, str]
"""``(page, start, text)``: what ``AttachmentRepository.add`` stores."""


def chunk_pages(pages: Sequence[PageText], target: int = 1000, overlap: int = 150) -> list[Chunked]:
    """The chunks of ``pages`` in document order; empty or white-space pages give none.

    ``target`` is bounded by ``TARGET_LIMITS``; ``overlap`` must be below half of it.
    """
    low, high = TARGET_LIMITS
    if not low <= target <= high:
        raise ValueError(f"target must be {low}..{high} characters, not {target}")
    if not 0 <= overlap < target // 2:
        raise ValueError(f"overlap must be 0..{target // 2 - 1} characters, not {overlap}")
    out: list[Chunked] = []
    for page in pages:
        out.extend(
            (page.page, start, text) for start, text in _chunk_text(page.text, target, overlap)
        )
    return out


def _chunk_text(text: str, target: int, overlap: int) -> list[tuple[int, str]]:
    chunks: list[tuple[int, str]] = []
    end = len(text.rstrip())
    pos = _skip_space(text, 0, end)
    while pos < end:
        if end - pos <= target:
            chunks.append((pos, text[pos:end]))
            break
        cut = _cut(text, pos, target)
        piece = text[pos:cut].rstrip()
        chunks.append((pos, piece))
        nxt = _next_start(text, pos, cut, overlap)
        pos = _skip_space(text, nxt, end)
    return chunks


def _cut(text: str, pos: int, target: int) -> int:
    """Where the chunk starting at ``pos`` ends: the best boundary in its window's second half."""
    limit = pos + target
    floor = pos + target // 2
    window = text[floor:limit]
    for pattern in (_PARAGRAPH, _SENTENCE, _LINE):
        last = None
        for last in pattern.finditer(window):  # noqa: B007 - we want the last match
            pass
        if last is not None:
            return floor + last.end()
    # a space: the word after it would cross the limit; text[limit] being a space works too
    for i in range(limit, floor, -1):
        if text[i].isspace():
            return i
    return limit  # one word longer than half the window: cut it


def _next_start(text: str, pos: int, cut: int, overlap: int) -> int:
    """Where the chunk after ``text[pos:cut]`` starts: ``overlap`` back, at a word's start."""
    if overlap == 0:
        return cut
    back = max(pos + 1, cut - overlap)
    sentence = _SENTENCE_START.search(text, back, cut)
    if sentence:  # a sentence begins in the overlap: start there
        return sentence.start(1)
    word = _WORD_START.search(text, back, cut)
    return word.start() if word else cut


def _skip_space(text: str, pos: int, end: int) -> int:
    while pos < end and text[pos].isspace():
        pos += 1
    return pos


__all__ = ["TARGET_LIMITS", "Chunked", "chunk_pages"]
