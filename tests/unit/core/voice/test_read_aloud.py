"""ReadAloud with a fake synthesizer and a fake output that log what happens, in order:
sentences in order while the reply streams, one made ahead, barge-in, errors."""

from __future__ import annotations

import asyncio
import time

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.voice.events import SpeechStarted, SpeechStopped
from keiko_desktop.core.voice.read_aloud import QUICK_CLAUSE, ReadAloud, opening
from keiko_desktop.core.voice.types import VoiceError
from tests.helpers.events import EventRecorder
from tests.unit.core.voice.fakes import FakeOutput, FakeSynth, Log, settle


@pytest.fixture
def log() -> Log:
    return []


@pytest.fixture
def speech_bus() -> tuple[EventBus, EventRecorder]:
    bus = EventBus()
    return bus, EventRecorder(bus, SpeechStarted, SpeechStopped)


async def test_sentences_are_spoken_in_order_while_the_reply_streams(
    log: Log, speech_bus: tuple[EventBus, EventRecorder]
) -> None:
    bus, recorder = speech_bus
    output = FakeOutput(log)
    reader = ReadAloud(FakeSynth(log), output, bus, quick_start=False)
    reply = "Hello there! This is **Keiko**. Here is code:\n```\nx = 1. y = 2.\n```\nAll done."
    said = ["Hello there!", "This is Keiko.", "Here is code:"]
    for char in reply:
        reader.feed(char)
        await asyncio.sleep(0)
    await settle()
    assert output.played == said  # spoken while the reply is still coming
    assert reader.speaking
    assert not reader.done
    reader.finish()
    await asyncio.wait_for(reader.wait(), 5)
    assert output.played == [*said, "All done."]
    assert reader.spoken == (*said, "All done.")
    assert recorder.events == [
        *(SpeechStarted(s) for s in [*said, "All done."]),
        SpeechStopped("finished"),
    ]
    assert reader.done
    assert not reader.speaking
    assert reader.error is None


async def test_the_first_sentence_is_synthesized_as_soon_as_it_is_complete(log: Log) -> None:
    output = FakeOutput(log, hold=True)
    reader = ReadAloud(FakeSynth(log), output)
    reader.feed("Hello there.")
    await settle()
    assert log == []  # "there." might still become "there.com"
    started = time.perf_counter()
    reader.feed(" And")
    await asyncio.wait_for(output.started.wait(), 2)
    assert time.perf_counter() - started < 0.1
    assert log == [("synth", "Hello there."), ("made", "Hello there."), ("play", "Hello there.")]
    reader.stop()


async def test_one_sentence_is_made_ahead_while_one_plays(log: Log) -> None:
    output = FakeOutput(log, hold=True)
    reader = ReadAloud(FakeSynth(log), output, quick_start=False)
    reader.feed("One. Two. Three. Four. ")
    await settle()
    assert sorted(log) == sorted(
        [("synth", "One."), ("made", "One."), ("play", "One."), ("synth", "Two."), ("made", "Two.")]
    )  # "Two." is made while "One." plays, and "Three." waits: one ahead, no more
    assert log.index(("made", "One.")) < log.index(("play", "One."))
    output.release()
    await settle()
    assert log[5] == ("played", "One.")
    assert sorted(log[6:]) == sorted([("play", "Two."), ("synth", "Three."), ("made", "Three.")])
    reader.finish()
    for _ in range(3):
        output.release()
        await settle()
    await asyncio.wait_for(reader.wait(), 5)
    assert reader.spoken == ("One.", "Two.", "Three.", "Four.")


async def test_a_long_first_sentence_starts_with_its_opening_words(
    log: Log, speech_bus: tuple[EventBus, EventRecorder]
) -> None:
    bus, recorder = speech_bus
    output = FakeOutput(log)
    reader = ReadAloud(FakeSynth(log), output, bus)
    first = "Photosynthesis is how plants turn sunlight, water and air into sugar."
    second = "It happens in the leaves of every green plant, all day long."
    reader.feed(f"{first} {second}")
    reader.finish()
    await asyncio.wait_for(reader.wait(), 5)
    *opening_pieces, last = output.played
    assert len(opening_pieces) == 2
    assert len(opening_pieces[0]) <= QUICK_CLAUSE
    assert " ".join(opening_pieces) == first
    assert last == second  # later sentences are said whole
    assert reader.spoken == (first, second)
    assert recorder.events == [
        SpeechStarted(first),
        SpeechStarted(second),
        SpeechStopped("finished"),
    ]


@pytest.mark.parametrize(
    ("sentence", "pieces"),
    [
        ("Sure, here you go.", ["Sure, here you go."]),
        ("Sure, here is the plan for today.", ["Sure,", "here is the plan for today."]),
        (
            "Photosynthesis converts sunlight into energy.",
            ["Photosynthesis", "converts sunlight into energy."],
        ),
        ("The quick brown fox jumps over the dog.", ["The quick", "brown fox jumps over the dog."]),
        ("Alright then, fine!", ["Alright then, fine!"]),
        ("Well, that is mostly it for now", ["Well,", "that is mostly it for now"]),
        ("So, yes, that is mostly it.", ["So, yes,", "that is mostly it."]),
        ("Incomprehensibilities abound.", ["Incomprehensibilities abound."]),
        (
            "Of course: the first step is to open the settings, then find the voice tab, and"
            " after that pick the voice you like best from the list.",
            [
                "Of course:",
                "the first step is to open the settings, then find the voice tab,",
                "and after that pick the voice you like best from the list.",
            ],
        ),
    ],
)
def test_opening(sentence: str, pieces: list[str]) -> None:
    assert opening(sentence) == pieces


