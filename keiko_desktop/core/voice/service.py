"""VoiceService: the one door to speech, for the window, the CLI and tasks.

The engines are made on first use, from the settings of that moment, and then kept (each
loads its model on its first call and keeps it), so a Keiko that never speaks or listens
holds neither. A ``SettingsChanged`` of the setting an engine was made from (the Whisper
model, the Piper voice) retires that engine: the next call makes a new one, and the old one
is closed once the calls still using it are done. Options (language, beam size, rate...) are
read from the settings on every call, so changing them needs no reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

from keiko_desktop.core.events import EventBus, SettingsChanged
from keiko_desktop.core.voice.events import TranscriptionFinished
from keiko_desktop.core.voice.ports import AudioOutput, Progress, Synthesizer, Transcriber
from keiko_desktop.core.voice.read_aloud import ReadAloud
from keiko_desktop.core.voice.types import (
    AudioClip,
    EngineInfo,
    SpeakOptions,
    TranscribeOptions,
    Transcript,
    VoiceError,
)

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings

log = logging.getLogger(__name__)

TRANSCRIBER_KEYS = frozenset({"voice_whisper_model", "threads"})
"""Settings the transcriber is made from: a change makes a new one."""
SYNTHESIZER_KEYS = frozenset({"voice_tts_voice"})
"""Settings the synthesizer is made from."""


class _Engine(Protocol):
    def info(self) -> EngineInfo: ...

    async def load(self) -> None: ...

    async def aclose(self) -> None: ...


E = TypeVar("E", bound=_Engine)


class _Slot(Generic[E]):
    """One engine, made on first use. A retired engine is closed (``close``) as soon as no
    call uses it any more."""

    def __init__(self, make: Callable[[Settings], E], close: Callable[[E], None]) -> None:
        self._make = make
        self._close = close
        self.engine: E | None = None
        self._users: dict[int, int] = {}
        self._retired: dict[int, E] = {}

    def get(self, settings: Settings) -> E:
        if self.engine is None:
            self.engine = self._make(settings)
        return self.engine

    @contextlib.contextmanager
    def use(self, settings: Settings) -> Iterator[E]:
        engine = self.get(settings)
        key = id(engine)
        self._users[key] = self._users.get(key, 0) + 1
        try:
            yield engine
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key]
                retired = self._retired.pop(key, None)
                if retired is not None:
                    self._close(retired)

    def retire(self) -> None:
        engine, self.engine = self.engine, None
        if engine is None:
            return
        if id(engine) in self._users:
            self._retired[id(engine)] = engine
        else:
            self._close(engine)

    def take_all(self) -> list[E]:
        """Every engine, current and retired (for closing them all), forgotten here."""
        engines = list(self._retired.values())
        if self.engine is not None:
            engines.append(self.engine)
        self.engine, self._retired = None, {}
        return engines


class VoiceService:
    """Transcription, speech and reading replies aloud (see the module docstring)."""

    def __init__(
        self,
        transcriber: Callable[[Settings], Transcriber],
        synthesizer: Callable[[Settings], Synthesizer],
        bus: EventBus,
        settings: Callable[[], Settings],
    ) -> None:
        self._bus = bus
        self._settings = settings
        self._transcribers: _Slot[Transcriber] = _Slot(transcriber, self._close_later)
        self._synthesizers: _Slot[Synthesizer] = _Slot(synthesizer, self._close_later)
        self._closing: set[asyncio.Task[None]] = set()
        self._unclosed: list[_Engine] = []
        self._reader: ReadAloud | None = None
        self._closed = False
        bus.subscribe(SettingsChanged, self._on_bus_settings_changed)

    # ------------------------------------------------------------------ engines

    def transcriber_info(self) -> EngineInfo:
        """What transcribes (made if need be, which loads nothing; VoiceError for a
        configured model folder that is not one)."""
        return self._transcribers.get(self._open_settings()).info()

    def synthesizer_info(self) -> EngineInfo:
        return self._synthesizers.get(self._open_settings()).info()

    def loaded(self) -> tuple[str, ...]:
        """Which engines hold their model now: ``"transcriber"``, ``"synthesizer"``."""
        transcriber, synthesizer = self._transcribers.engine, self._synthesizers.engine
        names = []
        if transcriber is not None and transcriber.info().loaded:
            names.append("transcriber")
        if synthesizer is not None and synthesizer.info().loaded:
            names.append("synthesizer")
        return tuple(names)

    async def preload(self, *, transcriber: bool = True, synthesizer: bool = False) -> None:
        """Load engines now (in the background of a window that expects to need them)."""
        settings = self._open_settings()
        jobs = []
        if transcriber:
            jobs.append(self._load(self._transcribers, settings))
        if synthesizer:
            jobs.append(self._load(self._synthesizers, settings))
        await asyncio.gather(*jobs)

    async def _load(self, slot: _Slot[E], settings: Settings) -> None:
        with slot.use(settings) as engine:
            await engine.load()

    # ------------------------------------------------------------------ listening

    async def transcribe(self, clip: AudioClip) -> Transcript:
        """What was said in ``clip`` (the microphone's); publishes TranscriptionFinished."""
        settings = self._open_settings()
        with self._transcribers.use(settings) as engine:
            transcript = await engine.transcribe(clip, TranscribeOptions.from_settings(settings))
        self._heard(transcript, "microphone", clip.duration)
        return transcript

    async def transcribe_file(
        self, path: Path, progress: Progress | None = None, *, language: str | None = None
    ) -> Transcript:
        """What was said in an audio file (VoiceError for one missing or not audio);
        ``language`` overrides the setting ("" detects it)."""
        settings = self._open_settings()
        options = TranscribeOptions.from_settings(settings)
        if language is not None:
            options = replace(options, language=language)
        with self._transcribers.use(settings) as engine:
            transcript = await engine.transcribe_file(path, options, progress)
        self._heard(transcript, "file", 0.0)
        return transcript

    async def file_duration(self, path: Path) -> float:
        """Seconds of audio in ``path`` (from its header; VoiceError if it is not audio)."""
        with self._transcribers.use(self._open_settings()) as engine:
            return await engine.file_duration(path)

    def _heard(
        self, transcript: Transcript, source: Literal["microphone", "file"], duration: float
    ) -> None:
        self._bus.publish(
            TranscriptionFinished(
                transcript.text, source, transcript.duration or duration, transcript.elapsed
            )
        )

    # ------------------------------------------------------------------ speaking

    async def synthesize(self, text: str) -> AudioClip:
        """Speech for ``text`` at the voice's rate, at the speed the settings say."""
        settings = self._open_settings()
        with self._synthesizers.use(settings) as engine:
            return await engine.synthesize(text, SpeakOptions.from_settings(settings))

    def read_aloud(self, output: AudioOutput, *, quick_start: bool = True) -> ReadAloud:
        """A new reader for a streaming reply (the one before it is stopped).
        ``quick_start``: a long first sentence starts with its opening words
        (``read_aloud.opening``), so the output gets one clip more than sentences."""
        self._open_settings()
        self.stop_speaking()
        self._reader = ReadAloud(self.synthesize, output, self._bus, quick_start=quick_start)
        return self._reader

    def stop_speaking(self) -> None:
        """Stop whatever is being said (barge-in); nothing when silent."""
        if self._reader is not None:
            self._reader.stop()

    @property
    def speaking(self) -> bool:
        return self._reader is not None and self._reader.speaking

    async def speak(self, text: str, output: AudioOutput) -> None:
        """Say ``text`` (markdown is fine) and return when it has been said or stopped;
        VoiceError when it could not be."""
        reader = self.read_aloud(output)
        reader.feed(text)
        reader.finish()
        try:
            await reader.wait()
        except asyncio.CancelledError:
            reader.stop()
            raise
        if reader.error is not None:
            raise reader.error

    # ------------------------------------------------------------------ life

    def _on_bus_settings_changed(self, event: SettingsChanged) -> None:
        if event.changed & TRANSCRIBER_KEYS:
            self._transcribers.retire()
        if event.changed & SYNTHESIZER_KEYS:
            self._synthesizers.retire()

    def _close_later(self, engine: _Engine) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # settings changed outside the loop: closed by aclose()
            self._unclosed.append(engine)
            return
        task = loop.create_task(self._close(engine))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _close(self, engine: _Engine) -> None:
        try:
            await engine.aclose()
        except Exception:
            log.exception("closing a voice engine failed")

    def _open_settings(self) -> Settings:
        if self._closed:
            raise VoiceError("Voice is shut down.", "Start Keiko again to use voice.")
        return self._settings()

    async def aclose(self) -> None:
        """Stop speaking and close both engines (their threads and models)."""
        if self._closed:
            return
        self._closed = True
        self.stop_speaking()
        self._bus.unsubscribe(SettingsChanged, self._on_bus_settings_changed)
        engines: list[_Engine] = [
            *self._unclosed,
            *self._transcribers.take_all(),
            *self._synthesizers.take_all(),
        ]
        await asyncio.gather(*(self._close(engine) for engine in engines), *self._closing)
