"""Sample conversion between a sound card's format and Keiko's (PCM16 mono, 16 kHz for Whisper).

Most devices take and give 16 kHz mono 16-bit directly (PulseAudio and PipeWire convert);
when one does not, the microphone's own format (any rate, channels, u8/s16/s32/float) is mixed
to mono and resampled here, a chunk at a time (``StreamResampler`` keeps the filter's and the
interpolator's state across chunks), and speech is made into the speaker's format. Resampling
is a windowed-sinc low-pass (when the rate goes down) and linear interpolation: cheap (numpy,
a few hundred microseconds per 20 ms chunk) and clean enough for speech recognition.
numpy is imported on first use.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal

from keiko_desktop.core.voice.types import AudioClip

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.float32]

SampleFormat = Literal["u8", "s16", "s32", "f32"]
WIDTHS: dict[str, int] = {"u8": 1, "s16": 2, "s32": 4, "f32": 4}
TAPS = 63


def lowpass(rate_in: int, rate_out: int) -> Floats | None:
    """A windowed-sinc low-pass below the output's Nyquist frequency (None: no filter
    needed, the rate goes up or stays)."""
    import numpy as np

    if rate_out >= rate_in:
        return None
    cutoff = 0.45 * rate_out / rate_in  # of the input rate: 0.9 of the output's Nyquist
    n = np.arange(TAPS) - (TAPS - 1) / 2
    taps = 2 * cutoff * np.sinc(2 * cutoff * n) * np.blackman(TAPS)
    normalized: Floats = (taps / taps.sum()).astype(np.float32)
    return normalized


def to_mono_float(data: bytes, sample_format: SampleFormat, channels: int) -> Floats:
    """Interleaved samples of ``sample_format`` as mono floats in -1..1 (channels averaged)."""
    import numpy as np

    width = WIDTHS[sample_format]
    frame = width * max(channels, 1)
    data = data[: len(data) // frame * frame]
    if sample_format == "u8":
        x = (np.frombuffer(data, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif sample_format == "s16":
        x = np.frombuffer(data, "<i2").astype(np.float32) / 32768.0
    elif sample_format == "s32":
        x = (np.frombuffer(data, "<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    else:
        x = np.frombuffer(data, "<f4").astype(np.float32)
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1, dtype=np.float32)
    return x


def to_pcm16(x: Floats) -> bytes:
    """Floats in -1..1 as PCM16 little-endian (clipped)."""
    import numpy as np

    return bytes(np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2").tobytes())


def from_pcm16(pcm: bytes, sample_format: SampleFormat, channels: int) -> bytes:
    """PCM16 mono as interleaved ``sample_format`` with ``channels`` copies of each sample."""
    import numpy as np

    x = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2")
    if sample_format == "s16":
        out = x.astype("<i2")
    elif sample_format == "u8":
        out = ((x.astype(np.int32) >> 8) + 128).astype(np.uint8)
    elif sample_format == "s32":
        out = (x.astype(np.int32) << 16).astype("<i4")
    else:
        out = (x.astype(np.float32) / 32768.0).astype("<f4")
    if channels > 1:
        out = np.repeat(out, channels)
    return bytes(out.tobytes())


class StreamResampler:
    """Mono floats at ``rate_in`` to ``rate_out``, chunk by chunk, continuous across chunks."""

    def __init__(self, rate_in: int, rate_out: int) -> None:
        import numpy as np

        if rate_in <= 0 or rate_out <= 0:
            raise ValueError("sample rates must be positive")
        self.rate_in = rate_in
        self.rate_out = rate_out
        self._step = rate_in / rate_out
        self._taps = lowpass(rate_in, rate_out)
        self._history = np.zeros(0 if self._taps is None else TAPS - 1, np.float32)
        self._tail = np.zeros(0, np.float32)
        self._pos = 0.0

    def feed(self, x: Floats) -> Floats:
        import numpy as np

        if self.rate_in == self.rate_out:
            return x
        if self._taps is not None:
            joined = np.concatenate([self._history, x])
            self._history = joined[len(joined) - (TAPS - 1) :]
            x = np.convolve(joined, self._taps, mode="valid").astype(np.float32)
        buf = np.concatenate([self._tail, x])
        last = len(buf) - 1
        if last <= self._pos:
            self._tail = buf
            return np.zeros(0, np.float32)
        count = math.floor((last - self._pos) / self._step) + 1
        at = self._pos + self._step * np.arange(count)
        out: Floats = np.interp(at, np.arange(len(buf)), buf).astype(np.float32)
        next_pos = self._pos + self._step * count
        drop = min(math.floor(next_pos), len(buf))
        self._tail = buf[drop:]
        self._pos = next_pos - drop
        return out


def resample(clip: AudioClip, rate: int) -> AudioClip:
    """``clip`` at ``rate`` Hz (the same clip when it already is)."""
    import numpy as np

    if clip.sample_rate == rate:
        return clip
    if not clip.pcm:
        return AudioClip(b"", rate)
    x = to_mono_float(clip.pcm, "s16", 1)
    taps = lowpass(clip.sample_rate, rate)
    if taps is not None:
        x = np.convolve(x, taps, mode="same").astype(np.float32)
    count = math.floor(len(x) * rate / clip.sample_rate)
    at = np.arange(count) * (clip.sample_rate / rate)
    return AudioClip(to_pcm16(np.interp(at, np.arange(len(x)), x).astype(np.float32)), rate)
