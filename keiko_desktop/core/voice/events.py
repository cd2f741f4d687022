"""Voice events (facts, for display): what was heard, and speech starting and stopping."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from keiko_desktop.core.events import Event


@dataclass(frozen=True)
class TranscriptionFinished(Event):
    """Speech became text (``source``: the microphone or a file)."""

    text: str
    source: Literal["microphone", "file"]
    duration: float
    elapsed: float


@dataclass(frozen=True)
class SpeechStarted(Event):
    """Keiko started saying ``text`` (one sentence of a reply, or ``keiko say``)."""

    text: str


@dataclass(frozen=True)
class SpeechStopped(Event):
    """Keiko stopped speaking: everything was said, or it was stopped (barge-in, Stop)."""

    reason: Literal["finished", "stopped", "error"]
