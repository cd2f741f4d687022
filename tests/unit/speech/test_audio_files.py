"""Audio files in, clips at 16 kHz out: real files encoded here with PyAV (wav, flac, mp3, m4a,
ogg/opus), resampling that keeps speech clean, and clear errors for what is not audio."""

from __future__ import annotations

import threading
from pathlib import Path

import av
import numpy as np
import pytest

from keiko_desktop.core.voice.types import WHISPER_RATE, AudioClip, VoiceError
from keiko_desktop.speech import audio_files
from keiko_desktop.speech.audio_files import decode_file, file_duration, resample, write_wav
from tests.helpers.speech_samples import encode_file


def tone(freq: float, seconds: float, rate: int, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t) * 32767).astype(np.int16)


def clip_of(samples: np.ndarray, rate: int) -> AudioClip:
    return AudioClip(samples.astype("<i2").tobytes(), rate)


def array_of(clip: AudioClip) -> np.ndarray:
    return np.frombuffer(clip.pcm, dtype="<i2").astype(np.float64)


def main_frequency(clip: AudioClip) -> float:
    x = array_of(clip)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * clip.sample_rate / len(x))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x**2)))


def encode(path: Path, samples: np.ndarray, rate: int, codec: str, layout: str) -> Path:
    return encode_file(path, clip_of(samples, rate), codec, layout)


FORMATS = [
    # name, codec, rate, layout
    ("speech.flac", "flac", 44100, "stereo"),
    ("speech.mp3", "libmp3lame", 44100, "stereo"),
    ("speech.m4a", "aac", 44100, "mono"),
    ("speech.ogg", "libopus", 48000, "mono"),
]


@pytest.mark.parametrize(("name", "codec", "rate", "layout"), FORMATS)
def test_each_format_decodes_to_16k_mono(
    tmp_path: Path, name: str, codec: str, rate: int, layout: str
) -> None:
    path = encode(tmp_path / name, tone(440, 1.5, rate), rate, codec, layout)
    clip = decode_file(path)
    assert clip.sample_rate == WHISPER_RATE
    # Lossy codecs add a few ms of encoder delay and padding, never more than ~0.1 s.
    assert clip.duration == pytest.approx(1.5, abs=0.1)
    assert file_duration(path) == pytest.approx(1.5, abs=0.1)
    assert main_frequency(clip) == pytest.approx(440, abs=3)
    assert rms(array_of(clip)) == pytest.approx(0.3 * 32767 / np.sqrt(2), rel=0.1)


def test_a_wav_decodes_at_any_rate(tmp_path: Path) -> None:
    path = tmp_path / "note.wav"
    path.write_bytes(clip_of(tone(1000, 2.0, 22050), 22050).to_wav())
    clip = decode_file(path)
    assert clip.sample_rate == WHISPER_RATE
    assert clip.samples == pytest.approx(2 * WHISPER_RATE, abs=20)
    assert main_frequency(clip) == pytest.approx(1000, abs=2)
    assert file_duration(path) == pytest.approx(2.0, abs=0.001)
    assert decode_file(path, sample_rate=8000).sample_rate == 8000


@pytest.mark.parametrize(
    "content",
    [b"", b"hello, this is not audio\n" * 50, b"\x89PNG\r\n\x1a\n" + bytes(200)],
    ids=["empty", "text", "png-ish"],
)
def test_a_file_that_is_not_audio_is_a_voice_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "notes.mp3"
    path.write_bytes(content)
    with pytest.raises(VoiceError) as caught:
        decode_file(path)
    assert "notes.mp3" in caught.value.message
    assert "wav, mp3" in caught.value.hint
    with pytest.raises(VoiceError):
        file_duration(path)


def test_a_video_without_sound_is_a_voice_error(tmp_path: Path) -> None:
    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    with pytest.raises(VoiceError, match="no audio stream"):
        decode_file(path)


def test_missing_files_and_folders_are_voice_errors(tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match="does not exist"):
        decode_file(tmp_path / "gone.wav")
    with pytest.raises(VoiceError, match="is a folder"):
        decode_file(tmp_path)
    with pytest.raises(VoiceError, match="does not exist"):
        file_duration(tmp_path / "gone.wav")


def test_a_hostile_file_name_is_escaped(tmp_path: Path) -> None:
    path = tmp_path / "x\x1b[2J.wav"
    path.write_text("not audio")
    with pytest.raises(VoiceError) as caught:
        decode_file(path)
    assert "\x1b" not in caught.value.message
    assert "\\x1b[2J.wav" in caught.value.message


def test_a_truncated_file_keeps_what_was_there(tmp_path: Path) -> None:
    whole = encode(tmp_path / "whole.flac", tone(440, 3.0, 44100), 44100, "flac", "mono")
    cut = tmp_path / "cut.flac"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    clip = decode_file(cut)
    assert 0.5 < clip.duration < 2.9
    assert main_frequency(clip) == pytest.approx(440, abs=3)


def test_decoding_stops_when_cancelled(tmp_path: Path) -> None:
    path = encode(tmp_path / "long.flac", tone(440, 5.0, 44100), 44100, "flac", "mono")
    stop = threading.Event()
    stop.set()
    with pytest.raises(audio_files.DecodeCancelledError):
        decode_file(path, cancelled=stop)


def test_resample_keeps_a_tone_and_the_length() -> None:
    clip = resample(clip_of(tone(440, 2.0, 22050), 22050))
    assert clip.sample_rate == WHISPER_RATE
    assert clip.samples == pytest.approx(2 * WHISPER_RATE, abs=20)
    assert main_frequency(clip) == pytest.approx(440, abs=2)
    up = resample(clip_of(tone(440, 1.0, 8000), 8000), 48000)
    assert up.samples == pytest.approx(48000, abs=20)
    assert main_frequency(up) == pytest.approx(440, abs=2)


def test_resample_filters_what_the_new_rate_cannot_hold() -> None:
    """A 10 kHz tone cannot exist at 16 kHz (its limit is 8 kHz): a band-limited resampler
    removes it; naive interpolation folds it down to an audible 6 kHz whistle."""
    high = clip_of(tone(10_000, 1.0, 48000), 48000)
    out = array_of(resample(high))[200:-200]
    assert rms(out) < 0.01 * rms(array_of(high))
    x = array_of(high)
    naive = np.interp(np.linspace(0, len(x) - 1, len(x) // 3), np.arange(len(x)), x)
    assert rms(naive) > 0.3 * rms(x)  # what the test guards against


def test_resample_to_the_same_rate_is_the_same_clip() -> None:
    clip = clip_of(tone(440, 0.1, 16000), 16000)
    assert resample(clip) is clip
    assert resample(AudioClip(b"", 22050)) == AudioClip(b"", WHISPER_RATE)


def test_write_wav_round_trips(tmp_path: Path) -> None:
    clip = clip_of(tone(300, 0.5, 22050), 22050)
    path = tmp_path / "out.wav"
    write_wav(path, clip)
    assert AudioClip.from_wav(path.read_bytes()) == clip
    with pytest.raises(VoiceError, match="Could not write") as caught:
        write_wav(tmp_path / "no" / "such" / "dir.wav", clip)
    assert "folder you can write to" in caught.value.hint
