"""Composition root: builds the headless ``Core`` (store, models, services, event bus).

Imports no Qt. The window (``ui/application.py``) and the CLI are both handed a ``Core``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import Paths, Settings, load_settings, save_settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ConversationRepository
from keiko_desktop.llm.registry import ModelRegistry
from keiko_desktop.store import Database, open_database

if TYPE_CHECKING:
    from keiko_desktop.core.tools.models import ToolSpec
    from keiko_desktop.core.tools.service import ToolService
    from keiko_desktop.mcp_tools.setup import ToolSystem

log = logging.getLogger(__name__)


def tool_grammar(tools: Sequence[ToolSpec], *, allow_answer: bool = True) -> str:
    """``llm.tool_grammar.tool_call_gbnf``, imported on first use (the core cannot import llm)."""
    from keiko_desktop.llm.tool_grammar import tool_call_gbnf

    return tool_call_gbnf(tools, allow_answer=allow_answer)


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
    tools: ToolService | None = None
    """Tools (MCP servers), once started (``build_core(start_tools=True)``); else None."""
    tool_system: ToolSystem | None = field(default=None, repr=False)
    _tools_task: asyncio.Task[None] | None = field(default=None, repr=False)
    _closed: bool = field(default=False, repr=False)

    def update_settings(self, settings: Settings) -> None:
        """Apply and persist new settings. Model and context changes take effect on reload."""
        self.settings = settings.validate()
        self.registry.settings = self.settings
        if self.tools is not None:
            self.tools.approvals.timeout = self.settings.tool_approval_timeout
        save_settings(self.paths, self.settings)

    def start_tools(self) -> None:
        """Start the MCP servers in the background (once); ``core.tools`` is set when ready."""
        if self._tools_task is None and not self._closed:
            self._tools_task = asyncio.get_running_loop().create_task(self._start_tools())

    async def wait_tools(self, settle: float | None = None) -> ToolService | None:
        """The tool service once built (None if it failed or was never started); with ``settle``
        also wait up to that many seconds for every server to be ready or failed."""
        if self._tools_task is not None:
            await asyncio.shield(self._tools_task)
        if settle is not None and self.tool_system is not None:
            await self.tool_system.pool.wait_settled(time_limit=settle)
        return self.tools

    async def _start_tools(self) -> None:
        try:
            # The MCP SDK takes about half a second to import: keep it off the loop.
            setup = await asyncio.to_thread(
                importlib.import_module, "keiko_desktop.mcp_tools.setup"
            )
            from keiko_desktop.store import SqliteToolRepository

            repo = SqliteToolRepository(self.database)
            system: ToolSystem = await setup.build_tool_system(
                self.paths,
                self.bus,
                policies=repo,
                audit=repo,
                notes=repo,
                approval_timeout=self.settings.tool_approval_timeout,
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not start the tools")
            return
        if self._closed:
            await system.aclose()
            return
        self.tool_system = system
        self.tools = system.service
        self.chat.set_tools(system.service, tool_grammar)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.chat.stop_all()
        if self._tools_task is not None and not self._tools_task.done():
            self._tools_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tools_task
        self.chat.set_tools(None, None)
        if self.tool_system is not None:
            system, self.tool_system, self.tools = self.tool_system, None, None
            await system.aclose()  # stops every server: no child process is left
        await self.models.aclose()
        await self.database.aclose()


async def build_core(
    paths: Paths | None = None,
    settings: Settings | None = None,
    *,
    start_model: bool = True,
    start_tools: bool = False,
) -> Core:
    """Open the database, recover from a crash, and (optionally) start the model and the tools.

    The model loads in the background: callers get the Core at once and ``core.models.get()``
    waits for it. With ``start_tools`` the MCP servers start in the background too
    (``core.wait_tools()``); the window always wants them, the CLI only when asked, so
    ``keiko ask`` never pays for the MCP SDK.
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
    if start_tools:
        core.start_tools()
    return core
