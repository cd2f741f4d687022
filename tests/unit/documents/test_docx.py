"""Word documents: paragraphs, line breaks and tables in order; zip bombs and non-Word refused."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from keiko_desktop.core.files.types import AttachmentError
from keiko_desktop.documents import DocumentExtractor
from keiko_desktop.documents.docx import MIME
from tests.helpers import documents as docs


def test_paragraphs_breaks_tabs_and_tables(tmp_path: Path) -> None:
    path = docs.make_docx(
        tmp_path / "w.docx",
        ["Title & <more>", "Line one\nline two", "a\tb", ""],
        tables=[[["Name", "Qty"], ["Milk", "2"]]],
    )
    got = DocumentExtractor().extract(path, "docx")
    assert got.mime == MIME
    assert len(got.pages) == 1
    assert got.pages[0].page is None
    assert got.pages[0].text == "Title & <more>\n\nLine one\nline two\n\na\tb\n\nName\tQty\nMilk\t2"


def test_tracked_deletions_are_not_read(tmp_path: Path) -> None:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    document = (
        f'<w:document xmlns:w="{w}"><w:body><w:p><w:r><w:t>kept</w:t></w:r>'
        "<w:del><w:r><w:delText>gone</w:delText></w:r></w:del></w:p></w:body></w:document>"
    )
    got = DocumentExtractor().extract(
        docs.make_docx(tmp_path / "t.docx", (), document=document), "docx"
    )
    assert got.pages[0].text == "kept"


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path: Path) -> None:
    path = docs.make_docx_bomb(tmp_path / "bomb.docx", megabytes=8)
    assert path.stat().st_size < 100_000
    with pytest.raises(AttachmentError, match=r"bomb\.docx expands to far more"):
        DocumentExtractor().extract(path, "docx")


def test_a_member_over_50_mb_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "huge.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:  # stored: ratio 1
        z.writestr("word/document.xml", b" " * (50 * 1024 * 1024 + 10))
    with pytest.raises(AttachmentError, match="expands to far more"):
        DocumentExtractor().extract(path, "docx")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (docs.make_docx_without_document, "no word/document.xml"),
        (lambda p: p.write_bytes(b"PK\x03\x04 not really a zip"), "not a valid zip"),
        (lambda p: docs.make_docx(p, (), document="<w:document><unclosed"), "broken XML"),
        (
            lambda p: docs.make_docx(p, (), document='<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'),
            "DTD",
        ),
    ],
    ids=["no-document", "not-zip", "bad-xml", "dtd"],
)
def test_not_a_word_document(tmp_path: Path, make: object, reason: str) -> None:
    path = tmp_path / "fake.docx"
    make(path)  # type: ignore[operator]
    with pytest.raises(AttachmentError, match=rf"fake\.docx is not a Word document.*{reason}"):
        DocumentExtractor().extract(path, "docx")


def test_an_empty_document_has_a_note(tmp_path: Path) -> None:
    got = DocumentExtractor().extract(docs.make_docx(tmp_path / "e.docx", ["", " "]), "docx")
    assert got.pages == ()
    assert "no text" in got.note
