"""Voice: Keiko's speech in and out against the bare libraries, in the same run.

Run as ``python -m benchmarks.bench_voice``; writes ``benchmarks/results/voice.json``.

- **Key release to text.** A 5 s utterance (said by the bundled piper voice, resampled to
  16 kHz as the microphone records) through ``VoiceService.transcribe`` with the default
  settings, warm, as the push-to-talk flow calls it when the key is released; against bare
  faster-whisper ``tiny.en`` on the same samples (same model folder, int8, the same threads),
  once with the options Keiko passes (VAD, beam 5, English, ...) and once with
  faster-whisper's defaults (English). Interleaved rounds; medians; real-time factors.
- **First sentence to first sound.** A reply streamed at 50 pieces a second into
  ``VoiceService.read_aloud`` with a recording output: from the piece that completes the
  first sentence (as ``SentenceSplitter`` judges it) to the first clip handed to the output;
  against a bare ``PiperVoice.synthesize`` of that sentence, and of the opening words
  ``ReadAloud`` says first (``read_aloud.opening``), which is what it synthesizes first. Warm.
- **Idle memory.** RSS of a fresh process after ``build_core`` (no chat model loaded) with
  voice built but unused, the same without voice, and after both engines are loaded and used;
  and which engine modules the idle core has imported (none, if engines load on first use).
- **The commands.** Wall time of `keiko transcribe FILE` and `keiko say TEXT --out F.wav` as
  whole processes, against a plain faster-whisper or piper script doing the same.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import summary, write_results

ROUNDS = int(os.environ.get("KEIKO_BENCH_ROUNDS", "7"))
CLI_ROUNDS = max(2, ROUNDS // 2)
UTTERANCE = (
    "Please remind me to call the dentist tomorrow morning, and add milk and eggs to my "
    "shopping list."
)
"""About five seconds when the bundled voice says it."""
REPLY = (
    "Sure, here is a quick plan for your trip to Lisbon. Start in the old town of Alfama and "
    "walk up to the castle for the view. In the afternoon, take the tram to Belém and try the "
    "custard tarts. End the day with dinner by the river."
)
PIECE = 4
"""Characters per streamed piece (about one token)."""
PIECE_EVERY = 0.02
"""Seconds between pieces: a model writing 50 tokens a second."""
HEAVY = ("faster_whisper", "ctranslate2", "piper", "onnxruntime", "av")
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------- helpers
def median_ms(values: list[float]) -> float:
    return round(statistics.median(values) * 1000, 1)


def ratio(ours: list[float], bare: list[float]) -> float:
    return round(statistics.median(ours) / statistics.median(bare), 3)


def rss_mib() -> float:
    import psutil

    return float(psutil.Process().memory_info().rss / 2**20)


def pieces(text: str) -> list[str]:
    return [text[i : i + PIECE] for i in range(0, len(text), PIECE)]


class RecordingOutput:
    """An ``AudioOutput`` that notes when each clip arrives and plays it in no time."""

    def __init__(self) -> None:
        self.first: float | None = None
        self.clips: list[Any] = []
        self.arrived = asyncio.Event()

    async def play(self, clip: Any) -> None:
        if self.first is None:
            self.first = time.perf_counter()
            self.arrived.set()
        self.clips.append(clip)
        await asyncio.sleep(0)

    def stop(self) -> None:
        pass


def whisper_kwargs(settings: Any, duration: float) -> dict[str, Any]:
    """The keyword arguments Keiko gives ``WhisperModel.transcribe`` for ``settings``."""
    from keiko_desktop.core.voice.types import TranscribeOptions
    from keiko_desktop.speech.whisper import decode_options

    return decode_options(TranscribeOptions.from_settings(settings), duration)


def bare_whisper(threads: int) -> Any:
    from faster_whisper import WhisperModel

    from keiko_desktop.speech.models import bundled_whisper_dir

    return WhisperModel(
        str(bundled_whisper_dir()), device="cpu", compute_type="int8", cpu_threads=threads
    )


def bare_transcribe(model: Any, audio: Any, **kwargs: Any) -> str:
    segments, _info = model.transcribe(audio, **kwargs)
    return "".join(segment.text for segment in segments).strip()


def bare_piper() -> Any:
    from piper import PiperVoice

    from keiko_desktop.speech.models import bundled_voice

    path = bundled_voice()
    return PiperVoice.load(str(path), config_path=str(path) + ".json")


# ---------------------------------------------------------------------- in this process
async def speech_in_and_out() -> dict[str, Any]:
    import numpy as np

    from keiko_desktop.app import build_voice
    from keiko_desktop.core.config import Settings
    from keiko_desktop.core.events import EventBus
    from keiko_desktop.core.voice.read_aloud import opening
    from keiko_desktop.core.voice.sentences import SentenceSplitter
    from keiko_desktop.core.voice.types import AudioClip
    from keiko_desktop.speech.audio_files import resample

    settings = Settings()
    threads = settings.effective_threads()
    voice = build_voice(EventBus(asyncio.get_running_loop()), lambda: settings)
    try:
        await voice.preload(transcriber=True, synthesizer=True)
        said = await voice.synthesize(UTTERANCE)
        clip = resample(said, 16000)
        audio = np.frombuffer(clip.pcm, dtype=np.int16).astype(np.float32) / 32768.0
        same = whisper_kwargs(settings, clip.duration)
        default = {"language": "en"}
        model = bare_whisper(threads)
        for _ in range(2):  # warm both
            await voice.transcribe(clip)
            bare_transcribe(model, audio, **same)
        ours: list[float] = []
        bare_same: list[float] = []
        bare_default: list[float] = []
        texts: dict[str, str] = {}
        for _ in range(ROUNDS):
            start = time.perf_counter()
            transcript = await voice.transcribe(AudioClip(clip.pcm, clip.sample_rate))
            ours.append(time.perf_counter() - start)
            texts["keiko"] = transcript.text.strip()
            start = time.perf_counter()
            texts["bare_same_options"] = bare_transcribe(model, audio, **same)
            bare_same.append(time.perf_counter() - start)
            start = time.perf_counter()
            texts["bare_defaults"] = bare_transcribe(model, audio, **default)
            bare_default.append(time.perf_counter() - start)
        del model

        piper = bare_piper()
        first_sentence = _first_sentence(SentenceSplitter)
        first_words = opening(first_sentence)[0]  # what ReadAloud says first
        complete_at = _completing_piece(SentenceSplitter)
        for _ in range(2):  # warm both
            await voice.synthesize(first_sentence)
            list(piper.synthesize(first_sentence))
        first_audio: list[float] = []
        bare_synth: list[float] = []
        bare_words: list[float] = []
        for _ in range(ROUNDS):
            first_audio.append(await _first_audio(voice, complete_at))
            start = time.perf_counter()
            list(piper.synthesize(first_sentence))
            bare_synth.append(time.perf_counter() - start)
            start = time.perf_counter()
            list(piper.synthesize(first_words))
            bare_words.append(time.perf_counter() - start)
    finally:
        await voice.aclose()
    duration = clip.duration
    return {
        "utterance_s": round(duration, 2),
        "threads": threads,
        "keiko_options": same,
        "release_to_text_s": summary(ours),
        "bare_same_options_s": summary(bare_same),
        "bare_defaults_s": summary(bare_default),
        "texts": texts,
        "first_sentence": first_sentence,
        "first_audio_s": summary(first_audio),
        "bare_piper_sentence_s": summary(bare_synth),
        "first_words": first_words,
        "bare_piper_first_words_s": summary(bare_words),
        "headline": {
            "release_to_text_s": round(statistics.median(ours), 3),
            "bare_whisper_same_options_s": round(statistics.median(bare_same), 3),
            "bare_whisper_defaults_s": round(statistics.median(bare_default), 3),
            "keiko_over_bare_same_options": ratio(ours, bare_same),
            "keiko_over_bare_defaults": ratio(ours, bare_default),
            "rtf_keiko": round(statistics.median(ours) / duration, 3),
            "rtf_bare_same_options": round(statistics.median(bare_same) / duration, 3),
            "first_sentence_to_audio_ms": median_ms(first_audio),
            "bare_piper_sentence_ms": median_ms(bare_synth),
            "first_audio_over_bare_piper": ratio(first_audio, bare_synth),
            "bare_piper_first_words_ms": median_ms(bare_words),
            "first_audio_over_bare_first_words": ratio(first_audio, bare_words),
        },
    }


def _first_sentence(splitter_type: Any) -> str:
    splitter = splitter_type()
    for piece in pieces(REPLY):
        done = splitter.feed(piece)
        if done:
            return str(done[0])
    return str(splitter.flush()[0])


def _completing_piece(splitter_type: Any) -> int:
    """The index of the piece after which the splitter hands out the first sentence."""
    splitter = splitter_type()
    for n, piece in enumerate(pieces(REPLY)):
        if splitter.feed(piece):
            return n
    raise AssertionError("the reply has no complete sentence")


async def _first_audio(voice: Any, complete_at: int) -> float:
    """Seconds from feeding the piece that completes the first sentence to the first clip
    handed to the output, while the rest of the reply goes on streaming."""
    output = RecordingOutput()
    reader = voice.read_aloud(output)
    completed = 0.0
    for n, piece in enumerate(pieces(REPLY)):
        reader.feed(piece)
        if n == complete_at:
            completed = time.perf_counter()
        if output.first is not None:
            break
        await asyncio.sleep(PIECE_EVERY)
    await asyncio.wait_for(output.arrived.wait(), 30)
    reader.stop()
    await asyncio.wait_for(reader.wait(), 30)
    await voice.synthesize(" ")  # queued behind what the stopped reader left on the worker
    assert output.first is not None
    if not completed:
        raise AssertionError("speech started before the first sentence was complete")
    return output.first - completed


# ---------------------------------------------------------------------- child processes
async def _memory_child(with_voice: bool) -> dict[str, Any]:
    """In a fresh process: RSS after build_core, idle, and (with voice) with engines used."""
    from keiko_desktop.app import build_core
    from keiko_desktop.core.config import Paths, Settings

    paths = Paths.from_env()
    before = rss_mib()
    core = await build_core(paths, Settings(), start_model=False, with_voice=with_voice)
    try:
        await asyncio.sleep(0.5)  # the start-up purge and recovery settle
        out: dict[str, Any] = {
            "before_core_mib": round(before, 1),
            "idle_mib": round(rss_mib(), 1),
            "engine_modules_idle": [m for m in HEAVY if m in sys.modules],
        }
        if core.voice is not None:
            out["loaded_idle"] = list(core.voice.loaded())
            start = time.perf_counter()
            await core.voice.preload(transcriber=True, synthesizer=True)
            out["preload_s"] = round(time.perf_counter() - start, 2)
            out["loaded_mib"] = round(rss_mib(), 1)
            clip = await core.voice.synthesize(UTTERANCE)
            await core.voice.transcribe(clip)
            out["used_mib"] = round(rss_mib(), 1)
            out["loaded"] = list(core.voice.loaded())
    finally:
        await core.aclose()
    return out


def memory() -> dict[str, Any]:
    results = {}
    for with_voice in (True, False):
        with tempfile.TemporaryDirectory() as home:
            done = subprocess.run(
                [sys.executable, "-m", "benchmarks.bench_voice", "--memory", str(with_voice)],
                env={**os.environ, "KEIKO_HOME": home},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=600,
                check=True,
            )
        results["voice" if with_voice else "no_voice"] = json.loads(done.stdout.splitlines()[-1])
    voice, none = results["voice"], results["no_voice"]
    return {
        **results,
        "headline": {
            "idle_rss_voice_mib": voice["idle_mib"],
            "idle_rss_no_voice_mib": none["idle_mib"],
            "idle_voice_cost_mib": round(voice["idle_mib"] - none["idle_mib"], 1),
            "engine_modules_idle": voice["engine_modules_idle"],
            "loaded_engines_rss_mib": voice["loaded_mib"],
            "engines_cost_mib": round(voice["used_mib"] - voice["idle_mib"], 1),
        },
    }


BARE_TRANSCRIBE = """
import sys
from faster_whisper import WhisperModel
model = WhisperModel(sys.argv[1], device="cpu", compute_type="int8", cpu_threads=int(sys.argv[3]))
segments, _ = model.transcribe(sys.argv[2], language="en", vad_filter=True)
print("".join(s.text for s in segments).strip())
"""
BARE_SAY = """
import sys, wave
from piper import PiperVoice
voice = PiperVoice.load(sys.argv[1], config_path=sys.argv[1] + ".json")
with wave.open(sys.argv[3], "wb") as out:
    voice.synthesize_wav(sys.argv[2], out)
