"""Text files decoded the way a person would expect.

A byte-order mark decides (UTF-8, UTF-16, UTF-32); without one the file must be strict UTF-8,
else it is read as Windows-1252, else Latin-1 (which reads any bytes), and ``note`` says so.
The file is read in 1 MiB blocks with an incremental decoder, so progress and cancellation
are checked per block and reading stops at ``MAX_CHARS`` without reading the rest. NUL
characters mean binary data (an error); line ends become ``\\n``. The file's size and
modification time are compared before and after, so a file written meanwhile is refused.
"""

from __future__ import annotations

import codecs
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from keiko_desktop.documents.errors import (
    MAX_CHARS,
    binary_error,
    changed_error,
    check_cancelled,
    check_regular,
    cut_note,
    os_error,
)
from keiko_desktop.documents.sniff import looks_binary

BLOCK = 1024 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_FALLBACK_NOTES = {
    "cp1252": "read as Windows-1252 (it is not UTF-8)",
    "latin-1": "read as Latin-1 (it is not UTF-8)",
}


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    note: str = ""


def _bom_encoding(head: bytes) -> str | None:
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


def read_text(
    path: Path,
    name: str,
    *,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    limit: int = MAX_CHARS,
) -> Decoded:
    """The text of ``path``; ``AttachmentError`` (naming ``name``) when it is binary, gone,
    unreadable, changed meanwhile, or ``cancelled()``."""
    try:
        with path.open("rb") as f:
            before = os.fstat(f.fileno())
            check_regular(before, name)
            head = f.read(4)
            bom = _bom_encoding(head)
            candidates = [bom] if bom else ["utf-8", "cp1252", "latin-1"]
            for encoding in candidates:
                f.seek(0)
                try:
                    text, cut = _decode(
                        f, encoding, name, before.st_size, progress, cancelled, limit
                    )
                except UnicodeDecodeError:
                    continue
                break
            else:  # pragma: no cover - latin-1 decodes any bytes
                raise binary_error(name)
            after = os.fstat(f.fileno())
    except OSError as exc:
        raise os_error(exc, name) from exc
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise changed_error(name)
    notes = [_FALLBACK_NOTES.get(encoding, "")]
    if cut:
        notes.append(cut_note(limit))
    return Decoded(normalize_newlines(text), encoding, "; ".join(n for n in notes if n))


def _decode(
    f: BinaryIO,
    encoding: str,
    name: str,
    size: int,
    progress: Callable[[float], None] | None,
    cancelled: Callable[[], bool] | None,
    limit: int,
) -> tuple[str, bool]:
    """``(text, cut)``; raises ``UnicodeDecodeError`` for a strict encoding that does not fit."""
    errors = "replace" if encoding.startswith(("utf-16", "utf-32")) else "strict"
    decoder = codecs.getincrementaldecoder(encoding)(errors)
    parts: list[str] = []
    count = 0
    done = 0
    first = True
    while True:
        check_cancelled(cancelled, name)
        block = f.read(min(BLOCK, size + 1 - done))  # a file still growing ends here
        if done + len(block) > size:
            raise changed_error(name)
        if first and not encoding.startswith(("utf-16", "utf-32")) and looks_binary(block[:65536]):
            raise binary_error(name)
        first = False
        piece = decoder.decode(block, final=not block)
        if "\0" in piece:
            raise binary_error(name)
        if count + len(piece) > limit:
            parts.append(piece[: limit - count])
            return "".join(parts), True
        parts.append(piece)
        count += len(piece)
        done += len(block)
        if progress is not None and size:
            progress(min(1.0, done / size))
        if not block:
            return "".join(parts), False


def normalize_newlines(text: str) -> str:
    """``\\r\\n`` and lone ``\\r`` as ``\\n``."""
    if "\r" not in text:
        return text
    return text.replace("\r\n", "\n").replace("\r", "\n")


__all__ = ["Decoded", "normalize_newlines", "read_text"]
