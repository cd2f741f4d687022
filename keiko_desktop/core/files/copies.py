"""The copies of attached files on disk, and the checks before one is made.

Synchronous (run in a worker thread), except ``Progress``, made on the loop. A copy is
``files_dir/<sha[:2]>/<sha>`` (owner-only, like every file Keiko keeps); it is written as a
``<pid>-<token>.part`` file in ``files_dir`` first and renamed into place only once its row is
stored, so a copy on disk always has its row (which ``list_copies`` and the sweep rely on).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import shutil
import stat
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from keiko_desktop.core.files.ports import Extractor
from keiko_desktop.core.files.types import INGESTED_KINDS, AttachmentError, FileKind, human_size
from keiko_desktop.core.private_files import open_private, private_dir
from keiko_desktop.core.safe_text import one_line

log = logging.getLogger(__name__)

MB = 1024 * 1024
BLOCK = 1024 * 1024
COPY_SHARE = 0.3
"""The share of the progress bar the copy takes; extraction and chunking take the rest."""
PART_GRACE = 3600.0
"""A ``.part`` file younger than this may be another process's ingest: the sweep leaves it."""
NAME_LIMIT = 255
PROGRESS_EVERY = 0.1
"""Seconds between progress updates at least (see ``Progress``)."""
PART_SUFFIX = ".part"

