"""Files that vanish, cannot be read, change mid-read or are not for attaching: clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from keiko_desktop.core.files.types import AttachmentError
from keiko_desktop.documents import DocumentExtractor
from tests.helpers import documents as docs


@pytest.mark.parametrize("kind", ["text", "pdf", "docx", "html", "image"])
def test_a_vanished_file_is_named(tmp_path: Path, kind: str) -> None:
    with pytest.raises(AttachmentError, match=r"gone\.x is no longer there") as caught:
        DocumentExtractor().extract(tmp_path / "gone.x", kind)  # type: ignore[arg-type]
    assert caught.value.hint


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_permission_denied_is_named(tmp_path: Path) -> None:
    path = tmp_path / "private.txt"
    path.write_text("secret")
    path.chmod(0)
    with pytest.raises(AttachmentError, match=r"Keiko may not read private\.txt"):
        DocumentExtractor().extract(path, "text")


def test_a_text_file_written_while_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(b"line\n" * 600_000)  # 3 MB: three blocks

    def append(_: float) -> None:
        with path.open("ab") as f:
            f.write(b"more\n")

    with pytest.raises(AttachmentError, match=r"log\.txt changed while Keiko was reading"):
        DocumentExtractor().extract(path, "text", progress=append)


def test_cancelled_text_read(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"line\n" * 600_000)
    with pytest.raises(AttachmentError, match=r"Reading big\.txt was cancelled"):
        DocumentExtractor().extract(path, "text", cancelled=lambda: True)


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("audio", "is audio"),
        ("folder", "is a folder"),
        ("model", "is a model file"),
        ("mcp_config", "MCP server configuration"),
        ("binary", "looks like a binary file"),
    ],
)
def test_kinds_that_are_not_attached(tmp_path: Path, kind: str, words: str) -> None:
    path = docs.make_binary(tmp_path / "thing")
    with pytest.raises(AttachmentError, match=words):
        DocumentExtractor().extract(path, kind)  # type: ignore[arg-type]


def test_an_image_has_its_mime_and_no_text(tmp_path: Path) -> None:
    got = DocumentExtractor().extract(docs.make_png(tmp_path / "i.png"), "image")
    assert (got.kind, got.mime, got.pages, got.chars) == ("image", "image/png", (), 0)
    gif = tmp_path / "g"
    gif.write_bytes(docs.gif_bytes())
    assert DocumentExtractor().extract(gif, "image").mime == "image/gif"


def test_a_non_image_read_as_image_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "fake.png"
    path.write_text("not an image")
    with pytest.raises(AttachmentError, match=r"fake\.png is not an image"):
        DocumentExtractor().extract(path, "image")


def test_names_with_control_characters_are_escaped_in_messages(tmp_path: Path) -> None:
    with pytest.raises(AttachmentError) as caught:
        DocumentExtractor().extract(tmp_path / "x", "text", name="evil\x1b[2J\nname.txt")
    assert "\x1b" not in caught.value.message
    assert "\n" not in caught.value.message


def test_the_limit_is_bounded() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        DocumentExtractor(max_chars=0)
    with pytest.raises(ValueError, match="max_chars"):
        DocumentExtractor(max_chars=30_000_000)


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
@pytest.mark.parametrize("kind", ["text", "pdf"])
def test_a_device_is_refused_not_read_forever(kind: str) -> None:
    with pytest.raises(AttachmentError, match="zero is not a regular file"):
        DocumentExtractor().extract(Path("/dev/zero"), kind)  # type: ignore[arg-type]
