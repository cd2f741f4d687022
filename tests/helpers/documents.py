"""Real files for attachment tests: PDFs, DOCX, HTML, images, text in odd encodings.

Every maker writes a real file a real reader opens: ``make_pdf`` writes PDF syntax by hand (a
Helvetica text page per string, correct xref, so pypdf reads it back page by page; 200 pages
take a few milliseconds), ``make_encrypted_pdf`` encrypts one with pypdf, ``make_docx`` writes
the WordprocessingML parts Word itself writes (the minimum: content types, relationships,
``word/document.xml``), ``make_png`` a valid PNG (zlib + CRCs). ``page_text(n)`` gives known,
distinct, sentence-shaped text for page ``n``, so a test can ask what page a word is on.
"""

from __future__ import annotations

import json
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

# ---------------------------------------------------------------- sample text

_WORDS = (
    "river",
    "mountain",
    "lantern",
    "harbour",
    "copper",
    "meadow",
    "violin",
    "glacier",
    "orchard",
    "compass",
    "falcon",
    "quartz",
    "ember",
    "willow",
    "canyon",
    "marble",
    "thistle",
    "beacon",
    "saffron",
    "tundra",
)


def page_text(page: int, sentences: int = 12) -> str:
    """Known text for page ``page`` (1-based): lines of sentences, each naming the page, with a
    unique marker word ``pagemarkerN`` (``N`` spelt in digits) in its first sentence."""
    lines = [f"Page {page} begins here with the marker pagemarker{page}."]
    for i in range(sentences):
        a = _WORDS[(page * 7 + i) % len(_WORDS)]
        b = _WORDS[(page * 3 + i * 5 + 1) % len(_WORDS)]
        lines.append(f"Sentence {i + 1} of page {page} talks about the {a} and the {b}.")
    return "\n".join(lines)


# ---------------------------------------------------------------- PDF


def _pdf_string(line: str) -> bytes:
    raw = line.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _content_stream(text: str) -> bytes:
    if not text:
        # a "scanned" page: something drawn, no text
        return b"0.8 g 72 72 450 650 re f"
    lines = [_pdf_string(line) + b" Tj" for line in text.split("\n")]
    return b"BT /F1 11 Tf 13 TL 56 760 Td\n" + b"\nT* ".join(lines) + b"\nET"


def pdf_bytes(pages: Sequence[str]) -> bytes:
    """A PDF with one page per string (lines split at ``\\n``; ``""`` is a page with no text)."""
    n = len(pages)
    if n < 1:
        raise ValueError("a PDF needs at least one page")
    # objects: 1 catalog, 2 pages, 3 font, then per page: page object, content stream
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids ["
        + b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n))
        + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for i, text in enumerate(pages):
        stream = _content_stream(text)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_pdf(path: Path, pages: Sequence[str]) -> Path:
    """Write a real PDF with one page per string; returns ``path``."""
    path.write_bytes(pdf_bytes(pages))
    return path


def make_long_pdf(path: Path, pages: int = 200) -> Path:
    """A PDF of ``pages`` pages of ``page_text`` (about 800 characters each)."""
    return make_pdf(path, [page_text(n) for n in range(1, pages + 1)])


def make_scanned_pdf(path: Path, pages: int = 2) -> Path:
    """A PDF whose pages have drawings but no text layer (as a scan without OCR)."""
    return make_pdf(path, [""] * pages)


def make_encrypted_pdf(
    path: Path, pages: Sequence[str] = ("Secret text.",), *, password: str = "secret"
) -> Path:
    """A PDF that needs ``password`` to be read (pypdf's ``encrypt``, AES-128)."""
    return _encrypted(path, pages, user=password, owner=password + "-owner")


def make_owner_locked_pdf(path: Path, pages: Sequence[str] = ("Readable text.",)) -> Path:
    """An encrypted PDF with an empty user password: any reader opens it (only editing is
    "protected"), as many real PDFs are."""
    return _encrypted(path, pages, user="", owner="owner-only")


def _encrypted(path: Path, pages: Sequence[str], *, user: str, owner: str) -> Path:
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(pdf_bytes(pages))))
    writer.encrypt(user_password=user, owner_password=owner, algorithm="AES-128")
    with path.open("wb") as f:
        writer.write(f)
    return path


def make_corrupt_pdf(path: Path) -> Path:
    """Starts like a PDF, then is garbage (no objects, no xref, no trailer)."""
    path.write_bytes(b"%PDF-1.7\n" + bytes(range(256)) * 8)
    return path


