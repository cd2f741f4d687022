"""Events of a tool call while it runs: started, progressed, logged, ended.

Each carries the ``call_id`` the ``LiveCalls`` registry gave the call, so the window can
match a server's progress and log lines to the card of the call they belong to. Everything
a server sent (``message``, ``text``) is already escaped and bounded (``live_calls``).
They share the base ``ToolCallActivity``, so the bridge relays them on one signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from keiko_desktop.core.events import Event

CallOutcome = Literal["ok", "error", "cancelled"]


@dataclass(frozen=True)
class ToolCallActivity(Event):
    """Something happened to the running tool call ``call_id`` (``server.tool``)."""

    call_id: int
    server: str
    tool: str

    @property
    def qualified_name(self) -> str:
        return f"{self.server}.{self.tool}"


@dataclass(frozen=True)
class ToolCallStarted(ToolCallActivity):
    """The call was approved and sent to its server. ``arguments`` are redacted."""

    arguments: dict[str, Any] = field(default_factory=dict)
    conversation_id: int | None = None
    agent: str | None = None


@dataclass(frozen=True)
class ToolCallProgressed(ToolCallActivity):
    """The server reported progress (throttled: at most ~10 a second per call). ``total`` is
    None when the server does not know it; ``message`` is one escaped line."""

    progress: float = 0.0
    total: float | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """Progress as 0..1 when the total is known."""
        if self.total is None or self.total <= 0:
            return None
        return max(0.0, min(1.0, self.progress / self.total))


@dataclass(frozen=True)
class ToolCallLogged(ToolCallActivity):
    """The server sent a log line (``notifications/message``) while the call ran; ``text``
    is redacted, escaped and on one line."""

    level: str = "info"
    text: str = ""


@dataclass(frozen=True)
class ToolCallEnded(ToolCallActivity):
    """The call returned (``ok`` or ``error``) or was cancelled (the turn was stopped)."""

    outcome: CallOutcome = "ok"
