"""The text of a Word document (.docx): its paragraphs and tables, in order.

A .docx is a zip; the text is in ``word/document.xml`` (WordprocessingML). Nothing else is
opened (no macros, no external links). The member is read with a hard cap, whatever its zip
header claims: more than 50 MB uncompressed, or (past 1 MiB) more than 100 times its
compressed size, is refused as a possible zip bomb. A DTD is refused (no entity expansion).
Paragraphs are separated by a blank line; ``w:tab`` is a tab, ``w:br``/``w:cr`` a line break;
a table gives one line per row, its cells joined by tabs. No pages: one ``PageText``.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from xml.etree import ElementTree

from keiko_desktop.core.files.types import AttachmentError, Extracted, PageText
from keiko_desktop.documents.errors import (
    MAX_CHARS,
    changed_error,
    check_cancelled,
    cut_note,
    os_error,
    shown,
)

MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MEMBER = "word/document.xml"
MAX_MEMBER = 50 * 1024 * 1024
MAX_RATIO = 100
RATIO_FROM = 1024 * 1024
"""Smaller members may compress better than ``MAX_RATIO`` (white space): they cannot hurt."""

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_P, _TBL, _TR, _TC, _T = f"{_W}p", f"{_W}tbl", f"{_W}tr", f"{_W}tc", f"{_W}t"
_TAB, _BR, _CR = f"{_W}tab", f"{_W}br", f"{_W}cr"
_DELETED = f"{_W}del"  # tracked deletions: not the document's text


def _not_word(name: str, reason: str) -> AttachmentError:
    return AttachmentError(
        f"{shown(name)} is not a Word document Keiko can read ({reason}).",
        "Open it in a word processor and save it as .docx again, or export it to PDF.",
    )


def _bomb(name: str) -> AttachmentError:
    return AttachmentError(
        f"{shown(name)} expands to far more than its size (a zip bomb?); Keiko did not open it.",
        "If it is a real document, save it again from your word processor, or export it to PDF.",
    )


def extract_docx(
    path: Path,
    name: str,
    *,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    limit: int = MAX_CHARS,
) -> Extracted:
    check_cancelled(cancelled, name)
    data = _read_member(path, name)
    check_cancelled(cancelled, name)
    if progress is not None:
        progress(0.5)
    if b"<!DOCTYPE" in data or b"<!ENTITY" in data:
        raise _not_word(name, "it declares a DTD")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise _not_word(name, f"broken XML: {exc}") from exc
    del data
    body = next((child for child in root if child.tag == f"{_W}body"), root)
    text = "\n\n".join(block for block in _blocks(body) if block.strip())
    note = ""
    if len(text) > limit:
        text, note = text[:limit], cut_note(limit)
    if progress is not None:
        progress(1.0)
    pages = (PageText(None, text),) if text.strip() else ()
    return Extracted("docx", MIME, pages, note or ("" if pages else "the document has no text"))


def _read_member(path: Path, name: str) -> bytes:
    try:
        before = os.stat(path)
        with zipfile.ZipFile(path) as z:
            try:
                info = z.getinfo(MEMBER)
            except KeyError:
                raise _not_word(name, f"no {MEMBER}") from None
            if info.file_size > MAX_MEMBER or (
                info.file_size > RATIO_FROM
                and info.file_size > MAX_RATIO * max(1, info.compress_size)
            ):
                raise _bomb(name)
            with z.open(info) as member:
                data = member.read(MAX_MEMBER + 1)  # the header may lie: the cap is real
        after = os.stat(path)
    except OSError as exc:
        raise os_error(exc, name) from exc
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError) as exc:
        raise _not_word(name, "not a valid zip file") from exc
    if len(data) > MAX_MEMBER or (
        len(data) > RATIO_FROM and len(data) > MAX_RATIO * max(1, info.compress_size)
    ):
        raise _bomb(name)
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise changed_error(name)
    return data


def _blocks(element: ElementTree.Element) -> Iterator[str]:
    """The paragraphs and tables under ``element`` in document order (content controls and
    other wrappers are looked through)."""
    for child in element:
        if child.tag == _P:
            yield _paragraph(child)
        elif child.tag == _TBL:
            yield _table(child)
        elif child.tag != _DELETED:
            yield from _blocks(child)


def _paragraph(p: ElementTree.Element) -> str:
    parts: list[str] = []

    def walk(node: ElementTree.Element) -> None:
        for child in node:
            tag = child.tag
            if tag == _T:
                parts.append(child.text or "")
            elif tag == _TAB:
                parts.append("\t")
            elif tag in (_BR, _CR):
                parts.append("\n")
            elif tag == _P:  # a text box's paragraph inside this one
                parts.append("\n" + _paragraph(child))
            elif tag != _DELETED:
                walk(child)

    walk(p)
    return "".join(parts)


def _table(tbl: ElementTree.Element) -> str:
    rows = []
    for tr in (row for row in tbl if row.tag == _TR):
        cells = [" ".join(" ".join(_blocks(tc)).split("\n")).strip() for tc in tr if tc.tag == _TC]
        if any(cells):
            rows.append("\t".join(cells))
    return "\n".join(rows)


__all__ = ["MIME", "extract_docx"]
