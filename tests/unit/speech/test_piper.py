"""The piper synthesizer with the real bundled voice: speech at the voice's rate, the speaking
rate, empty text, and clear errors for a damaged or incomplete voice."""

from __future__ import annotations

import array
from pathlib import Path

import pytest

from keiko_desktop.core.config import Settings
from keiko_desktop.core.voice.types import AudioClip, SpeakOptions, VoiceError
from keiko_desktop.speech import models
from keiko_desktop.speech.piper_voice import PiperSynthesizer
from tests.helpers.loop_gaps import loop_gaps

pytestmark = pytest.mark.model


def peak(clip: AudioClip) -> int:
    samples = array.array("h", clip.pcm)
    return max((abs(s) for s in samples), default=0)


async def test_a_sentence_is_spoken(piper: PiperSynthesizer) -> None:
    clip = await piper.synthesize("Good morning! Your first meeting is at ten.", SpeakOptions())
    assert clip.sample_rate == 22050
    assert 1.5 < clip.duration < 6.0
    assert peak(clip) > 10_000  # piper normalizes each sentence to the full range
    assert piper.info().loaded


async def test_the_rate_changes_the_pace(piper: PiperSynthesizer) -> None:
    text = "Please read the next paragraph of the document to me, slowly and clearly."
    normal = await piper.synthesize(text, SpeakOptions(rate=1.0))
    fast = await piper.synthesize(text, SpeakOptions(rate=2.0))
    slow = await piper.synthesize(text, SpeakOptions(rate=0.5))
    # length_scale 1/rate scales each phoneme's predicted length (rounded up to whole frames,
    # with piper's random duration noise), so twice the rate is about 1.5 to 2 times faster.
    assert normal.duration / 2.3 < fast.duration < normal.duration / 1.3
    assert normal.duration * 1.3 < slow.duration < normal.duration * 2.3


async def test_sentences_are_joined_with_a_pause(piper: PiperSynthesizer) -> None:
    one = await piper.synthesize("It is raining.", SpeakOptions())
    two = await piper.synthesize("It is raining. It is raining.", SpeakOptions())
    pause = bytes(2 * int(0.2 * 22050))  # 0.2 s of digital silence
    assert pause in two.pcm
    assert pause not in one.pcm
    assert two.duration > 2 * one.duration * 0.75 + 0.2


async def test_empty_text_is_an_empty_clip(piper: PiperSynthesizer) -> None:
    for text in ("", "   \n\t"):
        clip = await piper.synthesize(text, SpeakOptions())
        assert clip == AudioClip(b"", 22050)


async def test_the_loop_stays_free_while_it_speaks(piper: PiperSynthesizer) -> None:
    text = "A longer passage, so that speaking it takes a noticeable moment. " * 4
    async with loop_gaps() as gaps:
        await piper.synthesize(text, SpeakOptions())
    assert gaps.took > 0.3
    assert gaps.longest < min(0.2, gaps.took / 2), (gaps.longest, gaps.took)


async def test_a_damaged_voice_is_a_voice_error(tmp_path: Path) -> None:
    voice = tmp_path / "en_US-broken-medium.onnx"
    voice.write_bytes(b"\x08\x01garbage" * 100)
    models.voice_config(voice).write_bytes(models.voice_config(models.bundled_voice()).read_bytes())
    engine = PiperSynthesizer(str(voice))
    try:
        with pytest.raises(VoiceError) as caught:
            await engine.synthesize("Hello.", SpeakOptions())
        assert str(voice) in caught.value.message
        assert "voice_tts_voice" in caught.value.hint
        assert not engine.info().loaded
    finally:
        await engine.aclose()


async def test_a_voice_with_a_broken_config_is_a_voice_error(tmp_path: Path) -> None:
    voice = tmp_path / "en_US-joe-medium.onnx"
    voice.symlink_to(models.bundled_voice())
    models.voice_config(voice).write_text("{ not json")
    engine = PiperSynthesizer(str(voice))
    try:
        with pytest.raises(VoiceError, match="Could not load the Piper voice"):
            await engine.load()
    finally:
        await engine.aclose()


async def test_a_missing_voice_is_a_voice_error_and_info_says_why(tmp_path: Path) -> None:
    engine = PiperSynthesizer(str(tmp_path / "nobody.onnx"))
    try:
        info = engine.info()
        assert not info.bundled
        assert info.notes
        assert "does not exist" in info.notes[0]
        with pytest.raises(VoiceError, match="does not exist"):
            await engine.load()
    finally:
        await engine.aclose()


async def test_info_and_reload_after_close() -> None:
    engine = PiperSynthesizer.from_settings(Settings())
    try:
        info = engine.info()
        assert info.bundled
        assert info.name == "Piper en_US joe (medium)"
        assert Path(info.model_path) == models.bundled_voice()
        assert not info.loaded
        await engine.load()
        assert engine.info().loaded
        await engine.aclose()
        assert not engine.info().loaded
        clip = await engine.synthesize("Back again.", SpeakOptions())
        assert clip.duration > 0.3
    finally:
        await engine.aclose()