def make_truncated_pdf(path: Path, pages: Sequence[str] = ("Half a file.", "Gone.")) -> Path:
    """A real PDF cut in half (as a download that stopped)."""
    data = pdf_bytes(pages)
    path.write_bytes(data[: len(data) // 2])
    return path


# ---------------------------------------------------------------- DOCX

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="word/document.xml"/>'
    "</Relationships>"
)


def _runs(text: str) -> str:
    """A paragraph's text as runs: ``\\n`` becomes ``<w:br/>``, ``\\t`` ``<w:tab/>``."""
    parts = []
    for i, line in enumerate(text.split("\n")):
        if i:
            parts.append("<w:br/>")
        for j, piece in enumerate(line.split("\t")):
            if j:
                parts.append("<w:tab/>")
            if piece:
                parts.append(f'<w:t xml:space="preserve">{escape(piece)}</w:t>')
    return f"<w:r>{''.join(parts)}</w:r>"


def _paragraph(text: str) -> str:
    return f"<w:p>{_runs(text)}</w:p>"


def document_xml(paragraphs: Sequence[str], tables: Sequence[Sequence[Sequence[str]]] = ()) -> str:
    """``word/document.xml`` with the paragraphs, then the tables (rows of cell texts)."""
    body = [_paragraph(p) for p in paragraphs]
    for table in tables:
        rows = "".join(
            "<w:tr>" + "".join(f"<w:tc>{_paragraph(cell)}</w:tc>" for cell in row) + "</w:tr>"
            for row in table
        )
        body.append(f"<w:tbl>{rows}</w:tbl>")
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:document xmlns:w="{_W}"><w:body>{"".join(body)}<w:sectPr/></w:body></w:document>'
    )


def make_docx(
    path: Path,
    paragraphs: Sequence[str],
    tables: Sequence[Sequence[Sequence[str]]] = (),
    *,
    document: str | None = None,
) -> Path:
    """A real .docx (Word opens it): the paragraphs and tables, or ``document`` as the raw
    ``word/document.xml``."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", _CONTENT_TYPES)
        z.writestr("_rels/.rels", _RELS)
        z.writestr("word/document.xml", document or document_xml(paragraphs, tables))
    return path


def make_docx_bomb(path: Path, megabytes: int = 8) -> Path:
    """A .docx whose document.xml inflates ~1000:1 (``megabytes`` of white space in a
    paragraph): a zip bomb in miniature."""
    filler = " " * (megabytes * 1024 * 1024)
    document = (
        f'<?xml version="1.0"?><w:document xmlns:w="{_W}"><w:body><w:p><w:r>'
        f"<w:t>boom{filler}</w:t></w:r></w:p></w:body></w:document>"
    )
    return make_docx(path, (), document=document)


def make_docx_without_document(path: Path) -> Path:
    """A zip named .docx with no ``word/document.xml`` (not a Word file)."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "not a document")
    return path


# ---------------------------------------------------------------- HTML, text, JSON


def make_html(path: Path, title: str, body: str) -> Path:
    """An HTML page: ``<title>``, a script and a style that must not be read, and ``body``
    (raw HTML) inside ``<body>``."""
    path.write_text(
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title>"
        "<style>body { color: red; } .secret { display: none }</style>"
        "<script>var injected = 'SCRIPT TEXT MUST NOT APPEAR';</script>"
        f"</head><body>{body}</body></html>",
        encoding="utf-8",
    )
    return path


def make_text(path: Path, text: str, encoding: str = "utf-8", *, bom: bool = False) -> Path:
    """``text`` written in ``encoding`` (``utf-8``, ``utf-16-le``, ``cp1252``, …), with its
    byte-order mark when ``bom``."""
    marks = {
        "utf-8": b"\xef\xbb\xbf",
        "utf-16-le": b"\xff\xfe",
        "utf-16-be": b"\xfe\xff",
        "utf-32-le": b"\xff\xfe\x00\x00",
        "utf-32-be": b"\x00\x00\xfe\xff",
    }
    prefix = marks[encoding] if bom else b""
    path.write_bytes(prefix + text.encode(encoding))
    return path


def make_binary(path: Path, size: int = 4096) -> Path:
    """Bytes that are no text: NULs and the whole byte range, repeated."""
    path.write_bytes((b"\x00\x01\x02ELF" + bytes(range(256))) * (size // 261 + 1))
    return path


def make_gguf(path: Path) -> Path:
    """A file that starts like a GGUF model (magic and version 3), nothing more."""
    path.write_bytes(b"GGUF" + struct.pack("<I", 3) + b"\x00" * 64)
    return path


def make_mcp_config(
    path: Path, servers: Sequence[str] = ("files",), *, key: str = "mcpServers"
) -> Path:
    """A Claude Desktop style MCP config (``key`` "servers" for VS Code's)."""
    path.write_text(
        json.dumps({key: {name: {"command": "npx", "args": [name]} for name in servers}}),
        encoding="utf-8",
    )
    return path


# ---------------------------------------------------------------- images


def png_bytes(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A valid RGB PNG of one colour."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def make_png(path: Path, width: int = 4, height: int = 3) -> Path:
    path.write_bytes(png_bytes(width, height))
    return path


def gif_bytes() -> bytes:
    """A 1×1 GIF89a."""
    return (
        b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00"
        b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
    )


def jpeg_header() -> bytes:
    """The first bytes of a JFIF JPEG (what sniffing looks at)."""
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32
