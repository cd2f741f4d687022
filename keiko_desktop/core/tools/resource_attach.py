"""MCP resources as attachments: read, ingest like a dropped file, refresh on updates.

A resource goes through ``AttachmentService.ingest_bytes``, the path pasted and dropped files
take: the same size limit (``attachment_max_mb``), content-addressed copy, extraction and
chunks. Its file name's suffix comes from the MIME type, so the extractor classifies it as it
would a file (an unreadable binary gets the same refusal a dropped one gets); it is shown as
``server:uri``. ``watch`` subscribes when the server offers updates: each update re-reads and
re-ingests the resource, and the caller is handed the new attachment (a new row when the
content changed; a turn uses the newest of a name, ``core/files/context.newest_by_name``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.resources import (
    McpContent,
    McpContentError,
    ResourceContents,
    attachment_name,
    contents_bytes,
    file_name_for,
)

if TYPE_CHECKING:
    from keiko_desktop.core.files.service import AttachmentService
    from keiko_desktop.core.files.types import AttachmentInfo

log = logging.getLogger(__name__)

MAX_WATCHES = 50
"""Resources watched for updates at once; older watches end first."""
MIN_REFRESH_GAP = 0.5
"""Seconds between two re-reads of one resource (a burst of updates is one re-read)."""


@dataclass(frozen=True)
class Refreshed:
    """A watched resource changed and was attached again."""

    server: str
    uri: str
    old: AttachmentInfo
    new: AttachmentInfo


class ResourceAttacher:
    """Attaches resources of MCP servers to chats, and keeps subscribed ones fresh."""

    def __init__(self, content: McpContent, files: AttachmentService) -> None:
        self.content = content
        self.files = files
        self._watches: dict[tuple[str, str], asyncio.Task[None]] = {}

    async def attach(self, server: str, uri: str) -> AttachmentInfo:
        """Read ``uri`` of ``server`` and store it as an attachment named ``server:uri``.
        ``AttachmentError``/``McpContentError`` (message and hint) when it cannot be."""
        parts = await self.content.read(server, uri)
        return await self.attach_contents(server, uri, parts[0])

    async def attach_contents(
        self, server: str, uri: str, contents: ResourceContents
    ) -> AttachmentInfo:
        """Store read (or prompt-embedded) contents as the attachment ``server:uri``."""
        return await self.files.ingest_bytes(
            contents_bytes(contents),
            file_name_for(contents),
            shown_as=attachment_name(server, uri),
        )

    # ---------------------------------------------------------------- updates
    def can_watch(self, server: str) -> bool:
        return self.content.capabilities(server).subscribe

    def watch(
        self,
        server: str,
        uri: str,
        current: AttachmentInfo,
        on_refreshed: Callable[[Refreshed], None],
        on_failed: Callable[[KeikoError], None] | None = None,
    ) -> bool:
        """Subscribe to ``uri``; each update re-attaches it and calls ``on_refreshed`` (on
        the loop). False when the server offers no updates. A second watch of the same
        resource replaces the first."""
        if not self.can_watch(server):
            return False
        self.unwatch(server, uri)
        while len(self._watches) >= MAX_WATCHES:
            self.unwatch(*next(iter(self._watches)))
        task = asyncio.get_running_loop().create_task(
            self._follow(server, uri, current, on_refreshed, on_failed),
            name=f"mcp-resource-{server}",
        )
        self._watches[(server, uri)] = task
        key = (server, uri)
        task.add_done_callback(lambda t: self._forget(key, t))
        return True

    def watching(self, server: str, uri: str) -> bool:
        return (server, uri) in self._watches

    def _forget(self, key: tuple[str, str], task: asyncio.Task[None]) -> None:
        if self._watches.get(key) is task:
            del self._watches[key]

    def unwatch(self, server: str, uri: str) -> None:
        task = self._watches.pop((server, uri), None)
        if task is not None:
            task.cancel()

    def close(self) -> list[asyncio.Task[None]]:
        """End every watch (without waiting); returns their tasks."""
        tasks = list(self._watches.values())
        self._watches.clear()
        for task in tasks:
            task.cancel()
        return tasks

    async def aclose(self) -> None:
        tasks = self.close()
        if tasks:
            await asyncio.wait(tasks, timeout=5.0)

    async def _follow(
        self,
        server: str,
        uri: str,
        current: AttachmentInfo,
        on_refreshed: Callable[[Refreshed], None],
        on_failed: Callable[[KeikoError], None] | None,
    ) -> None:
        try:
            async with self.content.subscribe(server, uri) as updates:
                async for _uri in updates:
                    await asyncio.sleep(MIN_REFRESH_GAP)
                    try:
                        new = await self.attach(server, uri)
                    except KeikoError as exc:
                        log.warning("refreshing %s failed: %s", one_line(uri, 200), exc.message)
                        if on_failed is not None:
                            on_failed(exc)
                        continue
                    if new.id != current.id:
                        refreshed = Refreshed(server, uri, current, new)
                        current = new
                        on_refreshed(refreshed)
        except asyncio.CancelledError:
            raise
        except McpContentError as exc:
            if on_failed is not None:
                on_failed(exc)
        except KeikoError as exc:  # the server went away
            log.info("watching %s ended: %s", one_line(uri, 200), exc.message)
        except Exception:
            log.exception("watching %s failed", one_line(uri, 200))
