"""Playing without a sound card: the blips, and the clear error (with what to do instead)
when there is no output device. Real playback into a PulseAudio sink is in
tests/e2e/test_pulse_capture.py."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from keiko_desktop.core.voice.types import WHISPER_RATE, AudioClip, VoiceError
from keiko_desktop.ui.voice.cues import cue
from keiko_desktop.ui.voice.devices import NO_OUTPUT, find_output, output_status
from keiko_desktop.ui.voice.playback import SpeakerOutput, play_blocking

ROOT = Path(__file__).resolve().parents[2]
SPEECH = AudioClip(bytes(WHISPER_RATE), WHISPER_RATE)  # half a second (of silence)


def test_cues_are_short_soft_and_different() -> None:
    start, end = cue("start"), cue("end")
    for clip in (start, end):
        assert clip.sample_rate == WHISPER_RATE
        assert 0.08 <= clip.duration <= 0.25
        x = np.frombuffer(clip.pcm, "<i2").astype(np.float64) / 32768
        assert 0.15 <= np.abs(x).max() <= 0.3, "not soft, or silent"
        assert abs(x[0]) < 0.01, "starts with a click"
        assert abs(x[-1]) < 0.01, "ends with a click"
    assert start.pcm != end.pcm
    assert cue("start") is start, "made again on every use"

    def pitch(x: np.ndarray[Any, Any]) -> float:
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        return float(np.argmax(spectrum) * WHISPER_RATE / len(x))

    s = np.frombuffer(start.pcm, "<i2").astype(np.float64)
    half = len(s) // 2
    assert pitch(s[:half]) < pitch(s[half:]), "the start cue should rise"
    e = np.frombuffer(end.pcm, "<i2").astype(np.float64)
    assert pitch(e[:half]) > pitch(e[half:]), "the end cue should fall"
    with pytest.raises(ValueError, match="start"):
        cue("middle")  # type: ignore[arg-type]


@pytest.fixture
def no_output(qapp: Any) -> None:
    if find_output() is not None:
        pytest.skip("this machine has a sound output; the no-device path needs one without")


@pytest.mark.usefixtures("no_output")
def test_no_output_device_is_a_voice_error_with_a_way_out(run: Any) -> None:
    status = output_status()
    assert not status.available
    assert status.reason == NO_OUTPUT
    output = SpeakerOutput()
    with pytest.raises(VoiceError) as raised:
        run(output.play(SPEECH), timeout=5)
    assert raised.value.message == NO_OUTPUT
    assert "--out" in raised.value.hint
    assert not output.playing
    output.stop()  # nothing playing: nothing happens


@pytest.mark.usefixtures("no_output")
def test_play_blocking_without_a_device() -> None:
    started = time.monotonic()
    with pytest.raises(VoiceError, match="No sound output device"):
        play_blocking(SPEECH)
    assert time.monotonic() - started < 2


def test_nothing_to_play_returns_at_once(run: Any) -> None:
    output = SpeakerOutput()
    run(output.play(AudioClip(b"", WHISPER_RATE)), timeout=2)
    play_blocking(AudioClip(b"", WHISPER_RATE))
    assert not output.playing


def test_importing_voice_costs_no_multimedia() -> None:
    """The window imports these at start; QtMultimedia (about 0.2 s) and numpy load on first
    use only (docs/architecture.md §2b)."""
    code = (
        "import sys\n"
        "import keiko_desktop.ui.voice.capture, keiko_desktop.ui.voice.playback\n"
        "import keiko_desktop.ui.voice.ptt_keys, keiko_desktop.ui.voice.global_hotkey\n"
        "import keiko_desktop.ui.voice.devices, keiko_desktop.ui.voice.cues\n"
        "heavy = [m for m in ('PySide6.QtMultimedia', 'numpy') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"imported at start: {result.stdout.strip()}"
