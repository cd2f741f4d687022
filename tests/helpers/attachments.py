"""A real ``AttachmentService`` for tests: the SQLite repository of ``database``, the real
``DocumentExtractor``, files kept under ``folder``, default ``Settings``."""

from __future__ import annotations

from pathlib import Path

from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.files.service import AttachmentService
from keiko_desktop.documents import DocumentExtractor
from keiko_desktop.store import Database
from keiko_desktop.store.attachments import SqliteAttachmentRepository


def attachment_service(database: Database, bus: EventBus, folder: Path) -> AttachmentService:
    settings = Settings()
    return AttachmentService(
        SqliteAttachmentRepository(database), DocumentExtractor(), folder, lambda: settings, bus
    )
