"""Errors of the agents package."""

from __future__ import annotations

from keiko_desktop.core.errors import KeikoError


class AgentError(KeikoError):
    """An agent is unknown, or cannot run (its model, its tools)."""


class AgentProfileError(AgentError):
    """A profile (typed in, or in an imported file) is invalid; the message names the field."""

    def __init__(self, field: str, message: str, hint: str = "") -> None:
        super().__init__(f"Agent field '{field}': {message}", hint or "Fix that field.")
        self.field = field


class PlanError(AgentError):
    """A plan is not valid JSON, names an unknown agent, or its dependencies do not hold."""
