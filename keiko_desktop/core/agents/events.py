"""Events of the agents package."""

from __future__ import annotations

from dataclasses import dataclass

from keiko_desktop.core.agents.profiles import AgentStatus
from keiko_desktop.core.agents.records import RunStatus
from keiko_desktop.core.events import Event


@dataclass(frozen=True)
class AgentStatusChanged(Event):
    agent: str
    status: AgentStatus
    detail: str = ""


@dataclass(frozen=True)
class AgentsChanged(Event):
    """An agent was created, edited, renamed, deleted or imported."""

    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunChanged(Event):
    """A run started, checkpointed a step, or ended."""

    run_id: int
    status: RunStatus
    step: str | None = None
    """The plan step whose state changed, if any."""
