"""`keiko doctor`'s voice lines: the bundled and the chosen speech model and voice (real files:
the installed packages, and folders made here), and how device and hotkey answers read. What
Qt says about this machine's devices is checked end to end (tests/e2e/test_voice_cli.py)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
import types
from pathlib import Path

import pytest

from keiko_desktop.cli import doctor_voice
from keiko_desktop.cli.doctor import Check, check_voice
from keiko_desktop.cli.doctor_voice import (
    MIC_FIX,
    device_check,
    device_checks,
    hotkey_check,
    model_checks,
)
from keiko_desktop.core.config import Settings
from keiko_desktop.speech.models import bundled_voice, bundled_whisper_dir


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def test_the_bundled_model_and_voice_are_found() -> None:
    checks = by_name(model_checks(Settings()))
    assert set(checks) == {"speech model", "voice"}  # nothing chosen: no "chosen" lines
    model, voice = checks["speech model"], checks["voice"]
    assert model.level == voice.level == "ok"
    assert model.detail == f"tiny.en (bundled): {bundled_whisper_dir()}"
    assert voice.detail.startswith("en_US joe (medium) (bundled): ")
    assert voice.detail.endswith("en_US-joe-medium.onnx")


def test_a_chosen_model_folder_and_voice_are_checked(tmp_path: Path) -> None:
    folder = tmp_path / "small.en"
    folder.mkdir()
    shutil.copy(bundled_whisper_dir() / "config.json", folder)
    voice = tmp_path / "anna.onnx"
    voice.write_bytes(b"not really onnx")  # no anna.onnx.json beside it
    settings = Settings(voice_whisper_model=str(folder), voice_tts_voice=str(voice))
    checks = by_name(model_checks(settings))
    assert checks["speech model"].level == checks["voice"].level == "ok"  # still bundled
    model = checks["chosen speech model"]
    assert model.level == "fail"
    assert "model.bin" in model.detail
    assert "tokenizer.json" in model.detail
    assert "voice_whisper_model" in model.fix
    chosen = checks["chosen voice"]
    assert chosen.level == "fail"
    assert "anna.onnx.json" in chosen.detail
    missing = by_name(model_checks(Settings(voice_tts_voice=str(tmp_path / "gone.onnx"))))
    assert "does not exist" in missing["chosen voice"].detail


def test_a_complete_chosen_model_is_ok(tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    for item in bundled_whisper_dir().iterdir():
        (folder / item.name).symlink_to(item)
    checks = by_name(model_checks(Settings(voice_whisper_model=str(folder))))
    assert checks["chosen speech model"] == Check("chosen speech model", "ok", str(folder))
    voice = by_name(model_checks(Settings(voice_tts_voice=str(bundled_voice()))))
    assert voice["chosen voice"].level == "ok"


def test_a_missing_engine_fails_saying_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: object) -> object:
        return None if name == "piper" else real(name)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    checks = by_name(model_checks(Settings()))
    assert checks["voice"] == Check(
        "voice", "fail", "piper-tts is not installed", "Run `make run`."
    )
    assert checks["speech model"].level == "ok"


# ---------------------------------------------------------------------- devices
def test_a_device_line_gives_the_reason_or_what_was_found() -> None:
    none = device_check("microphone", False, "No microphone found. Connect one.", (), MIC_FIX)
    assert none == Check("microphone", "warn", "No microphone found. Connect one.", MIC_FIX)
    devices = [(f"id{n}", f"Mic {n}") for n in range(5)]
    devices[0] = ("usb-1", "Evil\x1b]0;title\x07 Mic")
    found = device_check("microphone", True, "", devices, MIC_FIX)
    assert found.level == "ok"
    assert found.detail == "Evil\\x1b]0;title\\x07 Mic, Mic 1, Mic 2 and 2 more"
    assert device_check("speaker", True, "", [("d", "")], "").detail == "d"
    gone = device_check("microphone", True, "The microphone “Old” is not connected.", devices, "")
    assert gone.level == "warn"
    assert gone.detail.startswith("The microphone “Old” is not connected. Found: Evil")


def test_push_to_talk_outside_the_window_reads_as_the_platform_allows() -> None:
    on, off = Settings(), Settings(voice_global_hotkey=False)
    assert hotkey_check(on, True, "") == Check(
        "push-to-talk", "ok", "Ctrl+Space, also outside Keiko's window"
    )
    wayland = hotkey_check(on, False, "Wayland does not let programs listen to keys.")
    assert wayland.level == "warn"
    assert wayland.detail == (
        "Ctrl+Space works only in Keiko's window: Wayland does not let programs listen to keys."
    )
    assert hotkey_check(off, False, "whatever").level == "ok"
    assert "outside it: off" in hotkey_check(off, True, "").detail


def test_qt_failing_to_answer_is_a_warning_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    broken = types.ModuleType("keiko_desktop.ui.voice.devices")

    def input_status(preferred: str = "") -> object:
        raise RuntimeError("could not load the Qt platform plugin")

    broken.input_status = input_status  # type: ignore[attr-defined]
    broken.output_status = input_status  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "keiko_desktop.ui.voice.devices", broken)
    [line] = device_checks(Settings())
    assert line.level == "warn"
    assert "cannot ask Qt about the sound devices: could not load the Qt platform" in line.detail


def test_check_voice_reads_the_settings_file_and_survives_a_broken_one(
    monkeypatch: pytest.MonkeyPatch, keiko_home: Path
) -> None:
    monkeypatch.setattr(doctor_voice, "device_checks", lambda settings: [])
    config = keiko_home / "config"
    config.mkdir(parents=True)
    (config / "settings.toml").write_text(
        'schema_version = 2\n[voice]\nvoice_tts_voice = "/nowhere/x.onnx"\n'
    )
    assert by_name(check_voice())["chosen voice"].level == "fail"
    (config / "settings.toml").write_text("[voice\n")
    assert set(by_name(check_voice())) == {"speech model", "voice"}  # the defaults
