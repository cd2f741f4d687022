"""``transcribe``: the kind is the subject (its parameters, the file checked before the engine
sees it, progress, the result, what is retried and what is not), so the speech service is a
scripted stand-in here; the real engine runs it in tests/e2e/test_voice_cli.py (a task added
with `keiko tasks add` and run by `keiko tasks worker`)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tasks.builtin import builtin_kinds
from keiko_desktop.core.tasks.defaults import resolved
from keiko_desktop.core.tasks.errors import TaskError, TaskParamError
from keiko_desktop.core.tasks.kinds import Done, TaskServices
from keiko_desktop.core.tasks.kinds_voice import clock
from keiko_desktop.core.tasks.records import MAX_RESULT, NewTask
from keiko_desktop.core.tasks.service import TaskService
from keiko_desktop.core.voice.ports import Progress
from keiko_desktop.core.voice.types import Segment, Transcript, VoiceError
from keiko_desktop.store import Database
from tests.unit.core.tasks.engine_helpers import until
from tests.unit.core.tasks.test_kinds_basic import KINDS, context

pytestmark = pytest.mark.timeout(60)


class ScriptedVoice:
    """``VoiceService``'s file side, scripted: the duration, the progress it reports, the
    transcript (or error) it gives; records each call."""

    def __init__(
        self,
        text: str = " Hello there, this is a test. ",
        *,
        duration: float = 125.0,
        fractions: Sequence[float] = (0.25, 0.5, 1.0),
        not_audio: bool = False,
        fails: VoiceError | None = None,
        gate: asyncio.Event | None = None,
    ) -> None:
        self.text = text
        self.duration = duration
        self.fractions = fractions
        self.not_audio = not_audio
        self.fails = fails
        self.gate = gate
        self.calls: list[tuple[Path, str | None]] = []
        self.durations: list[Path] = []

    async def file_duration(self, path: Path) -> float:
        self.durations.append(path)
        if self.not_audio:
            raise VoiceError(f"{path.name} is not an audio file.", "Give a recording.")
        return self.duration

    async def transcribe_file(
        self, path: Path, progress: Progress | None = None, *, language: str | None = None
    ) -> Transcript:
        self.calls.append((path, language))
        if self.gate is not None:
            await self.gate.wait()
        for fraction in self.fractions:
            if progress is not None:
                progress(fraction, "the words so far \x1b[2J")
            await asyncio.sleep(0)
        if self.fails is not None:
            raise self.fails
        segments = (Segment(0.0, self.duration, self.text.strip()),)
        return Transcript(self.text, segments, "en", self.duration, 1.0)


def services(voice: ScriptedVoice | None) -> TaskServices:
    return TaskServices(Settings, voice=cast(Any, voice))


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    path = tmp_path / "talk.mp3"
    path.write_bytes(b"ID3 stands in for audio: the scripted service decides")
    return path


# ---------------------------------------------------------------------- parameters
def test_transcribe_is_shipped_with_a_path_and_an_optional_language() -> None:
    kind = KINDS.get("transcribe")
    assert kind.label == "Transcribe"
    assert [(p.name, p.type, p.required) for p in kind.params] == [
        ("path", "path", True),
        ("language", "text", False),
    ]
    assert ".mp3" in kind.params[0].help
    assert ".flac" in kind.params[0].help
    assert KINDS.check("transcribe", {"path": "~/talk.mp3"})["path"].endswith("/talk.mp3")
    assert KINDS.check("transcribe", {"path": "/a.wav", "language": "de"})["language"] == "de"
    assert "language" not in KINDS.check("transcribe", {"path": "/a.wav", "language": ""})


@pytest.mark.parametrize(
    ("params", "field", "words"),
    [
        ({}, "path", "is required"),
        ({"path": "talk.mp3"}, "path", "absolute path"),
        ({"path": "/a.wav", "language": "e n"}, "language", "not a language code"),
        ({"path": "/a.wav", "language": "en-US"}, "language", "not a language code"),
        ({"path": "/a.wav", "language": "x" * 9}, "language", "longer than 8"),
        ({"path": "/a.wav", "file": "/b.wav"}, "file", "no such parameter"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(
    params: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(TaskParamError) as refused:
        KINDS.check("transcribe", params)
    assert refused.value.field == field
    assert words in refused.value.message


def test_the_default_name_is_the_files_name() -> None:
    settings = Settings()
    kinds = builtin_kinds(TaskServices(lambda: settings))
    task = resolved(NewTask("transcribe", {"path": "/home/me/Talks/keynote.m4a"}), kinds, settings)
    assert task.name == "Transcribe: keynote.m4a"
    assert (task.max_attempts, task.timeout) == (3, 3600.0)  # the settings' retries and limit


# ---------------------------------------------------------------------- running
async def test_a_recording_becomes_its_text_with_progress_by_the_share_heard(
    recording: Path,
) -> None:
    voice = ScriptedVoice()
    ctx, params, recorded = context("transcribe", {"path": str(recording)}, services(voice))
    done = await KINDS.get("transcribe").run(ctx, params)
    assert done == Done(result="Hello there, this is a test.")
    assert voice.calls == [(recording, None)]  # no language given: the setting's
    texts = [text for _, text in recorded.progress]
    assert texts[:2] == ["reading the file", "transcribing 2:05 of audio"]
    assert "transcribing (0:31 of 2:05)" in texts
    assert "transcribing (2:05 of 2:05)" in texts
    assert recorded.progress[-1] == (100, "2:05 of audio in 0:00")
    assert recorded.percents == sorted(recorded.percents)
    assert all("\x1b" not in text and "words so far" not in text for text in texts)


async def test_a_language_given_reaches_the_engine(recording: Path) -> None:
    voice = ScriptedVoice()
    ctx, params, _ = context(
        "transcribe", {"path": str(recording), "language": "de"}, services(voice)
    )
    await KINDS.get("transcribe").run(ctx, params)
    assert voice.calls == [(recording, "de")]


async def test_a_long_transcript_is_cut_to_the_results_bound(recording: Path) -> None:
    voice = ScriptedVoice("word " * 30_000)
    ctx, params, _ = context("transcribe", {"path": str(recording)}, services(voice))
    done = await KINDS.get("transcribe").run(ctx, params)
    assert isinstance(done, Done)
    assert len(done.result) <= MAX_RESULT
    assert done.result.endswith("more characters were cut]")


@pytest.mark.parametrize("what", ["missing", "folder", "not audio", "silence"])
async def test_what_cannot_be_transcribed_is_a_parameter_error_naming_the_path(
    tmp_path: Path, recording: Path, what: str
) -> None:
    path = {"missing": tmp_path / "gone.wav", "folder": tmp_path}.get(what, recording)
    voice = ScriptedVoice(" " if what == "silence" else "words", not_audio=what == "not audio")
    ctx, params, _ = context("transcribe", {"path": str(path)}, services(voice))
    with pytest.raises(TaskParamError) as refused:
        await KINDS.get("transcribe").run(ctx, params)
    assert refused.value.field == "path"
    words = {
        "missing": "gone.wav does not exist",
        "folder": "is a folder, not an audio file",
        "not audio": "talk.mp3 is not an audio file",
        "silence": "no speech was heard in talk.mp3",
    }[what]
    assert words in refused.value.message
    if what in ("missing", "folder"):
        assert voice.durations == []  # the engine never saw it
        assert voice.calls == []
    if what == "not audio":
        assert voice.calls == []
        assert refused.value.hint == "Give a recording."


async def test_an_engine_failure_is_a_task_error_that_keeps_its_hint(recording: Path) -> None:
    broken = VoiceError("The speech model folder /m is not a faster-whisper model.", "Fix it.")
    voice = ScriptedVoice(fails=broken)
    ctx, params, _ = context("transcribe", {"path": str(recording)}, services(voice))
    with pytest.raises(TaskError) as failed:
        await KINDS.get("transcribe").run(ctx, params)
    assert not isinstance(failed.value, TaskParamError)  # the engine's: tried again
    assert failed.value.message.startswith("Could not transcribe: The speech model folder")
    assert failed.value.hint == "Fix it."


async def test_without_a_speech_service_it_says_so(recording: Path) -> None:
    ctx, params, _ = context("transcribe", {"path": str(recording)}, services(None))
    with pytest.raises(TaskError, match="Speech recognition is not available here"):
        await KINDS.get("transcribe").run(ctx, params)


def test_clock_reads_like_a_recordings_length() -> None:
    assert [clock(s) for s in (0, 4.6, 65, 600, 3723, -3)] == [
        "0:00",
        "0:05",
        "1:05",
        "10:00",
        "1:02:03",
        "0:00",
    ]


# ---------------------------------------------------------------------- through the engine
def task_service(database: Database, bus: EventBus, voice: ScriptedVoice) -> TaskService:
    settings = Settings(task_backoff=0.1, task_retries=2)
    get = lambda: settings  # noqa: E731
    wired = TaskServices(get, voice=cast(Any, voice))
    return TaskService(database.tasks, builtin_kinds(wired), wired, bus, get, rng=random.Random(7))


async def test_the_engine_runs_it_and_never_retries_a_missing_file(
    database: Database, bus: EventBus, recording: Path, tmp_path: Path
) -> None:
    voice = ScriptedVoice()
    service = task_service(database, bus, voice)
    try:
        good = await service.add(NewTask("transcribe", {"path": str(recording)}))
        gone = await service.add(NewTask("transcribe", {"path": str(tmp_path / "gone.ogg")}))
        assert (good.name, gone.max_attempts) == ("Transcribe: talk.mp3", 3)
        service.start("worker")
        await asyncio.wait_for(service.wait_idle(), 30)
        done, failed = await service.get(good.id), await service.get(gone.id)
    finally:
        await service.aclose()
    assert (done.status, done.result, done.progress) == (
        "completed",
        "Hello there, this is a test.",
        100,
    )
    assert (failed.status, failed.attempts) == ("failed", 1)  # not retried
    assert failed.error is not None
    assert "gone.ogg does not exist" in failed.error


async def test_cancelling_the_task_cancels_the_transcription(
    database: Database, bus: EventBus, recording: Path
) -> None:
    voice = ScriptedVoice(gate=asyncio.Event())  # the engine never finishes by itself
    service = task_service(database, bus, voice)
    try:
        task = await service.add(NewTask("transcribe", {"path": str(recording)}))
        service.start("worker")
        await until(lambda: voice.calls)
        await service.cancel(task.id)
        await until(lambda: _status_is(service, task.id, "cancelled"))
    finally:
        await service.aclose()
    assert len(voice.calls) == 1


async def _status_is(service: TaskService, task_id: int, status: str) -> bool:
    return (await service.get(task_id)).status == status
