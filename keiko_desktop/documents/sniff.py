"""What a file is, from its name, whether it is a folder, and its first 64 KiB.

Fast enough for the GUI thread (one ``stat``, at most one 64 KiB read, for a zip its central
directory). The order decides: folder; model (``.gguf`` or the GGUF magic); a ``.json`` that is
an MCP config (a top-level ``"mcpServers"``, or VS Code's ``"servers"`` of server entries) or
plain JSON; audio by extension; an image by its magic bytes; PDF (``.pdf`` or ``%PDF-``); DOCX
(``.docx``, or a zip holding ``word/document.xml``); HTML; Markdown; CSV/TSV; code by extension;
otherwise the bytes decide between ``text`` and ``binary``.
"""

from __future__ import annotations

import json
import re
import stat
import zipfile
from pathlib import Path

from keiko_desktop.core.files.types import AttachmentError, FileKind
from keiko_desktop.core.voice.types import AUDIO_SUFFIXES
from keiko_desktop.documents.errors import os_error

HEAD_BYTES = 64 * 1024

_CODE = """
    .py .pyi .pyw .ipynb .js .mjs .cjs .ts .tsx .jsx .java .kt .kts .groovy .gradle .scala .c .h
    .cc .cpp .cxx .hpp .hh .hxx .cs .fs .go .rs .rb .php .swift .m .mm .sh .bash .zsh .fish .ps1
    .psm1 .bat .cmd .lua .pl .pm .r .jl .dart .sql .css .scss .sass .less .vue .svelte .xml .xsd
    .xsl .svg .yaml .yml .toml .ini .cfg .conf .properties .env .cmake .mk .tf .hcl .hs .ml .mli
    .ex .exs .erl .hrl .clj .cljs .el .lisp .scm .rkt .vim .nim .zig .v .sv .vhd .vhdl .asm .s
    .proto .graphql .gql .nix .d .f90 .f .pas .ada .cob .tex .bib .diff .patch .dockerfile
"""
CODE_SUFFIXES = frozenset(_CODE.split())
CODE_NAMES = frozenset(
    {"makefile", "dockerfile", "cmakelists.txt", "gemfile", "rakefile", "justfile", "vagrantfile"}
)
HTML_SUFFIXES = frozenset({".html", ".htm", ".xhtml"})
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown", ".mdown", ".mkd"})
CSV_SUFFIXES = frozenset({".csv", ".tsv"})

_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0C, 0x0D, 0x1B}
_MCP_KEY = re.compile(rb'"mcpServers"\s*:')
_HTML_START = re.compile(rb"^\s*<(?:!doctype\s+html|html)[\s>]", re.IGNORECASE)

IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp")


def image_mime(head: bytes) -> str | None:
    """The image type of these first bytes (PNG, JPEG, GIF, WEBP, BMP), or None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    # "BM" starts many texts; a BMP also has a known DIB header size at offset 14
    if head[:2] == b"BM" and len(head) >= 18:
        dib = int.from_bytes(head[14:18], "little")
        if dib in (12, 16, 40, 52, 56, 64, 108, 124) and head[6:10] == b"\0\0\0\0":
            return "image/bmp"
    return None


def looks_binary(head: bytes) -> bool:
    """True for bytes that are no text: NULs (outside a UTF-16/32 byte-order mark) or more
    than a tenth control characters."""
    if not head or head.startswith(_BOMS):
        return False
    if b"\0" in head:
        return True
    controls = sum(1 for byte in head if byte in _CONTROL)
    return controls > len(head) // 10


def read_head(path: Path, name: str) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(HEAD_BYTES)
    except OSError as exc:
        raise os_error(exc, name) from exc


def classify(path: Path) -> FileKind:
    """The kind of ``path`` (see the module's docstring). Raises ``AttachmentError`` when it
    cannot be read at all (gone, no permission)."""
    name = path.name
    try:
        info = path.stat()
    except OSError as exc:
        raise os_error(exc, name) from exc
    if stat.S_ISDIR(info.st_mode):
        return "folder"
    if not stat.S_ISREG(info.st_mode):
        return "binary"  # a pipe or device: opening it could block, reading it never end
    suffix = path.suffix.lower()
    head = read_head(path, name)
    if suffix == ".gguf" or head.startswith(b"GGUF"):
        return "model"
    if suffix == ".json":
        return "mcp_config" if is_mcp_config(head) else "json"
    if suffix in AUDIO_SUFFIXES:
        return "audio"
    if image_mime(head):
        return "image"
    if suffix == ".pdf" or head.startswith(b"%PDF-"):
        return "pdf"
    if suffix == ".docx" or (head.startswith(b"PK\x03\x04") and _zip_has_document(path)):
        return "docx"
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in CODE_SUFFIXES or name.lower() in CODE_NAMES:
        return "code"
    if looks_binary(head):
        return "binary"
    if _HTML_START.match(head):
        return "html"
    return "text"


def is_mcp_config(head: bytes) -> bool:
    """A Claude Desktop / Cursor config (``"mcpServers"``) or a VS Code one (``"servers"``
    whose entries have a ``command`` or ``url``)."""
    try:
        data = json.loads(head.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        # longer than 64 KiB (or not JSON): the key's presence decides
        return bool(_MCP_KEY.search(head))
    if not isinstance(data, dict):
        return False
    if isinstance(data.get("mcpServers"), dict):
        return True
    servers = data.get("servers")
    return (
        isinstance(servers, dict)
        and bool(servers)
        and all(isinstance(s, dict) and ("command" in s or "url" in s) for s in servers.values())
    )


def _zip_has_document(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as z:
            return "word/document.xml" in z.namelist()
    except (OSError, zipfile.BadZipFile, ValueError):
        return False


__all__ = ["HEAD_BYTES", "AttachmentError", "classify", "image_mime", "looks_binary"]
