"""Text files: encodings decided by BOM, strict UTF-8, then Windows-1252/Latin-1 with a note."""

from __future__ import annotations

from pathlib import Path

import pytest

from keiko_desktop.core.files.types import AttachmentError
from keiko_desktop.documents import DocumentExtractor
from tests.helpers.documents import make_binary, make_text

SAMPLE = "Grüße, café — 10 € «quoted»\nsecond line"


def _read(path: Path, kind: str = "text", **kw: object) -> tuple[str, str, str]:
    got = DocumentExtractor().extract(path, kind, **kw)  # type: ignore[arg-type]
    assert len(got.pages) == 1
    assert got.pages[0].page is None
    return got.pages[0].text, got.note, got.mime


@pytest.mark.parametrize(
    ("encoding", "bom"),
    [
        ("utf-8", False),
        ("utf-8", True),
        ("utf-16-le", True),
        ("utf-16-be", True),
        ("utf-32-le", True),
        ("utf-32-be", True),
    ],
)
def test_unicode_files_read_exactly(tmp_path: Path, encoding: str, bom: bool) -> None:
    path = make_text(tmp_path / "a.txt", SAMPLE, encoding, bom=bom)
    text, note, mime = _read(path)
    assert text == SAMPLE
    assert note == ""
    assert mime == "text/plain"


def test_windows_1252_is_read_as_such_with_a_note(tmp_path: Path) -> None:
    path = make_text(tmp_path / "old.txt", SAMPLE.replace("«", '"').replace("»", '"'), "cp1252")
    text, note, _ = _read(path)
    assert text == SAMPLE.replace("«", '"').replace("»", '"')
    assert "Windows-1252" in note


def test_bytes_not_even_windows_1252_fall_back_to_latin_1(tmp_path: Path) -> None:
    path = tmp_path / "odd.txt"
    path.write_bytes("café".encode("latin-1") + b" \x81 \x8d end")
    text, note, _ = _read(path)
    assert text.startswith("café")
    assert "Latin-1" in note


def test_invalid_utf8_late_in_a_big_file_is_noticed(tmp_path: Path) -> None:
    path = tmp_path / "late.txt"
    path.write_bytes(b"plain ascii line\n" * 200_000 + "naïve".encode("cp1252"))
    text, note, _ = _read(path)
    assert text.endswith("naïve")
    assert "Windows-1252" in note


def test_line_ends_become_newlines(tmp_path: Path) -> None:
    path = tmp_path / "dos.txt"
    path.write_bytes(b"one\r\ntwo\rthree\n")
    assert _read(path)[0] == "one\ntwo\nthree\n"


@pytest.mark.parametrize(
    ("name", "kind", "mime"),
    [
        ("a.md", "markdown", "text/markdown"),
        ("a.csv", "csv", "text/csv"),
        ("a.tsv", "csv", "text/tab-separated-values"),
        ("a.json", "json", "application/json"),
        ("a.py", "code", "text/x-python"),
        ("a.ts", "code", "text/plain"),  # not video/mp2t
    ],
)
def test_mime_follows_kind_and_name(tmp_path: Path, name: str, kind: str, mime: str) -> None:
    path = tmp_path / name
    path.write_text("x = 1\n", encoding="utf-8")
    assert _read(path, kind)[2] == mime


def test_nul_laden_files_are_refused_as_binary(tmp_path: Path) -> None:
    path = make_binary(tmp_path / "prog.py")
    with pytest.raises(AttachmentError, match=r"prog\.py looks like a binary file"):
        DocumentExtractor().extract(path, "code")
    utf16_no_bom = tmp_path / "u16.txt"
    utf16_no_bom.write_bytes("hello world".encode("utf-16-le"))
    with pytest.raises(AttachmentError, match="binary"):
        DocumentExtractor().extract(utf16_no_bom, "text")


def test_nul_after_the_first_block_is_caught_too(tmp_path: Path) -> None:
    path = tmp_path / "tail.txt"
    path.write_bytes(b"text " * 500_000 + b"\x00\x00\x00")
    with pytest.raises(AttachmentError, match="binary"):
        DocumentExtractor().extract(path, "text")


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.txt"
    path.write_bytes(b"\n  \n")
    with pytest.raises(AttachmentError, match=r"empty\.txt is empty"):
        DocumentExtractor().extract(path, "text")


def test_text_is_cut_at_the_character_limit_with_a_note(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_text("abcdefghij" * 1000, encoding="utf-8")
    got = DocumentExtractor(max_chars=2500).extract(path, "text")
    assert got.chars == 2500
    assert "2,500 characters" in got.note


def test_progress_rises_to_one(tmp_path: Path) -> None:
    path = tmp_path / "p.txt"
    path.write_bytes(b"line of text\n" * 400_000)  # ~5 MB: several blocks
    seen: list[float] = []
    DocumentExtractor().extract(path, "text", progress=seen.append)
    assert len(seen) >= 5
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
