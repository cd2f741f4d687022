"""Audio files and sample rates, through PyAV (FFmpeg, which faster-whisper brings).

``decode_file`` reads any audio FFmpeg knows (wav, mp3, m4a, ogg, opus, flac, webm...) as a
16 kHz mono clip, ``file_duration`` reads a file's length from its header, ``resample`` changes
a clip's rate with libswresample's windowed-sinc filter (a plain linear interpolation muddies
speech for Whisper) and ``write_wav`` saves a clip. ``av`` and ``numpy`` are imported in the
functions, which run on a worker thread (they can take seconds on a long file).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.voice.types import SAMPLE_WIDTH, WHISPER_RATE, AudioClip, VoiceError

_FORMATS_HINT = (
    "Keiko reads audio files FFmpeg knows: wav, mp3, m4a, ogg, opus, flac, webm and more."
)


class DecodeCancelledError(Exception):
    """``decode_file`` stopped because its ``cancelled`` event was set."""


def _shown(path: Path) -> str:
    return one_line(str(path), 300)


def _av() -> Any:
    try:
        import av
    except ImportError as exc:  # pragma: no cover - av comes with faster-whisper
        raise VoiceError(
            "PyAV is not installed, so Keiko cannot read audio files.",
            "Run `make setup` (pip install faster-whisper brings it).",
        ) from exc
    return av


def _open(path: Path) -> Any:
    """``path`` opened with PyAV, checked to be a readable file with an audio stream."""
    if not path.exists():
        raise VoiceError(f"The audio file {_shown(path)} does not exist.", "Check the path.")
    if path.is_dir():
        raise VoiceError(f"{_shown(path)} is a folder, not an audio file.", _FORMATS_HINT)
    av = _av()
    try:
        container = av.open(str(path), mode="r", metadata_errors="ignore")
    except (av.FFmpegError, OSError, ValueError, UnicodeDecodeError) as exc:
        raise VoiceError(
            f"{_shown(path)} is not an audio file Keiko can read ({_reason(exc)}).",
            _FORMATS_HINT,
        ) from exc
    if not container.streams.audio:
        container.close()
        raise VoiceError(f"{_shown(path)} has no sound in it (no audio stream).", _FORMATS_HINT)
    return container


def _reason(exc: BaseException) -> str:
    text = str(getattr(exc, "strerror", "") or exc).strip() or type(exc).__name__
    return one_line(text, 120)


def _resampler(rate: int) -> Any:
    return _av().AudioResampler(format="s16", layout="mono", rate=rate)


def _pcm(frames: Any) -> list[bytes]:
    # A frame's plane may be padded past its samples; take only the samples.
    return [bytes(f.planes[0])[: f.samples * SAMPLE_WIDTH] for f in frames]


def decode_file(
    path: Path, sample_rate: int = WHISPER_RATE, cancelled: threading.Event | None = None
) -> AudioClip:
    """The first audio stream of ``path`` as a mono clip at ``sample_rate``.

    VoiceError for a missing file, one that is not audio, or one with no sound; a file that
    is damaged part-way keeps what was decoded before the damage. ``cancelled`` is looked at
    between frames (DecodeCancelledError).
    """
    av = _av()
    container = _open(path)
    chunks: list[bytes] = []
    try:
        stream = container.streams.audio[0]
        stream.thread_type = "AUTO"
        resampler = _resampler(sample_rate)
        try:
            for frame in container.decode(stream):
                if cancelled is not None and cancelled.is_set():
                    raise DecodeCancelledError
                frame.pts = None  # the resampler follows the samples, not a damaged clock
                chunks += _pcm(resampler.resample(frame))
        except av.FFmpegError as exc:
            if not chunks:
                raise VoiceError(
                    f"{_shown(path)} could not be decoded ({_reason(exc)}).", _FORMATS_HINT
                ) from exc
        chunks += _pcm(resampler.resample(None))
    finally:
        container.close()
    pcm = b"".join(chunks)
    if not pcm:
        raise VoiceError(f"{_shown(path)} has no sound in it (no audio samples).", _FORMATS_HINT)
    return AudioClip(pcm, sample_rate)


def file_duration(path: Path) -> float:
    """Seconds of audio in ``path``, from its header (decoding it only when the header does
    not say); VoiceError like ``decode_file``."""
    container = _open(path)
    try:
        stream = container.streams.audio[0]
        if stream.duration is not None and stream.time_base is not None:
            return float(stream.duration * stream.time_base)
        if container.duration is not None:
            return float(container.duration) / 1_000_000  # AV_TIME_BASE
    finally:
        container.close()
    return decode_file(path).duration


def resample(clip: AudioClip, rate: int = WHISPER_RATE) -> AudioClip:
    """``clip`` at ``rate`` Hz (libswresample's band-limited filter); the same clip if it is
    already at that rate."""
    if clip.sample_rate == rate or not clip.pcm:
        return AudioClip(clip.pcm, rate) if not clip.pcm else clip
    import numpy as np

    av = _av()
    samples = np.frombuffer(clip.pcm[: clip.samples * SAMPLE_WIDTH], dtype="<i2")
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate = clip.sample_rate
    resampler = _resampler(rate)
    chunks = _pcm(resampler.resample(frame)) + _pcm(resampler.resample(None))
    return AudioClip(b"".join(chunks), rate)


def write_wav(path: Path, clip: AudioClip) -> None:
    """Save ``clip`` as a 16-bit mono WAV file; VoiceError when it cannot be written."""
    try:
        path.write_bytes(clip.to_wav())
    except OSError as exc:
        raise VoiceError(
            f"Could not write {_shown(path)}: {_reason(exc)}.",
            "Choose a folder you can write to, with room on its disk.",
        ) from exc
