"""The arguments of `keiko say` and `keiko transcribe`: built without importing any speech
engine, Qt or the store, so every other command starts without them."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def add_voice_parsers(sub: Any) -> None:
    """Register ``keiko say`` and ``keiko transcribe`` on the top-level subparsers."""
    say = sub.add_parser(
        "say",
        help="speak text aloud with the bundled voice, or write it to a WAV file (--out)",
        description="Speak TEXT (or, without it, what stdin holds) with Keiko's voice. "
        "Markdown is read as a person would (code blocks are skipped).",
    )
    say.add_argument("text", nargs="*", help="what to say (quote it, or give several words)")
    say.add_argument(
        "--out",
        metavar="FILE.wav",
        default=None,
        help="write the speech to this WAV file instead of playing it (- for stdout)",
    )
    say.add_argument("--rate", type=float, default=None, help="speed: 1 the voice's own, 0.5-2")
    say.add_argument("--voice", metavar="PATH", default=None, help="a Piper voice (.onnx)")

    transcribe = sub.add_parser(
        "transcribe",
        help="write down what is said in an audio file (wav, mp3, m4a, ogg, flac, ...)",
        description="Transcribe FILE with the speech model; the text goes to stdout.",
    )
    transcribe.add_argument("file", type=Path, help="the audio file")
    transcribe.add_argument(
        "--json", action="store_true", help="one JSON object with the segments and timings"
    )
    transcribe.add_argument(
        "--language", default=None, help="the spoken language's code (en, de...; '' detects)"
    )
    transcribe.add_argument(
        "--model", metavar="DIR", default=None, help="a faster-whisper model folder"
    )
    transcribe.add_argument(
        "--beam-size", type=int, default=None, help="guesses weighed at once, 1-10 (default 5)"
    )
    transcribe.add_argument(
        "--prompt", default=None, help="names and terms to expect (recognition leans to them)"
    )
