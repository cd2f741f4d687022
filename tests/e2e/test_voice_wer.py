"""Word error rate of the bundled tiny.en through Keiko's transcriber, with the options the
app uses by default, on speech with known words from two very different voices: the bundled
piper voice (neural, natural) and espeak-ng (formant-synthesised, robotic, hard).

The issue asks for at most 10% over at least 20 sentences for both. Bare faster-whisper
(``WhisperModel.transcribe`` on the WAV with its default arguments) is measured in the same
run and shown beside Keiko's figure for the same sentences, with the per-call time and the
real-time factor: on all of the espeak-ng sentences, where Keiko must beat it, and on one in
three of the piper ones (both get about 1% there), to keep the file under a minute on two cores.
Spelling is not counted as error: both sides go through a Whisper-style normalizer.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from keiko_desktop.core.config import Settings
from keiko_desktop.core.voice.types import AudioClip, TranscribeOptions
from keiko_desktop.speech import models
from keiko_desktop.speech.whisper import WhisperTranscriber
from tests.helpers.speech_samples import (
    SENTENCES,
    espeak_speech,
    have_espeak,
    normalize,
    piper_speech,
    word_error_rate,
)

pytestmark = pytest.mark.model

MAX_WER = 0.10


@dataclass
class Run:
    refs: list[str]
    hyps: list[str]
    seconds_per_call: float
    rtf: float

    @property
    def wer(self) -> float:
        return word_error_rate(self.refs, self.hyps)

    @property
    def misses(self) -> list[tuple[str, str]]:
        pairs = zip(self.refs, self.hyps, strict=True)
        return [(r, h) for r, h in pairs if normalize(r) != normalize(h)]

    def part(self, some: slice) -> Run:
        return Run(self.refs[some], self.hyps[some], self.seconds_per_call, self.rtf)


@pytest.fixture(scope="module")
def transcriber() -> Iterator[WhisperTranscriber]:
    engine = WhisperTranscriber.from_settings(Settings())
    asyncio.run(engine.load())
    yield engine
    asyncio.run(engine.aclose())


@pytest.fixture(scope="module")
def bare_model() -> Any:
    """faster-whisper as a developer would call it, on the same bundled tiny.en."""
    from faster_whisper import WhisperModel

    return WhisperModel(
        str(models.bundled_whisper_dir()),
        device="cpu",
        compute_type="int8",
        cpu_threads=Settings().effective_threads(),
    )


def keiko_run(engine: WhisperTranscriber, clips: list[AudioClip], refs: list[str]) -> Run:
    options = TranscribeOptions.from_settings(Settings())

    async def all_of_them() -> list[str]:
        return [(await engine.transcribe(clip, options)).text for clip in clips]

    started = time.perf_counter()
    hyps = asyncio.run(all_of_them())
    return _run(refs, hyps, clips, time.perf_counter() - started)


def bare_run(model: Any, clips: list[AudioClip], refs: list[str]) -> Run:
    started = time.perf_counter()
    hyps = []
    for clip in clips:
        segments, _ = model.transcribe(io.BytesIO(clip.to_wav()))
        hyps.append(" ".join(s.text.strip() for s in segments))
    return _run(refs, hyps, clips, time.perf_counter() - started)


def _run(refs: list[str], hyps: list[str], clips: list[AudioClip], took: float) -> Run:
    audio = sum(c.duration for c in clips)
    return Run(refs, hyps, took / len(clips), took / audio)


def report(
    capsys: pytest.CaptureFixture[str], voice: str, keiko: Run, same: Run, bare: Run, every: int
) -> None:
    with capsys.disabled():
        print(f"\n[{voice}] tiny.en")
        rows = [(f"keiko, all {len(SENTENCES)}", keiko)]
        if every > 1:
            rows.append((f"keiko, 1 in {every}", same))
        rows.append((f"bare, {f'1 in {every}' if every > 1 else 'all'}", bare))
        for name, run in rows:
            print(
                f"  {name:16s} WER {100 * run.wer:5.1f}%   {run.seconds_per_call:.2f} s/call"
                f"   RTF {run.rtf:.3f}"
            )
        for ref, hyp in keiko.misses:
            print(f"    said:  {ref}\n    heard: {hyp}")


def check(
    voice: str,
    speak: Callable[[str], AudioClip],
    transcriber: WhisperTranscriber,
    bare_model: Any,
    capsys: pytest.CaptureFixture[str],
    bare_every: int,
) -> tuple[Run, Run]:
    assert len(SENTENCES) >= 20
    refs = list(SENTENCES)
    clips = [speak(sentence) for sentence in refs]
    keiko = keiko_run(transcriber, clips, refs)
    some = slice(0, None, bare_every)
    bare = bare_run(bare_model, clips[some], refs[some])
    same = keiko.part(some)
    report(capsys, voice, keiko, same, bare, bare_every)
    assert keiko.wer <= MAX_WER, f"{voice}: WER {keiko.wer:.1%}"
    return same, bare


def test_piper_speech_wer(
    transcriber: WhisperTranscriber, bare_model: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    check("piper joe", piper_speech, transcriber, bare_model, capsys, bare_every=3)


@pytest.mark.skipif(not have_espeak(), reason="espeak-ng is not installed (make system-deps)")
def test_espeak_speech_wer(
    transcriber: WhisperTranscriber, bare_model: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    keiko, bare = check("espeak-ng", espeak_speech, transcriber, bare_model, capsys, bare_every=1)
    # Robotic speech is where the options matter: they must beat the bare call.
    assert keiko.wer < bare.wer
