"""``DocumentExtractor``: the ``core.files.ports.Extractor`` over this package's readers.

``classify`` is ``sniff.classify``; ``extract`` sends each kind to its reader (text kinds to
``text.read_text``, HTML through ``html_text`` too, PDF to ``pdf``, DOCX to ``docx``) and
checks an image's magic bytes. Every error is an ``AttachmentError`` naming the file: by
``name`` when given (the service reads a content-addressed copy whose file name is a hash),
else the path's name.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from keiko_desktop.core.files.types import (
    INGESTED_KINDS,
    AttachmentError,
    Extracted,
    FileKind,
    PageText,
)
from keiko_desktop.documents import sniff
from keiko_desktop.documents.docx import extract_docx
from keiko_desktop.documents.errors import (
    MAX_CHARS,
    binary_error,
    check_cancelled,
    cut_note,
    join_notes,
    shown,
)
from keiko_desktop.documents.html_text import html_to_text
from keiko_desktop.documents.pdf import extract_pdf
from keiko_desktop.documents.text import read_text

TEXT_MIMES: dict[str, str] = {
    "text": "text/plain",
    "markdown": "text/markdown",
    "csv": "text/csv",
    "json": "application/json",
    "html": "text/html",
}

CODE_MIMES: dict[str, str] = {
    ".py": "text/x-python",
    ".js": "text/javascript",
    ".mjs": "text/javascript",
    ".css": "text/css",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".yaml": "application/yaml",
    ".yml": "application/yaml",
    ".toml": "application/toml",
    ".sh": "application/x-sh",
    ".sql": "application/sql",
}
"""Fixed, not the system's mime database (which calls ``.ts`` video)."""

_NOT_ATTACHED = {
    "audio": "is audio: Keiko transcribes it when it is dropped on the chat",
    "folder": "is a folder: Keiko can offer it to its files tool instead",
    "model": "is a model file: add it in Models instead",
    "mcp_config": "is an MCP server configuration: import it instead",
}


class DocumentExtractor:
    """Reads text out of files (see the package's modules). Synchronous: call ``extract`` in
    a worker thread; ``classify`` is fast enough for the GUI thread."""

    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        if not 1 <= max_chars <= MAX_CHARS:
            raise ValueError(f"max_chars must be 1..{MAX_CHARS}")
        self.max_chars = max_chars

    def classify(self, path: Path) -> FileKind:
        return sniff.classify(path)

    def extract(
        self,
        path: Path,
        kind: FileKind,
        *,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        name: str | None = None,
    ) -> Extracted:
        """The text of ``path`` read as ``kind``; ``name`` is the file name messages use."""
        label = name or path.name
        if kind == "binary":
            raise binary_error(label)
        if kind not in INGESTED_KINDS:
            reason = _NOT_ATTACHED.get(kind, f"is a {kind} file")
            raise AttachmentError(f"{shown(label)} {reason}.", "It is not attached as a file.")
        check_cancelled(cancelled, label)
        limit = self.max_chars
        if kind == "pdf":
            return extract_pdf(path, label, progress=progress, cancelled=cancelled, limit=limit)
        if kind == "docx":
            return extract_docx(path, label, progress=progress, cancelled=cancelled, limit=limit)
        if kind == "image":
            return _image(path, label)
        return self._text(path, kind, label, progress, cancelled)

    def _text(
        self,
        path: Path,
        kind: FileKind,
        label: str,
        progress: Callable[[float], None] | None,
        cancelled: Callable[[], bool] | None,
    ) -> Extracted:
        read_share = 0.8 if kind == "html" else 1.0

        def reading(fraction: float) -> None:
            if progress is not None:
                progress(fraction * read_share)

        decoded = read_text(
            path, label, progress=reading, cancelled=cancelled, limit=self.max_chars
        )
        text, note = decoded.text, decoded.note
        if kind == "html":
            text, cut = html_to_text(
                text, limit=self.max_chars, check=lambda: check_cancelled(cancelled, label)
            )
            if cut and not note.endswith(cut_note(self.max_chars)):
                note = join_notes(note, cut_note(self.max_chars))
            if progress is not None:
                progress(1.0)
            if not text.strip():
                return Extracted(kind, "text/html", (), join_notes(note, "the page has no text"))
        elif not text.strip():
            raise AttachmentError(
                f"{shown(label)} is empty: there is no text in it.",
                "Attach a file with some text in it.",
            )
        return Extracted(kind, _mime(kind, label), (PageText(None, text),), note)


def _image(path: Path, label: str) -> Extracted:
    mime = sniff.image_mime(sniff.read_head(path, label))
    if mime is None:
        raise AttachmentError(
            f"{shown(label)} is not an image Keiko can read.",
            "Attach a PNG, JPEG, GIF, WEBP or BMP image.",
        )
    return Extracted("image", mime, ())


def _mime(kind: FileKind, name: str) -> str:
    suffix = Path(name).suffix.lower()
    if kind == "csv" and suffix == ".tsv":
        return "text/tab-separated-values"
    if kind == "code":
        return CODE_MIMES.get(suffix, "text/plain")
    return TEXT_MIMES.get(kind, "text/plain")


__all__ = ["DocumentExtractor"]
