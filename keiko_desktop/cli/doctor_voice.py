"""`keiko doctor`'s voice lines: the speech engines and their models, the sound devices, and
push-to-talk outside the window.

The models are checked by path (``speech.models``: nothing is imported or loaded). The
devices and the hotkey are asked of Qt (``ui.voice``), imported only here, the way the mic
button asks, so a missing microphone reads exactly as its tooltip does.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from keiko_desktop.cli.doctor import Check
from keiko_desktop.core.config import Paths, Settings, load_settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line

MIC_FIX = "Push-to-talk is off until there is one; `keiko transcribe FILE` works without."
SPEAKER_FIX = (
    "Replies are not read aloud until there is one; `keiko say TEXT --out FILE.wav` works."
)
HOTKEY_FIX = "For push-to-talk outside the window, use an X11 session."
CHOOSE_FIX = "Choose one that is there in Settings > Voice, or leave the system default."
_ENGINES = {"speech model": ("faster_whisper", "faster-whisper"), "voice": ("piper", "piper-tts")}


def voice_checks(settings: Settings | None = None) -> list[Check]:
    if settings is None:
        try:
            settings = load_settings(Paths.from_env())
        except KeikoError:
            settings = Settings()  # the settings line says what is wrong with the file
    return [*model_checks(settings), *device_checks(settings)]


def model_checks(settings: Settings) -> list[Check]:
    """The bundled speech model and voice, and the ones the settings choose, if any."""
    from keiko_desktop.speech import models

    checks: list[Check] = []
    for name, bundled, chosen, setting in (
        ("speech model", models.bundled_whisper_dir, models.whisper_dir, "voice_whisper_model"),
        ("voice", models.bundled_voice, models.voice_file, "voice_tts_voice"),
    ):
        module, package = _ENGINES[name]
        if importlib.util.find_spec(module) is None:
            checks.append(Check(name, "fail", f"{package} is not installed", "Run `make run`."))
            continue
        try:
            path = bundled()
            label = models.WHISPER_NAME if name == "speech model" else models.VOICE_NAME
            checks.append(Check(name, "ok", f"{label} (bundled): {_shown(path)}"))
        except KeikoError as exc:
            checks.append(Check(name, "fail", exc.message, exc.hint))
        value = getattr(settings, setting)
        if value.strip():
            try:
                checks.append(Check(f"chosen {name}", "ok", _shown(chosen(value))))
            except KeikoError as exc:
                checks.append(Check(f"chosen {name}", "fail", exc.message, exc.hint))
    return checks


def device_checks(settings: Settings) -> list[Check]:
    """The microphone and the speaker as Qt sees them, and the global push-to-talk key."""
    try:
        from keiko_desktop.ui.voice.devices import input_status, output_status
        from keiko_desktop.ui.voice.global_hotkey import GlobalHotkey

        mic = input_status(settings.voice_input_device)
        speaker = output_status()
        hotkey = GlobalHotkey.support()
    except Exception as exc:  # noqa: BLE001 - Qt failing to start is itself the finding
        detail = f"cannot ask Qt about the sound devices: {one_line(str(exc))}"
        return [Check("microphone", "warn", detail, "Run `keiko` to see.")]
    return [
        device_check("microphone", mic.available, mic.reason, mic.devices, MIC_FIX),
        device_check("speaker", speaker.available, speaker.reason, speaker.devices, SPEAKER_FIX),
        hotkey_check(settings, *hotkey),
    ]


def device_check(
    name: str, available: bool, reason: str, devices: Sequence[tuple[str, str]], fix: str
) -> Check:
    """A device status as a line: what was found, or why there is none (the mic button's
    tooltip says the same)."""
    if not available:
        return Check(name, "warn", one_line(reason or f"no {name}", 300), fix)
    names = [one_line(description or ident, 80) for ident, description in devices]
    more = f" and {len(names) - 3} more" if len(names) > 3 else ""
    found = (", ".join(names[:3]) + more) or "the system's default"
    if reason:  # usable, with a catch: the chosen microphone is not connected
        return Check(name, "warn", f"{one_line(reason, 300)} Found: {found}", CHOOSE_FIX)
    return Check(name, "ok", found)


def hotkey_check(settings: Settings, supported: bool, reason: str) -> Check:
    key = one_line(settings.voice_push_to_talk_key, 40)
    if not settings.voice_global_hotkey:
        return Check("push-to-talk", "ok", f"{key}, in Keiko's window (outside it: off)")
    if supported:
        return Check("push-to-talk", "ok", f"{key}, also outside Keiko's window")
    return Check(
        "push-to-talk",
        "warn",
        f"{key} works only in Keiko's window: {one_line(reason, 300)}",
        HOTKEY_FIX,
    )


def _shown(path: Path) -> str:
    return one_line(str(path), 300)
