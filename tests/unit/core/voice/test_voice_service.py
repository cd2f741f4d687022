"""VoiceService with fake engines: made lazily, remade when their setting changes, options
from the settings of the moment, events, readers and closing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus, SettingsChanged
from keiko_desktop.core.voice.events import SpeechStopped, TranscriptionFinished
from keiko_desktop.core.voice.ports import Progress
from keiko_desktop.core.voice.service import VoiceService
from keiko_desktop.core.voice.types import (
    AudioClip,
    EngineInfo,
    SpeakOptions,
    TranscribeOptions,
    Transcript,
    VoiceError,
)
from tests.helpers.events import EventRecorder
from tests.unit.core.voice.fakes import FakeOutput, clip_of, settle

ONE_SECOND = AudioClip(bytes(32000), 16000)


class FakeTranscriber:
    def __init__(self, model: str) -> None:
        self.model = model
        self.loaded = False
        self.closed = False
        self.options: list[TranscribeOptions] = []
        self.gate: asyncio.Event | None = None

    def info(self) -> EngineInfo:
        return EngineInfo("fake whisper", self.model, not self.model, self.loaded)

    async def load(self) -> None:
        self.loaded = True

    async def transcribe(self, clip: AudioClip, options: TranscribeOptions) -> Transcript:
        assert not self.closed, "a closed engine was used"
        self.options.append(options)
        if self.gate is not None:
            await self.gate.wait()
        assert not self.closed, "the engine was closed while it worked"
        self.loaded = True
        return Transcript(
            f"heard by {self.model or 'tiny.en'}", duration=clip.duration, elapsed=0.1
        )

    async def transcribe_file(
        self, path: Path, options: TranscribeOptions, progress: Progress | None = None
    ) -> Transcript:
        self.loaded = True
        self.options.append(options)
        if progress is not None:
            progress(0.5, "half")
        return Transcript(f"file {path.name}", duration=12.0, elapsed=1.0)

    async def file_duration(self, path: Path) -> float:
        return 12.0

    async def aclose(self) -> None:
        self.closed = True


class FakeSynthesizer:
    def __init__(self, voice: str) -> None:
        self.voice = voice
        self.loaded = False
        self.closed = False
        self.options: list[SpeakOptions] = []

    def info(self) -> EngineInfo:
        return EngineInfo("fake piper", self.voice, not self.voice, self.loaded)

    async def load(self) -> None:
        self.loaded = True

    async def synthesize(self, text: str, options: SpeakOptions) -> AudioClip:
        assert not self.closed
        self.loaded = True
        self.options.append(options)
        await asyncio.sleep(0)
        return clip_of(text)

    async def aclose(self) -> None:
        self.closed = True


class Harness:
    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.settings = Settings()
        self.transcribers: list[FakeTranscriber] = []
        self.synthesizers: list[FakeSynthesizer] = []
        self.voice = VoiceService(
            self.make_transcriber, self.make_synthesizer, bus, lambda: self.settings
        )

    def make_transcriber(self, settings: Settings) -> FakeTranscriber:
        self.transcribers.append(FakeTranscriber(settings.voice_whisper_model))
        return self.transcribers[-1]

    def make_synthesizer(self, settings: Settings) -> FakeSynthesizer:
        self.synthesizers.append(FakeSynthesizer(settings.voice_tts_voice))
        return self.synthesizers[-1]

    def change(self, **changes: object) -> None:
        """What Core.update_settings does: new settings, then SettingsChanged."""
        old, self.settings = self.settings, self.settings.with_changes(**changes)
        self.bus.publish(SettingsChanged(old, self.settings, frozenset(changes)))


@pytest.fixture
def harness(bus: EventBus) -> Harness:
    return Harness(bus)


async def test_engines_are_made_on_first_use_only(harness: Harness) -> None:
    voice = harness.voice
    assert harness.transcribers == []
    assert harness.synthesizers == []
    assert voice.loaded() == ()
    info = voice.transcriber_info()  # makes the engine, loads nothing
    assert info.loaded is False
    assert info.bundled
    assert voice.loaded() == ()
    await voice.transcribe(ONE_SECOND)
    await voice.transcribe(ONE_SECOND)
    assert len(harness.transcribers) == 1
    assert voice.loaded() == ("transcriber",)
    assert harness.synthesizers == []
    await voice.synthesize("Hi.")
    assert voice.loaded() == ("transcriber", "synthesizer")


async def test_preload(harness: Harness) -> None:
    await harness.voice.preload()
    assert harness.voice.loaded() == ("transcriber",)
    await harness.voice.preload(transcriber=False, synthesizer=True)
    assert harness.voice.loaded() == ("transcriber", "synthesizer")
    assert len(harness.transcribers) == 1


async def test_transcribe_uses_the_settings_and_publishes(harness: Harness, bus: EventBus) -> None:
    recorder = EventRecorder(bus, TranscriptionFinished)
    harness.change(voice_beam_size=2, voice_prompt="Keiko")
    transcript = await harness.voice.transcribe(ONE_SECOND)
    assert transcript.text == "heard by tiny.en"
    assert harness.transcribers[0].options == [
        TranscribeOptions(language="en", beam_size=2, vad=True, initial_prompt="Keiko")
    ]
    assert recorder.events == [TranscriptionFinished("heard by tiny.en", "microphone", 1.0, 0.1)]
    harness.change(voice_beam_size=7)  # options need no new engine
    await harness.voice.transcribe(ONE_SECOND)
    assert len(harness.transcribers) == 1
    assert harness.transcribers[0].options[-1].beam_size == 7


async def test_files(harness: Harness, bus: EventBus, tmp_path: Path) -> None:
    recorder = EventRecorder(bus, TranscriptionFinished)
    seen: list[tuple[float, str]] = []
    transcript = await harness.voice.transcribe_file(
        tmp_path / "talk.mp3", lambda f, t: seen.append((f, t))
    )
    assert transcript.text == "file talk.mp3"
    assert seen == [(0.5, "half")]
    assert recorder.events == [TranscriptionFinished("file talk.mp3", "file", 12.0, 1.0)]
    assert await harness.voice.file_duration(tmp_path / "talk.mp3") == 12.0
    await harness.voice.transcribe_file(tmp_path / "talk.mp3", language="de")
    assert [o.language for o in harness.transcribers[0].options] == ["en", "de"]


async def test_a_new_whisper_model_retires_the_old_engine(harness: Harness, tmp_path: Path) -> None:
    await harness.voice.transcribe(ONE_SECOND)
    first = harness.transcribers[0]
    harness.change(voice_rate=1.5, voice_language="de")  # not what the engine is made from
    await settle()
    assert not first.closed
    harness.change(voice_whisper_model=str(tmp_path))
    await settle()
    assert first.closed
    transcript = await harness.voice.transcribe(ONE_SECOND)
    assert transcript.text == f"heard by {tmp_path}"
    assert len(harness.transcribers) == 2
    assert harness.synthesizers == []  # nothing made for the other engine


async def test_an_engine_in_use_is_closed_once_its_call_is_done(harness: Harness) -> None:
    await harness.voice.transcribe(ONE_SECOND)
    old = harness.transcribers[0]
    old.gate = asyncio.Event()
    working = asyncio.create_task(harness.voice.transcribe(ONE_SECOND))
    await settle()
    harness.change(voice_whisper_model="/models/small")
    await settle()
    assert not old.closed  # still transcribing
    assert (await harness.voice.transcribe(ONE_SECOND)).text == "heard by /models/small"
    old.gate.set()
    assert (await asyncio.wait_for(working, 5)).text == "heard by tiny.en"
    await settle()
    assert old.closed


async def test_a_new_voice_retires_the_synthesizer(harness: Harness) -> None:
    await harness.voice.synthesize("Hello.")
    harness.change(voice_rate=1.5)
    await harness.voice.synthesize("Faster.")
    assert len(harness.synthesizers) == 1
    assert [o.rate for o in harness.synthesizers[0].options] == [1.0, 1.5]
    harness.change(voice_tts_voice="/voices/amy.onnx")
    await settle()
    assert harness.synthesizers[0].closed
    await harness.voice.synthesize("New voice.")
    assert harness.synthesizers[1].voice == "/voices/amy.onnx"


async def test_reading_aloud_and_barge_in(harness: Harness, bus: EventBus) -> None:
    recorder = EventRecorder(bus, SpeechStopped)
    log: list[tuple[str, str]] = []
    output = FakeOutput(log, hold=True)
    first = harness.voice.read_aloud(output)
    assert not harness.voice.speaking
    first.feed("Hello there. And more")
    await settle()
    assert harness.voice.speaking
    assert ("play", "Hello there.") in log
    second = harness.voice.read_aloud(output)  # a new reply: the old one is stopped
    assert first.done
    assert recorder.events == [SpeechStopped("stopped")]
    second.feed("Second reply. ")
    await settle()
    harness.voice.stop_speaking()
    assert second.done
    assert not harness.voice.speaking
    assert recorder.events == [SpeechStopped("stopped")] * 2
    harness.voice.stop_speaking()  # nothing to stop: fine


async def test_speak(harness: Harness) -> None:
    log: list[tuple[str, str]] = []
    output = FakeOutput(log)
    await asyncio.wait_for(harness.voice.speak("# Hi\n\nOne sentence. Two `words`.", output), 5)
    assert output.played == ["Hi", "One sentence.", "Two words."]
    output.error = VoiceError("No sound output device.", "Connect speakers.")
    with pytest.raises(VoiceError, match="No sound output"):
        await asyncio.wait_for(harness.voice.speak("Again.", output), 5)


async def test_aclose_stops_speech_and_closes_both_engines(harness: Harness) -> None:
    log: list[tuple[str, str]] = []
    await harness.voice.transcribe(ONE_SECOND)
    reader = harness.voice.read_aloud(FakeOutput(log, hold=True))
    reader.feed("Talking now. ")
    await settle()
    await harness.voice.aclose()
    assert reader.done
    assert harness.transcribers[0].closed
    assert harness.synthesizers[0].closed
    with pytest.raises(VoiceError, match="shut down"):
        await harness.voice.transcribe(ONE_SECOND)
    harness.change(voice_whisper_model="/models/other")  # no longer followed
    await harness.voice.aclose()
    assert len(harness.transcribers) == 1
