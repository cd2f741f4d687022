"""Composition root: builds the headless ``Core`` (store, models, services, event bus).

Imports no Qt. The window (``ui/application.py``) and the CLI are both handed a ``Core``.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import Paths, Settings, load_settings, save_settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ConversationRepository
from keiko_desktop.llm.registry import ModelRegistry
from keiko_desktop.store import Database, open_database

log = logging.getLogger(__name__)


@dataclass
class Core:
    """Everything the window and the CLI use, wired once."""

    paths: Paths
    settings: Settings
    bus: EventBus
    database: Database
    conversations: ConversationRepository
    registry: ModelRegistry
    models: ModelManager
    chat: ChatService
    recovered: int = 0
    _closed: bool = field(default=False, repr=False)

    def update_settings(self, settings: Settings) -> None:
        """Apply and persist new settings. Model and context changes take effect on reload."""
        self.settings = settings.validate()
        self.registry.settings = self.settings
        save_settings(self.paths, self.settings)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.chat.stop_all()
        await self.models.aclose()
        await self.database.aclose()


async def build_core(
    paths: Paths | None = None,
    settings: Settings | None = None,
    *,
    start_model: bool = True,
) -> Core:
    """Open the database, recover from a crash, and (optionally) start loading the model.

    The model loads in the background: callers get the Core at once and ``core.models.get()``
    waits for it.
    """
    paths = paths or Paths.from_env()
    paths.ensure()
    settings = settings or load_settings(paths)
    bus = EventBus(asyncio.get_running_loop())
    database = await open_database(paths.database)
    repo = database.conversations
    registry = ModelRegistry(settings)
    models = ModelManager(registry, bus)
    chat = ChatService(repo, models, bus, lambda: core.settings)
    core = Core(paths, settings, bus, database, repo, registry, models, chat)
    core.recovered = await chat.recover()
    if core.recovered:
        log.info("marked %d unfinished replies as interrupted", core.recovered)
    if start_model:
        models.start_loading(settings.model)
    return core
