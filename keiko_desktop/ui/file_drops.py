"""What a drop or a paste carries: local files (``text/uri-list``) or an image.

Shared by the chat window and Quick ask. Only local files count (a ``file:`` URL); remote URLs,
and anything past ``MAX_DROPPED_FILES``, are left out. An image arrives as PNG bytes: the
source's own ``image/png`` data when it has some (nothing to encode on the GUI thread), else the
image encoded as PNG, refused when larger than ``MAX_IMAGE_SIDE`` on a side.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMimeData
from PySide6.QtGui import QImage, QPixmap

MAX_DROPPED_FILES = 50
MAX_IMAGE_SIDE = 16384
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def paths_from_mime(mime: QMimeData | None) -> list[Path]:
    """The local files and folders among the URLs (in order, no repeats, at most 50)."""
    if mime is None or not mime.hasUrls():
        return []
    paths: list[Path] = []
    seen: set[str] = set()
    for url in mime.urls():
        if not url.isLocalFile():
            continue
        local = url.toLocalFile()
        if not local or local in seen:
            continue
        seen.add(local)
        paths.append(Path(local))
        if len(paths) >= MAX_DROPPED_FILES:
            break
    return paths


def has_files(mime: QMimeData | None) -> bool:
    """Whether the data carries at least one local file or folder."""
    if mime is None or not mime.hasUrls():
        return False
    return any(url.isLocalFile() and url.toLocalFile() for url in mime.urls())


def image_from_mime(mime: QMimeData | None) -> bytes | None:
    """A pasted or dropped image as PNG bytes, or None when there is none (or it is unusable)."""
    if mime is None:
        return None
    if mime.hasFormat("image/png"):
        raw = bytes(mime.data("image/png").data())
        if raw.startswith(PNG_MAGIC):
            return raw
    if not mime.hasImage():
        return None
    data = mime.imageData()
    image = data.toImage() if isinstance(data, QPixmap) else data
    if not isinstance(image, QImage) or image.isNull():
        return None
    if image.width() > MAX_IMAGE_SIDE or image.height() > MAX_IMAGE_SIDE:
        return None
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):  # type: ignore[call-overload]
        return None
    encoded: QByteArray = buffer.data()
    return bytes(encoded.data())


__all__ = ["MAX_DROPPED_FILES", "has_files", "image_from_mime", "paths_from_mime"]
