"""The faster-whisper transcriber with the real bundled tiny.en: speech in, words out, off the
loop; cancellation; progress; clear errors for bad files and damaged model folders."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest

from keiko_desktop.core.config import Settings
from keiko_desktop.core.voice.types import AudioClip, SpeakOptions, TranscribeOptions, VoiceError
from keiko_desktop.speech import models
from keiko_desktop.speech.piper_voice import PiperSynthesizer
from keiko_desktop.speech.whisper import WhisperTranscriber, decode_options
from tests.helpers.loop_gaps import loop_gaps
from tests.helpers.speech_samples import encode_file, normalize, word_error_rate

pytestmark = pytest.mark.model

SENTENCE = "Please remind me to water the plants on Friday morning."
OPTIONS = TranscribeOptions()


def silence(seconds: float, rate: int = 22050) -> AudioClip:
    return AudioClip(bytes(2 * int(seconds * rate)), rate)


@pytest.fixture(scope="module")
def spoken(piper: PiperSynthesizer) -> AudioClip:
    """SENTENCE said by the bundled voice (22.05 kHz), with a little silence around it."""
    clip = asyncio.run(piper.synthesize(SENTENCE, SpeakOptions()))
    return silence(0.3) + clip + silence(0.3)


@pytest.fixture(scope="module")
def long_file(piper: PiperSynthesizer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 65 seconds of speech (three Whisper windows) as a FLAC file."""
    lines = [
        "The first part of this recording talks about the weather and the garden.",
        "Then it moves on to the shopping list, with apples, bread and cheese.",
        "Finally it ends with a note to call the dentist on Monday afternoon.",
    ]
    said = [asyncio.run(piper.synthesize(line, SpeakOptions())) + silence(1.2) for line in lines]
    clip = silence(0.1)
    while clip.duration < 65:
        for part in said:
            clip = clip + part
    path = tmp_path_factory.mktemp("audio") / "long.flac"
    return encode_file(path, clip, "flac")


async def test_a_spoken_sentence_is_heard(whisper: WhisperTranscriber, spoken: AudioClip) -> None:
    transcript = await whisper.transcribe(spoken, OPTIONS)
    assert word_error_rate([SENTENCE], [transcript.text]) <= 0.1, transcript.text
    assert transcript.language == "en"
    assert transcript.duration == pytest.approx(spoken.duration, abs=0.01)
    assert 0 < transcript.elapsed < 30
    assert transcript.real_time_factor > 0
    assert transcript.segments
    for segment in transcript.segments:
        assert 0 <= segment.start <= segment.end <= transcript.duration
    assert " ".join(s.text for s in transcript.segments) == transcript.text


async def test_silence_is_nothing(whisper: WhisperTranscriber) -> None:
    transcript = await whisper.transcribe(silence(2.0, 16000), OPTIONS)
    assert transcript.text == ""
    assert transcript.segments == ()
    assert transcript.duration == pytest.approx(2.0)
    empty = await whisper.transcribe(AudioClip(b"", 16000), OPTIONS)
    assert empty.text == ""


async def test_the_loop_stays_free_while_it_listens(
    whisper: WhisperTranscriber, spoken: AudioClip
) -> None:
    long_clip = spoken + spoken + spoken
    async with loop_gaps() as gaps:
        await whisper.transcribe(long_clip, OPTIONS)
    assert gaps.took > 0.3  # long enough that a blocked loop would show
    assert gaps.longest < min(0.2, gaps.took / 2), (gaps.longest, gaps.took)


async def test_a_file_is_transcribed_with_progress_on_the_loop(
    whisper: WhisperTranscriber, spoken: AudioClip, tmp_path: Path
) -> None:
    path = encode_file(tmp_path / "memo.mp3", spoken, "libmp3lame", "stereo")
    assert await whisper.file_duration(path) == pytest.approx(spoken.duration, abs=0.1)
    calls: list[tuple[float, str, int]] = []
    transcript = await whisper.transcribe_file(
        path, OPTIONS, progress=lambda f, text: calls.append((f, text, threading.get_ident()))
    )
    assert word_error_rate([SENTENCE], [transcript.text]) <= 0.1, transcript.text
    assert calls
    assert {ident for _, _, ident in calls} == {threading.get_ident()}
    assert calls[-1][1] == transcript.text
    fractions = [f for f, _, _ in calls]
    assert fractions == sorted(fractions)
    assert 0 < fractions[-1] <= 1


QUICK = TranscribeOptions(beam_size=1)


async def test_a_long_file_keeps_its_timeline(whisper: WhisperTranscriber, long_file: Path) -> None:
    transcript = await whisper.transcribe_file(long_file, QUICK)
    assert transcript.duration > 64
    assert len(transcript.segments) >= 8
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts)
    assert transcript.segments[-1].end > 55
    words = normalize(transcript.text)
    assert words.count("dentist") >= 2
    assert "shopping" in words


