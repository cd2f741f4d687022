"""AttachmentService: the one door to attachments, for the window and the CLI.

``ingest(path)`` checks the file (there, a file, a kind Keiko reads, within
``attachment_max_mb``) before reading a byte of it, then, in a worker thread, streams it into a
private ``<pid>-<token>.part`` file in ``files_dir`` while hashing it (sha256). Content seen
before reuses its row (no second copy). Otherwise the text is extracted from the copy (so a
file that changes meanwhile cannot disagree with its hash) and chunked, still in the thread;
the row, its pages and chunks are stored in one transaction; and only then is the copy renamed
to ``files_dir/<sha[:2]>/<sha>``. A failure or a cancellation at any step removes the
``.part`` file and leaves no row. ``sweep()`` clears what a crash left behind.

Progress goes to the caller's callback on the loop's thread: the copy is the first 30 %,
extraction the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from keiko_desktop.core.files.chunking import chunk_pages
from keiko_desktop.core.files.copies import (
    COPY_SHARE,
    MB,
    PART_SUFFIX,
    Progress,
    check_file,
    copy_file,
    copy_path,
    display_name,
    list_copies,
    place,
    remove_copies,
    remove_parts,
    too_big,
    write_pasted,
)
from keiko_desktop.core.files.ports import AttachmentRepository, Extractor
from keiko_desktop.core.files.types import (
    AttachmentError,
    AttachmentInfo,
    Extracted,
    FileKind,
    PageText,
    Passage,
)
from keiko_desktop.core.safe_text import one_line

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings
    from keiko_desktop.core.events import EventBus
    from keiko_desktop.core.ports import ChatMessage, ChatModel

log = logging.getLogger(__name__)

T = TypeVar("T")
DAY = 86400.0


class AttachmentService:
    """Files attached to messages: ingest, link, look up, discard and sweep."""

    def __init__(
        self,
        repo: AttachmentRepository,
        extractor: Extractor,
        files_dir: Path,
        settings: Callable[[], Settings],
        bus: EventBus,
    ) -> None:
        self.repo = repo
        self.extractor = extractor
        self.files_dir = Path(files_dir)
        self._settings = settings
        self._bus = bus
        self._lock = asyncio.Lock()  # finding, adding and deleting rows with their copies
        self._inflight: set[Path] = set()

    # ------------------------------------------------------------------ queries
    def classify(self, path: Path) -> FileKind:
        """What ``path`` is (the extractor's answer; reads at most 64 KiB)."""
        return self.extractor.classify(Path(path))

    def stored_path(self, info: AttachmentInfo) -> Path:
        """Where the copy of ``info`` is kept."""
        return copy_path(self.files_dir, info.sha256)

    async def link(self, message_id: int, ids: Sequence[int]) -> None:
        await self.repo.link(message_id, ids)

    async def for_message(self, message_id: int) -> list[AttachmentInfo]:
        return await self.repo.for_message(message_id)

    async def for_conversation(self, conversation_id: int) -> list[AttachmentInfo]:
        return await self.repo.for_conversation(conversation_id)

    async def sources(self, message_id: int) -> list[Passage]:
        return await self.repo.sources(message_id)

    async def chunk(self, chunk_id: int) -> Passage | None:
        return await self.repo.chunk(chunk_id)

    async def pages(self, attachment_id: int) -> list[PageText]:
        return await self.repo.pages(attachment_id)

    async def prepare_turn(
        self,
        history: list[ChatMessage],
        conversation_id: int,
        user_message_id: int,
        reply_message_id: int,
        model: ChatModel,
        max_tokens: int,
    ) -> list[ChatMessage]:
        """``history`` with its newest user turn carrying the passages chosen for it (see
        ``context.py``); the chosen chunks are stored as the reply's sources first."""
        from keiko_desktop.core.files.context import choose_turn, with_turn

        share = self._settings().attachment_context_share
        turn = await choose_turn(
            self.repo, conversation_id, user_message_id, history, model, max_tokens, share
        )
        if turn is None:
            return history
        await self.repo.set_sources(reply_message_id, [p.chunk.id for p in turn.passages])
        return with_turn(history, turn)

    # ------------------------------------------------------------------ ingest
    async def ingest(
        self,
        path: Path,
        *,
        progress: Callable[[float], None] | None = None,
        shown_as: str | None = None,
    ) -> AttachmentInfo:
        """Store ``path`` as an attachment (or find it stored already) and return it, named
        ``shown_as`` when given (an MCP resource's ``server:uri``), else by its file name.
        ``AttachmentError`` (message and hint) when it cannot be; then nothing is stored."""
        path = Path(path)
        name = one_line(shown_as, 255) if shown_as else display_name(path.name)
        limit_mb = self._settings().attachment_max_mb
        report = Progress(progress)
        cancel = threading.Event()
        part = self.files_dir / f"{os.getpid()}-{secrets.token_hex(8)}{PART_SUFFIX}"
        self._inflight.add(part)
        try:
            kind = await self._in_thread(cancel, self._check, path, name, limit_mb)
            sha, size = await self._in_thread(
                cancel, self._copy, path, part, name, limit_mb, report, cancel
            )
            async with self._lock:
                existing = await self.repo.find_by_sha(sha)
                if existing is not None:
                    await self._in_thread(cancel, self._place, part, sha, True)
            if existing is not None:
                report(1.0)
                return existing
            extracted, chunks = await self._in_thread(
                cancel, self._extract, part, kind, name, report, cancel
            )
            info = await self._store(sha, name, extracted, size, chunks, part)
            report(1.0)
            return info
        finally:
            with contextlib.suppress(OSError):
                part.unlink()
            self._inflight.discard(part)

    async def ingest_bytes(
        self, data: bytes, name: str, *, shown_as: str | None = None
    ) -> AttachmentInfo:
        """Store pasted ``data`` (an image, some text) as an attachment named ``name`` (its
        suffix says what it is), shown as ``shown_as`` when given."""
        shown = display_name(name)
        limit_mb = self._settings().attachment_max_mb
        if len(data) > limit_mb * MB:
            raise too_big(shown_as or shown, len(data), limit_mb)
        folder = self.files_dir / f"{os.getpid()}-{secrets.token_hex(8)}{PART_SUFFIX}"
        self._inflight.add(folder)
        try:
            target = await asyncio.to_thread(self._write_pasted, folder, shown, data)
            return await self.ingest(target, shown_as=shown_as)
        finally:
            await asyncio.shield(asyncio.to_thread(shutil.rmtree, folder, True))
            self._inflight.discard(folder)

    async def discard(self, attachment_id: int) -> bool:
        """Delete an attachment and its copy if no message links to it (a chip removed
        before sending); True when it went."""
        async with self._lock:
            shas = await self.repo.delete_unlinked([attachment_id])
            await asyncio.to_thread(self._remove_copies, shas)
        return bool(shas)

    async def _store(
        self,
        sha: str,
        name: str,
        extracted: Extracted,
        size: int,
        chunks: Sequence[tuple[int | None, int, str]],
        part: Path,
    ) -> AttachmentInfo:
        """Add the row, then move the copy into place; a row whose copy cannot be placed (or
        whose caller was cancelled meanwhile) is deleted again."""
        async with self._lock:
            adding = asyncio.ensure_future(self.repo.add(sha, name, extracted, size, chunks))
            placing: asyncio.Future[None] | None = None
            try:
                info = await asyncio.shield(adding)
                placing = asyncio.ensure_future(asyncio.to_thread(self._place, part, sha, False))
                await asyncio.shield(placing)
            except BaseException as exc:
                await asyncio.wait({t for t in (adding, placing) if t is not None})
                placed = placing is not None and not placing.cancelled() and not placing.exception()
                if not placed and not adding.cancelled() and adding.exception() is None:
                    # No copy for the row: delete it again (if nobody linked it meanwhile).
                    with contextlib.suppress(Exception):
                        await asyncio.shield(self.repo.delete_unlinked([adding.result().id]))
                if isinstance(exc, OSError):
                    raise AttachmentError(
                        f"{one_line(name, 120)} could not be stored: {exc.strerror or exc}.",
                        "Check the free disk space, then try again.",
                    ) from exc
                raise
            return info

    async def _in_thread(self, cancel: threading.Event, fn: Callable[..., T], *args: object) -> T:
        """``fn(*args)`` in a worker thread. Cancelled: tell it (``cancel``) and wait for it to
        stop, so nothing is written after the caller cleaned up."""
        task = asyncio.ensure_future(asyncio.to_thread(fn, *args))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            cancel.set()
            await asyncio.wait({task})
            raise

    # ------------------------------------------------------------------ in the thread
    def _check(self, path: Path, name: str, limit_mb: int) -> FileKind:
        return check_file(self.extractor, path, name, limit_mb)

    def _copy(self, *args: Any) -> tuple[str, int]:
        return copy_file(self.files_dir, *args)

    def _place(self, part: Path, sha: str, known: bool) -> None:
        place(self.files_dir, part, sha, known)

    def _write_pasted(self, folder: Path, name: str, data: bytes) -> Path:
        return write_pasted(self.files_dir, folder, name, data)

    def _remove_copies(self, shas: Sequence[str]) -> int:
        return remove_copies(self.files_dir, shas)

    def _extract(
        self,
        part: Path,
        kind: FileKind,
        name: str,
        report: Progress,
        cancel: threading.Event,
    ) -> tuple[Extracted, list[tuple[int | None, int, str]]]:
        def extraction(fraction: float) -> None:
            report(COPY_SHARE + (0.95 - COPY_SHARE) * min(1.0, max(0.0, fraction)))

        try:
            extracted = self.extractor.extract(
                part, kind, progress=extraction, cancelled=cancel.is_set, name=name
            )
        except AttachmentError:
            raise
        except Exception as exc:
            log.exception("reading %s (%s) failed", name, kind)
            raise AttachmentError(
                f"Keiko could not read {one_line(name, 120)}: {exc}.",
                "The file may be damaged; try saving it again, or attach another format.",
            ) from exc
        if cancel.is_set():
            raise AttachmentError(f"Attaching {one_line(name, 120)} was cancelled.", "")
        chunks = chunk_pages(extracted.pages)
        report(0.97)
        return extracted, chunks

    # ------------------------------------------------------------------ sweep
    async def sweep(self) -> int:
        """At start: remove ``.part`` leftovers, copies no row names, and attachments no
        message links to made over a day ago (with their copies). Returns how many things
        went; never raises (logs)."""
        removed = 0
        try:
            removed += await asyncio.to_thread(remove_parts, self.files_dir, set(self._inflight))
            async with self._lock:
                shas = await self.repo.delete_unlinked(older_than=time.time() - DAY)
                removed += len(shas)
                await asyncio.to_thread(self._remove_copies, shas)
                copies = await asyncio.to_thread(list_copies, self.files_dir)
                known = await self.repo.all_shas()  # read after listing: see below
                orphans = [sha for sha in copies if sha not in known]
                removed += await asyncio.to_thread(self._remove_copies, orphans)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not sweep the attachments in %s", self.files_dir)
        if removed:
            log.info("swept %d attachment leftovers", removed)
        return removed


__all__ = ["AttachmentService", "display_name", "too_big"]
