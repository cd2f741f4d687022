"""The values voice passes around: audio clips, transcripts and options."""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from keiko_desktop.core.errors import KeikoError

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings

WHISPER_RATE = 16000
"""Whisper hears 16 kHz mono; the microphone records at this rate and files are resampled."""
SAMPLE_WIDTH = 2
"""Bytes per sample: every clip is signed 16-bit little-endian PCM, mono."""
AUDIO_SUFFIXES = frozenset(
    {".wav", ".mp3", ".m4a", ".mp4", ".aac", ".ogg", ".oga", ".opus", ".flac", ".webm", ".wma"}
)
"""Files Keiko transcribes when they are dropped into a chat (PyAV decodes them)."""
LONG_AUDIO = 60.0
"""Seconds: a dropped audio file longer than this is transcribed as a background task."""


class VoiceError(KeikoError):
    """Speech cannot be heard or said: no engine, no model, no device, a bad audio file."""


@dataclass(frozen=True)
class AudioClip:
    """Mono audio: ``pcm`` is signed 16-bit little-endian samples at ``sample_rate`` Hz."""

    pcm: bytes
    sample_rate: int = WHISPER_RATE

    @property
    def samples(self) -> int:
        return len(self.pcm) // SAMPLE_WIDTH

    @property
    def duration(self) -> float:
        """Seconds of audio."""
        return self.samples / self.sample_rate if self.sample_rate else 0.0

    def __add__(self, other: AudioClip) -> AudioClip:
        if other.sample_rate != self.sample_rate:
            raise ValueError("clips of different sample rates cannot be joined")
        return AudioClip(self.pcm + other.pcm, self.sample_rate)

    def to_wav(self) -> bytes:
        """The clip as a WAV file (PCM16 mono)."""
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(SAMPLE_WIDTH)
            w.setframerate(self.sample_rate)
            w.writeframes(self.pcm)
        return out.getvalue()

    @classmethod
    def from_wav(cls, data: bytes) -> AudioClip:
        """A PCM16 WAV file, mono (stereo is mixed down); VoiceError for anything else."""
        try:
            with wave.open(io.BytesIO(data), "rb") as w:
                channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
                frames = w.readframes(w.getnframes())
        except (wave.Error, EOFError) as exc:
            raise VoiceError(f"Not a WAV file Keiko can read: {exc}.") from exc
        if width != SAMPLE_WIDTH or channels not in (1, 2):
            raise VoiceError(
                f"This WAV file is {channels}-channel {8 * width}-bit; Keiko reads 16-bit mono "
                "or stereo here.",
                "Use `keiko transcribe`, which reads any audio file through PyAV.",
            )
        if channels == 2:
            import array

            both = array.array("h", frames[: len(frames) // 4 * 4])
            mono = array.array("h", ((both[i] + both[i + 1]) // 2 for i in range(0, len(both), 2)))
            frames = mono.tobytes()
        return cls(frames, rate)


@dataclass(frozen=True)
class Segment:
    """A stretch of speech: seconds from the start of the audio, and what was said."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class Transcript:
    """What was heard. ``duration`` is seconds of audio, ``elapsed`` seconds spent on it."""

    text: str
    segments: tuple[Segment, ...] = ()
    language: str = "en"
    duration: float = 0.0
    elapsed: float = 0.0

    @property
    def real_time_factor(self) -> float:
        """Seconds spent per second of audio (below 1: faster than real time)."""
        return self.elapsed / self.duration if self.duration else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "language": self.language,
            "duration": round(self.duration, 3),
            "elapsed": round(self.elapsed, 3),
            "segments": [
                {"start": round(s.start, 3), "end": round(s.end, 3), "text": s.text}
                for s in self.segments
            ],
        }


@dataclass(frozen=True)
class TranscribeOptions:
    """How to transcribe: the language (``""``: detect; English-only models ignore it), the
    beam width, whether voice-activity detection trims silence first, and a prompt of words
    to expect (names, terms)."""

    language: str = "en"
    beam_size: int = 5
    vad: bool = True
    initial_prompt: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> TranscribeOptions:
        return cls(
            language=settings.voice_language,
            beam_size=settings.voice_beam_size,
            vad=settings.voice_vad,
            initial_prompt=settings.voice_prompt,
        )


@dataclass(frozen=True)
class SpeakOptions:
    """How to speak: ``rate`` 1.0 is the voice's own speed (2.0 twice as fast)."""

    rate: float = 1.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SpeakOptions:
        return cls(rate=settings.voice_rate)


@dataclass(frozen=True)
class EngineInfo:
    """An engine as the user sees it: what it is, where its model lives, whether it is loaded."""

    name: str
    model_path: str
    bundled: bool
    loaded: bool = False
    notes: tuple[str, ...] = field(default=())
