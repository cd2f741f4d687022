"""What the agents need of the store (implemented by ``store.agents``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from keiko_desktop.core.agents.plan import Checkpoint, Plan
from keiko_desktop.core.agents.profiles import AgentProfile
from keiko_desktop.core.agents.records import RunKind, RunRecord, RunStatus, Span


class AgentRepository(Protocol):
    """Agent profiles. Names are unique, compared without case."""

    async def list_agents(self) -> list[AgentProfile]: ...

    async def get_agent(self, name: str) -> AgentProfile | None: ...

    async def save_agent(self, profile: AgentProfile) -> AgentProfile:
        """Insert (``id`` None) or update (by ``id``); the stored profile, with its id.
        ``AgentProfileError`` on ``name`` when another agent has that name."""
        ...

    async def delete_agent(self, name: str) -> bool: ...

    async def seed_agents(self, profiles: Sequence[AgentProfile]) -> int:
        """Insert ``profiles`` when no agent was ever stored (first start); how many."""
        ...

    async def set_conversation_agent(self, conversation_id: int, name: str | None) -> None:
        """Bind a conversation to an agent (None: unbind). ``AgentError`` if unknown."""
        ...

    async def conversation_agent(self, conversation_id: int) -> AgentProfile | None: ...


class RunRepository(Protocol):
    """Runs, their checkpoints and their spans."""

    async def create_run(
        self,
        kind: RunKind,
        title: str,
        *,
        agent: str | None = None,
        plan: Plan | None = None,
        checkpoint: Checkpoint | None = None,
        resumed_from: int | None = None,
    ) -> RunRecord:
        """A new ``running`` run owned by this process (see ``mark_runs_interrupted``)."""
        ...

    async def update_run(
        self,
        run_id: int,
        *,
        status: RunStatus | None = None,
        plan: Plan | None = None,
        checkpoint: Checkpoint | None = None,
        result: str | None = None,
        error: str | None = None,
    ) -> None:
        """Change the fields given; a status other than ``running`` ends ownership."""
        ...

    async def get_run(self, run_id: int) -> RunRecord | None: ...

    async def list_runs(self, limit: int = 100, search: str = "") -> list[RunRecord]:
        """Newest first; ``search`` matches the title, result or error (case-insensitive)."""
        ...

    async def add_spans(self, spans: Sequence[Span]) -> None:
        """Insert or replace spans (by run and key): a span is written when it starts and again
        when it ends."""
        ...

    async def list_spans(self, run_id: int) -> list[Span]:
        """A run's spans by start time."""
        ...

    async def mark_runs_interrupted(self) -> int:
        """Mark ``running`` runs whose owner process is gone as ``interrupted``; how many."""
        ...