async def test_cancelling_stops_the_engine_between_segments(
    whisper: WhisperTranscriber, long_file: Path, spoken: AudioClip
) -> None:
    first = asyncio.Event()
    after_cancel: list[float] = []
    cancelled_at: list[float] = []

    def progress(fraction: float, _text: str) -> None:
        if cancelled_at:
            after_cancel.append(fraction)
        first.set()

    job = asyncio.create_task(whisper.transcribe_file(long_file, QUICK, progress))
    await asyncio.wait_for(first.wait(), 60)
    job.cancel()
    cancelled_at.append(time.perf_counter())
    with pytest.raises(asyncio.CancelledError):
        await job
    # The worker runs one call at a time: this one starts only once the cancelled one stopped.
    # Had it not stopped, the rest of the 65 s file (two more windows) would report first.
    after = await whisper.transcribe(spoken, OPTIONS)
    assert word_error_rate([SENTENCE], [after.text]) <= 0.1
    assert all(f < 0.5 for f in after_cancel), after_cancel


async def test_not_audio_and_missing_files_are_voice_errors(
    whisper: WhisperTranscriber, tmp_path: Path
) -> None:
    text = tmp_path / "notes.wav"
    text.write_text("this is a text file\n" * 20)
    with pytest.raises(VoiceError, match=r"notes\.wav"):
        await whisper.transcribe_file(text, OPTIONS)
    with pytest.raises(VoiceError, match="does not exist"):
        await whisper.transcribe_file(tmp_path / "gone.mp3", OPTIONS)
    with pytest.raises(VoiceError):
        await whisper.file_duration(text)


def _copy_of_bundled(folder: Path) -> Path:
    """A model folder with the bundled tokenizer and config (linked) but no model.bin."""
    bundled = models.bundled_whisper_dir()
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (folder / name).symlink_to(bundled / name)
    return folder


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
async def test_a_damaged_model_is_a_voice_error_naming_the_folder(
    tmp_path: Path, damage: str
) -> None:
    folder = _copy_of_bundled(tmp_path / "broken-model")
    if damage == "garbage":
        (folder / "model.bin").write_bytes(b"not a model\x00" * 1000)
    else:
        with (models.bundled_whisper_dir() / "model.bin").open("rb") as real:
            (folder / "model.bin").write_bytes(real.read(2_000_000))
    engine = WhisperTranscriber(str(folder), threads=1)
    try:
        with pytest.raises(VoiceError) as caught:
            await engine.load()
        assert str(folder) in caught.value.message
        assert "model.bin" in caught.value.message
        assert "voice_whisper_model" in caught.value.hint
        assert not engine.info().loaded
        with pytest.raises(VoiceError):  # the next use says the same, it does not crash
            await engine.transcribe(silence(0.5), TranscribeOptions(vad=False))
    finally:
        await engine.aclose()


async def test_a_folder_missing_model_bin_is_a_voice_error(tmp_path: Path) -> None:
    folder = _copy_of_bundled(tmp_path / "half-model")
    engine = WhisperTranscriber(str(folder))
    try:
        with pytest.raises(VoiceError, match=r"model\.bin") as caught:
            await engine.load()
        assert str(folder) in caught.value.message
        info = engine.info()
        assert not info.bundled
        assert info.notes
        assert "model.bin" in info.notes[0]
    finally:
        await engine.aclose()


async def test_info_loading_and_closing(spoken: AudioClip) -> None:
    engine = WhisperTranscriber.from_settings(Settings())
    try:
        info = engine.info()
        assert info.bundled
        assert not info.loaded
        assert info.name == "faster-whisper tiny.en"
        assert Path(info.model_path) == models.bundled_whisper_dir()
        job = asyncio.create_task(engine.transcribe(spoken + spoken + spoken, OPTIONS))
        await asyncio.sleep(0.05)
        assert not job.done()
        await engine.aclose()  # while it works: the call ends with a VoiceError, or finishes
        (outcome,) = await asyncio.gather(job, return_exceptions=True)
        if isinstance(outcome, BaseException):
            assert isinstance(outcome, VoiceError)
            assert "closed" in outcome.message
        assert not engine.info().loaded
        again = await engine.transcribe(spoken, OPTIONS)  # a closed engine loads again
        assert word_error_rate([SENTENCE], [again.text]) <= 0.1
        assert engine.info().loaded
    finally:
        await engine.aclose()


def test_decode_options_for_short_and_long_audio() -> None:
    short = decode_options(TranscribeOptions(language="", beam_size=3, initial_prompt=" Keiko "), 8)
    assert short["language"] is None
    assert short["beam_size"] == 3
    assert short["initial_prompt"] == "Keiko"
    assert short["temperature"] == 0.0
    assert short["condition_on_previous_text"] is False
    assert short["without_timestamps"] is True
    assert short["vad_filter"] is False  # trimmed before, by _speech_span
    long = decode_options(TranscribeOptions(), 600)
    assert long["without_timestamps"] is False
    assert long["vad_filter"] is True
    assert long["initial_prompt"] is None
    assert decode_options(TranscribeOptions(vad=False), 600)["vad_filter"] is False
