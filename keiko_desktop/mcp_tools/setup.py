"""Building the tool system: config, secrets, built-in servers, the pool and the ToolService.

``build_tool_system`` is what ``app.build_core`` and the ``keiko mcp`` commands call. It must run
on the loop that will own the servers' tasks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from mcp.server.mcpserver import MCPServer

from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.approvals import DEFAULT_APPROVAL_TIMEOUT, Approver
from keiko_desktop.core.tools.elicitation import ElicitationBroker
from keiko_desktop.core.tools.ports import NoteRepository, ToolAuditRepository, ToolPolicyRepository
from keiko_desktop.core.tools.redaction import Redactor, redact_logs, stop_redacting_logs
from keiko_desktop.core.tools.sampling_service import ModelGetter, SamplingService
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.mcp_tools.builtin import (
    create_clock_server,
    create_files_server,
    create_notes_server,
)
from keiko_desktop.mcp_tools.config import (
    BuiltinServerConfig,
    McpConfig,
    ServerConfig,
    load_config,
    save_config,
)
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.elicitation import UrlElicitations, elicitation_hooks
from keiko_desktop.mcp_tools.oauth.manager import OAuthManager
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.resources import McpResources
from keiko_desktop.mcp_tools.sampling import SamplingHook, sampling_service
from keiko_desktop.mcp_tools.secrets import SecretStore
from keiko_desktop.mcp_tools.server_logging import DEFAULT_LOG_LEVEL, ServerLogging
from keiko_desktop.mcp_tools.shell_env import LoginShellPath
from keiko_desktop.mcp_tools.transport import BuiltinFactory, ClientFactory

log = logging.getLogger(__name__)


@dataclass
class ToolSystem:
    """The pool and the service over it. ``aclose()`` stops every server."""

    pool: ServerPool
    service: ToolService
    config: McpConfig
    elicitations: ElicitationBroker = field(default_factory=ElicitationBroker)
    """Who answers the servers' questions (``set_elicitor``); nobody at first."""
    sampling: SamplingService | None = None
    """Servers' requests for Keiko's model (``mcp_tools/sampling.py``)."""

    async def aclose(self) -> None:
        await self.pool.aclose()
        stop_redacting_logs(self.service.redactor)


def builtin_factories(notes: NoteRepository | None) -> dict[str, BuiltinFactory]:
    def files(config: BuiltinServerConfig) -> MCPServer:
        return create_files_server(config.folders)

    def clock(_config: BuiltinServerConfig) -> MCPServer:
        return create_clock_server()

    factories: dict[str, BuiltinFactory] = {"files": files, "clock": clock}
    if notes is not None:
        repository = notes

        def notes_server(_config: BuiltinServerConfig) -> MCPServer:
            return create_notes_server(repository)

        factories["notes"] = notes_server
    return factories


class ConfigWriter:
    """Writes a server's changed entry (enabled/disabled, folders) back to mcp.json."""

    def __init__(self, paths: Paths) -> None:
        self.paths = paths

    def __call__(self, server: ServerConfig) -> None:
        save_config(self.paths, load_config(self.paths).with_server(server))


async def build_tool_system(
    paths: Paths,
    bus: EventBus,
    *,
    policies: ToolPolicyRepository | None = None,
    audit: ToolAuditRepository | None = None,
    notes: NoteRepository | None = None,
    options: PoolOptions | None = None,
    approval_timeout: float = DEFAULT_APPROVAL_TIMEOUT,
    approver: Approver | None = None,
    config: McpConfig | None = None,
    only: Iterable[str] | None = None,
    secrets: SecretStore | None = None,
    elicitations: ElicitationBroker | None = None,
    sampling_model: ModelGetter | None = None,
    log_level: str = DEFAULT_LOG_LEVEL,
) -> ToolSystem:
    """Read mcp.json, start the servers (all, or ``only`` these) and return the tool system.

    ``approver`` answers Ask tools (``ToolService.approvals.set_approver`` changes it later);
    without one every Ask is denied. ``elicitations`` answers the servers' questions (a new
    broker, with nobody to answer, when not given)."""
    config = config if config is not None else load_config(paths)
    redactor = Redactor()
    redact_logs(redactor)  # what servers are given as secrets never reaches a log
    factories = builtin_factories(notes)
    factory = ClientFactory(
        builtins=factories,
        secrets=secrets or SecretStore(),
        redactor=redactor,
        shell_path=LoginShellPath(),
        log_dir=paths.log_dir,
    )
    factory.oauth = OAuthManager(redactor, secrets=factory.secrets)
    elicitations = elicitations if elicitations is not None else ElicitationBroker()
    factory.hooks.add(elicitation_hooks(elicitations))
    factory.url_elicitations = UrlElicitations(elicitations)  # -32042: links to visit first
    pool = ServerPool(bus, factory, options, on_config_changed=ConfigWriter(paths))
    factory.oauth.restart = pool.restart_server
    service = ToolService(
        pool,
        bus,
        policies=policies,
        audit=audit,
        redactor=redactor,
        approval_timeout=approval_timeout,
        approver=approver,
    )
    service.sign_in = factory.oauth
    service.content = McpResources(pool)
    logs = ServerLogging(service.live_calls, redactor, factory.stderr_log, log_level)
    factory.hooks.add(logs.client_kwargs)  # log lines to the server's log and the call's card
    factory.hooks.add_opened(logs.opened)  # the 2025 handshake's logging/setLevel
    await service.load()
    sampling = await sampling_service(pool, bus, policies, sampling_model, approval_timeout)
    factory.hooks.add(SamplingHook(sampling))
    wanted = set(only) if only is not None else None
    for server in config.all_servers():
        if isinstance(server, BuiltinServerConfig) and server.name not in factories:
            continue
        if wanted is not None and server.name not in wanted:
            continue
        pool.add(server)
        service.registry.set_enabled(server.name, not server.disabled)
    return ToolSystem(pool, service, config, elicitations=elicitations, sampling=sampling)
