"""What the agents store: runs (with their plan and checkpoint) and the spans of their traces."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from keiko_desktop.core.agents.plan import Checkpoint, Plan

RunKind = Literal["agent", "plan", "batch"]
RunStatus = Literal["running", "completed", "failed", "cancelled", "interrupted", "resumed"]
"""``interrupted``: its process died or quit mid-run; ``resumed``: an interrupted, failed or
cancelled plan run that a newer run (``RunRecord.resumed_from``) took over."""
SpanKind = Literal["run", "plan", "step", "model", "tool", "middleware"]
SpanStatus = Literal["running", "ok", "error", "cancelled"]


@dataclass(frozen=True)
class RunRecord:
    """One run: an agent answering a prompt, a plan toward a goal, or a batch over inputs."""

    id: int
    kind: RunKind
    title: str
    """The prompt or goal."""
    status: RunStatus
    created_at: datetime
    updated_at: datetime
    agent: str | None = None
    plan: Plan | None = None
    checkpoint: Checkpoint = field(default_factory=Checkpoint)
    result: str = ""
    error: str | None = None
    resumed_from: int | None = None
    """The interrupted run this one resumed (its finished steps were kept, not redone)."""


@dataclass(frozen=True)
class Span:
    """One timed piece of a run. ``start`` is seconds since the epoch; ``duration`` None while
    it runs. ``parent`` is the enclosing span's ``key`` (None for the run's root)."""

    run_id: int
    key: str
    kind: SpanKind
    name: str
    start: float
    duration: float | None = None
    status: SpanStatus = "running"
    parent: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    detail: str = ""

    @property
    def end(self) -> float | None:
        return None if self.duration is None else self.start + self.duration
