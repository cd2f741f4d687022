"""What attachments need from adapters: an extractor (``keiko_desktop.documents``) and a
repository (``keiko_desktop.store.attachments``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from keiko_desktop.core.files.types import (
    AttachmentInfo,
    Chunk,
    Extracted,
    FileKind,
    PageText,
    Passage,
)


class Extractor(Protocol):
    """Reads text out of files. Synchronous and slow: run it in a worker thread."""

    def classify(self, path: Path) -> FileKind:
        """What ``path`` is, from its name, its first bytes and whether it is a folder. Fast
        (reads at most 64 KiB), so a drop can be routed on the GUI thread."""
        ...

    def extract(
        self,
        path: Path,
        kind: FileKind,
        *,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        name: str | None = None,
    ) -> Extracted:
        """The text of ``path`` (a kind in ``INGESTED_KINDS``). Raises ``AttachmentError``
        with a clear message for an encrypted PDF, a corrupt file, binary data, a file that
        vanished or changed mid-read; stops with ``AttachmentError`` when ``cancelled()``.
        Messages name the file ``name`` when given (the service reads a copy named by its
        hash), else the path's name."""
        ...


class AttachmentRepository(Protocol):
    """The attachments, their chunks (FTS5-indexed) and the links to messages."""

    async def find_by_sha(self, sha256: str) -> AttachmentInfo | None: ...

    async def add(
        self,
        sha256: str,
        name: str,
        extracted: Extracted,
        size: int,
        chunks: Sequence[tuple[int | None, int, str]],
    ) -> AttachmentInfo:
        """One transaction: the attachment row and its chunks ``(page, start, text)``."""
        ...

    async def get(self, attachment_id: int) -> AttachmentInfo | None: ...

    async def link(self, message_id: int, attachment_ids: Sequence[int]) -> None: ...

    async def for_message(self, message_id: int) -> list[AttachmentInfo]: ...

    async def for_conversation(self, conversation_id: int) -> list[AttachmentInfo]: ...

    async def search(self, attachment_ids: Sequence[int], query: str, limit: int) -> list[Passage]:
        """The best chunks of those attachments for ``query`` (FTS5 bm25), best first."""
        ...

    async def first_chunks(self, attachment_ids: Sequence[int], limit: int) -> list[Passage]: ...

    async def pages(self, attachment_id: int) -> list[PageText]: ...

    async def chunk(self, chunk_id: int) -> Passage | None: ...

    async def set_sources(self, message_id: int, chunk_ids: Sequence[int]) -> None: ...

    async def sources(self, message_id: int) -> list[Passage]: ...

    async def delete_unlinked(
        self, attachment_ids: Sequence[int] | None = None, older_than: float | None = None
    ) -> list[str]:
        """Delete attachments no message links to (those given, or all older than a time);
        returns their sha256s, so their copies can be removed."""
        ...

    async def all_shas(self) -> set[str]: ...


__all__ = ["AttachmentRepository", "Chunk", "Extractor"]
