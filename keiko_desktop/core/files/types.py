"""The values of attachments: what a file is, what was read from it, and what a reply cites."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from keiko_desktop.core.errors import KeikoError

FileKind = Literal[
    "text",  # plain text, logs, anything that decodes as text
    "code",  # source code (by extension)
    "markdown",
    "csv",
    "json",
    "html",
    "pdf",
    "docx",
    "image",  # png, jpeg, gif, webp, bmp: stored, shown as a thumbnail, text-free
    "audio",  # goes the Voice path (transcribed into the message box), never stored here
    "folder",  # offered as a granted folder for the files tool, never stored here
    "model",  # a .gguf file: offered as a model to add, never stored here
    "mcp_config",  # a Claude Desktop / Cursor / VS Code MCP config: offered for import
    "binary",  # anything else: refused with a clear message
]

INGESTED_KINDS: frozenset[str] = frozenset(
    {"text", "code", "markdown", "csv", "json", "html", "pdf", "docx", "image"}
)
"""Kinds that become attachments (a stored copy, extracted text, chunks)."""


class AttachmentError(KeikoError):
    """A file that cannot be attached: the message names the file and says why, the hint what
    to do. Nothing of it is stored when this is raised."""


@dataclass(frozen=True)
class PageText:
    """The text of one page (PDF) or of the whole file (``page`` None)."""

    page: int | None
    text: str


@dataclass(frozen=True)
class Extracted:
    """What an extractor read from a file."""

    kind: FileKind
    mime: str
    pages: tuple[PageText, ...]
    note: str = ""
    """Something the user should know, e.g. "read as Windows-1252 (not UTF-8)"."""

    @property
    def chars(self) -> int:
        return sum(len(p.text) for p in self.pages)


@dataclass(frozen=True)
class AttachmentInfo:
    """A stored attachment: one content-addressed copy (``sha256``), however often attached."""

    id: int
    sha256: str
    name: str  # the file's name when it was attached (display only, never a path to open)
    kind: FileKind
    mime: str
    size: int  # bytes of the copy
    pages: int  # pages with text (0 for an image)
    chars: int  # characters of extracted text
    chunks: int
    note: str
    created_at: float


@dataclass(frozen=True)
class Chunk:
    """A passage of an attachment's text: what retrieval finds and a citation points to."""

    id: int
    attachment_id: int
    ordinal: int  # 0-based order within the attachment
    page: int | None
    text: str
    start: int  # offset of the passage within its page's text


@dataclass(frozen=True)
class Passage:
    """A chunk found for a turn, with its attachment's name and its rank score."""

    chunk: Chunk
    name: str
    score: float = 0.0

    @property
    def label(self) -> str:
        """How a reply cites it: ``[report.pdf, p. 3]``, or ``[notes.md]`` without pages."""
        return citation_label(self.name, self.chunk.page)


def human_size(size: int) -> str:
    """``512 B``, ``12 KB``, ``3.4 MB``, ``1.2 GB``: a file's size as chips and messages say it."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if value >= 10 else f"{value:.1f} {unit}"
    return f"{size} B"  # pragma: no cover


def citation_label(name: str, page: int | None) -> str:
    return f"[{name}, p. {page}]" if page is not None else f"[{name}]"
