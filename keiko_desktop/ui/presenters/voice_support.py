"""Helpers of the voice presenter: which devices voice can use (``VoiceDevices``), and audio
files dropped on the chat (``AudioFiles``: a short one, up to ``LONG_AUDIO`` seconds, is
transcribed at once, a longer one becomes a ``transcribe`` task whose text comes back when it
finishes, if the chat it was dropped on is still open)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.events import TaskFinished
from keiko_desktop.core.tasks.records import NewTask
from keiko_desktop.core.voice.types import LONG_AUDIO, VoiceError
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.widgets.toast import Toast, ToastOverlay, Tone

if TYPE_CHECKING:
    from keiko_desktop.app import Core
    from keiko_desktop.core.voice.service import VoiceService
    from keiko_desktop.ui.voice.devices import DeviceStatus

NO_VOICE = "Voice is not available: this Keiko was started without speech."


def voice_of(core: Core) -> VoiceService:
    """``core.voice``, or a VoiceError saying there is none."""
    if core.voice is None:
        raise VoiceError(NO_VOICE, "Start Keiko with voice (the default) to use it.")
    return core.voice


def minutes(seconds: float) -> str:
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


class VoiceDevices(QObject):
    """Whether there is a microphone and a speaker, and if not why (the reasons the controls
    show). ``input_status`` / ``output_status`` default to ``ui.voice.devices`` (QtMultimedia,
    imported on the first check); tests give their own.

    Signals:
        changed(): devices came or went (check again).
    """

    changed = Signal()

    def __init__(
        self,
        input_status: Callable[[str], DeviceStatus] | None = None,
        output_status: Callable[[], DeviceStatus] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._input_status = input_status
        self._output_status = output_status
        self._watcher: QObject | None = None
        self.mic_reason = NO_VOICE
        """Why push-to-talk cannot record ("" when it can)."""
        self.speaker_reason = NO_VOICE
        """Why Keiko cannot speak ("" when it can)."""

    def check(self, core: Core | None) -> None:
        """Look again (the system's devices, ``core.voice``, the chosen microphone)."""
        if core is None or core.voice is None:
            self.mic_reason = self.speaker_reason = NO_VOICE
            return
        if self._input_status is None:
            self._watch()
        mic = self._input(core.settings.voice_input_device)
        speaker = self._output()
        self.mic_reason = "" if mic.available else mic.reason
        self.speaker_reason = "" if speaker.available else speaker.reason

    def _input(self, preferred: str) -> DeviceStatus:
        if self._input_status is not None:
            return self._input_status(preferred)
        from keiko_desktop.ui.voice.devices import input_status

        return input_status(preferred)

    def _output(self) -> DeviceStatus:
        if self._output_status is not None:
            return self._output_status()
        from keiko_desktop.ui.voice.devices import output_status

        return output_status()

    def _watch(self) -> None:
        if self._watcher is None:
            from keiko_desktop.ui.voice.devices import DeviceWatcher

            watcher = DeviceWatcher(self)
            watcher.inputs_changed.connect(self.changed)
            watcher.outputs_changed.connect(self.changed)
            watcher.start()
            self._watcher = watcher


class AudioFiles(QObject):
    """Transcribes dropped audio files into the message box.

    ``conversation`` gives the chat open now (None: a new chat), to know whether a long file's
    text still has its chat to go to.

    Signals:
        status_changed(str): what is being transcribed ("Transcribing NAME… 40%"; "" done).
        noted(str): a short message for the voice bar ("Transcribed NAME").
        text_ready(str): words to add to the message box.
    """

    status_changed = Signal(str)
    noted = Signal(str)
    text_ready = Signal(str)

    def __init__(
        self,
        core: CoreHandle,
        conversation: Callable[[], int | None],
        toasts: ToastOverlay | None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._conversation = conversation
        self._toasts = toasts
        self._waiting: dict[int, tuple[int | None, str]] = {}
        """Task id -> (the chat the file was dropped on, the file's name)."""

    @property
    def waiting(self) -> dict[int, tuple[int | None, str]]:
        return dict(self._waiting)

    async def transcribe(self, paths: Sequence[Path]) -> None:
        """Each file in turn: short ones here, long ones as tasks. VoiceError for a file that
        is missing or not audio (the rest are not tried)."""
        core = await self._core.get()
        voice = voice_of(core)
        try:
            for path in paths:
                name = one_line(path.name, 80)
                duration = await voice.file_duration(path)
                if duration > LONG_AUDIO and core.tasks is not None:
                    await self._as_task(core, path, name, duration)
                    continue
                self.status_changed.emit(f"Transcribing {name}…")

                def progress(fraction: float, _text: str, name: str = name) -> None:
                    self.status_changed.emit(f"Transcribing {name}… {fraction:.0%}")

                transcript = await voice.transcribe_file(path, progress)
                text = transcript.text.strip()
                if text:
                    self.text_ready.emit(text)
                    self.noted.emit(f"Transcribed {name}")
                else:
                    self.noted.emit(f"No speech found in {name}.")
        finally:
            self.status_changed.emit("")

    def on_task_finished(self, event: TaskFinished) -> None:
        """A task finished: if it is one of ours, its text goes to the box (or a toast says
        where it is)."""
        task = event.task
        waiting = self._waiting.pop(task.id, None)
        if waiting is None:
            return
        conversation_id, name = waiting
        here = conversation_id == self._conversation()
        if task.status != "completed":
            reason = one_line(task.error or task.status, 200)
            if here:
                self.noted.emit(f"Could not transcribe {name}: {reason}")
            return  # the task's own notice says so too
        text = task.result.strip()
        if text and here:
            self.text_ready.emit(text)
            self.noted.emit(f"Transcribed {name}")
        else:  # that chat is no longer open: the text stays with the task
            self._toast(f"Transcribed {name}: its text is the task's result.", task.id, "ok")

    async def _as_task(self, core: Core, path: Path, name: str, duration: float) -> None:
        assert core.tasks is not None
        record = await core.tasks.add(NewTask(kind="transcribe", params={"path": str(path)}))
        self._waiting[record.id] = (self._conversation(), name)
        self._toast(
            f"Transcribing {name} ({minutes(duration)}) in the background: its text comes "
            "to the message box when it is done.",
            record.id,
        )

    def _toast(self, text: str, task_id: int | None, tone: Tone = "info") -> None:
        if self._toasts is not None:
            self._toasts.notify(Toast(text, task_id, tone))
        else:
            self.noted.emit(text)
