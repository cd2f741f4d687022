"""The soft blips that say "listening" and "got it" around push-to-talk.

``cue("start")`` rises (660 → 880 Hz), ``cue("end")`` falls (880 → 660 Hz): two short sine
notes, 60 ms each, with raised-cosine edges so they never click, at a quarter of full scale.
Made once, in pure Python (no numpy), at 16 kHz.
"""

from __future__ import annotations

import array
import math
import sys
from functools import cache
from typing import Literal

from keiko_desktop.core.voice.types import WHISPER_RATE, AudioClip

CueKind = Literal["start", "end"]
NOTE_SECONDS = 0.06
GAP_SECONDS = 0.015
AMPLITUDE = 0.25
EDGE_SECONDS = 0.012
_NOTES: dict[str, tuple[float, float]] = {"start": (660.0, 880.0), "end": (880.0, 660.0)}


def _note(frequency: float, rate: int) -> list[int]:
    count = int(NOTE_SECONDS * rate)
    edge = max(int(EDGE_SECONDS * rate), 1)
    out = []
    for i in range(count):
        fade = min(i, count - 1 - i, edge) / edge
        envelope = 0.5 - 0.5 * math.cos(math.pi * fade)
        value = AMPLITUDE * envelope * math.sin(2 * math.pi * frequency * i / rate)
        out.append(round(value * 32767))
    return out


@cache
def cue(kind: CueKind) -> AudioClip:
    """The blip played when recording starts (``"start"``) or ends (``"end"``)."""
    if kind not in _NOTES:
        raise ValueError(f"no cue {kind!r}: 'start' or 'end'")
    first, second = _NOTES[kind]
    samples = array.array("h", _note(first, WHISPER_RATE))
    samples.extend([0] * int(GAP_SECONDS * WHISPER_RATE))
    samples.extend(_note(second, WHISPER_RATE))
    if samples.itemsize != 2:  # pragma: no cover - "h" is 16-bit on every platform we run on
        raise RuntimeError("array 'h' is not 16-bit here")
    if sys.byteorder == "big":  # pragma: no cover
        samples.byteswap()
    return AudioClip(samples.tobytes(), WHISPER_RATE)
