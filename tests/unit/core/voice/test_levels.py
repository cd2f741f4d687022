"""Levels of PCM16 audio: dBFS, the meter's 0..1 and the peak."""

from __future__ import annotations

import math

import numpy as np
import pytest

from keiko_desktop.core.voice.levels import SILENCE_DB, dbfs, meter_level, peak, rms


def pcm(values: np.ndarray) -> bytes:
    return np.asarray(values).astype("<i2").tobytes()


def sine(amplitude: float, seconds: float = 0.1, hz: float = 440.0) -> bytes:
    t = np.arange(int(16000 * seconds)) / 16000
    return pcm(np.round(amplitude * np.sin(2 * np.pi * hz * t)))


def square(amplitude: int, samples: int = 1600) -> bytes:
    return pcm(np.where(np.arange(samples) % 2 == 0, amplitude, -amplitude))


def test_silence_and_nothing() -> None:
    for audio in (b"", bytes(3200), b"\x00"):
        assert dbfs(audio) == SILENCE_DB == -96.0
        assert meter_level(audio) == 0.0
        assert peak(audio) == 0.0


def test_full_scale() -> None:
    assert dbfs(square(32767)) == pytest.approx(0.0, abs=0.01)
    assert meter_level(square(32767)) == pytest.approx(1.0, abs=0.001)
    assert peak(pcm(np.array([0, -32768, 5]))) == 1.0
    assert dbfs(sine(32767)) == pytest.approx(-3.01, abs=0.05)


@pytest.mark.parametrize("level_db", [-6.0, -20.0, -45.0, -70.0])
def test_sine_levels(level_db: float) -> None:
    amplitude = 32768 * 10 ** (level_db / 20) * math.sqrt(2)  # RMS at level_db
    assert dbfs(sine(amplitude)) == pytest.approx(level_db, abs=0.2)
    assert rms(sine(amplitude)) == pytest.approx(32768 * 10 ** (level_db / 20), rel=0.03)


def test_meter_maps_minus_60_to_0_linearly() -> None:
    assert meter_level(square(round(32768 * 10 ** (-30 / 20)))) == pytest.approx(0.5, abs=0.01)
    assert meter_level(square(round(32768 * 10 ** (-15 / 20)))) == pytest.approx(0.75, abs=0.01)
    assert meter_level(square(round(32768 * 10 ** (-70 / 20)))) == 0.0


def test_samples_are_little_endian_and_an_odd_byte_is_ignored() -> None:
    assert peak(b"\x00\x40") == 0.5  # 0x4000 little-endian
    assert peak(b"\x00\x40\xff") == 0.5
    assert dbfs(b"\x00\x40") == pytest.approx(20 * math.log10(0.5), abs=0.001)
