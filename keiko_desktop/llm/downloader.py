"""One HTTP download into a ``.part`` file: resumed with Range, hashed as it goes, bounded.

``fetch(client, url, part, ...)`` continues ``part`` from its current size with
``Range: bytes=<have>-``. Before that, the bytes already there are hashed (in a thread), so
the sha256 of the whole file is known when the last byte arrives without reading it again. A
server that answers ``200`` to a Range request sends the whole file: the part is started over.
A ``416`` means the part is as long as the file (done) or longer (started over). A file larger
than ``max_bytes`` or than its own ``Content-Length``/``Content-Range`` is refused.

All file work (hashing, writing, truncating) runs on one ``ThreadWorker`` thread, in writes of
up to ``WRITE_CHUNK`` bytes; the network is ``httpx2.AsyncClient`` streaming on the loop. A
cut connection, a refused one, a timeout and an HTTP error are ``DownloadError``s with
``retry`` saying whether trying again may help; a full disk is ``DiskFullError``. The part is
kept in every case, so the next call resumes it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx2

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.private_files import open_private
from keiko_desktop.workers.thread_worker import ThreadWorker

WRITE_CHUNK = 1 << 20
"""Bytes gathered before one write (and hash update) on the file thread."""
HASH_CHUNK = 4 << 20
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")
_UNSATISFIED = re.compile(r"^bytes \*/(\d+)$")

OpenPart = Callable[[Path], BinaryIO]
Progress = Callable[[int, int], None]
"""Called with (bytes on disk, total bytes) as the download moves on."""


class DownloadError(KeikoError):
    """A download failed; ``retry`` is True when trying again later may succeed."""

    def __init__(self, message: str, hint: str = "", *, retry: bool = False) -> None:
        super().__init__(message, hint)
        self.retry = retry


class DiskFullError(DownloadError):
    """The disk filled up while writing (ENOSPC); the part is kept for a resume."""


@dataclass(frozen=True)
class Fetched:
    """A finished download: the file's size and sha256, and what this call fetched."""

    total: int
    sha256: str
    fetched: int
    restarted: bool


def open_append(path: Path) -> BinaryIO:
    """The default way to open a part: append, owner-only."""
    return open_private(path, "ab")


def _hash_file(path: Path) -> tuple[hashlib._Hash, int]:
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as f:
            while block := f.read(HASH_CHUNK):
                digest.update(block)
                size += len(block)
    except FileNotFoundError:
        pass
    return digest, size


class _Sink:
    """The part file and its running hash; every method runs on the file thread."""

    def __init__(self, path: Path, opener: OpenPart) -> None:
        self.path = path
        self.opener = opener
        self.file: BinaryIO | None = None
        self.digest = hashlib.sha256()
        self.size = 0

    def start(self, restart: bool) -> int:
        if restart:
            with open_private(self.path, "wb"):
                pass
            self.digest, self.size = hashlib.sha256(), 0
        else:
            self.digest, self.size = _hash_file(self.path)
        self.file = self.opener(self.path)
        return self.size

    def write(self, data: bytes) -> None:
        assert self.file is not None
        self.file.write(data)
        self.digest.update(data)
        self.size += len(data)

    def close(self) -> None:
        if self.file is not None:
            file, self.file = self.file, None
            file.close()


def _total_of(response: httpx2.Response, have: int) -> int | None:
    """The whole file's size from a 206's Content-Range (start must be ``have``) or a 200's
    Content-Length; None when the server does not say."""
    if response.status_code == 206:
        match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
        if match is None or int(match.group(1)) != have:
            raise DownloadError(
                f"The server answered a resume with the wrong part of the file "
                f"({response.headers.get('content-range', 'no Content-Range')}).",
                "Try again later, or remove the partial download and start over.",
                retry=True,
            )
        return int(match.group(3))
    length = response.headers.get("content-length", "")
    return int(length) if length.isdigit() else None


def _http_error(status: int, url: str) -> DownloadError:
    shown = url.split("?", 1)[0]
    if status in (401, 403):
        return DownloadError(
            f"The server refused the download of {shown} (HTTP {status}).",
            "The model may need you to accept its license on its page; or try a mirror.",
        )
    if status == 404:
        return DownloadError(
            f"The file {shown} is not on the server (HTTP 404).",
            "Check the download mirror setting, or update Keiko for a newer catalog.",
        )
    return DownloadError(
        f"The server failed to send {shown} (HTTP {status}).",
        "Try again later.",
        retry=status == 429 or status >= 500,
    )


def disk_full(part: Path, exc: OSError) -> DiskFullError:
    return DiskFullError(
        f"The disk is full: cannot write {part} ({exc.strerror or exc}).",
        "Free some disk space, then resume the download; what was fetched is kept.",
    )


