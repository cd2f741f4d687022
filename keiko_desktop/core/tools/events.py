"""Events of tool use: server status, tool lists, approvals and executed calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keiko_desktop.core.events import Event
from keiko_desktop.core.tools.models import Decision, ServerStatus, ToolSpec

if TYPE_CHECKING:
    from keiko_desktop.core.tools.approvals import ApprovalRequest


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
    """A tool with policy Ask wants to run. Answer with ``request.answer(...)``.

    ``arguments`` are redacted. No answer within ``request.timeout`` seconds is a Deny.
    """

    server: str
    tool: str
    arguments: dict[str, Any] = field(default_factory=dict)
    request: ApprovalRequest | None = None


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