async def test_stop_is_immediate_and_nothing_more_is_said(
    log: Log, speech_bus: tuple[EventBus, EventRecorder]
) -> None:
    bus, recorder = speech_bus
    output = FakeOutput(log, hold=True)
    synth = FakeSynth(log)
    reader = ReadAloud(synth, output, bus, quick_start=False)
    reader.feed("One. Two. Three. ")
    await settle()
    assert ("play", "One.") in log
    assert ("made", "Two.") in log
    reader.stop()
    # at once, before the loop runs again:
    assert output.stops == 1
    assert recorder.events[-1] == SpeechStopped("stopped")
    assert reader.done
    assert not reader.speaking
    started = time.perf_counter()
    await asyncio.wait_for(reader.wait(), 1)
    assert time.perf_counter() - started < 0.1
    assert ("interrupted", "One.") in log
    assert ("play", "Two.") not in log
    assert ("synth", "Three.") not in log
    assert reader.spoken == ()
    reader.feed("More words. ")
    reader.finish()
    reader.stop()
    await settle()
    assert [e for e in recorder.events if isinstance(e, SpeechStopped)] == [
        SpeechStopped("stopped")
    ]
    assert ("synth", "More words.") not in log


async def test_stop_cancels_the_synthesis_in_progress(log: Log) -> None:
    output = FakeOutput(log)
    synth = FakeSynth(log, gated=True)
    reader = ReadAloud(synth, output)
    reader.feed("Hello there. ")
    await settle()
    assert log == [("synth", "Hello there.")]
    reader.stop()
    await asyncio.wait_for(reader.wait(), 1)
    assert synth.cancelled == ["Hello there."]
    assert output.played == []


async def test_a_synthesis_error_ends_the_reading(
    log: Log, speech_bus: tuple[EventBus, EventRecorder]
) -> None:
    bus, recorder = speech_bus
    output = FakeOutput(log, hold=True)
    synth = FakeSynth(log)
    error = VoiceError("The voice failed.", "Pick another voice in Settings > Voice.")
    synth.fail["Two."] = error
    reader = ReadAloud(synth, output, bus, quick_start=False)
    reader.feed("One. Two. Three. ")
    await asyncio.wait_for(reader.wait(), 5)
    assert reader.error is error
    assert recorder.events == [SpeechStarted("One."), SpeechStopped("error")]
    assert output.stops >= 1  # the sound stops too
    assert ("cancelled", "One.") in log or ("interrupted", "One.") in log
    assert ("synth", "Three.") not in log
    reader.feed("Later. ")  # never raises, does nothing
    reader.finish()


async def test_an_output_error_ends_the_reading(
    log: Log, speech_bus: tuple[EventBus, EventRecorder]
) -> None:
    bus, recorder = speech_bus
    output = FakeOutput(log)
    output.error = VoiceError("No sound output device.", "Connect speakers or headphones.")
    reader = ReadAloud(FakeSynth(log), output, bus)
    reader.feed("One. Two. ")
    await asyncio.wait_for(reader.wait(), 5)
    assert reader.error is output.error
    assert recorder.events[-1] == SpeechStopped("error")
    assert reader.spoken == ()


async def test_an_unexpected_error_becomes_a_voice_error(log: Log) -> None:
    synth = FakeSynth(log)
    synth.fail["One."] = RuntimeError("onnxruntime exploded")
    reader = ReadAloud(synth, FakeOutput(log))
    reader.feed("One. ")
    await asyncio.wait_for(reader.wait(), 5)
    assert isinstance(reader.error, VoiceError)
    assert "onnxruntime exploded" in str(reader.error)


async def test_a_reply_with_nothing_to_say_still_ends(
    log: Log, speech_bus: tuple[EventBus, EventRecorder]
) -> None:
    bus, recorder = speech_bus
    reader = ReadAloud(FakeSynth(log), FakeOutput(log), bus)
    reader.feed("```python\nprint('code is not read.')\n```\n")
    assert not reader.speaking
    reader.finish()
    await asyncio.wait_for(reader.wait(), 5)
    assert recorder.events == [SpeechStopped("finished")]
    assert log == []


async def test_stop_from_a_speech_started_subscriber_plays_nothing(log: Log) -> None:
    bus = EventBus()
    output = FakeOutput(log)
    reader = ReadAloud(FakeSynth(log), output, bus)
    bus.subscribe(SpeechStarted, lambda event: reader.stop())
    reader.feed("One. ")
    await asyncio.wait_for(reader.wait(), 5)
    assert ("play", "One.") not in log
    assert reader.spoken == ()


async def test_empty_clips_are_not_played_but_count_as_said(log: Log) -> None:
    synth = FakeSynth(log)
    synth.empty = True
    output = FakeOutput(log)
    reader = ReadAloud(synth, output)
    reader.feed("One. Two.")
    reader.finish()
    await asyncio.wait_for(reader.wait(), 5)
    assert output.played == []
    assert reader.spoken == ("One.", "Two.")


async def test_feed_never_raises_even_when_splitting_fails(
    log: Log, speech_bus: tuple[EventBus, EventRecorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    bus, recorder = speech_bus
    reader = ReadAloud(FakeSynth(log), FakeOutput(log), bus)

    def broken(piece: str) -> list[str]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(reader._splitter, "feed", broken)
    reader.feed("Hello. ")
    reader.feed("More. ")
    reader.finish()
    await asyncio.wait_for(reader.wait(), 5)
    assert isinstance(reader.error, VoiceError)
    assert recorder.events == [SpeechStopped("error")]
