"""The text of a PDF, page by page, with pypdf.

The file is read through a read-only memory map of one open handle (pypdf seeks in it rather
than holding a second copy; read from the map, pypdf's many small reads need no system calls,
which keeps a worker thread from starving the GUI thread of the GIL: a 200-page ingest stalled
the event loop for 98-194 ms with buffered reads, 28-36 ms with the map) and its size and
modification time are compared at the end. An encrypted PDF is tried with the empty password
first (many are "protected" only against editing); one that needs a password
is refused with a hint. Each page's text is one ``PageText`` (pages numbered from 1); pages
with no text are left out, and a PDF with none at all gets the note "no text layer (scanned?)".
A page pypdf cannot read is skipped and named in the note; a file it cannot open is refused
as damaged. Progress and cancellation are per page; at most ``MAX_CHARS`` characters are kept.
"""

from __future__ import annotations

import mmap
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from keiko_desktop.core.files.types import AttachmentError, Extracted, PageText
from keiko_desktop.documents.errors import (
    MAX_CHARS,
    changed_error,
    check_cancelled,
    check_regular,
    cut_note,
    join_notes,
    os_error,
    shown,
)
from keiko_desktop.documents.text import normalize_newlines

if TYPE_CHECKING:
    from pypdf import PdfReader

NO_TEXT_NOTE = "no text layer (scanned?): Keiko cannot read its words"
_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _damaged(name: str, reason: str = "") -> AttachmentError:
    detail = f" ({reason})" if reason else ""
    return AttachmentError(
        f"{shown(name)} is not a PDF Keiko can read: it looks damaged{detail}.",
        "Open it in a PDF viewer and save or print it to a new PDF, then attach that.",
    )


def _locked(name: str) -> AttachmentError:
    return AttachmentError(
        f"{shown(name)} is password-protected.",
        "Save an unprotected copy (open it with the password, then print or export to PDF) "
        "and attach that.",
    )


def clean(text: str) -> str:
    """A page's text without NULs and other control characters, line ends as ``\\n``."""
    return _CONTROLS.sub("", normalize_newlines(text)).strip()


def extract_pdf(
    path: Path,
    name: str,
    *,
    progress: Callable[[float], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    limit: int = MAX_CHARS,
) -> Extracted:
    try:
        with path.open("rb") as f:
            before = os.fstat(f.fileno())
            check_regular(before, name)
            try:
                view = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            except ValueError as exc:  # an empty file cannot be mapped
                raise _damaged(name, "empty file") from exc
            with view:
                pages, notes = _read(view, name, progress, cancelled, limit)
            after = os.fstat(f.fileno())
    except OSError as exc:
        raise os_error(exc, name) from exc
    if (before.st_size, before.st_mtime_ns) != (after.st_size, after.st_mtime_ns):
        raise changed_error(name)
    if not pages:
        notes.insert(0, NO_TEXT_NOTE)
    return Extracted("pdf", "application/pdf", tuple(pages), join_notes(*notes))


def _open(view: mmap.mmap, name: str) -> PdfReader:
    from pypdf import PdfReader  # imported on first use: the window starts without it
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(view)  # type: ignore[arg-type]  # a map reads and seeks like a file
        if reader.is_encrypted and not reader.decrypt(""):
            raise _locked(name)
        return reader
    except AttachmentError:
        raise
    except OSError:
        raise
    except PyPdfError as exc:
        raise _damaged(name, str(exc)[:120]) from exc
    except Exception as exc:  # a malformed file makes pypdf raise anything
        raise _damaged(name, type(exc).__name__) from exc


def _read(
    view: mmap.mmap,
    name: str,
    progress: Callable[[float], None] | None,
    cancelled: Callable[[], bool] | None,
    limit: int,
) -> tuple[list[PageText], list[str]]:
    reader = _open(view, name)
    try:
        count = len(reader.pages)
    except Exception as exc:  # a broken page tree
        raise _damaged(name, type(exc).__name__) from exc
    if count == 0:
        raise _damaged(name, "no pages")
    pages: list[PageText] = []
    failed: list[int] = []
    chars = 0
    cut = False
    for index in range(count):
        check_cancelled(cancelled, name)
        try:
            text = clean(reader.pages[index].extract_text())
        except OSError:
            raise
        except Exception:  # noqa: BLE001 - one bad page must not lose the others
            failed.append(index + 1)
            text = ""
        if text:
            if chars + len(text) > limit:
                text = text[: limit - chars]
                cut = True
            pages.append(PageText(index + 1, text))
            chars += len(text)
        if progress is not None:
            progress((index + 1) / count)
        if cut:
            break
    if failed and len(failed) == count:
        raise _damaged(name, "no page could be read")
    notes = []
    if failed:
        shown_pages = ", ".join(str(n) for n in failed[:10]) + ("…" if len(failed) > 10 else "")
        notes.append(f"could not read page{'s' if len(failed) > 1 else ''} {shown_pages}")
    if cut:
        notes.append(cut_note(limit))
    return pages, notes


__all__ = ["NO_TEXT_NOTE", "extract_pdf"]
