"""How loud a stretch of PCM16 audio is: dBFS for voice-activity decisions, 0..1 for the meter.

Plain Python over ``array``: a 20 ms chunk is 320 samples, and a meter asks ~30 times a second.
"""

from __future__ import annotations

import array
import math
import operator
import sys

SILENCE_DB = -96.0
"""What silence measures (the floor of 16-bit audio)."""
METER_FLOOR_DB = -60.0
"""The level the meter shows as empty; 0 dBFS is full."""
FULL_SCALE = 32768.0


def samples(pcm: bytes) -> array.array[int]:
    """The signed 16-bit little-endian samples of ``pcm`` (a trailing odd byte is ignored)."""
    values = array.array("h", pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        values.byteswap()
    return values


def rms(pcm: bytes) -> float:
    """Root mean square of the samples, 0..32768."""
    values = samples(pcm)
    if not values:
        return 0.0
    return math.sqrt(sum(map(operator.mul, values, values)) / len(values))


def dbfs(pcm: bytes) -> float:
    """RMS level in dB relative to full scale: 0 for a full-scale square wave, about -3 for
    a full-scale sine, ``SILENCE_DB`` (-96) for silence or nothing."""
    level = rms(pcm)
    if level <= 0.0:
        return SILENCE_DB
    return max(SILENCE_DB, 20.0 * math.log10(level / FULL_SCALE))


def meter_level(pcm: bytes) -> float:
    """0..1 for a level meter: -60 dBFS and below is 0, 0 dBFS is 1, linear in dB between."""
    return min(1.0, max(0.0, 1.0 - dbfs(pcm) / METER_FLOOR_DB))


def peak(pcm: bytes) -> float:
    """The largest sample's magnitude as a fraction of full scale, 0..1."""
    values = samples(pcm)
    if not values:
        return 0.0
    return max(-min(values), max(values)) / FULL_SCALE
