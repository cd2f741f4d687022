"""The real sound path through a real sound server: a private PulseAudio (its own runtime dir
and socket, started and stopped here) with a pipe source as the microphone and a clocked pipe
sink as the speaker.

A child process (Qt's audio backend picks its server once per process) records a 440 Hz tone
written into the source's FIFO through ``Recorder(MicSource)`` and plays an 880 Hz tone, a tone
stopped early (barge-in) and a cue through ``SpeakerOutput``/``play_blocking``; this test reads
what reached the sink's FIFO and checks each sound is there, at its pitch, for as long as it
should be. Why a pipe sink and not a null sink: PulseAudio's null sink renders in blocks as long
as the longest latency its streams ask for (2 s for Qt's), so a short clip waits seconds there;
a pipe sink with ``use_system_clock_for_timing`` plays in real time. Skipped where pulseaudio
or pactl is missing (``make system-deps``).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers.pulse import RATE, PulseServer, pulse_server

ROOT = Path(__file__).resolve().parents[2]
MIC_TONE = (0.4, 0.8, 440.0)  # starts at, lasts, Hz
MIC_FED = MIC_TONE[0] + MIC_TONE[1] + 0.5  # seconds written into the microphone's FIFO
SPOKEN = (0.6, 880.0)  # lasts, Hz
STOPPED = (3.0, 0.3, 660.0)  # lasts, stopped after, Hz
PAUSE = 0.6  # seconds of silence between the sounds played


@pytest.fixture
def pulse(tmp_path: Path) -> Iterator[PulseServer]:
    with pulse_server(tmp_path / "pulse") as server:
        yield server


# ------------------------------------------------------------------ the child (Keiko's side)
def _tone(seconds: float, frequency: float, rate: int, amplitude: float = 0.5) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return bytes((amplitude * 32767 * np.sin(2 * math.pi * frequency * t)).astype("<i2").tobytes())


def _feed_mic(path: str) -> None:
    """The person speaking: silence, the tone, silence, written in real time."""
    start, length, frequency = MIC_TONE
    pcm = bytes(int(start * RATE) * 2) + _tone(length, frequency, RATE)
    pcm += bytes(int((MIC_FED - start - length) * RATE) * 2)
    chunk = RATE // 50 * 2
    began = time.monotonic()
    with open(path, "wb") as fifo:
        for i in range(0, len(pcm), chunk):
            fifo.write(pcm[i : i + chunk])
            fifo.flush()
            time.sleep(max(0.0, began + (i + chunk) / (2 * RATE) - time.monotonic()))


def child(mic_path: str) -> None:
    """Runs in the child process: records, plays, prints what it measured as JSON."""
    import asyncio

    import qasync
    from PySide6.QtWidgets import QApplication

    from keiko_desktop.core.voice.types import AudioClip
    from keiko_desktop.ui.voice.capture import MicSource, Recorder
    from keiko_desktop.ui.voice.cues import cue
    from keiko_desktop.ui.voice.devices import input_status, output_status
    from keiko_desktop.ui.voice.playback import SpeakerOutput, play_blocking

    app = QApplication([])
    loop = qasync.QEventLoop(app)
    out: dict[str, Any] = {
        "input": input_status("keiko_mic").__dict__,
        "output": output_status().__dict__,
    }

    async def main() -> None:
        recorder = Recorder(lambda: MicSource("keiko_mic"))
        levels: list[tuple[float, float]] = []
        failures: list[str] = []
        recorder.level_changed.connect(lambda v: levels.append((time.monotonic(), v)))
        recorder.failed.connect(failures.append)
        recorder.start()
        began = time.monotonic()
        feeder = threading.Thread(target=_feed_mic, args=(mic_path,), daemon=True)
        feeder.start()
        await asyncio.sleep(2.0)
        clip = recorder.stop()
        out["recorded"] = {
            "seconds": clip.duration,
            "failures": failures,
            "levels": [(round(at - began, 3), round(v, 3)) for at, v in levels],
            "pcm": clip.pcm.hex(),
        }
        await asyncio.sleep(PAUSE)
        speaker = SpeakerOutput()
        length, frequency = SPOKEN
        t = time.monotonic()
        await speaker.play(AudioClip(_tone(length, frequency, 22050), 22050))
        out["play_seconds"] = time.monotonic() - t
        await asyncio.sleep(PAUSE)
        length, after, frequency = STOPPED
        playing = asyncio.ensure_future(speaker.play(AudioClip(_tone(length, frequency, 16000))))
        await asyncio.sleep(after)
        t = time.monotonic()
        speaker.stop()
        await playing
        out["stop_seconds"] = time.monotonic() - t
        await asyncio.sleep(PAUSE)

    with loop:
        loop.run_until_complete(main())
    t = time.monotonic()
    play_blocking(cue("start"))
    out["cue_seconds"] = time.monotonic() - t
    print(json.dumps(out), flush=True)


# ------------------------------------------------------------------ the test
def _sounds(
    pcm: bytes, threshold: float = 0.05, gap: float = 0.3
) -> list[tuple[float, float, bytes]]:
    """The sounds in ``pcm``: runs of 20 ms frames above ``threshold`` RMS, runs less than
    ``gap`` apart counted as one (a loaded machine can make the sound card underrun briefly:
    a short silence inside a sound, nothing lost). Each is (start s, seconds of sound, its
    frames joined)."""
    x = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float64) / 32768
    frame = RATE // 50
    loud = [
        i
        for i in range(0, len(x) - frame, frame)
        if float(np.sqrt(np.mean(x[i : i + frame] ** 2))) > threshold
    ]
    groups: list[list[int]] = []
    for i in loud:
        if groups and i - groups[-1][-1] <= gap * RATE:
            groups[-1].append(i)
        else:
            groups.append([i])
    return [
        (g[0] / RATE, len(g) / 50, b"".join(pcm[2 * i : 2 * (i + frame)] for i in g))
        for g in groups
    ]


def _pitch(pcm: bytes) -> float:
    x = np.frombuffer(pcm[: len(pcm) // 2 * 2], "<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * RATE / len(x))


def test_microphone_and_speaker_through_pulseaudio(pulse: PulseServer) -> None:
    env = dict(os.environ, **pulse.env, QT_QPA_PLATFORM="offscreen")
    code = "import sys; from tests.e2e.test_pulse_capture import child; child(sys.argv[1])"
    result = subprocess.run(
        [sys.executable, "-c", code, str(pulse.mic)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])

    assert out["input"]["available"], out["input"]
    assert any(d[0] == "keiko_mic" for d in out["input"]["devices"])
    assert out["input"]["reason"] == ""
    assert out["output"]["available"], out["output"]

    # The microphone heard the tone: at its pitch, the meter up while it sounded, down before.
    recorded = out["recorded"]
    assert recorded["failures"] == []
    # A pipe source gives only what is written: all of it, but for what came before the
    # stream was connected (the first microphone of a process takes up to ~0.2 s).
    assert MIC_FED - 0.35 <= recorded["seconds"] <= MIC_FED + 0.05
    heard = bytes.fromhex(recorded["pcm"])
    sounds = _sounds(heard)
    assert len(sounds) == 1, [(s, n) for s, n, _ in sounds]
    _, length, pcm = sounds[0]
    assert abs(length - MIC_TONE[1]) <= 0.15
    assert abs(_pitch(pcm) - MIC_TONE[2]) < 10
    levels = recorded["levels"]
    assert max(v for _, v in levels) > 0.8
    assert max(v for at, v in levels if at < 0.2) < 0.1

    # The speaker played the tone whole, the stopped one only until it was stopped, the cue
    # (each sound is seconds of sound: an underrun's silence inside is not counted).
    played = _sounds(bytes(pulse.heard))
    summary = [(round(s, 2), round(n, 2), round(_pitch(p))) for s, n, p in played]
    assert len(played) == 3, summary
    (_, spoken, spoken_pcm), (_, cut, cut_pcm), (_, blip, _) = played
    assert abs(spoken - SPOKEN[0]) <= 0.1, summary
    assert abs(_pitch(spoken_pcm) - SPOKEN[1]) < 10, summary
    assert cut <= STOPPED[1] + 0.25, f"stop() did not stop it: {summary}"
    assert abs(_pitch(cut_pcm) - STOPPED[2]) < 10, summary
    assert 0.08 <= blip <= 0.25, summary
    assert SPOKEN[0] <= out["play_seconds"] <= SPOKEN[0] + 1.0, out["play_seconds"]
    assert out["stop_seconds"] < 0.2
    assert out["cue_seconds"] < 1.0
