"""One download against the real local file server: whole, resumed after a cut, restarted when
the server ignores Range, a part already complete (416), bounds, HTTP errors, a full disk."""

from __future__ import annotations

import errno
import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import httpx2
import pytest

from keiko_desktop.llm.catalog import allowed_url
from keiko_desktop.llm.downloader import DiskFullError, DownloadError, fetch, open_append
from tests.helpers.file_server import FileServer, Script

PATH = "/org/repo/resolve/main/model.gguf"
DATA = b"GGUF" + os.urandom(3 * 1024 * 1024 + 123)
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def server() -> Iterator[FileServer]:
    with FileServer() as s:
        s.add(PATH, DATA)
        yield s


def client() -> httpx2.AsyncClient:
    return httpx2.AsyncClient(follow_redirects=True, max_redirects=5, trust_env=False)


async def test_a_whole_download_has_the_bytes_and_their_sha256(
    server: FileServer, tmp_path: Path
) -> None:
    part = tmp_path / "model.gguf.part"
    seen: list[tuple[int, int]] = []
    async with client() as c:
        got = await fetch(
            c,
            server.url(PATH),
            part,
            max_bytes=len(DATA) * 2,
            on_progress=lambda *a: seen.append(a),
        )
    assert part.read_bytes() == DATA
    assert (got.total, got.sha256, got.fetched, got.restarted) == (
        len(DATA),
        DIGEST,
        len(DATA),
        False,
    )
    assert seen[-1] == (len(DATA), len(DATA))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    assert oct(part.stat().st_mode & 0o777) == "0o600"


async def test_a_cut_download_resumes_with_range_and_fetches_only_the_rest(
    server: FileServer, tmp_path: Path
) -> None:
    server.script(PATH, Script(cut_after=1_000_000))
    part = tmp_path / "model.gguf.part"
    async with client() as c:
        with pytest.raises(DownloadError) as cut:
            await fetch(c, server.url(PATH), part, max_bytes=len(DATA) * 2)
        assert cut.value.retry
        kept = part.stat().st_size
        assert 0 < kept <= 1_000_000
        got = await fetch(c, server.url(PATH), part, max_bytes=len(DATA) * 2)
    assert part.read_bytes() == DATA
    assert got.sha256 == DIGEST  # the kept bytes were hashed first, then the rest
    assert got.fetched == len(DATA) - kept < len(DATA)
    assert server.log[-1].range == f"bytes={kept}-"
    assert server.log[-1].status == 206


async def test_a_server_ignoring_range_restarts_from_zero(
    server: FileServer, tmp_path: Path
) -> None:
    part = tmp_path / "model.gguf.part"
    part.write_bytes(b"stale bytes from somewhere else")
    server.script(PATH, Script(ignore_range=True))
    async with client() as c:
        got = await fetch(c, server.url(PATH), part, max_bytes=len(DATA) * 2)
    assert server.log[-1].status == 200
    assert server.log[-1].range is not None
    assert got.restarted
    assert part.read_bytes() == DATA
    assert got.sha256 == DIGEST


async def test_a_complete_part_is_done_on_416_and_a_longer_one_starts_over(
    server: FileServer, tmp_path: Path
) -> None:
    part = tmp_path / "model.gguf.part"
    part.write_bytes(DATA)
    async with client() as c:
        got = await fetch(c, server.url(PATH), part, max_bytes=len(DATA) * 2)
        assert (got.fetched, got.sha256) == (0, DIGEST)
        assert server.log[-1].status == 416
        part.write_bytes(DATA + b"extra")
        again = await fetch(c, server.url(PATH), part, max_bytes=len(DATA) * 2)
    assert again.restarted
    assert part.read_bytes() == DATA


async def test_a_file_larger_than_allowed_is_refused_before_writing(
    server: FileServer, tmp_path: Path
) -> None:
    part = tmp_path / "model.gguf.part"
    async with client() as c:
        with pytest.raises(DownloadError, match="more than expected"):
            await fetch(c, server.url(PATH), part, max_bytes=len(DATA) - 1)
    assert not part.exists() or part.stat().st_size == 0


@pytest.mark.parametrize(
    ("status", "retry", "words"), [(404, False, "not on the server"), (503, True, "HTTP 503")]
)
async def test_http_errors_say_what_happened(
    server: FileServer, tmp_path: Path, status: int, retry: bool, words: str
) -> None:
    server.script(PATH, Script(status=status))
    async with client() as c:
        with pytest.raises(DownloadError, match=words) as failed:
            await fetch(c, server.url(PATH), tmp_path / "x.part", max_bytes=len(DATA) * 2)
    assert failed.value.retry is retry


async def test_a_refused_connection_is_a_retryable_error(tmp_path: Path) -> None:
    with FileServer() as gone:
        url = gone.url(PATH)
    async with client() as c:
        with pytest.raises(DownloadError, match="interrupted") as failed:
            await fetch(c, url, tmp_path / "x.part", max_bytes=10)
    assert failed.value.retry


class FullDisk:
    """A part file that takes ``room`` more bytes, then fails as a full disk does (ENOSPC)."""

    def __init__(self, room: int) -> None:
        self.room = room

    def __call__(self, path: Path) -> BinaryIO:
        real = open_append(path)
        room = self.room

        class Writer:
            def write(self, data: bytes) -> int:
                nonlocal room
                if len(data) > room:
                    real.write(data[:room])
                    room = 0
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
                room -= len(data)
                return real.write(data)

            def close(self) -> None:
                real.close()

        return Writer()  # type: ignore[return-value]


async def test_a_full_disk_fails_clearly_and_the_part_resumes_later(
    server: FileServer, tmp_path: Path
) -> None:
    part = tmp_path / "model.gguf.part"
    async with client() as c:
        with pytest.raises(DiskFullError, match="The disk is full") as full:
            await fetch(
                c, server.url(PATH), part, max_bytes=len(DATA) * 2, opener=FullDisk(1_500_000)
            )
        assert "Free some disk space" in full.value.hint
        assert part.stat().st_size == 1_500_000  # what was written is kept
        got = await fetch(c, server.url(PATH), part, max_bytes=len(DATA) * 2)
    assert part.read_bytes() == DATA
    assert got.sha256 == DIGEST


def test_only_https_or_loopback_http_is_allowed() -> None:
    assert allowed_url("https://huggingface.co/a/b")
    assert allowed_url("http://127.0.0.1:8000/a")
    assert allowed_url("http://localhost/a")
    assert not allowed_url("http://example.com/a")
    assert not allowed_url("ftp://127.0.0.1/a")
    assert not allowed_url("https://user:pw@example.com/a")
    assert not allowed_url("file:///etc/passwd")
