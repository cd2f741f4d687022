"""PDFs read with pypdf: a page per PageText, locked and damaged files refused clearly."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from keiko_desktop.core.files.types import AttachmentError
from keiko_desktop.documents import DocumentExtractor
from tests.helpers import documents as docs


def test_each_page_is_its_own_text_numbered_from_one(tmp_path: Path) -> None:
    path = docs.make_pdf(tmp_path / "r.pdf", ["First page.\nSecond line.", "Page (two) \\ café €"])
    got = DocumentExtractor().extract(path, "pdf")
    assert got.kind == "pdf"
    assert got.mime == "application/pdf"
    assert [(p.page, p.text) for p in got.pages] == [
        (1, "First page.\nSecond line."),
        (2, "Page (two) \\ café €"),
    ]
    assert got.note == ""


def test_a_long_pdf_keeps_every_page_with_progress_per_page(tmp_path: Path) -> None:
    path = docs.make_long_pdf(tmp_path / "long.pdf", 200)
    seen: list[float] = []
    began = time.perf_counter()
    got = DocumentExtractor().extract(path, "pdf", progress=seen.append)
    elapsed = time.perf_counter() - began
    assert len(got.pages) == 200
    assert got.pages[41].page == 42
    assert got.pages[41].text == docs.page_text(42)
    assert len(seen) == 200
    assert seen[-1] == 1.0
    assert elapsed < 10


def test_blank_pages_are_left_out_and_a_scan_gets_a_note(tmp_path: Path) -> None:
    mixed = DocumentExtractor().extract(docs.make_pdf(tmp_path / "m.pdf", ["a", "", "c"]), "pdf")
    assert [p.page for p in mixed.pages] == [1, 3]
    scan = DocumentExtractor().extract(docs.make_scanned_pdf(tmp_path / "s.pdf", 3), "pdf")
    assert scan.pages == ()
    assert "no text layer (scanned?)" in scan.note


def test_password_protected_pdf_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = docs.make_encrypted_pdf(tmp_path / "secret.pdf")
    with pytest.raises(AttachmentError, match=r"secret\.pdf is password-protected") as caught:
        DocumentExtractor().extract(path, "pdf")
    assert "unprotected copy" in caught.value.hint


def test_a_pdf_locked_only_against_editing_opens_with_the_empty_password(tmp_path: Path) -> None:
    path = docs.make_owner_locked_pdf(tmp_path / "locked.pdf", ["Anyone may read this."])
    got = DocumentExtractor().extract(path, "pdf")
    assert [p.text for p in got.pages] == ["Anyone may read this."]


@pytest.mark.parametrize(
    "make",
    [docs.make_corrupt_pdf, docs.make_truncated_pdf, lambda p: p.write_bytes(b"")],
    ids=["garbage", "truncated", "empty"],
)
def test_damaged_pdfs_get_a_clear_error(tmp_path: Path, make: object) -> None:
    path = tmp_path / "bad.pdf"
    make(path)  # type: ignore[operator]
    with pytest.raises(AttachmentError, match=r"bad\.pdf is not a PDF Keiko can read") as caught:
        DocumentExtractor().extract(path, "pdf")
    assert caught.value.hint


def test_cancelled_between_pages(tmp_path: Path) -> None:
    path = docs.make_long_pdf(tmp_path / "c.pdf", 50)
    seen: list[float] = []
    with pytest.raises(AttachmentError, match="cancelled"):
        DocumentExtractor().extract(
            path, "pdf", progress=seen.append, cancelled=lambda: len(seen) >= 3
        )
    assert len(seen) == 3


def test_the_character_limit_cuts_across_pages(tmp_path: Path) -> None:
    path = docs.make_long_pdf(tmp_path / "l.pdf", 20)
    got = DocumentExtractor(max_chars=2000).extract(path, "pdf")
    assert got.chars == 2000
    assert len(got.pages) < 20
    assert "2,000 characters" in got.note


def test_a_file_written_while_read_is_refused(tmp_path: Path) -> None:
    path = docs.make_long_pdf(tmp_path / "growing.pdf", 10)

    def write_more(_: float) -> None:
        with path.open("ab") as f:
            f.write(b"% appended\n")

    with pytest.raises(AttachmentError, match=r"growing\.pdf changed while Keiko was reading"):
        DocumentExtractor().extract(path, "pdf", progress=write_more)


def test_messages_use_the_given_name_not_the_stored_copys(tmp_path: Path) -> None:
    copy = docs.make_encrypted_pdf(tmp_path / ("ab" * 32 + ".part"))
    with pytest.raises(AttachmentError, match=r"^report\.pdf is password-protected"):
        DocumentExtractor().extract(copy, "pdf", name="report.pdf")
