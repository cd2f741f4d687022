"""QuickAskVoice: push-to-talk and dropped audio for the Quick ask popup.

The mic button (hold it), the push-to-talk keys while the popup is active (the window's keys and
the global push-to-talk hotkey: ``follow_keys``; the chat's VoicePresenter leaves them alone
then), or ``toggle()`` (the tray: records until called again) record with the recorder the chat
shares; recordings that are the chat's are left alone. The words go into the question box and
are asked (``heard``). Short audio files dropped on the popup are transcribed into the box.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.voice.types import LONG_AUDIO, AudioClip
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.presenters.voice_support import NO_VOICE, voice_of
from keiko_desktop.ui.task_runner import TaskRunner

if TYPE_CHECKING:
    from keiko_desktop.app import Core
    from keiko_desktop.ui.quick_ask import QuickAskPopup
    from keiko_desktop.ui.voice.capture import Recorder

log = logging.getLogger(__name__)

MIN_CLIP = 0.3
MIC_IN_USE = "The microphone is in use (a voice conversation in the chat)."
TOO_SHORT = "Hold the mic button (or the push-to-talk key) while you speak."


class QuickAskVoice(QObject):
    """The popup's push-to-talk (see the module docs). ``heard(words, ask)`` takes the words."""

    def __init__(
        self,
        core: CoreHandle,
        recorder: Recorder,
        tasks: TaskRunner,
        *,
        popup: Callable[[], QuickAskPopup],
        active: Callable[[], bool],
        heard: Callable[[str, bool], None],
        mic_reason: Callable[[], str],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._core = core
        self._recorder = recorder
        self._tasks = tasks
        self._popup = popup
        self._active = active
        self._heard = heard
        self._mic_reason = mic_reason
        self.talking: str | None = None
        """"hold" or "toggle" while recording for the popup, else None."""
        recorder.started.connect(self._on_recorder_started)
        recorder.elapsed_changed.connect(self._on_recorder_elapsed_changed)
        recorder.stopped.connect(self._on_recorder_stopped)
        recorder.cancelled.connect(self._on_recorder_cancelled)
        recorder.failed.connect(self._on_recorder_failed)

    def attach(self, popup: QuickAskPopup) -> None:
        """Listen to ``popup``'s mic button (hold to talk)."""
        popup.mic_button.held.connect(self._on_mic_held)
        popup.mic_button.let_go.connect(self._on_mic_let_go)
        popup.mic_button.cancelled.connect(self.cancel)

    def follow_keys(self, keys: QObject) -> None:
        """Push-to-talk on ``keys``' ``pressed``/``released``/``cancelled`` while the popup is
        active."""
        keys.pressed.connect(self._on_keys_pressed)  # type: ignore[attr-defined]
        keys.released.connect(self._on_mic_let_go)  # type: ignore[attr-defined]
        keys.cancelled.connect(self.cancel)  # type: ignore[attr-defined]

    def toggle(self) -> None:
        """Listen until called again, then transcribe and ask."""
        if self.talking is not None:
            self._recorder.stop()  # stopped(clip) follows: transcribed, then asked
        else:
            self.talk("toggle")

    def cancel(self) -> None:
        """Drop the popup's recording, if any (the chat's is left alone)."""
        if self.talking is not None:
            self._recorder.cancel()

    def talk(self, how: str) -> None:
        """Start recording for the popup (``how``: "hold" or "toggle"), or say why not."""
        if self.talking is not None:
            return
        popup = self._popup()
        core = self._core.current
        reason = self._mic_reason() or (NO_VOICE if core is None or core.voice is None else "")
        if reason:
            popup.set_status(one_line(reason, 300), "error")
            return
        if self._recorder.recording:
            popup.set_status(MIC_IN_USE)
            return
        self.talking = how
        if core is not None and core.voice is not None:
            self._tasks.spawn(self._preload(core), "load the speech model")
        self._recorder.start()  # started (or failed) follows

    def transcribe_files(self, paths: list[Path]) -> None:
        """Short audio files dropped on the popup: their words into the question box."""
        self._tasks.spawn(self._transcribe_files(paths), "transcribe")

    # ------------------------------------------------------------------ slots
    def _on_mic_held(self) -> None:
        self.talk("hold")

    def _on_mic_let_go(self) -> None:
        if self.talking == "hold":
            self._recorder.stop()

    def _on_keys_pressed(self) -> None:
        if self._active():
            self.talk("hold")

    def _on_recorder_started(self) -> None:
        if self.talking is not None:
            self._popup().mic_button.set_recording(True)
            self._on_recorder_elapsed_changed(0.0)

    def _on_recorder_elapsed_changed(self, seconds: float) -> None:
        if self.talking is not None:
            how = "let go to ask" if self.talking == "hold" else "push-to-talk again to ask"
            self._popup().set_status(f"Listening… {seconds:.0f} s · {how} · Esc cancels", "busy")

    def _on_recorder_stopped(self, clip: AudioClip) -> None:
        if self.talking is None:
            return  # the chat's recording
        self._end("")
        if clip.duration < MIN_CLIP:
            self._popup().set_status(TOO_SHORT)
            return
        self._popup().set_status("Transcribing…", "busy")
        self._tasks.spawn(self._transcribe(clip), "transcribe")

    def _on_recorder_cancelled(self) -> None:
        if self.talking is not None:
            self._end("")

    def _on_recorder_failed(self, reason: str) -> None:
        if self.talking is not None:
            self._end(one_line(reason, 300), "error")

    # ------------------------------------------------------------------ work
    async def _transcribe(self, clip: AudioClip) -> None:
        core = await self._core.get()
        transcript = await voice_of(core).transcribe(clip)
        self._heard(transcript.text.strip(), True)

    async def _transcribe_files(self, paths: list[Path]) -> None:
        voice = voice_of(await self._core.get())
        for path in paths:
            name = one_line(path.name, 80)
            if await voice.file_duration(path) > LONG_AUDIO:
                note = f"{name} is long: drop it on Keiko's window to transcribe."
                self._popup().set_status(note)
                continue
            self._popup().set_status(f"Transcribing {name}…", "busy")
            transcript = await voice.transcribe_file(path)
            self._heard(transcript.text.strip(), False)

    async def _preload(self, core: Core) -> None:
        if core.voice is not None:
            try:
                await core.voice.preload(transcriber=True)
            except KeikoError as exc:  # said again, with its hint, when it is used
                log.info("could not preload the speech model: %s", exc.message)

    def _end(self, note: str, kind: str = "note") -> None:
        self.talking = None
        popup = self._popup()
        popup.mic_button.set_recording(False)
        popup.set_status(note, kind)
