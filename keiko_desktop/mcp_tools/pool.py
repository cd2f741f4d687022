"""The MCP server pool: every configured server, each in its own long-lived task.

``ServerPool`` implements ``core.tools.ports.ToolProvider``: it lists the tools of ready servers,
runs calls with a time limit, enables, disables and restarts servers, and publishes
``McpServerStatusChanged`` / ``McpToolsChanged``. ``aclose()`` stops every server and waits, so
quitting leaves no child process behind.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.errors import ServerUnavailableError
from keiko_desktop.core.tools.events import McpServerStatusChanged
from keiko_desktop.core.tools.models import ServerKind, ServerState, ToolResult, ToolSpec
from keiko_desktop.mcp_tools.config import BuiltinServerConfig, HttpServerConfig, ServerConfig
from keiko_desktop.mcp_tools.connection import PoolOptions, ServerConnection
from keiko_desktop.mcp_tools.transport import ClientFactory

log = logging.getLogger(__name__)

ConfigListener = Callable[[ServerConfig], None]


def _kind(config: ServerConfig) -> ServerKind:
    if isinstance(config, BuiltinServerConfig):
        return "builtin"
    return "http" if isinstance(config, HttpServerConfig) else "stdio"


class ServerPool:
    """All MCP servers. Build it on the running loop; ``start`` them; ``aclose`` at exit."""

    def __init__(
        self,
        bus: EventBus,
        factory: ClientFactory | None = None,
        options: PoolOptions | None = None,
        on_config_changed: ConfigListener | None = None,
    ) -> None:
        self.bus = bus
        self.factory = factory or ClientFactory()
        self.options = options or PoolOptions()
        self._on_config_changed = on_config_changed
        self._servers: dict[str, ServerConnection] = {}
        self._closed = False
        self._start_slots = asyncio.Semaphore(self.options.max_starting)

    # ---------------------------------------------------------------- lifecycle
    def start(self, configs: Iterable[ServerConfig]) -> None:
        """Add each server and start the enabled ones (without waiting for them)."""
        for config in configs:
            self.add(config)

    def add(self, config: ServerConfig) -> ServerConnection:
        if self._closed:
            raise RuntimeError("the pool is closed")
        if config.name in self._servers:
            raise ValueError(f"server {config.name!r} is already in the pool")
        connection = ServerConnection(
            config, self.factory, self.bus, self.options, self._start_slots
        )
        self._servers[config.name] = connection
        if not config.disabled:
            connection.start()
        return connection

    def names(self) -> list[str]:
        return list(self._servers)

    async def remove(self, name: str) -> None:
        connection = self._servers.pop(name, None)
        if connection is not None:
            await connection.stop()

    async def aclose(self) -> None:
        """Stop every server, each closing its own client; wait for all of them."""
        self._closed = True
        await asyncio.gather(*(c.stop() for c in self._servers.values()))

    async def wait_settled(
        self, names: Iterable[str] | None = None, time_limit: float = 30.0
    ) -> bool:
        """Wait until the named (default: all enabled) servers are past ``starting``.

        True when they all settled within ``time_limit``.
        """
        wanted = set(names) if names is not None else None
        settled = asyncio.Event()

        def check(_event: object = None) -> None:
            for name, connection in self._servers.items():
                if wanted is not None and name not in wanted:
                    continue
                if connection.running and connection.status in ("starting", "stopped"):
                    return
            settled.set()

        self.bus.subscribe(McpServerStatusChanged, check)
        try:
            check()
            async with asyncio.timeout(time_limit):
                await settled.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self.bus.unsubscribe(McpServerStatusChanged, check)

    # ---------------------------------------------------------------- ToolProvider
    def connection(self, name: str) -> ServerConnection:
        try:
            return self._servers[name]
        except KeyError:
            known = ", ".join(sorted(self._servers)) or "none"
            raise ServerUnavailableError(
                f"There is no MCP server named '{name}'.", f"Configured servers: {known}."
            ) from None

    def server_states(self) -> list[ServerState]:
        return [
            ServerState(
                name=c.name,
                kind=_kind(c.config),
                status=c.status,
                detail=c.detail,
                enabled=not c.config.disabled,
                tool_count=len(c.tools),
                target=c.config.target,
                notes=c.refused,
            )
            for c in self._servers.values()
        ]

    def list_tools(self, server: str | None = None) -> list[ToolSpec]:
        out: list[ToolSpec] = []
        for connection in self._servers.values():
            if server is None or connection.name == server:
                out.extend(connection.tools)
        return out

    async def call_tool(
        self, server: str, tool: str, arguments: dict[str, Any], time_limit: float | None = None
    ) -> ToolResult:
        return await self.connection(server).call(tool, arguments, time_limit)

    async def set_server_enabled(self, server: str, enabled: bool) -> None:
        """Start or stop a server and remember the choice in mcp.json."""
        connection = self.connection(server)
        connection.config = replace(connection.config, disabled=not enabled)
        if self._on_config_changed is not None:
            self._on_config_changed(connection.config)
        if enabled:
            connection.start()
        else:
            await connection.stop()

    async def restart_server(self, server: str) -> None:
        connection = self.connection(server)
        if connection.running:
            connection.restart()
        elif not connection.config.disabled:
            connection.start()
