"""Composition root: builds the headless ``Core`` (store, models, services, event bus).

Imports no Qt. The window (``ui/application.py``) and the CLI are both handed a ``Core``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import (
    Paths,
    Settings,
    changed_keys,
    load_settings,
    needs_model_reload,
    save_settings,
)
from keiko_desktop.core.downloads import ModelLibrary
from keiko_desktop.core.endpoints import EndpointManager, endpoints_path
from keiko_desktop.core.errors import KeikoError, ModelLoadError
from keiko_desktop.core.events import EventBus, SettingsChanged
from keiko_desktop.core.ports import (
    ChatModel,
    ConversationRepository,
    CpuBackends,
    ModelProvider,
    Store,
)
from keiko_desktop.llm.cpu_backends import CpuPlanner, default_cache_file
from keiko_desktop.llm.installed_models import with_model
from keiko_desktop.llm.llama_backend import LlamaCppBackend
from keiko_desktop.llm.model_options import ModelOptionsStore
from keiko_desktop.llm.registry import ModelRegistry, locate_bundled_model

if TYPE_CHECKING:
    from keiko_desktop.core.agents.service import AgentService
    from keiko_desktop.core.files.ports import Extractor
    from keiko_desktop.core.files.service import AttachmentService
    from keiko_desktop.core.files.types import Extracted, FileKind
    from keiko_desktop.core.tasks.service import TaskService
    from keiko_desktop.core.tools.approvals import Approver
    from keiko_desktop.core.tools.elicitation import Elicitor
    from keiko_desktop.core.tools.ports import ToolStore
    from keiko_desktop.core.tools.sampling import SamplingApprover
    from keiko_desktop.core.tools.sampling_service import SamplingService
    from keiko_desktop.core.tools.service import ToolService
    from keiko_desktop.core.voice.service import VoiceService
    from keiko_desktop.mcp_tools.setup import ToolSystem

log = logging.getLogger(__name__)

DAY = 86400.0
TOOLS_SETTLE = 15.0
"""Seconds an agent's first run waits for the tool servers to be ready (or failed)."""


