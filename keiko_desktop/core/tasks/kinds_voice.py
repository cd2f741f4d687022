"""``transcribe``: an audio file (wav, mp3, m4a, ogg, flac, ... through PyAV) to text, as a
background task with progress, through ``VoiceService`` (the speech engine's one door).

A chat sends audio files longer than ``LONG_AUDIO`` here; ``keiko tasks add transcribe
--param path=FILE`` does the same. The file is checked before the engine sees it: missing, a
folder, or not audio (no audio stream PyAV can read) is a ``TaskParamError`` naming ``path``,
so it fails at once and is never retried; so is a recording with no speech in it. Progress
is the share of the audio transcribed (the engine reports it segment by segment). The result
is the transcript's text alone (it goes into the chat's box as it is), cut to the results'
bound; how long the audio was and how long it took is its last progress report. Cancelling the
task cancels the call, and the engine stops at its next segment.
"""

from __future__ import annotations

import asyncio
import os
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.errors import TaskError, TaskParamError
from keiko_desktop.core.tasks.kinds import Done, Param, TaskContext, TaskKind
from keiko_desktop.core.tasks.kinds_basic import cut_result, task_error
from keiko_desktop.core.voice.types import AUDIO_SUFFIXES, VoiceError

MAX_LANGUAGE = 8
"""Characters of a language code (``en``, ``de``, ``yue``), as the ``voice_language`` setting."""


def clock(seconds: float) -> str:
    """``seconds`` as people read a recording's length: ``0:05``, ``12:40``, ``1:02:03``."""
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02}:{secs:02}" if hours else f"{minutes}:{secs:02}"


def _check_file(path: Path) -> None:
    """Refuse what is not a readable regular file (blocking: call it in a thread)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise TaskParamError(
            "path", f"{one_line(str(path))} does not exist", "Check the path."
        ) from None
    except OSError as error:
        raise TaskParamError(
            "path", f"{one_line(str(path))} cannot be read ({error.strerror})"
        ) from None
    if stat.S_ISDIR(info.st_mode):
        raise TaskParamError("path", f"{one_line(str(path))} is a folder, not an audio file")
    if not stat.S_ISREG(info.st_mode):
        raise TaskParamError("path", f"{one_line(str(path))} is not a regular file")
    if not os.access(path, os.R_OK):
        raise TaskParamError("path", f"{one_line(str(path))} cannot be read (permission denied)")


def _check_language(params: Mapping[str, Any]) -> None:
    language = params.get("language")
    if language is not None and not (language.isascii() and language.isalpha()):
        raise TaskParamError(
            "language",
            f"{language!r} is not a language code",
            "Give a code such as en, de or fr, or leave it empty for the setting's.",
        )


async def run_transcribe(ctx: TaskContext, params: Mapping[str, Any]) -> Done:
    voice = ctx.services.voice
    if voice is None:
        raise TaskError(
            "Speech recognition is not available here.", "See `keiko doctor` (speech model)."
        )
    path = Path(params["path"])
    name = one_line(path.name or str(path), 80)
    ctx.progress(0, "reading the file")
    await asyncio.to_thread(_check_file, path)
    try:
        duration = await voice.file_duration(path)
    except VoiceError as error:  # not audio: trying again changes nothing
        raise TaskParamError("path", error.message, error.hint) from None
    ctx.progress(1, f"transcribing {clock(duration)} of audio")
    started = time.monotonic()

    def progress(fraction: float, _text: str) -> None:
        # The words so far are the recording's, not Keiko's: only the share is shown.
        done = min(1.0, max(0.0, fraction))
        heard = f" ({clock(done * duration)} of {clock(duration)})" if duration else ""
        ctx.progress(1 + 98 * done, f"transcribing{heard}")

    try:  # no language given: the Spoken language setting's
        transcript = await voice.transcribe_file(path, progress, language=params.get("language"))
    except KeikoError as error:
        raise task_error(error, "Could not transcribe: ") from None
    text = transcript.text.strip()
    if not text:
        raise TaskParamError(
            "path",
            f"no speech was heard in {name}",
            "Check that the recording has speech in it, and the Spoken language setting.",
        )
    took = time.monotonic() - started
    ctx.progress(100, f"{clock(transcript.duration or duration)} of audio in {clock(took)}")
    return Done(result=cut_result(text))


TRANSCRIBE = TaskKind(
    "transcribe",
    "Transcribe",
    "Writes down what is said in an audio file (wav, mp3, m4a, ogg, flac, ...) with the "
    "speech model.",
    run_transcribe,
    params=(
        Param(
            "path",
            "path",
            "Audio file",
            help="The recording to transcribe: " + ", ".join(sorted(AUDIO_SUFFIXES)) + ".",
        ),
        Param(
            "language",
            "text",
            "Language",
            required=False,
            help="A language code such as en or de; empty: the Spoken language setting.",
            max_length=MAX_LANGUAGE,
        ),
    ),
    extra_check=_check_language,
)
