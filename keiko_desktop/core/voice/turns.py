"""Where a spoken turn starts and ends, from the microphone's level alone (voice conversation).

Audio is judged in 20 ms frames. A frame is speech when its level is ``margin`` dB above the
noise floor and above an absolute ``minimum``. The floor is learnt as it goes: it follows
quiet frames down at once (within ~0.1 s) and up slowly (~1.5 s), so a noisier room is learnt
without mistaking a word for noise; speech itself lifts it only very slowly (~8 s), so a fan
that starts while someone talks still lets the turn end. A turn starts when ``min_speech``
seconds of speech gather (gaps under 0.2 s allowed: clicks and knocks are shorter) and ends
after ``silence`` seconds without speech, or at ``max_turn``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Literal

from keiko_desktop.core.voice.levels import dbfs
from keiko_desktop.core.voice.types import SAMPLE_WIDTH, WHISPER_RATE

TurnEvent = Literal["speech", "end"]

FRAME = 0.02
"""Seconds per frame judged."""
MARGIN_DB = 10.0
MINIMUM_DB = -50.0
ONSET_GAP = 0.2
"""A gap longer than this while a turn is starting starts the count again."""
FALL, RISE, RISE_IN_SPEECH = 0.1, 1.5, 8.0
"""Time constants (seconds) of the noise floor: down, up on quiet frames, up on speech."""


def _step(tau: float) -> float:
    return 1.0 - math.exp(-FRAME / tau)


class TurnDetector:
    """Feed it the microphone's PCM16 mono chunks (any size); ``feed`` says ``"speech"`` once
    when a turn starts and ``"end"`` once when it ends, else None. It then waits for the
    next turn. At most one event comes back per call: if one chunk held both, ``"end"``
    comes with the next call (even ``feed(b"")``)."""

    def __init__(
        self,
        silence: float = 0.9,
        *,
        sample_rate: int = WHISPER_RATE,
        min_speech: float = 0.25,
        max_turn: float = 60.0,
        margin: float = MARGIN_DB,
        minimum: float = MINIMUM_DB,
    ) -> None:
        if silence <= 0 or min_speech < 0 or max_turn <= 0 or sample_rate <= 0:
            raise ValueError("silence, max_turn and sample_rate must be positive")
        self._frame_bytes = max(1, round(sample_rate * FRAME)) * SAMPLE_WIDTH
        self._silence = max(1, round(silence / FRAME))
        self._min_speech = max(1, round(min_speech / FRAME))
        self._max_turn = max(1, round(max_turn / FRAME))
        self._onset_gap = round(ONSET_GAP / FRAME)
        self._margin, self._minimum = margin, minimum
        self._floor: float | None = None
        self.reset()

    def reset(self) -> None:
        """Forget the turn in progress (the learnt noise floor is kept)."""
        self._rest = b""
        self._in_speech = False
        self._onset = 0  # speech frames gathered toward a start
        self._gap = 0  # frames since the last speech frame
        self._turn = 0  # frames since the turn started
        self._voiced = 0  # speech frames in this turn
        self._events: deque[TurnEvent] = deque()

    @property
    def in_speech(self) -> bool:
        """A turn has started and not ended."""
        return self._in_speech

    @property
    def speech_seconds(self) -> float:
        """Seconds of speech in the current turn (or the last one, once it ended)."""
        return self._voiced * FRAME

    @property
    def noise_floor(self) -> float:
        """The learnt noise level in dBFS (-96 before any audio)."""
        return -96.0 if self._floor is None else self._floor

    def feed(self, pcm: bytes) -> TurnEvent | None:
        data = self._rest + pcm
        size = self._frame_bytes
        whole = len(data) - len(data) % size
        for at in range(0, whole, size):
            event = self._frame(data[at : at + size])
            if event is not None:
                self._events.append(event)
        self._rest = data[whole:]
        return self._events.popleft() if self._events else None

    def _frame(self, frame: bytes) -> TurnEvent | None:
        level = dbfs(frame)
        floor = level if self._floor is None else self._floor
        voiced = level > max(floor + self._margin, self._minimum)
        tau = FALL if level < floor else RISE_IN_SPEECH if voiced else RISE
        self._floor = floor + (level - floor) * _step(tau)
        if not self._in_speech:
            self._turn += 1 if self._onset else 0  # the turn counts from its first speech
            if voiced:
                self._turn = self._turn or 1
                self._onset += 1
                self._gap = 0
            else:
                self._gap += 1
                if self._onset and self._gap > self._onset_gap:
                    self._onset = self._turn = 0
            if self._onset >= self._min_speech:
                self._in_speech, self._voiced, self._gap = True, self._onset, 0
                return "speech"
            return None
        self._turn += 1
        if voiced:
            self._voiced += 1
            self._gap = 0
        else:
            self._gap += 1
        if self._gap >= self._silence or self._turn >= self._max_turn:
            self._in_speech = False
            self._onset = self._gap = self._turn = 0
            return "end"
        return None
