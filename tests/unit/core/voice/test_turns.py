"""TurnDetector on synthetic audio: speech-like tone bursts, noise and silence."""

from __future__ import annotations

import numpy as np
import pytest

from keiko_desktop.core.voice.turns import FRAME, TurnDetector

RATE = 16000


class Audio:
    """Builds a test signal piece by piece (seeded noise, so every run is the same)."""

    def __init__(self, noise_db: float = -65.0, seed: int = 1) -> None:
        self._rng = np.random.default_rng(seed)
        self._noise_db = noise_db
        self._parts: list[np.ndarray] = []

    def _noise(self, samples: int, noise_db: float | None = None) -> np.ndarray:
        db = self._noise_db if noise_db is None else noise_db
        return self._rng.normal(0.0, 32768 * 10 ** (db / 20), samples)

    def quiet(self, seconds: float, noise_db: float | None = None) -> Audio:
        self._parts.append(self._noise(int(RATE * seconds), noise_db))
        return self

    def speech(
        self,
        seconds: float,
        level_db: float = -20.0,
        noise_db: float | None = None,
        syllables: float = 4.0,
    ) -> Audio:
        """Voiced harmonics under a syllable envelope that dips to nothing between syllables."""
        t = np.arange(int(RATE * seconds)) / RATE
        voice = sum(np.sin(2 * np.pi * 140 * k * t) / k for k in (1, 2, 3, 4))
        envelope = np.clip(np.sin(np.pi * syllables * t) ** 2 * 1.6 - 0.25, 0.0, 1.0)
        gain = 32768 * 10 ** (level_db / 20) * 1.4
        self._parts.append(gain * voice * envelope + self._noise(t.size, noise_db))
        return self

    def pcm(self) -> bytes:
        samples = np.clip(np.concatenate(self._parts), -32768, 32767).astype("<i2")
        return bytes(samples.tobytes())


def events(audio: bytes, detector: TurnDetector, chunk: int = 640) -> list[tuple[str, float]]:
    """(event, seconds into the audio) for each event, feeding ``chunk`` bytes at a time."""
    found: list[tuple[str, float]] = []
    for at in range(0, len(audio), chunk):
        event = detector.feed(audio[at : at + chunk])
        if event is not None:
            found.append((event, (at + chunk) / 2 / RATE))
    return found


def test_a_turn_starts_with_speech_and_ends_after_the_silence() -> None:
    audio = Audio().quiet(1.0).speech(1.5).quiet(1.5).pcm()
    found = events(audio, TurnDetector(0.9))
    assert [name for name, _ in found] == ["speech", "end"]
    (_, start), (_, end) = found
    assert 1.0 + 0.25 <= start <= 1.0 + 0.5
    assert 2.5 + 0.9 - 0.15 <= end <= 2.5 + 0.9 + 0.1


@pytest.mark.parametrize("chunk", [2, 333, 640, 4000])
def test_chunk_size_does_not_matter(chunk: int) -> None:
    audio = Audio().quiet(0.5).speech(1.0).quiet(1.2).speech(0.8).quiet(1.2).pcm()
    reference = events(audio, TurnDetector(0.9), chunk=640)
    assert [name for name, _ in reference] == ["speech", "end", "speech", "end"]
    found = events(audio, TurnDetector(0.9), chunk=chunk)
    assert [name for name, _ in found] == [name for name, _ in reference]
    for (_, at), (_, expected) in zip(found, reference, strict=True):
        assert at == pytest.approx(expected, abs=chunk / 2 / RATE + FRAME)


def test_pauses_shorter_than_the_silence_keep_the_turn() -> None:
    audio = Audio().quiet(0.5).speech(1.0).quiet(0.6).speech(1.0).quiet(0.5).speech(0.5)
    found = events(audio.quiet(1.5).pcm(), TurnDetector(0.9))
    assert [name for name, _ in found] == ["speech", "end"]
    assert found[1][1] > 0.5 + 1.0 + 0.6 + 1.0 + 0.5 + 0.5


def test_noise_alone_clicks_and_silence_are_not_speech() -> None:
    detector = TurnDetector(0.9)
    assert events(Audio(noise_db=-35.0).quiet(5.0).pcm(), detector) == []
    assert events(bytes(RATE * 2 * 3), TurnDetector()) == []
    clicks = Audio()
    for _ in range(8):
        clicks.quiet(0.4).speech(0.08, level_db=-10.0, syllables=12.0)
    assert events(clicks.pcm(), TurnDetector()) == []


def test_a_noisy_room_is_learnt() -> None:
    audio = Audio(noise_db=-38.0).quiet(1.5).speech(1.5, level_db=-12.0).quiet(1.5).pcm()
    detector = TurnDetector(0.9)
    found = events(audio, detector)
    assert [name for name, _ in found] == ["speech", "end"]
    assert detector.noise_floor == pytest.approx(-38.0, abs=2.0)


def test_a_fan_starting_during_speech_still_lets_the_turn_end() -> None:
    audio = Audio().quiet(0.5).speech(1.5).quiet(12.0, noise_db=-36.0).pcm()
    found = events(audio, TurnDetector(0.9))
    assert [name for name, _ in found][:2] == ["speech", "end"]
    assert found[1][1] < 0.5 + 1.5 + 10.0


def test_max_turn_ends_a_turn_that_never_pauses() -> None:
    audio = Audio().quiet(0.5).speech(4.0).pcm()
    found = events(audio, TurnDetector(0.9, max_turn=2.0))
    assert found[0][0] == "speech"
    assert found[1][0] == "end"
    assert found[1][1] == pytest.approx(0.5 + 2.0, abs=0.1)


def test_a_whole_turn_in_one_chunk_gives_both_events_one_per_call() -> None:
    detector = TurnDetector(0.5)
    assert detector.feed(Audio().quiet(0.3).speech(1.0).quiet(1.0).pcm()) == "speech"
    assert detector.feed(b"") == "end"
    assert detector.feed(b"") is None


def test_state_and_reset() -> None:
    detector = TurnDetector(0.9, min_speech=0.25)
    assert not detector.in_speech
    assert detector.feed(Audio().quiet(0.5).speech(1.0).pcm()) == "speech"
    assert detector.in_speech
    assert 0.4 <= detector.speech_seconds <= 1.0
    detector.reset()
    assert not detector.in_speech
    assert detector.speech_seconds == 0.0
    assert detector.feed(Audio(seed=2).quiet(1.0).pcm()) is None  # no "end" for a forgotten turn


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="positive"):
        TurnDetector(0.0)
