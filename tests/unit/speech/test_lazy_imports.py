"""Importing the speech adapters costs nothing: faster_whisper, piper, av and numpy (and what
they pull in) load on the engines' worker threads, on first use, never at import time."""

from __future__ import annotations

import json
import subprocess
import sys

ENGINES = ("faster_whisper", "ctranslate2", "piper", "onnxruntime", "av", "numpy", "tokenizers")


def test_importing_speech_loads_no_engine() -> None:
    code = (
        "import json, sys\n"
        "import keiko_desktop.speech, keiko_desktop.speech.models\n"
        "import keiko_desktop.speech.audio_files, keiko_desktop.speech.whisper\n"
        "import keiko_desktop.speech.piper_voice\n"
        "from keiko_desktop.speech.whisper import WhisperTranscriber\n"
        "from keiko_desktop.speech.piper_voice import PiperSynthesizer\n"
        "WhisperTranscriber().info(); PiperSynthesizer().info()\n"
        f"print(json.dumps([m for m in {ENGINES!r} if m in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(done.stdout) == []