_NOT_ATTACHED: dict[str, tuple[str, str]] = {
    "audio": (
        "is audio, which is transcribed rather than attached",
        "Drop it on the chat to transcribe it into the message.",
    ),
    "folder": ("is a folder", "Attach the files inside it, or let the files tool use it."),
    "model": ("is a model file (GGUF)", "Add it as a model in Settings > Model instead."),
    "mcp_config": ("is an MCP server configuration", "Import it in Settings > Tools instead."),
    "binary": (
        "looks like a binary file, not text or a document Keiko can read",
        "Attach text, code, Markdown, CSV, JSON, HTML, PDF, Word (.docx) or image files.",
    ),
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def display_name(name: str) -> str:
    """A file's name as stored: its last path part, on one line, at most 255 characters."""
    base = re.split(r"[\\/]", name)[-1]
    base = _CONTROL.sub(" ", base).strip() or "pasted"
    if len(base) > NAME_LIMIT:
        stem, dot, suffix = base.rpartition(".")
        keep = f".{suffix}" if dot and stem and len(suffix) <= 16 else ""
        base = base[: NAME_LIMIT - len(keep)] + keep
    return base


def too_big(name: str, size: int, limit_mb: int) -> AttachmentError:
    return AttachmentError(
        f"{one_line(name, 120)} is {human_size(size)}, over the {limit_mb} MB limit for "
        "attached files.",
        "Attach a smaller file, or raise 'Largest file to attach' in Settings > Files "
        "(attachment_max_mb).",
    )


class Progress:
    """Forwards progress from any thread to ``callback`` on the loop: rising only, at most
    ten times a second (and 100 % at once). Made on the loop; called there, it delivers at
    once.

    Rarely, on purpose: each hop from a worker to the qasync loop emits a Qt signal, which
    releases and retakes the GIL, and a worker doing that every few milliseconds starves the
    GUI thread of the GIL (stalls of 100 ms and more measured with one hop a page of a PDF).
    """

    def __init__(self, callback: Callable[[float], None] | None) -> None:
        self._callback = callback
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._last = -1.0
        self._sent_at = 0.0
        self._lock = threading.Lock()

    def __call__(self, fraction: float) -> None:
        if self._callback is None:
            return
        value = min(1.0, max(0.0, float(fraction)))
        now = time.monotonic()
        with self._lock:
            final = value == 1.0 and self._last < 1.0
            if not final and (value < self._last + 0.01 or now - self._sent_at < PROGRESS_EVERY):
                return
            self._last, self._sent_at = value, now
        if threading.get_ident() == self._thread:
            self._deliver(value)
        else:
            self._loop.call_soon_threadsafe(self._deliver, value)

    def _deliver(self, value: float) -> None:
        assert self._callback is not None
        try:
            self._callback(value)
        except Exception:
            log.exception("an attachment progress callback failed")


def check_file(extractor: Extractor, path: Path, name: str, limit_mb: int) -> FileKind:
    """What ``path`` is, when it may be attached; else ``AttachmentError``. Reads nothing but
    its first bytes (to classify it)."""
    shown = one_line(name, 120)
    try:
        info = path.stat()
    except FileNotFoundError as exc:
        raise AttachmentError(
            f"{shown} is not there.", "It was moved or deleted; attach it again."
        ) from exc
    except OSError as exc:
        raise AttachmentError(
            f"{shown} cannot be read: {exc.strerror or exc}.", "Check the file, then retry."
        ) from exc
    if stat.S_ISDIR(info.st_mode):
        why, hint = _NOT_ATTACHED["folder"]
        raise AttachmentError(f"{shown} {why}.", hint)
    if not stat.S_ISREG(info.st_mode):
        raise AttachmentError(
            f"{shown} is not a regular file (a device, pipe or socket).",
            "Attach a file saved on disk.",
        )
    if info.st_size > limit_mb * MB:
        raise too_big(name, info.st_size, limit_mb)
    kind = extractor.classify(path)
    if kind not in INGESTED_KINDS:
        why, hint = _NOT_ATTACHED.get(kind, (f"is a {kind} file", "It cannot be attached."))
        raise AttachmentError(f"{shown} {why}.", hint)
    return kind


def copy_file(
    files_dir: Path,
    path: Path,
    part: Path,
    name: str,
    limit_mb: int,
    report: Progress,
    cancel: threading.Event,
) -> tuple[str, int]:
    """Stream ``path`` into ``part``, hashing; returns (sha256, size)."""
    private_dir(files_dir)
    limit = limit_mb * MB
    digest = hashlib.sha256()
    copied = 0
    try:
        expected = max(1, path.stat().st_size)
        with path.open("rb") as source, open_private(part, "xb") as out:
            while block := source.read(BLOCK):
                if cancel.is_set():
                    raise AttachmentError(f"Attaching {one_line(name, 120)} was cancelled.", "")
                copied += len(block)
                if copied > limit:
                    raise too_big(name, copied, limit_mb)
                digest.update(block)
                out.write(block)
                report(COPY_SHARE * min(1.0, copied / expected))
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise AttachmentError(
            f"{one_line(name, 120)} could not be copied: {exc.strerror or exc}.",
            "Check the file and the free disk space, then try again.",
        ) from exc
    report(COPY_SHARE)
    return digest.hexdigest(), copied


def copy_path(files_dir: Path, sha: str) -> Path:
    """Where the copy of the content ``sha`` is kept."""
    return files_dir / sha[:2] / sha


def place(files_dir: Path, part: Path, sha: str, known: bool) -> None:
    """Move ``part`` to the copy of ``sha``. ``known``: the content is stored already, so
    the copy is only put back if it went missing."""
    final = copy_path(files_dir, sha)
    private_dir(final.parent)
    if known and final.is_file():
        return
    os.replace(part, final)


def write_pasted(files_dir: Path, folder: Path, name: str, data: bytes) -> Path:
    private_dir(files_dir)
    private_dir(folder)
    target = folder / name
    try:
        with open_private(target, "xb") as out:
            out.write(data)
    except OSError as exc:
        raise AttachmentError(
            f"The pasted {one_line(name, 120)} could not be saved: {exc.strerror or exc}.",
            "Check the free disk space, then paste it again.",
        ) from exc
    return target


def remove_copies(files_dir: Path, shas: Sequence[str]) -> int:
    removed = 0
    for sha in shas:
        try:
            copy_path(files_dir, sha).unlink()
            removed += 1
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("could not remove the copy %s: %s", sha, exc)
    return removed


def remove_parts(files_dir: Path, inflight: set[Path]) -> int:
    """``.part`` files and folders older than ``PART_GRACE``, not this process's."""
    if not files_dir.is_dir():
        return 0
    removed = 0
    now = time.time()
    for entry in files_dir.iterdir():
        if not entry.name.endswith(PART_SUFFIX) or entry in inflight:
            continue
        try:
            if now - entry.lstat().st_mtime < PART_GRACE:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
            removed += 1
        except OSError as exc:
            log.warning("could not remove %s: %s", entry, exc)
    return removed


def list_copies(files_dir: Path) -> list[str]:
    """Every copy's sha256. Listed before the rows are read: a copy is renamed into place
    only after its row was committed, so any copy seen here has its row in that read."""
    if not files_dir.is_dir():
        return []
    found: list[str] = []
    for folder in files_dir.iterdir():
        if len(folder.name) != 2 or not folder.is_dir():
            continue
        found.extend(
            f.name for f in folder.iterdir() if len(f.name) == 64 and f.name[:2] == folder.name
        )
    return found
