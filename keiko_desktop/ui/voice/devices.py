"""Which microphones and speakers there are, and why voice cannot be used when it cannot.

``input_status()`` is what the mic button shows: available, or the reason it is not (no
microphone; on macOS and Windows a microphone permission that was refused, and where to allow
it). Device names come from the system (a Bluetooth headset names itself): they are shown
through ``one_line``.

QtMultimedia is imported on the first call, never at import (``start_backend()``). Its backend
says, as Qt warnings, that it tried PipeWire's library and then could not reach PulseAudio
when there is no sound server: expected on a machine without sound, and said to the user as
the reason the mic button is off, so those lines go to the log instead.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal

from keiko_desktop.core.safe_text import one_line

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication
    from PySide6.QtMultimedia import QAudioDevice, QMediaDevices

log = logging.getLogger(__name__)

NO_MICROPHONE = (
    "No microphone found. Connect one, and check that PipeWire or PulseAudio is running."
)
NO_OUTPUT = (
    "No sound output device found. Connect speakers or headphones, and check that PipeWire "
    "or PulseAudio is running."
)
MIC_DENIED_MACOS = (
    "Keiko may not use the microphone. Allow it in System Settings › Privacy & Security › "
    "Microphone, then try again."
)
MIC_DENIED_WINDOWS = (
    "Keiko may not use the microphone. Allow it in Settings › Privacy & security › "
    "Microphone (“Let desktop apps access your microphone”), then try again."
)

MIC_ASKED = "Keiko asked to use the microphone: answer the system's question, then try again."
_BACKEND_NOTES = (
    "Couldn't load pipewire",
    "Couldn't resolve pipewire",
    "PulseAudioService:",
    "Using Qt multimedia with FFmpeg",
)
_app: QCoreApplication | None = None
_backend_started = False


@dataclass(frozen=True)
class DeviceStatus:
    """Whether voice can use a kind of device; ``reason`` says why not (or, when available, a
    note such as "the chosen microphone is not connected"); ``devices`` are (id, description)
    pairs, the system default first."""

    available: bool
    reason: str
    devices: tuple[tuple[str, str], ...] = ()


def ensure_app() -> QCoreApplication:
    """The running Qt application, or a QCoreApplication made for the CLI (``keiko say``,
    ``keiko doctor``), kept for the life of the process."""
    global _app
    from PySide6.QtCore import QCoreApplication

    existing = QCoreApplication.instance()
    if existing is not None:
        return existing
    _app = QCoreApplication([sys.argv[0] if sys.argv else "keiko"])
    return _app


@contextmanager
def _backend_notes_to_log() -> Iterator[None]:
    from PySide6.QtCore import qInstallMessageHandler

    def handler(mode: Any, context: Any, message: str) -> None:
        if message.startswith(_BACKEND_NOTES):
            log.info("Qt Multimedia: %s", message)
        elif previous is not None:
            previous(mode, context, message)
        else:
            print(message, file=sys.stderr)  # noqa: T201 - as Qt's own handler would

    previous = qInstallMessageHandler(handler)
    try:
        yield
    finally:
        qInstallMessageHandler(previous)


def start_backend() -> None:
    """Import QtMultimedia and start its backend (once per process; see the module docs).
    Everything here calls it before touching QtMultimedia."""
    global _backend_started
    if _backend_started:
        return
    ensure_app()
    with _backend_notes_to_log():
        from PySide6.QtMultimedia import QMediaDevices

        QMediaDevices.audioInputs()
    _backend_started = True


def device_id(device: QAudioDevice) -> str:
    """A device's stable id as text (Qt gives bytes)."""
    return bytes(device.id().data()).decode("utf-8", "replace")


def _listed(devices: list[QAudioDevice], default: QAudioDevice) -> tuple[tuple[str, str], ...]:
    default_id = device_id(default) if not default.isNull() else ""
    rows = [(device_id(d), one_line(d.description())) for d in devices if not d.isNull()]
    rows.sort(key=lambda row: row[0] != default_id)  # the default first, else as Qt lists them
    return tuple(rows)