async def fetch(
    client: httpx2.AsyncClient,
    url: str,
    part: Path,
    *,
    max_bytes: int,
    on_progress: Progress | None = None,
    opener: OpenPart = open_append,
    worker: ThreadWorker | None = None,
) -> Fetched:
    """Download ``url`` into ``part``, resuming what is there (see the module docstring).

    ``client`` must follow redirects itself (and check them). Raises ``DownloadError``
    (``DiskFullError`` when the disk fills); the part stays for the next call.
    """
    own = worker is None
    files = worker or ThreadWorker(f"download-{part.name}")
    sink = _Sink(part, opener)
    try:
        return await _fetch(client, url, sink, files, max_bytes, on_progress)
    finally:
        try:
            await files.run(sink.close)
        finally:
            if own:
                files.shutdown(wait=False)


async def _fetch(
    client: httpx2.AsyncClient,
    url: str,
    sink: _Sink,
    files: ThreadWorker,
    max_bytes: int,
    on_progress: Progress | None,
) -> Fetched:
    restarted = False
    for _attempt in range(2):  # a second time only after a 416 on a too-long part
        have = await files.run(_size, sink.path)
        headers = {"Accept-Encoding": "identity"}  # the bytes as stored: the hash is of them
        if have:
            headers["Range"] = f"bytes={have}-"
        try:
            async with client.stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status == 416 and have:
                    match = _UNSATISFIED.match(response.headers.get("content-range", ""))
                    if match and int(match.group(1)) == have:
                        digest, size = await files.run(_hash_file, sink.path)
                        return Fetched(size, digest.hexdigest(), 0, restarted)
                    await files.run(sink.start, True)  # longer than the file: start over
                    restarted = True
                    continue
                if status not in (200, 206):
                    raise _http_error(status, url)
                restart = status == 200 and have > 0
                restarted = restarted or restart
                total = _total_of(response, have if status == 206 else 0)
                if total is not None and total > max_bytes:
                    raise DownloadError(
                        f"The server offers a file of {total} bytes, more than expected "
                        f"({max_bytes} at most).",
                        "Check the download mirror setting; the file is not downloaded.",
                    )
                done = await files.run(sink.start, restart)
                fetched = await _receive(response, sink, files, done, total, max_bytes, on_progress)
        except httpx2.TransportError as exc:
            raise DownloadError(
                f"The download of {url.split('?', 1)[0]} was interrupted: "
                f"{exc.__class__.__name__}{f' ({exc})' if str(exc) else ''}.",
                "Check the network; the download resumes where it stopped.",
                retry=True,
            ) from exc
        if total is not None and sink.size != total:
            raise DownloadError(
                f"The download stopped at {sink.size} of {total} bytes.",
                "It resumes where it stopped.",
                retry=True,
            )
        return Fetched(sink.size, sink.digest.hexdigest(), fetched, restarted)
    raise DownloadError(f"The server keeps refusing the range of {url}.", "Try again later.")


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


async def _receive(
    response: httpx2.Response,
    sink: _Sink,
    files: ThreadWorker,
    done: int,
    total: int | None,
    max_bytes: int,
    on_progress: Progress | None,
) -> int:
    """Stream the body into the sink; returns the bytes this response brought."""
    fetched = 0
    buffer = bytearray()
    shown_total = total or max_bytes

    async def flush() -> None:
        data = bytes(buffer)
        buffer.clear()
        write = asyncio.ensure_future(files.run(sink.write, data))
        try:
            await asyncio.shield(write)
        except asyncio.CancelledError:
            # The thread writes on after a cancel: wait for it, so the part's size is final
            # when the download stops (a pause or a quit records it, a resume starts there).
            await asyncio.gather(write, return_exceptions=True)
            raise
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise disk_full(sink.path, exc) from exc
            raise DownloadError(
                f"Cannot write {sink.path}: {exc.strerror or exc}.",
                "Check the folder's permissions and the disk, then resume.",
            ) from exc

    try:
        async for chunk in response.aiter_raw():
            fetched += len(chunk)
            if done + fetched > (total if total is not None else max_bytes):
                raise DownloadError(
                    f"The server sent more than the file's {shown_total} bytes.",
                    "Check the download mirror setting; the file is not used.",
                )
            buffer += chunk
            if len(buffer) >= WRITE_CHUNK:
                await flush()
                if on_progress is not None:
                    on_progress(sink.size, shown_total)
    except httpx2.TransportError:
        if buffer:  # the bytes that did arrive are good: keep them for the resume
            await flush()
        raise
    if buffer:
        await flush()
    if on_progress is not None:
        on_progress(sink.size, shown_total)
    return fetched


def remove_quietly(path: Path) -> None:
    """Delete ``path`` if it is there (blocking; call it in a thread)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
