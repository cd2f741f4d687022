"""Recording without a sound card: what the mic button is told when there is no microphone,
a clip fed in real time (ClipSource), and the Recorder's clip, level meter, elapsed time,
time limit and cancel over it. The real microphone path (PulseAudio) is in
tests/e2e/test_pulse_capture.py; the conversion of a device's own format is tested here."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np
import pytest

from keiko_desktop.core.voice.types import WHISPER_RATE, AudioClip
from keiko_desktop.ui.voice import pcm
from keiko_desktop.ui.voice.capture import BYTES_PER_SECOND, ClipSource, MicSource, Recorder
from keiko_desktop.ui.voice.devices import NO_MICROPHONE, find_input, input_status
from tests.helpers.qt_spin import spin, spin_until


def tone(
    seconds: float, frequency: float = 440.0, amplitude: float = 0.5, rate: int = 16000
) -> AudioClip:
    t = np.arange(int(seconds * rate)) / rate
    x = amplitude * np.sin(2 * math.pi * frequency * t)
    return AudioClip((x * 32767).astype("<i2").tobytes(), rate)


def silence(seconds: float) -> AudioClip:
    return AudioClip(bytes(int(seconds * WHISPER_RATE) * 2), WHISPER_RATE)


def dominant_frequency(clip: AudioClip) -> float:
    x = np.frombuffer(clip.pcm, "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * clip.sample_rate / len(x))


# ------------------------------------------------------------------ no microphone here
@pytest.fixture
def no_microphone(qapp: Any) -> None:
    if find_input() is not None:
        pytest.skip("this machine has a microphone; the no-device path needs one without")


@pytest.mark.usefixtures("no_microphone")
def test_no_microphone_says_what_to_do() -> None:
    status = input_status()
    assert not status.available
    assert status.reason == NO_MICROPHONE
    assert "PipeWire or PulseAudio" in status.reason
    assert status.devices == ()


@pytest.mark.usefixtures("no_microphone")
def test_mic_source_and_recorder_fail_with_the_reason(qtbot: Any) -> None:
    source = MicSource()
    with qtbot.waitSignal(source.failed, timeout=1000) as failed:
        source.start()
    assert failed.args == [NO_MICROPHONE]
    assert not source.active

    recorder = Recorder(MicSource)
    started: list[bool] = []
    recorder.started.connect(lambda: started.append(True))
    with qtbot.waitSignal(recorder.failed, timeout=1000) as failed:
        recorder.start()
    assert failed.args == [NO_MICROPHONE]
    assert not recorder.recording
    assert started == []
    assert recorder.stop().pcm == b""


def test_devices_match_what_qt_lists(qapp: Any) -> None:
    from PySide6.QtMultimedia import QMediaDevices

    status = input_status("a microphone that is not there")
    assert status.available == bool(QMediaDevices.audioInputs())
    assert len(status.devices) == len(QMediaDevices.audioInputs())
    if status.available:
        assert "not connected" in status.reason


# ------------------------------------------------------------------ ClipSource
def test_clip_source_feeds_in_real_time_in_20_ms_chunks(qapp: Any) -> None:
    clip = tone(0.5)
    source = ClipSource(clip)
    chunks: list[tuple[float, bytes]] = []
    done: list[float] = []
    source.chunk.connect(lambda data: chunks.append((time.monotonic(), data)))
    source.finished.connect(lambda: done.append(time.monotonic()))
    start = time.monotonic()
    source.start()
    spin_until(lambda: done, timeout=5)
    took = done[0] - start
    assert 0.45 <= took <= 1.2, f"0.5 s of audio took {took:.2f} s"
    assert b"".join(c for _, c in chunks) == clip.pcm
    sizes = {len(c) for _, c in chunks[:-1]}
    assert sizes == {640}, f"not 20 ms chunks: {sizes}"
    # Paced: after 0.2 s of real time, about 0.2 s of audio had been sent, not all of it.
    by_200ms = sum(len(c) for at, c in chunks if at - start <= 0.2) / BYTES_PER_SECOND
    assert 0.04 <= by_200ms <= 0.3
    assert not source.active


def test_clip_source_resamples_and_then_goes_on_with_silence(qapp: Any) -> None:
    clip = tone(0.3, frequency=1000, rate=22050)
    source = ClipSource(clip, then_silence=True)
    received = bytearray()
    finished: list[bool] = []
    source.chunk.connect(received.extend)
    source.finished.connect(lambda: finished.append(True))
    source.start()
    spin_until(lambda: len(received) >= BYTES_PER_SECOND * 0.6)
    source.stop()
    assert finished == [], "then_silence never finishes"
    heard = AudioClip(bytes(received[: int(0.3 * BYTES_PER_SECOND)]))
    assert abs(dominant_frequency(heard) - 1000) < 20, "not resampled to 16 kHz"
    tail = np.frombuffer(bytes(received[int(0.35 * BYTES_PER_SECOND) :]), "<i2")
    assert len(tail) > 0
    assert not tail.any(), "after the clip comes silence"


# ------------------------------------------------------------------ Recorder
def record(clip: AudioClip, **kwargs: Any) -> tuple[Recorder, dict[str, list[Any]]]:
    recorder = Recorder(lambda: ClipSource(clip), **kwargs)
    seen: dict[str, list[Any]] = {
        name: []
        for name in ("started", "level", "elapsed", "chunk", "stopped", "cancelled", "failed")
    }
    recorder.started.connect(lambda: seen["started"].append(time.monotonic()))
    recorder.level_changed.connect(lambda v: seen["level"].append((time.monotonic(), v)))
    recorder.elapsed_changed.connect(lambda v: seen["elapsed"].append(v))
    recorder.chunk.connect(lambda c: seen["chunk"].append(c))
    recorder.stopped.connect(lambda c: seen["stopped"].append(c))
    recorder.cancelled.connect(lambda: seen["cancelled"].append(True))
    recorder.failed.connect(lambda r: seen["failed"].append(r))
    return recorder, seen


def test_recorder_levels_move_with_speech_and_stay_low_in_silence(qapp: Any) -> None:
    loud = silence(0.2) + tone(0.6, amplitude=0.6) + silence(0.4)
    recorder, seen = record(loud)
    recorder.start()
    assert recorder.recording
    spin_until(lambda: seen["stopped"], timeout=5)  # the clip ran out: stopped by itself
    clip: AudioClip = seen["stopped"][0]
    assert clip.pcm == loud.pcm
    assert not recorder.recording
    assert len(seen["started"]) == 1
    start = seen["started"][0]
    levels = [(at - start, v) for at, v in seen["level"]]
    during = [v for at, v in levels if 0.35 <= at <= 0.75]
    before = [v for at, v in levels if 0.02 <= at <= 0.18]
    assert during, levels
    assert max(during) > 0.7, f"the meter did not rise: {during}"
    assert before, levels
    assert max(before) < 0.05, f"silence moved the meter: {before}"
    assert levels[-1][1] == 0.0, "the meter does not go back to empty"
    # At most ~30 updates a second (plus the start and stop ones).
    assert len(levels) <= 1.2 * 30 * loud.duration + 3
    elapsed = seen["elapsed"]
    assert elapsed == sorted(elapsed)
    assert 0.9 <= elapsed[-1] <= 1.2
    assert b"".join(seen["chunk"]) == loud.pcm


def test_recorder_stop_returns_what_was_heard_so_far(qapp: Any) -> None:
    recorder, seen = record(tone(3.0), max_seconds=300)
    recorder.start()
    spin(400)
    clip = recorder.stop()
    assert 0.3 <= clip.duration <= 0.8
    assert seen["stopped"] == [clip]
    assert abs(dominant_frequency(clip) - 440) < 10
    assert recorder.stop().pcm == b"", "a second stop records nothing"
    assert len(seen["stopped"]) == 1


def test_stop_keeps_what_the_source_still_held(qapp: Any) -> None:
    """Audio recorded but not yet handed over when the key comes up is kept (drained)."""
    recorder, _ = record(tone(3.0))
    recorder.start()
    spin(200)
    time.sleep(0.15)  # the loop is busy: 150 ms of sound wait in the source
    clip = recorder.stop()
    # 0.2 s came while the loop ran, 0.15 s waited in the source: without the drain the clip
    # would end near 0.2 s (timers run late on a loaded machine, hence the margin).
    assert clip.duration >= 0.3, f"the last {0.35 - clip.duration:.2f} s were lost"


def test_finish_records_a_little_longer_then_stops(qapp: Any) -> None:
    recorder, seen = record(tone(3.0))
    recorder.start()
    spin(300)
    recorder.finish(0.2)
    assert recorder.recording
    assert recorder.finishing
    recorder.finish(1.0)  # a second release does not extend it
    spin_until(lambda: seen["stopped"], timeout=3)
    clip: AudioClip = seen["stopped"][0]
    assert 0.45 <= clip.duration <= 0.9
    assert not recorder.finishing
    # Esc during the tail: cancelled, nothing kept.
    recorder.start()
    spin(100)
    recorder.finish(0.3)
    recorder.cancel()
    spin(400)
    assert len(seen["stopped"]) == 1
    assert seen["cancelled"] == [True]


def test_recorder_cancel_keeps_nothing(qapp: Any) -> None:
    recorder, seen = record(tone(2.0))
    recorder.start()
    spin(200)
    recorder.cancel()
    assert seen["cancelled"] == [True]
    assert seen["stopped"] == []
    assert not recorder.recording
    spin(100)
    count = len(seen["chunk"])
    spin(100)
    assert len(seen["chunk"]) == count, "the source went on after cancel"
    # And it can record again.
    recorder.start()
    spin(100)
    assert recorder.stop().duration > 0


def test_recorder_stops_at_its_time_limit(qapp: Any) -> None:
    recorder, seen = record(tone(2.0), max_seconds=0.3)
    recorder.start()
    spin_until(lambda: seen["stopped"], timeout=3)
    clip: AudioClip = seen["stopped"][0]
    assert clip.duration == pytest.approx(0.3, abs=1e-6)


def test_recorder_reports_a_source_that_cannot_be_made(qapp: Any) -> None:
    def broken() -> ClipSource:
        raise OSError("the sound server went away")

    recorder = Recorder(broken)
    failed: list[str] = []
    recorder.failed.connect(failed.append)
    recorder.start()
    assert failed == ["the sound server went away"]
    assert not recorder.recording


# ------------------------------------------------------------------ a device's own format
@pytest.mark.parametrize(
    ("kind", "channels", "rate"),
    [("f32", 2, 48000), ("s16", 1, 44100), ("s32", 2, 16000), ("u8", 1, 8000)],
)
def test_device_formats_become_16_khz_mono(
    kind: pcm.SampleFormat, channels: int, rate: int
) -> None:
    """A microphone that only gives, say, 48 kHz stereo float: chunk by chunk to 16 kHz
    mono PCM16, the tone at the same pitch and loudness, nothing lost at chunk edges."""
    from PySide6.QtMultimedia import QAudioFormat

    from keiko_desktop.ui.voice.microphone import _Converter

    fmt = QAudioFormat()
    fmt.setSampleRate(rate)
    fmt.setChannelCount(channels)
    fmt.setSampleFormat(
        {"f32": QAudioFormat.SampleFormat.Float, "s16": QAudioFormat.SampleFormat.Int16,
         "s32": QAudioFormat.SampleFormat.Int32, "u8": QAudioFormat.SampleFormat.UInt8}[kind]
    )  # fmt: skip
    source = tone(1.0, frequency=440, amplitude=0.5, rate=rate)
    device_bytes = pcm.from_pcm16(source.pcm, kind, channels)
    converter = _Converter(fmt)
    out = b"".join(
        converter.convert(device_bytes[i : i + 997]) for i in range(0, len(device_bytes), 997)
    )
    clip = AudioClip(out, WHISPER_RATE)
    assert clip.duration == pytest.approx(1.0, abs=0.02)
    assert abs(dominant_frequency(clip) - 440) < 5
    x = np.frombuffer(out, "<i2")[800:-800].astype(np.float64) / 32768
    rms = float(np.sqrt(np.mean(x**2)))
    assert rms == pytest.approx(0.5 / math.sqrt(2), rel=0.08)
    # Continuous across chunks: no clicks (a jump far beyond a 440 Hz sine's slope).
    steps = np.abs(np.diff(x))
    assert steps.max() < 2 * math.pi * 440 / WHISPER_RATE * 0.5 * 1.5


def test_resample_keeps_pitch_and_length() -> None:
    clip = tone(1.0, frequency=3000, rate=22050)
    out = pcm.resample(clip, 16000)
    assert out.sample_rate == 16000
    assert out.duration == pytest.approx(1.0, abs=0.001)
    assert abs(dominant_frequency(out) - 3000) < 5
    # Above the new Nyquist frequency (8 kHz) is filtered out, not folded back as a false tone.
    high = pcm.resample(tone(1.0, frequency=10000, rate=22050), 16000)
    level = np.abs(np.frombuffer(high.pcm, "<i2")[200:-200]).max() / 32768
    assert level < 0.02
