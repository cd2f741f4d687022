"""The ports voice adapters implement (``speech/``: faster-whisper, piper; ``ui/voice``: the
sound card). Every engine call runs off the loop; these are the loop's side of it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from keiko_desktop.core.voice.types import (
    AudioClip,
    EngineInfo,
    SpeakOptions,
    TranscribeOptions,
    Transcript,
)

Progress = Callable[[float, str], None]
"""``progress(fraction, text_so_far)``, called on the loop thread."""


class Transcriber(Protocol):
    """Speech to text. The model loads on first use (or ``load()``) and stays loaded.
    Cancelling a call (the asyncio task) stops the engine at its next segment."""

    def info(self) -> EngineInfo: ...

    async def load(self) -> None:
        """Load the model now (VoiceError: missing or damaged, with what to do)."""
        ...

    async def transcribe(self, clip: AudioClip, options: TranscribeOptions) -> Transcript:
        """Transcribe a clip (any rate: resampled to 16 kHz first)."""
        ...

    async def transcribe_file(
        self, path: Path, options: TranscribeOptions, progress: Progress | None = None
    ) -> Transcript:
        """Decode an audio file (wav, mp3, m4a, ogg, flac, ... through PyAV) to 16 kHz mono
        and transcribe it; VoiceError for a file that is missing or not audio."""
        ...

    async def file_duration(self, path: Path) -> float:
        """Seconds of audio in ``path``, read from its header (VoiceError if not audio)."""
        ...

    async def aclose(self) -> None: ...


class Synthesizer(Protocol):
    """Text to speech. The voice loads on first use (or ``load()``) and stays loaded."""

    def info(self) -> EngineInfo: ...

    async def load(self) -> None: ...

    async def synthesize(self, text: str, options: SpeakOptions) -> AudioClip:
        """Speech for ``text`` at the voice's own sample rate."""
        ...

    async def aclose(self) -> None: ...


class AudioOutput(Protocol):
    """Where speech is played (the window's sound card; a list in tests)."""

    async def play(self, clip: AudioClip) -> None:
        """Play ``clip``; return when it has been played, or at once after ``stop()``.
        VoiceError when there is no output device."""
        ...

    def stop(self) -> None:
        """Stop playing at once (barge-in); a ``play`` in progress returns."""
        ...