"""


def _timed(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, timeout=300)
    return time.perf_counter() - start


def commands() -> dict[str, Any]:
    from keiko_desktop.core.config import Settings
    from keiko_desktop.speech.models import bundled_voice, bundled_whisper_dir

    threads = str(Settings().effective_threads())
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "KEIKO_HOME": str(Path(tmp) / "home")}
        wav = str(Path(tmp) / "said.wav")
        keiko = [sys.executable, "-m", "keiko_desktop"]
        pairs = {
            "say": (
                [*keiko, "say", UTTERANCE, "--out", wav],
                [sys.executable, "-c", BARE_SAY, str(bundled_voice()), UTTERANCE, wav],
            ),
            "transcribe": (
                [*keiko, "transcribe", wav],
                [sys.executable, "-c", BARE_TRANSCRIBE, str(bundled_whisper_dir()), wav, threads],
            ),
        }
        times: dict[str, dict[str, list[float]]] = {}
        for name, (ours, bare) in pairs.items():
            _timed(ours, env)  # warm the page cache for both (and make the WAV)
            _timed(bare, env)
            runs: dict[str, list[float]] = {"keiko": [], "bare": []}
            for _ in range(CLI_ROUNDS):
                runs["keiko"].append(_timed(ours, env))
                runs["bare"].append(_timed(bare, env))
            times[name] = runs
    headline = {}
    for name, runs in times.items():
        headline[f"keiko_{name}_s"] = round(statistics.median(runs["keiko"]), 2)
        headline[f"bare_{name}_script_s"] = round(statistics.median(runs["bare"]), 2)
        headline[f"keiko_{name}_over_bare"] = ratio(runs["keiko"], runs["bare"])
    return {
        "runs": {n: {k: summary(v) for k, v in r.items()} for n, r in times.items()},
        "headline": headline,
    }


def main() -> None:
    inside = asyncio.run(speech_in_and_out())
    rss = memory()
    cli = commands()
    write_results(
        "voice",
        {
            "headline": {
                **inside.pop("headline"),
                **rss.pop("headline"),
                **cli.pop("headline"),
                "targets": {
                    "release_to_text_s": 0.8,
                    "keiko_over_bare": 1.1,
                    "first_sentence_to_audio_ms": 300,
                },
            },
            "rounds": ROUNDS,
            "speech": inside,
            "memory": rss,
            "commands": cli,
        },
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory":
        print(json.dumps(asyncio.run(_memory_child(sys.argv[2] == "True"))))
    else:
        main()
