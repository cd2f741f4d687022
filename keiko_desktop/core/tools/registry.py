"""The tool registry: the tools of every ready server, named ``server.tool``.

It follows the bus: ``McpToolsChanged`` replaces a server's tools, a status other than ready
removes them. A disabled server's tools stay known (for the settings page) but are not offered.
"""

from __future__ import annotations

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.errors import ToolNotFoundError
from keiko_desktop.core.tools.events import McpServerStatusChanged, McpToolsChanged
from keiko_desktop.core.tools.models import ToolSpec, split_name


class ToolRegistry:
    """Tools by server, with per-server enable/disable."""

    def __init__(self, bus: EventBus | None = None) -> None:
        self._tools: dict[str, dict[str, ToolSpec]] = {}
        self._disabled: set[str] = set()
        if bus is not None:
            bus.subscribe(McpToolsChanged, self._on_tools_changed)
            bus.subscribe(McpServerStatusChanged, self._on_status_changed)

    def _on_tools_changed(self, event: McpToolsChanged) -> None:
        self.update(event.server, event.tools)

    def _on_status_changed(self, event: McpServerStatusChanged) -> None:
        if event.status != "ready":
            self.remove(event.server)

    def update(self, server: str, tools: tuple[ToolSpec, ...] | list[ToolSpec]) -> None:
        self._tools[server] = {t.name: t for t in tools}

    def remove(self, server: str) -> None:
        self._tools.pop(server, None)

    def set_enabled(self, server: str, enabled: bool) -> None:
        if enabled:
            self._disabled.discard(server)
        else:
            self._disabled.add(server)

    def is_enabled(self, server: str) -> bool:
        return server not in self._disabled

    def servers(self) -> list[str]:
        return sorted(self._tools)

    def tools(
        self,
        server: str | None = None,
        include_disabled: bool = False,
        include_unusable: bool = False,
    ) -> list[ToolSpec]:
        """Tools sorted by qualified name; only usable tools of enabled servers unless asked
        otherwise (a tool with a broken schema is unusable: listed for people, never offered
        to a model)."""
        out: list[ToolSpec] = []
        for name, tools in self._tools.items():
            if server is not None and name != server:
                continue
            if not include_disabled and name in self._disabled:
                continue
            out.extend(t for t in tools.values() if include_unusable or t.usable)
        return sorted(out, key=lambda t: t.qualified_name)

    def get(self, qualified_name: str) -> ToolSpec:
        """The tool ``server.tool``; ToolNotFoundError says why it is not available."""
        try:
            server, tool = split_name(qualified_name)
        except ValueError:
            raise ToolNotFoundError(
                f"'{qualified_name}' is not a tool name.",
                "Name tools as SERVER.TOOL, for example files.read_file.",
            ) from None
        if server in self._disabled:
            raise ToolNotFoundError(
                f"Server '{server}' is disabled.", "Enable it in Settings > Tools."
            )
        tools = self._tools.get(server)
        if tools is None:
            raise ToolNotFoundError(
                f"Server '{server}' is not ready (or not configured).",
                "Check `keiko mcp list` for its status.",
            )
        spec = tools.get(tool)
        if spec is None:
            known = ", ".join(sorted(tools)) or "none"
            raise ToolNotFoundError(
                f"Server '{server}' has no tool '{tool}'.", f"Its tools are: {known}."
            )
        return spec
