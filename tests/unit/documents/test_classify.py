"""classify: the kind of a real file from its name, its first bytes, or whether it is a folder."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from keiko_desktop.core.files.types import AttachmentError
from keiko_desktop.documents import DocumentExtractor
from tests.helpers import documents as docs

Maker = Callable[[Path], object]

CASES: list[tuple[str, Maker, str]] = [
    ("notes.txt", lambda p: p.write_text("hello\n"), "text"),
    ("README", lambda p: p.write_text("no extension, plain words"), "text"),
    ("app.log", lambda p: docs.make_text(p, "caf\u00e9", "cp1252"), "text"),
    ("bom16.txt", lambda p: docs.make_text(p, "hi", "utf-16-le", bom=True), "text"),
    ("main.py", lambda p: p.write_text("print('x')\n"), "code"),
    ("Makefile", lambda p: p.write_text("all:\n\techo\n"), "code"),
    ("a.md", lambda p: p.write_text("# Title\n"), "markdown"),
    ("t.csv", lambda p: p.write_text("a,b\n1,2\n"), "csv"),
    ("t.tsv", lambda p: p.write_text("a\tb\n"), "csv"),
    ("d.json", lambda p: p.write_text('{"a": [1, 2]}'), "json"),
    ("claude.json", docs.make_mcp_config, "mcp_config"),
    ("mcp.json", lambda p: docs.make_mcp_config(p, key="servers"), "mcp_config"),
    ("other.json", lambda p: p.write_text('{"servers": ["web1", "web2"]}'), "json"),
    (
        "big.json",
        lambda p: p.write_text(
            '{"mcpServers": {"x": {"command": "y"}}, "pad": "' + "z" * 70000 + '"}'
        ),
        "mcp_config",
    ),
    ("page.html", lambda p: docs.make_html(p, "T", "<p>x</p>"), "html"),
    ("page", lambda p: p.write_text("<!DOCTYPE html><html><body>x</body></html>"), "html"),
    ("r.pdf", lambda p: docs.make_pdf(p, ["one"]), "pdf"),
    ("download", lambda p: docs.make_pdf(p, ["one"]), "pdf"),
    ("broken.pdf", lambda p: p.write_bytes(b"not a pdf at all"), "pdf"),
    ("w.docx", lambda p: docs.make_docx(p, ["x"]), "docx"),
    ("attachment.bin", lambda p: docs.make_docx(p, ["x"]), "docx"),
    ("archive.zip", docs.make_docx_without_document, "binary"),
    ("i.png", docs.make_png, "image"),
    ("photo.txt", docs.make_png, "image"),
    ("g.gif", lambda p: p.write_bytes(docs.gif_bytes()), "image"),
    ("j.jpg", lambda p: p.write_bytes(docs.jpeg_header()), "image"),
    ("w.webp", lambda p: p.write_bytes(b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 20), "image"),
    (
        "b.bmp",
        lambda p: p.write_bytes(
            b"BM" + b"\x46\x00\x00\x00" + b"\x00" * 8 + b"\x28\x00\x00\x00" + b"\x00" * 40
        ),
        "image",
    ),
    ("bmw.txt", lambda p: p.write_text("BMW service notes, plain text"), "text"),
    ("voice.mp3", lambda p: p.write_bytes(b"ID3" + b"\x00" * 100), "audio"),
    ("memo.wav", lambda p: p.write_bytes(b"RIFF\x00\x00\x00\x00WAVE"), "audio"),
    ("model.gguf", docs.make_gguf, "model"),
    ("weights", docs.make_gguf, "model"),
    ("prog", docs.make_binary, "binary"),
    ("empty.txt", lambda p: p.write_bytes(b""), "text"),
]


@pytest.mark.parametrize(("name", "make", "kind"), CASES, ids=[c[0] for c in CASES])
def test_classify(tmp_path: Path, name: str, make: Maker, kind: str) -> None:
    path = tmp_path / name
    make(path)
    assert DocumentExtractor().classify(path) == kind


def test_a_folder(tmp_path: Path) -> None:
    (tmp_path / "docs.pdf").mkdir()
    assert DocumentExtractor().classify(tmp_path / "docs.pdf") == "folder"


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError, match=r"gone\.txt is no longer there") as caught:
        DocumentExtractor().classify(tmp_path / "gone.txt")
    assert caught.value.hint


def test_reads_at_most_64_kib(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as f:
        f.write(b"words " * 2_000_000)  # 12 MB
    import time

    began = time.perf_counter()
    assert DocumentExtractor().classify(path) == "text"
    assert time.perf_counter() - began < 0.05


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX pipes")
def test_a_pipe_is_binary_and_classifying_it_does_not_block(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe.txt"
    os.mkfifo(pipe)
    assert DocumentExtractor().classify(pipe) == "binary"
