"""Protocols the tool adapters implement: the server pool and the tool tables."""

from __future__ import annotations

from typing import Any, Protocol

from keiko_desktop.core.tools.models import (
    AuditEntry,
    Note,
    ServerState,
    StoredPolicy,
    ToolResult,
    ToolSpec,
)


class ToolProvider(Protocol):
    """Runs tools on servers (the MCP pool). Knows nothing of policies or approvals."""

    def server_states(self) -> list[ServerState]: ...

    def list_tools(self, server: str | None = None) -> list[ToolSpec]: ...

    async def call_tool(
        self, server: str, tool: str, arguments: dict[str, Any], time_limit: float | None = None
    ) -> ToolResult: ...

    async def set_server_enabled(self, server: str, enabled: bool) -> None: ...

    async def restart_server(self, server: str) -> None: ...


class ToolPolicyRepository(Protocol):
    """Per-tool policies, keyed by ``server.tool``: a ``Policy`` string and the fingerprint of
    the server and tool it was given for."""

    async def load_policies(self) -> dict[str, StoredPolicy]: ...

    async def set_policy(self, tool: str, policy: str, fingerprint: str | None = None) -> None: ...

    async def clear_policy(self, tool: str) -> None: ...


class ToolAuditRepository(Protocol):
    """The audit log of tool calls. Entries arrive already redacted."""

    async def record_tool_call(self, entry: AuditEntry) -> int: ...

    async def list_tool_calls(
        self, limit: int = 100, server: str | None = None
    ) -> list[AuditEntry]: ...


class NoteRepository(Protocol):
    """Notes for the ``notes`` built-in server."""

    async def create_note(self, title: str, body: str) -> Note: ...

    async def get_note(self, note_id: int) -> Note | None: ...

    async def search_notes(self, text: str, limit: int = 20) -> list[Note]: ...

    async def list_notes(self, limit: int = 50) -> list[Note]: ...


class ToolStore(ToolPolicyRepository, ToolAuditRepository, NoteRepository, Protocol):
    """All three tool tables at once (the SQLite store implements them together)."""
