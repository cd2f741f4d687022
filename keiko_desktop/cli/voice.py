"""`keiko say` and `keiko transcribe`: speech out and in from the terminal.

Both build a ``VoiceService`` straight from the speech adapters (``app.build_voice``): no
database, no chat model, so they start as fast as the engine allows, and the engine (piper,
faster-whisper) is imported on its own worker thread when first used. `keiko say` plays through
the sound card (``ui.voice.playback.play_blocking``, imported only then) or writes a WAV file
with ``--out``; markdown (a reply piped in) is read as ``ReadAloud`` reads it, code blocks
skipped. `keiko transcribe` prints the text a segment a line, escaped (``cli.common.show``: it
is the recording's, not Keiko's), or with ``--json`` the transcript with its segments and
timings; while a long file is transcribed its progress is shown on stderr when that is a
terminal (the share done, never the words).

Exit codes: 0 done, 1 failed (no speech model or voice, no sound device, a missing or
unreadable file, a file that is not audio), 2 bad input (a flag out of range, nothing to say,
an --out that is not a .wav), 130 Ctrl+C.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keiko_desktop.cli.common import error, run_async, show
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.voice.types import AudioClip, Transcript, VoiceError

if TYPE_CHECKING:
    from keiko_desktop.core.voice.service import VoiceService

BAD_INPUT = 2
MAX_SAY = 100_000
"""Characters `keiko say` reads at most (stdin: a file piped in by mistake ends there)."""
PROGRESS_AFTER = 1.0
"""Seconds into a transcription before progress is shown: short files print only the text."""
OUT_HINT = "Or write the speech to a file: keiko say TEXT --out FILE.wav"

Changes = Mapping[str, tuple[str, Any]]


class BadInputError(KeikoError):
    """What the user typed cannot work (exit 2); nothing was started."""


def run_say(args: argparse.Namespace) -> int:
    try:
        changes = _checked(
            {"voice_rate": ("--rate", args.rate), "voice_tts_voice": ("--voice", args.voice)}
        )
        out = _out_target(args.out)
        text = _say_text(args.text)
    except KeikoError as exc:
        error(exc)
        return BAD_INPUT
    if out is None:
        code = run_async(lambda: _settings_ok(changes))  # folders, log, settings: as below
        return code or _speak(text, changes)
    clips: list[AudioClip] = []
    code = run_async(lambda: _synthesize(text, changes, clips))
    if code:
        return code
    if not clips[0].samples:
        return _nothing_to_say()
    return _write(clips[0], out)


def run_transcribe(args: argparse.Namespace) -> int:
    try:
        if args.language is not None and not _language_code(args.language):
            raise BadInputError(
                f"--language {one_line(args.language, 40)!r} is not a language code.",
                "Give a code such as en, de or fr, or '' to detect the language.",
            )
        changes = _checked(
            {
                "voice_language": ("--language", args.language),
                "voice_whisper_model": ("--model", args.model),
                "voice_beam_size": ("--beam-size", args.beam_size),
                "voice_prompt": ("--prompt", args.prompt),
            }
        )
    except KeikoError as exc:
        error(exc)
        return BAD_INPUT
    path = Path(args.file).expanduser()
    problem = _unreadable(path)
    if problem:
        error(VoiceError(f"{one_line(str(path), 300)} {problem}.", "Check the path."))
        return 1
    return run_async(lambda: _transcribe(path, changes, as_json=args.json))


# ---------------------------------------------------------------------- input
def _checked(flags: Mapping[str, tuple[str, Any]]) -> Changes:
    """The flags given, as settings changes, each checked (SettingsError names the flag)."""
    from keiko_desktop.core.config import Settings

    changes = {key: given for key, given in flags.items() if given[1] is not None}
    Settings().with_flags(changes)
    return changes


def _language_code(code: str) -> bool:
    return code == "" or (code.isascii() and code.isalpha() and len(code) <= 8)


def _say_text(words: list[str]) -> str:
    if words and words != ["-"]:
        text = " ".join(words)
    elif sys.stdin is None or sys.stdin.isatty():
        raise BadInputError("Nothing to say.", 'Give the text: keiko say "Hello there".')
    else:  # bytes, decoded leniently: a stray byte is not worth a traceback
        data = sys.stdin.buffer.read(4 * MAX_SAY + 4)
        text = data.decode(sys.stdin.encoding or "utf-8", errors="replace")
    if len(text) > MAX_SAY:
        raise BadInputError(f"The text is over {MAX_SAY:,} characters.", "Say less at once.")
    if "\x00" in text:
        raise BadInputError("The text has a NUL character: is it a binary file?", "Give text.")
    if not text.strip():
        raise BadInputError("Nothing to say: the text is empty.", 'Give the text: keiko say "Hi".')
    return text


def _out_target(out: str | None) -> Path | None:
    """Where ``--out`` writes (``Path("-")``: stdout), checked before any speech is made."""
    if out is None:
        return None
    if out == "-":
        if sys.stdout.isatty():
            raise BadInputError(
                "--out - would write a WAV file to the terminal.", "Pipe it, or > FILE."
            )
        return Path("-")
    path = Path(out).expanduser()
    shown = one_line(str(path), 300)
    if path.suffix.lower() != ".wav":
        raise BadInputError(f"--out {shown}: Keiko writes WAV files.", "Name it FILE.wav.")
    if path.is_dir():
        raise BadInputError(
            f"--out {shown} is a folder.", "Give a file name in it: FOLDER/FILE.wav."
        )
    if not path.parent.is_dir():
        raise BadInputError(
            f"--out {shown}: the folder {one_line(str(path.parent), 300)} does not exist.",
            "Create it first, or write somewhere else.",
        )
    return path


def _unreadable(path: Path) -> str:
    """Why ``path`` cannot be an audio file ("" if it may be one: the decoder decides)."""
    try:
        if not path.exists():
            return "does not exist"
        if path.is_dir():
            return "is a folder, not an audio file"
    except OSError as exc:
        return f"cannot be read ({exc.strerror})"
    if not os.access(path, os.R_OK):
        return "cannot be read (permission denied)"
    return ""


# ---------------------------------------------------------------------- the engines
def _voice(changes: Changes) -> VoiceService:
    """A VoiceService over the settings with ``changes``: no store, no chat model."""
    from keiko_desktop.app import build_voice
    from keiko_desktop.core.config import Paths, load_settings
    from keiko_desktop.core.events import EventBus

    settings = load_settings(Paths.from_env()).with_flags(changes)
    return build_voice(EventBus(asyncio.get_running_loop()), lambda: settings)


async def _synthesize(text: str, changes: Changes, clips: list[AudioClip]) -> int:
    from keiko_desktop.core.voice.sentences import speakable

    voice = _voice(changes)
    try:
        clips.append(await voice.synthesize(speakable(text)))
    finally:
        await voice.aclose()
    return 0


def _nothing_to_say() -> int:
    error(BadInputError("There is nothing to say in that text.", "Give words to say."))
    return BAD_INPUT


async def _settings_ok(changes: Changes) -> int:
    from keiko_desktop.core.config import Paths, load_settings

    load_settings(Paths.from_env()).with_flags(changes)
    return 0


def _speak(text: str, changes: Changes) -> int:
    """Play ``text`` a sentence at a time: the next one is synthesized (on a thread with its
    own loop) while this one plays here, on the main thread, where Qt wants to be."""
    from keiko_desktop.core.voice.sentences import SentenceSplitter

    splitter = SentenceSplitter()
    sentences = splitter.feed(text) + splitter.flush()
    made: queue.Queue[AudioClip | BaseException | None] = queue.Queue(maxsize=1)
    stop = threading.Event()
    producer = threading.Thread(
        target=_produce, args=(sentences, changes, made, stop), name="keiko-say", daemon=True
    )
    producer.start()
    played = 0
    try:
        while (item := made.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            try:
                _play(item)
            except VoiceError as exc:
                error(exc)
                if "--out" not in str(exc):
                    error(OUT_HINT)
                return 1
            played += 1
    except KeyboardInterrupt:
        return 130
    except KeikoError as exc:  # the voice or the settings (the producer's)
        error(exc)
        return 1
    finally:
        stop.set()
        with contextlib.suppress(queue.Empty):
            made.get_nowait()  # a producer waiting to hand over a clip sees the stop
        producer.join(timeout=5)
    return 0 if played else _nothing_to_say()


def _produce(
    sentences: list[str],
    changes: Changes,
    made: queue.Queue[AudioClip | BaseException | None],
    stop: threading.Event,
) -> None:
    def hand_over(item: AudioClip | BaseException | None) -> None:
        while not stop.is_set():
            with contextlib.suppress(queue.Full):
                made.put(item, timeout=0.1)
                return

    async def synthesize_all() -> None:
        voice = _voice(changes)
        try:
            for sentence in sentences:
                if stop.is_set():
                    return
                clip = await voice.synthesize(sentence)
                if clip.samples:
                    hand_over(clip)
        finally:
            await voice.aclose()

    try:
        asyncio.run(synthesize_all())
    except Exception as exc:  # noqa: BLE001 - the main thread reports it
        hand_over(exc)
    finally:
        hand_over(None)


def _play(clip: AudioClip) -> None:
    try:
        from keiko_desktop.ui.voice.playback import play_blocking
    except (ImportError, OSError) as exc:  # Qt's multimedia libraries missing or broken
        raise VoiceError(f"Cannot play sound here: {one_line(str(exc))}", OUT_HINT) from exc
    play_blocking(clip, timeout=clip.duration + 10.0)


def _write(clip: AudioClip, out: Path) -> int:
    data = clip.to_wav()
    if str(out) == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return 0
    # The file appears whole or not at all (never half a WAV), with the modes the umask gives.
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with open(temporary, "xb") as handle:
            handle.write(data)
        os.replace(temporary, out)
    except OSError as exc:
        error(f"Cannot write {out}: {exc.strerror or exc}.")
        temporary.unlink(missing_ok=True)
        return 1
    show(f"Wrote {out} ({clip.duration:.1f} s of speech).")
    return 0


async def _transcribe(path: Path, changes: Changes, *, as_json: bool) -> int:
    voice = _voice(changes)
    progress = _Progress(path) if sys.stderr.isatty() else None
    try:
        transcript = await voice.transcribe_file(path, progress)
    finally:
        if progress is not None:
            progress.clear()
        await voice.aclose()
    _print_transcript(transcript, as_json=as_json)
    if not transcript.text.strip() and not as_json:
        error(f"No speech was heard in {one_line(path.name, 200)}.")
    return 0


def _print_transcript(transcript: Transcript, *, as_json: bool) -> None:
    if as_json:  # every non-ASCII and control character escaped: nothing can drive a terminal
        print(json.dumps(transcript.to_dict(), indent=2))
    elif transcript.segments:  # a line per segment: a long recording reads (and greps) well
        show("\n".join(s.text.strip() for s in transcript.segments if s.text.strip()))
    elif transcript.text.strip():
        show(transcript.text.strip())


class _Progress:
    """``progress(fraction, text)`` drawn on one stderr line, once a second has passed."""

    def __init__(self, path: Path) -> None:
        self._name = one_line(path.name, 60)
        self._start = time.monotonic()
        self._drawn = False

    def __call__(self, fraction: float, _text: str) -> None:
        # The words so far are the recording's: only the share is drawn.
        if time.monotonic() - self._start < PROGRESS_AFTER:
            return
        share = min(1.0, max(0.0, fraction))
        sys.stderr.write(f"\rkeiko: transcribing {self._name}: {share:4.0%}")
        sys.stderr.flush()
        self._drawn = True

    def clear(self) -> None:
        if self._drawn:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