@dataclass
class Core:
    """Everything the window and the CLI use, wired once. Typed with ports (``core.ports``,
    ``core.tools.ports``): whoever is handed a Core never needs an adapter class."""

    paths: Paths
    settings: Settings
    bus: EventBus
    database: Store
    conversations: ConversationRepository
    registry: ModelProvider
    models: ModelManager
    chat: ChatService
    recovered: int = 0
    cpu: CpuBackends | None = None
    """llama.cpp's CPU configurations and the one in use (Settings, ``keiko doctor``)."""
    tools: ToolService | None = None
    """Tools (MCP servers), once started (``build_core(start_tools=True)``); else None."""
    agents: AgentService | None = None
    """Agents: profiles, runs, plans, traces (``core/agents``)."""
    tasks: TaskService | None = None
    """Background tasks (``core/tasks``); they run only once ``tasks.start(role)`` is called."""
    voice: VoiceService | None = None
    """Speech in and out (``core/voice``); its engines load on first use."""
    files: AttachmentService | None = None
    """Attached files (``core/files``): ingest, link to messages, passages for turns."""
    endpoints: EndpointManager | None = None
    """Remote OpenAI-compatible endpoints (``core/endpoints.py``), each a registry backend."""
    library: ModelLibrary | None = None
    """Recommended models, their downloads and per-model options (``core/downloads.py``)."""
    tool_system: ToolSystem | None = field(default=None, repr=False)
    tool_store: ToolStore | None = field(default=None, repr=False)
    """Where the tools keep policies, the audit log and notes (None: nowhere, in memory)."""
    approver: Approver | None = field(default=None, repr=False)
    """Who answers Ask tools (``set_approver``): the window's dialogs, the terminal, or nobody."""
    elicitor: Elicitor | None = field(default=None, repr=False)
    """Who answers the servers' questions (``set_elicitor``): a form dialog, the terminal."""
    sampling_approver: SamplingApprover | None = field(default=None, repr=False)
    """Who reviews servers' sampling requests (``set_sampling_approver``), or nobody."""
    _tools_task: asyncio.Task[None] | None = field(default=None, repr=False)
    trash_purge: asyncio.Task[int] | None = field(default=None, repr=False)
    """The start-up purge of chats deleted longer ago than ``deleted_retention_days``."""
    files_sweep: asyncio.Task[int] | None = field(default=None, repr=False)
    """The start-up sweep of attachment leftovers (``AttachmentService.sweep``)."""
    remote_start: asyncio.Task[None] | None = field(default=None, repr=False)
    """The window's background start of remote things (``start_remote``)."""
    _closed: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.bus.subscribe(SettingsChanged, self._on_bus_settings_changed)

    def update_settings(self, settings: Settings) -> SettingsChanged | None:
        """Validate, save and apply new settings, and publish ``SettingsChanged`` (None when
        nothing changed). Whoever depends on a setting follows the event (the model registry,
        the tool approvals); a setting declared ``Effect.RELOAD_MODEL`` reloads the model."""
        new = settings.validate()
        save_settings(self.paths, new)  # first: if it cannot be saved, nothing changes
        old, self.settings = self.settings, new
        changed = changed_keys(old, new)
        if not changed:
            return None
        event = SettingsChanged(old, new, changed)
        self.bus.publish(event)
        return event

    def _on_bus_settings_changed(self, event: SettingsChanged) -> None:
        if needs_model_reload(event.changed):
            self.models.start_loading(event.new.model)
        if "tools_in_chat" in event.changed and event.new.tools_in_chat:
            self.start_tools()  # once; a no-op when they run already

    def start_trash_purge(self) -> asyncio.Task[int]:
        """Purge old deleted chats in the background (``trash_purge``); never raises."""
        if self.trash_purge is None:
            loop = asyncio.get_running_loop()
            self.trash_purge = loop.create_task(self._purge_old_deleted())
        return self.trash_purge

    async def _purge_old_deleted(self) -> int:
        days = self.settings.deleted_retention_days
        if days <= 0:
            return 0  # kept until the trash is emptied by hand
        try:
            purged = await self.conversations.purge_deleted(days * DAY)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("could not purge chats deleted over %d days ago", days)
            return 0
        if purged:
            log.info("purged %d chats deleted over %d days ago", purged, days)
        return purged

    async def empty_trash(self) -> int:
        """Delete every deleted chat for good (Settings > Empty trash now); how many went."""
        purged = await self.conversations.purge_deleted(0.0)
        log.info("emptied the trash: %d chats", purged)
        return purged

    async def import_mcp_config(self, path: Path) -> list[str]:
        """Import the MCP servers of another app's config file (a dropped
        claude_desktop_config.json); the running tool system starts them. Returns their names
        (none when every one was there already). Raises KeikoError for a bad file."""
        changes = await asyncio.to_thread(
            importlib.import_module, "keiko_desktop.mcp_tools.config_changes"
        )
        outcome = await asyncio.to_thread(changes.import_config_file, self.paths, path)
        if self.tool_system is not None:
            for server in outcome.added:
                if server.name in self.tool_system.pool.names():
                    await self.tool_system.pool.remove(server.name)
                self.tool_system.pool.add(server)
                self.tool_system.service.registry.set_enabled(server.name, True)
        names: list[str] = outcome.added_names
        return names

    async def grant_folder(self, folder: Path) -> bool:
        """Grant ``folder`` to the ``files`` tool (a dropped folder, once the user agreed);
        a running ``files`` server restarts with it. False when it was granted already."""
        changes = await asyncio.to_thread(
            importlib.import_module, "keiko_desktop.mcp_tools.config_changes"
        )
        new = await asyncio.to_thread(changes.grant_folder, self.paths, folder)
        if new is None:
            return False
        system = self.tool_system
        if system is not None and "files" in system.pool.names():
            system.pool.connection("files").config = new
            system.service.registry.set_enabled("files", True)
            await system.pool.restart_server("files")
        return True

    def set_approver(self, approver: Approver | None) -> None:
        """Register who answers Ask tools, now and for tools started later (None: nobody, so
        every Ask is denied, saying why)."""
        self.approver = approver
        if self.tools is not None:
            self.tools.approvals.set_approver(approver)

    def set_elicitor(self, elicitor: Elicitor | None) -> None:
        """Register who answers the servers' questions (elicitation), now and for tools started
        later (None: nobody, so every question is declined). Agent runs and chat share it."""
        self.elicitor = elicitor
        if self.tool_system is not None:
            self.tool_system.elicitations.set_elicitor(elicitor)

    def set_sampling_approver(self, approver: SamplingApprover | None) -> None:
        """Register who reviews servers' requests to sample Keiko's model (None: nobody)."""
        self.sampling_approver = approver
        if self.sampling is not None:
            self.sampling.set_approver(approver)

    @property
    def sampling(self) -> SamplingService | None:
        """Servers' sampling requests and policies, once the tools run (§ arch16/sampling)."""
        return self.tool_system.sampling if self.tool_system is not None else None

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
            if self.tool_store is None:
                tables = await asyncio.to_thread(
                    importlib.import_module, "keiko_desktop.store.tools"
                )
                self.tool_store = tables.SqliteToolRepository(self.database)
            repo = self.tool_store
            system: ToolSystem = await setup.build_tool_system(
                self.paths,
                self.bus,
                policies=repo,
                audit=repo,
                notes=repo,
                approval_timeout=self.settings.tool_approval_timeout,
                approver=self.approver,
                sampling_model=self.models.get,  # servers sample the chat's model
                log_level=self.settings.mcp_log_level,
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
        system.service.approvals.set_approver(self.approver)  # the one registered meanwhile
        system.elicitations.set_elicitor(self.elicitor)
        self.set_sampling_approver(self.sampling_approver)
        self.chat.set_tools(system.service)

    def start_remote(self) -> None:
        """In the background (the window, once): check every endpoint, so the model chooser
        shows their models and state, and resume the downloads a last exit paused."""
        if self.remote_start is not None:
            return

        async def start() -> None:
            if self.library is not None:
                try:
                    await self.library.resume_interrupted()
                except KeikoError as exc:
                    log.warning("could not resume the downloads: %s", exc.message)
            if self.endpoints is not None:
                await self.endpoints.check_all()

        self.remote_start = asyncio.get_running_loop().create_task(start())

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self.chat.stop_all()
        if self.voice is not None:
            await self.voice.aclose()  # speech stopped, engines closed
        if self.tasks is not None:
            await self.tasks.aclose()  # running tasks go back to pending, the lease is given up
        if self.agents is not None:
            self.chat.set_agents(None)
            await self.agents.aclose()  # runs stored as cancelled, their models unloaded
        for task in (self.trash_purge, self.files_sweep, self.remote_start):
            if task is not None and not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._tools_task is not None and not self._tools_task.done():
            self._tools_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tools_task
        self.chat.set_tools(None)
        if self.tool_system is not None:
            system, self.tool_system, self.tools = self.tool_system, None, None
            await system.aclose()  # stops every server: no child process is left
        await self.models.aclose()
        if self.library is not None:
            await self.library.aclose()  # running downloads pause; they resume next start
        if self.endpoints is not None:
            await self.endpoints.aclose()
        await self.database.aclose()


def llama_cpu(paths: Paths, settings: Callable[[], Settings]) -> CpuPlanner:
    """The llama.cpp CPU planner: its cache in the cache dir, ``cpu_backend`` as override, and
    the bundled model to probe with (small, so a probe takes a second, whatever is chosen)."""

    def bundled() -> str | None:
        try:
            return str(locate_bundled_model())
        except ModelLoadError:
            return None

    return CpuPlanner(
        default_cache_file(paths.cache_dir),
        override=lambda: settings().cpu_backend,
        probe_model=bundled,
    )


def build_agents(core: Core) -> AgentService:
    """The agents over the core's store, models and (once started) tools; seeded and
    recovered in the background (every call waits for that)."""
    from keiko_desktop.core.agents.model_pool import ModelPool
    from keiko_desktop.core.agents.service import AgentService

    database = core.database
    pool = ModelPool(
        core.registry, core.models, lambda: core.settings.agent_ram_budget_mb * 1024 * 1024
    )

    def model_loaded(name: str) -> bool:
        info = core.models.info
        if core.models.current is None or info is None:
            return False
        return (
            not name
            or name in (info.name, info.path)
            or any(name == loaded for loaded, _size, _in_use in pool.loaded())
        )

    async def tools() -> ToolService | None:
        core.start_tools()  # once; agents with tools start the tool system when first run
        return await core.wait_tools(settle=TOOLS_SETTLE)

    agents = AgentService(
        database.agents,  # type: ignore[attr-defined]
        database.runs,  # type: ignore[attr-defined]
        pool,
        core.bus,
        lambda: core.settings,
        tools,
        model_loaded,
    )
    agents.start_loading()
    return agents


def build_tasks(core: Core) -> TaskService:
    """The task service over the core's store, with the agents, tools and the chat's model
    for its kinds (``core/tasks/builtin.py``). Its engine starts with ``start(role)``."""
    from keiko_desktop.core.tasks.builtin import builtin_kinds
    from keiko_desktop.core.tasks.kinds import TaskServices
    from keiko_desktop.core.tasks.service import TaskService

    async def tools() -> ToolService | None:
        core.start_tools()
        return await core.wait_tools(settle=TOOLS_SETTLE)

    def model() -> contextlib.AbstractAsyncContextManager[ChatModel]:
        assert core.agents is not None
        return core.agents.lease("")

    services = TaskServices(lambda: core.settings, core.agents, tools, model, voice=core.voice)
    return TaskService(
        core.database.tasks,  # type: ignore[attr-defined]
        builtin_kinds(services),
        services,
        core.bus,
        lambda: core.settings,
    )


class _LazyExtractor:
    """``documents.DocumentExtractor``, imported on first use (pypdf and the readers take
    tens of milliseconds to import, which ``keiko ask`` without files never pays)."""

    def __init__(self) -> None:
        self._extractor: Extractor | None = None

    def _get(self) -> Extractor:
        if self._extractor is None:
            from keiko_desktop.documents import DocumentExtractor

            self._extractor = DocumentExtractor()
        return self._extractor

    def classify(self, path: Path) -> FileKind:
        return self._get().classify(path)

    def extract(
        self,
        path: Path,
        kind: FileKind,
        *,
        progress: Callable[[float], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        name: str | None = None,
    ) -> Extracted:
        extractor = self._get()
        return extractor.extract(path, kind, progress=progress, cancelled=cancelled, name=name)


def build_files(core: Core) -> AttachmentService:
    """Attachments over the core's store: copies under ``data_dir/files``; leftovers of a
    crash are swept in the background (``core.files_sweep``, never raising)."""
    from keiko_desktop.core.files.service import AttachmentService
    from keiko_desktop.store.attachments import SqliteAttachmentRepository

    files = AttachmentService(
        SqliteAttachmentRepository(core.database),  # type: ignore[arg-type]
        _LazyExtractor(),
        core.paths.data_dir / "files",
        lambda: core.settings,
        core.bus,
    )
    core.files_sweep = asyncio.get_running_loop().create_task(files.sweep())
    return files


def build_voice(bus: EventBus, settings: Callable[[], Settings]) -> VoiceService:
    """Speech in (faster-whisper) and out (piper). Nothing heavy happens here: each engine is
    made, and its model loaded, on first use (``VoiceService.preload`` warms it)."""
    from keiko_desktop.core.voice.service import VoiceService
    from keiko_desktop.speech.piper_voice import PiperSynthesizer
    from keiko_desktop.speech.whisper import WhisperTranscriber

    return VoiceService(
        WhisperTranscriber.from_settings, PiperSynthesizer.from_settings, bus, settings
    )


class _CoreModels:
    """The library's view of ``Settings.extra_models`` in a running Core: changes are saved
    and published like any settings change."""

    def __init__(self, core: Core) -> None:
        self._core = core

    def added(self) -> tuple[str, ...]:
        return self._core.settings.extra_models

    def _change(self, path: str, keep: bool) -> None:
        settings = self._core.settings
        wanted = with_model(settings.extra_models, path, keep)
        if wanted != settings.extra_models:
            self._core.update_settings(settings.with_changes(extra_models=wanted))

    def add(self, path: str) -> None:
        self._change(path, keep=True)

    def forget(self, path: str) -> None:
        self._change(path, keep=False)


def build_library(core: Core, options: ModelOptionsStore) -> ModelLibrary:
    """Recommended models and their downloads (``data_dir/models``); nothing starts here
    (``Core.start_remote`` resumes what a last exit paused)."""
    from keiko_desktop.llm.model_library import DownloadLibrary

    return DownloadLibrary(
        core.paths,
        _CoreModels(core),
        bus=core.bus,
        mirror=lambda: core.settings.model_download_mirror,
        options=options,
    )


async def build_endpoints(paths: Paths, registry: ModelRegistry, bus: EventBus) -> EndpointManager:
    """The endpoints of ``endpoints.toml``, each registered as a backend of ``registry``; the
    HTTP client and the keychain are imported off the loop (``keiko ask`` without endpoints
    never imports them)."""
    module = await asyncio.to_thread(importlib.import_module, "keiko_desktop.llm.endpoint_manager")
    service = module.EndpointService(paths.config_dir, registry, bus)
    await service.load()
    return service  # type: ignore[no-any-return]


async def build_core(
    paths: Paths | None = None,
    settings: Settings | None = None,
    *,
    start_model: bool = True,
    start_tools: bool = False,
    with_tasks: bool = True,
    with_voice: bool = True,
    with_endpoints: bool = False,
) -> Core:
    """Open the database, recover from a crash, purge old deleted chats (in the background),
    and (optionally) start the model and the tools.

    The model loads in the background: callers get the Core at once and ``core.models.get()``
    waits for it. With ``start_tools`` the MCP servers start in the background too
    (``core.wait_tools()``); the window always wants them, the CLI only when asked, so
    ``keiko ask`` never pays for the MCP SDK. ``with_tasks=False`` leaves ``core.tasks`` None
    (``keiko ask`` and ``chat`` need no task engine, so they import none of it), and
    ``with_voice=False`` leaves ``core.voice`` None (no speech there either). The endpoints
    (``core.endpoints``) are read before the model loads, so a remote model resolves; they are
    built when ``endpoints.toml`` exists or ``with_endpoints`` asks (the window, which also
    gets the model library, ``core.library``).
    """
    paths = paths or Paths.from_env()
    paths.ensure()
    settings = settings or load_settings(paths)
    bus = EventBus(asyncio.get_running_loop())
    built: list[Core] = []

    def current() -> Settings:
        return built[0].settings if built else settings

    cpu = llama_cpu(paths, current)
    options = ModelOptionsStore(paths.config_dir)  # per-model settings, models.toml
    llama = LlamaCppBackend(cpu, options=lambda info: options.get(info.name, info.path))
    registry = ModelRegistry(settings, bus=bus, backends=[llama])
    models = ModelManager(registry, bus, chosen=lambda: registry.settings.model)
    endpoints = None
    if with_endpoints or endpoints_path(paths.config_dir).exists():
        endpoints = await build_endpoints(paths, registry, bus)
    if start_model:
        # First, so the model loads on its worker while the store opens. Both start with
        # Python imports that would fight over the GIL; so the store's wait for llama_cpp's
        # import, and then overlap llama.cpp's native model load (which releases the GIL).
        models.start_loading(settings.model)
        await asyncio.to_thread(llama.prepare)
    try:
        store = await asyncio.to_thread(importlib.import_module, "keiko_desktop.store")
        database = await store.open_database(paths.database)
    except BaseException:
        await models.aclose()
        if endpoints is not None:
            await endpoints.aclose()
        raise
    repo = database.conversations
    chat = ChatService(repo, models, bus, current)
    core = Core(paths, settings, bus, database, repo, registry, models, chat, cpu=cpu)
    core.endpoints = endpoints
    built.append(core)
    core.agents = build_agents(core)
    chat.set_agents(core.agents)
    if with_voice:
        core.voice = build_voice(bus, current)
    if with_tasks:
        core.tasks = build_tasks(core)
    core.files = build_files(core)
    if with_endpoints:  # the window; `keiko models` builds its own
        core.library = build_library(core, options)
    chat.set_files(core.files)
    core.recovered = await chat.recover()
    if core.recovered:
        log.info("marked %d unfinished replies as interrupted", core.recovered)
    core.start_trash_purge()
    if start_tools:
        core.start_tools()
    return core
