"""Events of tool use: server status, tool lists, approvals and executed calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from keiko_desktop.core.events import Event
from keiko_desktop.core.tools.models import Decision, ServerStatus, ToolSpec


@dataclass(frozen=True)
class McpServerStatusChanged(Event):
    """A server became starting, ready, error (``detail`` says why) or stopped."""

    server: str
    status: ServerStatus
    detail: str = ""


@dataclass(frozen=True)
class McpToolsChanged(Event):
    """A server's tool list is now ``tools`` (empty when it stopped or failed)."""

    server: str
    tools: tuple[ToolSpec, ...] = ()


@dataclass(frozen=True)
class ToolApprovalRequested(Event):
    """A tool with policy Ask is waiting for the registered ``Approver`` (a fact, for display:
    answering goes through the approver). ``arguments`` are redacted."""

    server: str
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)
    request_id: int = 0


@dataclass(frozen=True)
class ToolExecuted(Event):
    """A tool call finished (or was refused)."""

    server: str
    tool: str
    decision: Decision
    is_error: bool
    duration: float | None = None
    conversation_id: int | None = None
    agent: str | None = None


@dataclass(frozen=True)
class ToolPolicyReset(Event):
    """An Always stopped holding because the server or the tool changed (``reason``); the tool
    asks again."""

    tool: str
    reason: str

    @property
    def text(self) -> str:
        return f"{self.tool} asks again: {self.reason}."
