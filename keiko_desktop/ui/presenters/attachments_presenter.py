"""AttachmentIntake: files dropped, pasted or chosen, on their way to becoming attachments.

``take(paths)`` classifies each file in a worker thread (``core.files.classify`` reads at most
64 KiB) and routes it: a kind Keiko attaches (and anything it refuses: a binary file, one over
the size limit) goes to ``core.files.ingest`` with a chip showing its progress, then the file
ready or the reason it failed; audio goes to the Voice path (``audio_dropped``); a folder, a
model (.gguf) or an MCP config is offered (``folder_offered``, ``model_offered``,
``mcp_config_offered``). ``take_image(png)`` stores a pasted image. Removing a chip cancels its
reading, or discards the stored copy when nothing links it (``core.files.discard``); an ingest
that ends after its chip went (removed, or the row cleared) is discarded too, so no orphan is
left. At most ``MAX_ATTACHMENTS`` chips at once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QImage

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.files.types import INGESTED_KINDS, AttachmentInfo, FileKind
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.task_runner import TaskRunner
from keiko_desktop.ui.widgets.attachment_chips import AttachmentChips

if TYPE_CHECKING:
    from keiko_desktop.core.files.service import AttachmentService

log = logging.getLogger(__name__)

MAX_ATTACHMENTS = 20
THUMBNAIL_PX = 56
OFFERED: dict[str, str] = {
    "folder": "folder_offered",
    "model": "model_offered",
    "mcp_config": "mcp_config_offered",
}


def _classify_all(files: AttachmentService, paths: Sequence[Path]) -> list[FileKind | Exception]:
    kinds: list[FileKind | Exception] = []
    for path in paths:
        try:
            kinds.append(files.classify(path))
        except Exception as exc:  # noqa: BLE001 - reported on the file's chip
            kinds.append(exc)
    return kinds


def _thumbnail(path: Path) -> QImage:
    """A small copy of the image at ``path`` (QImage is safe off the GUI thread)."""
    image = QImage(str(path))
    if image.isNull():
        return image
    return image.scaled(
        THUMBNAIL_PX,
        THUMBNAIL_PX,
        Qt.AspectRatioMode.KeepAspectRatio,
        Qt.TransformationMode.SmoothTransformation,
    )


class AttachmentIntake(QObject):
    """Turns files into chips and attachments (see the module docs).

    Signals:
        audio_dropped(list): audio files (paths, str) to transcribe into the message.
        folder_offered(object): a folder (Path) was dropped: offer it to the files tool.
        model_offered(object): a model file (Path) was dropped: offer to add it.
        mcp_config_offered(object): an MCP config (Path) was dropped: offer to import it.
        failed(str): a file could not be attached (the message; its chip says so too).
        refused(str): files were left out without a chip (too many at once; the message).
        settled(): no file is being read any more (every chip ready or failed).
    """

    audio_dropped = Signal(list)
    folder_offered = Signal(object)
    model_offered = Signal(object)
    mcp_config_offered = Signal(object)
    failed = Signal(str)
    refused = Signal(str)
    settled = Signal()

    def __init__(
        self, core: CoreHandle, chips: AttachmentChips, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._chips = chips
        self._tokens = itertools.count(1)
        self._reading: dict[int, asyncio.Task[Any]] = {}
        self.tasks = TaskRunner(self._on_user_error)
        chips.remove_requested.connect(self._on_chips_remove_requested)

    # ------------------------------------------------------------------ public
    @property
    def chips(self) -> AttachmentChips:
        return self._chips

    def take(self, paths: Sequence[Path | str]) -> None:
        """Attach, transcribe or offer each of ``paths`` (dropped, pasted or chosen)."""
        chosen = [Path(p) for p in paths]
        if chosen:
            self.tasks.spawn(self._take(chosen), "attach files")

    def take_image(self, png: bytes) -> None:
        """Attach a pasted image (PNG bytes)."""
        if not png:
            return
        token = self._new_chip(f"pasted image {time.strftime('%H-%M-%S')}.png")
        if token is not None:
            self._start(token, self._ingest_bytes(token, png))

    def take_made(
        self, name: str, make: Callable[[], Awaitable[AttachmentInfo]]
    ) -> asyncio.Task[Any] | None:
        """A chip named ``name`` for an attachment ``make()`` stores (an MCP resource:
        ``presenters/chat_resources.py``); its errors show on the chip like a file's."""
        token = self._new_chip(name)
        if token is None:
            return None
        self._start(token, self._made(token, make))
        return self._reading[token]

    def replace(self, old_id: int, info: AttachmentInfo) -> bool:
        """Show ``info`` on the chip that holds ``old_id`` (a refreshed resource)."""
        for token in self._chips.tokens():
            current = self._chips.info(token)
            if current is not None and current.id == old_id:
                self._chips.set_ready(token, info)
                return True
        return False

    async def _made(self, token: int, make: Callable[[], Awaitable[AttachmentInfo]]) -> None:
        await self._store(token, lambda _files: make(), "Files cannot be attached here.")

    async def _store(
        self,
        token: int,
        make: Callable[[AttachmentService], Awaitable[AttachmentInfo]],
        unavailable: str,
    ) -> None:
        """``make(files)`` the attachment of chip ``token``; a KeikoError (``unavailable``
        when this window has no attachment service) shows on the chip."""
        core = await self._core.get()
        files = core.files
        try:
            if files is None:
                raise KeikoError(unavailable, "Send the message without.")
            info = await make(files)
        except KeikoError as exc:
            self._fail(token, exc)
            return
        finally:
            self._reading.pop(token, None)
        await self._arrived(token, files, info)

    def busy(self) -> bool:
        """Whether a file is still being read (or classified)."""
        return self._chips.busy() or self.tasks.busy

    def ready(self) -> list[AttachmentInfo]:
        """The attachments ready to be sent, in chip order."""
        infos = (self._chips.info(t) for t in self._chips.tokens())
        return [info for info in infos if info is not None]

    def release(self) -> list[AttachmentInfo]:
        """Take the ready attachments for a message being sent: the chips go (failed ones
        too), the stored attachments stay (the message links them)."""
        ready = self.ready()
        for token in self._chips.tokens():
            if token not in self._reading:
                self._chips.remove(token)
        return ready

    def restore(self, infos: Sequence[AttachmentInfo]) -> None:
        """Show ``infos`` as ready chips again (a send that failed)."""
        for info in infos:
            token = next(self._tokens)
            self._chips.add_pending(token, info.name)
            self._chips.set_ready(token, info)

    async def wait_settled(self) -> None:
        """Wait until every file taken so far is ready or failed (bound it with
        ``asyncio.timeout``)."""
        await self.tasks.wait_idle()

    def discard_all(self) -> None:
        """Remove every chip, cancelling readings and discarding unsent copies."""
        for token in self._chips.tokens():
            self._on_chips_remove_requested(token)

    def close(self) -> None:
        self.tasks.close()

    # ------------------------------------------------------------------ work
    async def _take(self, paths: list[Path]) -> None:
        core = await self._core.get()
        files = core.files
        if files is None:
            raise KeikoError("Files cannot be attached here.", "Send the message without them.")
        kinds = await asyncio.to_thread(_classify_all, files, paths)
        audio: list[str] = []
        for path, kind in zip(paths, kinds, strict=True):
            if isinstance(kind, Exception):
                self._fail_new(path.name, kind)
            elif kind == "audio":
                audio.append(str(path))
            elif kind in OFFERED:
                getattr(self, OFFERED[kind]).emit(path)
            else:  # ingested kinds, and binary files: ingest refuses those with its message
                token = self._new_chip(path.name)
                if token is not None:
                    self._start(token, self._ingest(token, files, path, kind))
        if audio:
            self.audio_dropped.emit(audio)
        self._maybe_settled()

    def _start(self, token: int, coro: Any) -> None:
        self._reading[token] = self.tasks.spawn(coro, "attach file")

    async def _ingest(self, token: int, files: AttachmentService, path: Path, kind: str) -> None:
        def progress(fraction: float) -> None:
            self._chips.set_progress(token, fraction)

        try:
            info = await files.ingest(path, progress=progress)
        except KeikoError as exc:
            self._fail(token, exc)
            return
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._fail(token, KeikoError(f"{one_line(path.name, 120)} could not be attached."))
            raise exc
        finally:
            self._reading.pop(token, None)
        await self._arrived(token, files, info)
        if kind not in INGESTED_KINDS:  # pragma: no cover - ingest refuses those
            log.warning("ingest accepted a %s file", kind)

    async def _ingest_bytes(self, token: int, png: bytes) -> None:
        await self._store(
            token,
            lambda files: files.ingest_bytes(png, self._chips_name(token)),
            "Images cannot be attached here.",
        )

    async def _arrived(self, token: int, files: AttachmentService, info: AttachmentInfo) -> None:
        if self._chips.status(token) is None:  # its chip went while it was read: no orphan
            await files.discard(info.id)
            self._maybe_settled()
            return
        self._chips.set_ready(token, info)
        self._maybe_settled()
        if info.kind == "image":
            image = await asyncio.to_thread(_thumbnail, files.stored_path(info))
            self._chips.set_thumbnail(token, image)

    # ------------------------------------------------------------------ chips
    def _new_chip(self, name: str) -> int | None:
        if len(self._chips) >= MAX_ATTACHMENTS:
            message = f"At most {MAX_ATTACHMENTS} files can be attached to one message."
            self.refused.emit(f"{message} {one_line(name, 80)} was left out.")
            return None
        token = next(self._tokens)
        self._chips.add_pending(token, name)
        return token

    def _chips_name(self, token: int) -> str:
        chip = self._chips.chip(token)
        return chip.state.name if chip is not None else "pasted image.png"

    def _fail(self, token: int, error: KeikoError) -> None:
        self._chips.set_failed(token, error.message, error.hint)
        self.failed.emit(error.message)
        self._maybe_settled()

    def _fail_new(self, name: str, error: Exception) -> None:
        token = self._new_chip(name)
        if token is None:
            return
        if isinstance(error, KeikoError):
            self._fail(token, error)
        else:
            self._fail(token, KeikoError(f"{one_line(name, 120)} could not be read: {error}"))

    def _maybe_settled(self) -> None:
        if not self._chips.busy():
            self.settled.emit()

    def _on_chips_remove_requested(self, token: int) -> None:
        reading = self._reading.pop(token, None)
        info = self._chips.info(token)
        self._chips.remove(token)
        if reading is not None:
            reading.cancel()  # the service removes its partial copy
        elif info is not None:
            self.tasks.spawn(self._discard(info.id), "discard attachment")
        self._maybe_settled()

    async def _discard(self, attachment_id: int) -> None:
        core = await self._core.get()
        if core.files is not None:
            await core.files.discard(attachment_id)

    def _on_user_error(self, error: KeikoError) -> None:
        self.failed.emit(error.message)