def microphone_permission(*, request: bool = False) -> str:
    """Why the microphone may not be used, saying where to allow it (macOS, Windows; Qt
    6.5+), or "" when it may (or the system does not ask: Linux). With ``request``, a
    permission not asked for yet is asked for now (the system's dialog) and the reason says
    to answer it and try again; without, it counts as allowed."""
    if sys.platform not in ("darwin", "win32"):
        return ""
    try:
        from PySide6.QtCore import QMicrophonePermission, Qt
    except ImportError:  # Qt before 6.5: it never asks
        return ""
    app = ensure_app()
    try:
        status = app.checkPermission(QMicrophonePermission())
        if status == Qt.PermissionStatus.Undetermined and request:
            app.requestPermission(QMicrophonePermission(), app, _on_permission_answered)
            return MIC_ASKED
    except (AttributeError, RuntimeError, TypeError):
        return ""
    if status == Qt.PermissionStatus.Denied:
        return MIC_DENIED_MACOS if sys.platform == "darwin" else MIC_DENIED_WINDOWS
    return ""


def _on_permission_answered(permission: object) -> None:
    log.info("microphone permission answered: %s", permission)


def input_status(preferred: str = "") -> DeviceStatus:
    """Whether there is a microphone to record from (``preferred``: the voice_input_device
    setting, an id or a description; "" the system default)."""
    start_backend()
    from PySide6.QtMultimedia import QMediaDevices

    devices = _listed(list(QMediaDevices.audioInputs()), QMediaDevices.defaultAudioInput())
    if not devices:
        return DeviceStatus(False, NO_MICROPHONE, ())
    denied = microphone_permission()
    if denied:
        return DeviceStatus(False, denied, devices)
    note = ""
    if preferred and _match(list(QMediaDevices.audioInputs()), preferred) is None:
        note = (
            f"The microphone “{one_line(preferred)}” is not connected; using the system "
            "default one."
        )
    return DeviceStatus(True, note, devices)


def output_status() -> DeviceStatus:
    """Whether there is a speaker (or headphones) to play speech through."""
    start_backend()
    from PySide6.QtMultimedia import QMediaDevices

    devices = _listed(list(QMediaDevices.audioOutputs()), QMediaDevices.defaultAudioOutput())
    if not devices:
        return DeviceStatus(False, NO_OUTPUT, ())
    return DeviceStatus(True, "", devices)


def _match(devices: list[QAudioDevice], preferred: str) -> QAudioDevice | None:
    for device in devices:
        if not device.isNull() and device_id(device) == preferred:
            return device
    for device in devices:
        if not device.isNull() and device.description() == preferred:
            return device
    return None


def find_input(preferred: str = "") -> QAudioDevice | None:
    """The microphone named by ``preferred`` (id or description), else the system default,
    else any; None when there is none."""
    start_backend()
    from PySide6.QtMultimedia import QMediaDevices

    inputs = list(QMediaDevices.audioInputs())
    if preferred:
        found = _match(inputs, preferred)
        if found is not None:
            return found
    default = QMediaDevices.defaultAudioInput()
    if not default.isNull():
        return default
    return next((d for d in inputs if not d.isNull()), None)


def find_output() -> QAudioDevice | None:
    """The system's default output device (or any); None when there is none."""
    start_backend()
    from PySide6.QtMultimedia import QMediaDevices

    default = QMediaDevices.defaultAudioOutput()
    if not default.isNull():
        return default
    return next((d for d in QMediaDevices.audioOutputs() if not d.isNull()), None)


class DeviceWatcher(QObject):
    """Tells when microphones or speakers come and go (QMediaDevices, started on ``start``).

    Signals:
        inputs_changed(): the list of microphones (or the default one) changed.
        outputs_changed(): the list of outputs (or the default one) changed.
    """

    inputs_changed = Signal()
    outputs_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._devices: QMediaDevices | None = None

    def start(self) -> None:
        if self._devices is not None:
            return
        start_backend()
        from PySide6.QtMultimedia import QMediaDevices

        self._devices = QMediaDevices(self)
        self._devices.audioInputsChanged.connect(self.inputs_changed)
        self._devices.audioOutputsChanged.connect(self.outputs_changed)
