"""VoicePresenter: push-to-talk, replies read aloud, the voice conversation and audio drops.

- **Push-to-talk**: the mic button held (or the push-to-talk key, in the window or, where the
  system allows, anywhere) stops Keiko speaking (barge-in), plays the start cue and records;
  the voice bar shows the level and the time. Letting go plays the end cue, transcribes
  (``core.voice.transcribe``) and puts the words in the message box after what is there; they
  are sent when ``voice_auto_send`` is on. Esc (or letting go away from the button) cancels.
  The speech model loads while the user speaks the first time.
- **Read aloud** (``voice_read_aloud``, the speaker toggle): a reply is spoken sentence by
  sentence while it streams (``ReplyReader``); Stop, Esc and push-to-talk stop it.
- **Voice conversation** (its toggle): the microphone listens, a pause ends each turn
  (``TurnTaker``), the turn is sent, the reply is read aloud, then it listens again; talking
  while Keiko speaks stops it. Push-to-talk, Esc or the toggle end it.
- **Audio files** dropped on the chat: up to ``LONG_AUDIO`` seconds are transcribed here into
  the message box; longer ones become a ``transcribe`` task (a toast says so) whose text comes
  into the box when it finishes, if that chat is still open.
- **Availability**: the mic button is disabled, with the reason as its tooltip, without a
  microphone (``ui.voice.devices.input_status``, checked at start and when devices change) or
  without ``core.voice``; the read-aloud and conversation toggles need a speaker too.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import MessageCompleted, SettingsChanged
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.voice.events import SpeechStarted
from keiko_desktop.core.voice.types import AudioClip, VoiceError
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.panels.chat_panel import ChatPanel
from keiko_desktop.ui.presenters.chat_presenter import ChatPresenter
from keiko_desktop.ui.presenters.voice_conversation import ReplyReader, VoiceConversation
from keiko_desktop.ui.presenters.voice_support import AudioFiles, VoiceDevices, voice_of
from keiko_desktop.ui.task_runner import TaskRunner
from keiko_desktop.ui.widgets.toast import ToastOverlay

if TYPE_CHECKING:
    from keiko_desktop.core.voice.ports import AudioOutput
    from keiko_desktop.ui.voice.capture import Recorder
    from keiko_desktop.ui.voice.devices import DeviceStatus
    from keiko_desktop.ui.voice.ptt_keys import PushToTalkKeys

log = logging.getLogger(__name__)

MIN_CLIP = 0.3
"""Seconds: a shorter recording was a click, not speech."""
RELEASE_TO_TRANSCRIBE = "Release to transcribe · Esc cancels"
HEARING = "Hearing you… · a pause ends your turn"
NOTE_MS = 4000


class VoicePresenter(QObject):
    """Owns the async work behind voice in the chat.

    ``input_status`` / ``output_status`` say whether there is a microphone / speaker (default:
    ``ui.voice.devices``, which also makes the device watcher); tests inject their own.

    Signals:
        talk_started(): push-to-talk or the conversation started listening (show the chat).
        transcribed(str): words heard (the microphone or a file) went into the message box.
    """

    talk_started = Signal()
    transcribed = Signal(str)

    def __init__(
        self,
        panel: ChatPanel,
        chat: ChatPresenter,
        core: CoreHandle,
        bridge: EventBridge,
        recorder: Recorder,
        output: AudioOutput,
        keys: PushToTalkKeys | None = None,
        parent: QObject | None = None,
        *,
        toasts: ToastOverlay | None = None,
        input_status: Callable[[str], DeviceStatus] | None = None,
        output_status: Callable[[], DeviceStatus] | None = None,
    ) -> None:
        super().__init__(parent)
        self._panel = panel
        self._composer = panel.composer
        self._chat = chat
        self._core = core
        self._recorder = recorder
        self._output = output
        self._keys = keys
        self._toasts = toasts
        self.devices = VoiceDevices(input_status, output_status, self)
        self.devices.changed.connect(self._on_devices_changed)
        self._ptt = False  # push-to-talk is recording
        # Whether the push-to-talk keys are the chat's: False while Quick ask has the focus.
        self.keys_wanted: Callable[[], bool] = lambda: True
        self._transcriptions: set[asyncio.Task[Any]] = set()
        self._file_note = ""
        self._note = ""
        self.tasks = TaskRunner(self._show_error)
        self.reader = ReplyReader(output, self.tasks, self)
        self.conversation = VoiceConversation(recorder, self.reader, chat, self)
        self.files = AudioFiles(core, lambda: chat.conversation_id, toasts, self)
        self.files.status_changed.connect(self._on_files_status_changed)
        self.files.noted.connect(self._show_note)
        self.files.text_ready.connect(self._on_files_text_ready)
        self._note_timer = QTimer(self)
        self._note_timer.setSingleShot(True)
        self._note_timer.setInterval(NOTE_MS)
        self._note_timer.timeout.connect(self._on_note_timer_timeout)

        mic = self._composer.mic_button
        mic.set_available(False, "Voice is starting…")
        self._composer.read_aloud_button.set_available(False, "Voice is starting…")
        self._composer.conversation_button.set_available(False, "Voice is starting…")
        mic.held.connect(self.press)
        mic.let_go.connect(self.release)
        mic.cancelled.connect(self.cancel)
        self._composer.read_aloud_toggled.connect(self._on_composer_read_aloud_toggled)
        self._composer.conversation_toggled.connect(self._on_composer_conversation_toggled)
        self._composer.voice_cancel_requested.connect(self._on_composer_voice_cancel_requested)
        self._composer.stop_requested.connect(self._on_composer_stop_requested)
        panel.audio_files_dropped.connect(self._on_panel_audio_files_dropped)
        recorder.started.connect(self._on_recorder_started)
        recorder.level_changed.connect(self._composer.voice_bar.set_level)
        recorder.elapsed_changed.connect(self._composer.voice_bar.set_elapsed)
        recorder.stopped.connect(self._on_recorder_stopped)
        recorder.cancelled.connect(self._on_recorder_cancelled)
        recorder.failed.connect(self._on_recorder_failed)
        self.conversation.changed.connect(self._on_conversation_changed)
        self.conversation.turn_ended.connect(self._on_conversation_turn_ended)
        self.reader.ended.connect(self._on_reader_ended)
        self.reader.failed.connect(self._on_reader_failed)
        chat.reply_started.connect(self._on_chat_reply_started)
        chat.reply_piece.connect(self.reader.feed)
        chat.reply_finished.connect(self._on_chat_reply_finished)
        bridge.message_completed.connect(self._on_bridge_message_completed)
        bridge.speech_started.connect(self._on_bridge_speech_started)
        bridge.settings_changed.connect(self._on_bridge_settings_changed)
        bridge.task_finished.connect(self.files.on_task_finished)
        if keys is not None:
            self.follow_keys(keys)

    # ------------------------------------------------------------------ public
    def start(self) -> None:
        """The Core is attached: check the devices (QtMultimedia loads here, after the first
        paint), show the settings, watch for devices coming and going."""
        core = self._core.current
        if core is not None:
            self._composer.set_read_aloud(core.settings.voice_read_aloud)
            self._apply_key(core.settings.voice_push_to_talk_key)
        self.check_devices()
        if core is not None and core.settings.voice_read_aloud and not self.devices.speaker_reason:
            # The first reply is read aloud: its voice loads now, not when it is needed.
            self.tasks.spawn(self._preload(synthesizer=True), "load the voice")

    def follow_keys(self, keys: QObject) -> None:
        """Push-to-talk on ``keys``' ``pressed``/``released``, and Esc while held on its
        ``cancelled`` (the window's key, the global hotkey)."""
        keys.pressed.connect(self._on_keys_pressed)  # type: ignore[attr-defined]
        keys.released.connect(self.release)  # type: ignore[attr-defined]
        keys.cancelled.connect(self.cancel)  # type: ignore[attr-defined]

    def _on_keys_pressed(self) -> None:
        if self.keys_wanted():
            self.press()

    def check_devices(self) -> None:
        """Enable the voice controls the devices allow, each disabled one saying why."""
        self.devices.check(self._core.current)
        mic, speaker = self.devices.mic_reason, self.devices.speaker_reason
        composer = self._composer
        composer.mic_button.set_available(not mic, mic)
        composer.read_aloud_button.set_available(not speaker, speaker)
        composer.conversation_button.set_available(not (mic or speaker), mic or speaker)
        if mic and (self._ptt or self.conversation.active):
            self._leave_conversation()
            self._recorder.cancel()

    @property
    def state(self) -> str:
        """What voice is doing: idle, recording, transcribing, listening, thinking, speaking."""
        if self._ptt:
            return "recording"
        if self._transcriptions:
            return "transcribing"
        if self.conversation.active:
            return self.conversation.phase or "listening"
        return "speaking" if self.reader.speaking else "idle"

    def press(self) -> None:
        """Push-to-talk pressed: stop speaking and record."""
        if self._ptt:
            return
        if self.devices.mic_reason:
            self._show_note(self.devices.mic_reason)
            return
        self._leave_conversation()
        self.stop_speaking()
        self._ptt = True
        self.talk_started.emit()
        self.tasks.spawn(self._preload(transcriber=True), "load the speech model")
        self._cue("start")
        self._recorder.start()  # started (or failed) is emitted from here

    def release(self) -> None:
        """Push-to-talk let go: transcribe what was said."""
        if self._ptt and self._recorder.recording:
            self._recorder.stop()  # stopped(clip) follows

    def cancel(self) -> None:
        """Drop the recording (Esc, or letting go away from the button)."""
        if self._ptt:
            self._recorder.cancel()

    def stop_speaking(self) -> None:
        self.reader.stop()
        core = self._core.current
        if core is not None and core.voice is not None:
            core.voice.stop_speaking()

    def escape(self) -> bool:
        """Esc: cancel recording, a transcription or the conversation (True: that was it), or
        stop speaking (False: Esc also stops the reply)."""
        if self._ptt:
            self.cancel()
            return True
        if self.conversation.active:
            self._leave_conversation()
            return True
        if self._transcriptions:
            for task in list(self._transcriptions):
                task.cancel()
            return True
        if self.reader.active:
            self.stop_speaking()
        self._clear_note()
        return False

    def set_conversation(self, on: bool) -> None:
        """Start or end the voice conversation (as its toggle does)."""
        if on:
            self._enter_conversation()
        else:
            self._leave_conversation()

    def close(self) -> None:
        self._leave_conversation()
        self._recorder.cancel()
        self.stop_speaking()
        self._note_timer.stop()
        self.tasks.close()

    # ------------------------------------------------------------------ slots
    def _on_recorder_started(self) -> None:
        if self._ptt:
            self._composer.mic_button.set_recording(True)
            sends = self._settings_flag("voice_auto_send")
            self._composer.show_voice("recording", None if sends else RELEASE_TO_TRANSCRIBE)
        else:
            self._refresh()

    def _on_recorder_stopped(self, clip: AudioClip) -> None:
        if self.conversation.active:
            self.conversation.keep_listening()  # hit its length limit
            return
        if not self._ptt:
            return
        self._ptt = False
        self._composer.mic_button.set_recording(False)
        if clip.duration < MIN_CLIP:
            self._show_note("Hold the mic button (or the push-to-talk key) while you speak.")
            return
        self._cue("end")
        self._transcribe_soon(self._transcribe(clip))

    def _on_recorder_cancelled(self) -> None:
        self._ptt = False
        self._refresh()

    def _on_recorder_failed(self, reason: str) -> None:
        self._ptt = False
        self._leave_conversation()
        self._refresh()
        self._panel.show_error(one_line(reason, 300))

    def _on_conversation_changed(self) -> None:
        self._composer.set_conversation(self.conversation.active)
        self._refresh()

    def _on_conversation_turn_ended(self, clip: AudioClip) -> None:
        self.conversation.transcribing()
        self._transcribe_soon(self._transcribe(clip, conversation=True))

    def _on_reader_ended(self, _reason: str) -> None:
        self.conversation.reader_ended()
        self._refresh()

    def _on_reader_failed(self, error: VoiceError) -> None:
        self._leave_conversation()
        self._show_error(error)

    def _on_chat_reply_started(self, _conversation_id: int, message_id: int) -> None:
        core = self._core.current
        if core is None or core.voice is None or self.devices.speaker_reason:
            return
        if self.conversation.active or core.settings.voice_read_aloud:
            self.reader.begin(core.voice, message_id)
            self.conversation.reply_started()
            self._refresh()

    def _on_chat_reply_finished(self, message_id: int, status: str) -> None:
        self.reader.end(message_id, status == "complete")

    def _on_bridge_message_completed(self, event: MessageCompleted) -> None:
        if event.status != "complete":  # failed or stopped: what the reader holds is moot
            self.reader.end(event.message_id, False)

    def _on_bridge_speech_started(self, _event: SpeechStarted) -> None:
        self.conversation.speech_started()
        self._refresh()

    def _on_bridge_settings_changed(self, event: SettingsChanged) -> None:
        new = event.new
        if "voice_read_aloud" in event.changed:
            self._composer.set_read_aloud(new.voice_read_aloud)
            if not new.voice_read_aloud and not self.conversation.active:
                self.stop_speaking()
        if "voice_push_to_talk_key" in event.changed:
            self._apply_key(new.voice_push_to_talk_key)
        if "voice_input_device" in event.changed:
            self.check_devices()
        if "voice_turn_silence" in event.changed:
            self.conversation.set_silence(new.voice_turn_silence)

    def _on_composer_read_aloud_toggled(self, on: bool) -> None:
        self.tasks.spawn(self._save_read_aloud(on), "read replies aloud")
        if not on and not self.conversation.active:
            self.stop_speaking()

    def _on_composer_conversation_toggled(self, on: bool) -> None:
        self.set_conversation(on)

    def _on_composer_voice_cancel_requested(self) -> None:
        if not self.escape():
            self.stop_speaking()
        self._clear_note()

    def _on_composer_stop_requested(self) -> None:
        self.stop_speaking()

    def _on_panel_audio_files_dropped(self, paths: list[str]) -> None:
        self._transcribe_soon(self.files.transcribe([Path(p) for p in paths]))

    def _on_files_status_changed(self, text: str) -> None:
        self._file_note = text
        self._refresh()

    def _on_files_text_ready(self, text: str) -> None:
        self._composer.append_text(text)
        self._composer.focus_editor()
        self.transcribed.emit(text)

    def _on_devices_changed(self) -> None:
        self.check_devices()

    def _on_note_timer_timeout(self) -> None:
        self._clear_note()

    # ------------------------------------------------------------------ work
    async def _transcribe(self, clip: AudioClip, *, conversation: bool = False) -> None:
        voice = voice_of(await self._core.get())
        try:
            transcript = await voice.transcribe(clip)
        except KeikoError:
            if conversation:
                self._leave_conversation()
            raise
        text = transcript.text.strip()
        if conversation:
            if not self.conversation.active:
                return  # ended meanwhile
            if not await self.conversation.heard(text):
                if not text:
                    self._show_note("Didn’t catch that.")
                return
        elif not text:
            self._show_note("Didn’t catch that.")
            return
        self._composer.append_text(text)
        self.transcribed.emit(text)
        if conversation or self._settings_flag("voice_auto_send"):
            self._composer.submit()
        else:
            self._composer.focus_editor()

    async def _preload(self, *, transcriber: bool = False, synthesizer: bool = False) -> None:
        core = await self._core.get()
        if core.voice is None:
            return
        try:
            await core.voice.preload(transcriber=transcriber, synthesizer=synthesizer)
        except VoiceError as exc:  # said again, with its hint, when it is used
            log.info("could not preload voice: %s", exc.message)

    async def _save_read_aloud(self, on: bool) -> None:
        core = await self._core.get()
        try:
            core.update_settings(core.settings.with_changes(voice_read_aloud=on))
        except KeikoError:
            self._composer.set_read_aloud(core.settings.voice_read_aloud)
            raise
        if on and core.voice is not None:
            await self._preload(synthesizer=True)

    async def _play_cue(self, clip: AudioClip) -> None:
        try:
            await self._output.play(clip)
        except VoiceError as exc:
            log.debug("no cue: %s", exc.message)

    # ------------------------------------------------------------------ internals
    def _enter_conversation(self) -> None:
        reason = self.devices.mic_reason or self.devices.speaker_reason
        if reason:
            self._composer.set_conversation(False)
            self._show_note(reason)
            return
        if self.conversation.active:
            return
        self.cancel()
        self.stop_speaking()
        self.talk_started.emit()
        self.tasks.spawn(self._preload(transcriber=True, synthesizer=True), "load the voice")
        self.conversation.enter(self._turn_silence())

    def _leave_conversation(self) -> None:
        self._composer.set_conversation(False)
        self.conversation.leave()

    def _transcribe_soon(self, coro: Any) -> None:
        task = self.tasks.spawn(coro, "transcribe")
        self._transcriptions.add(task)
        self._refresh()

        def done(finished: asyncio.Task[Any]) -> None:
            self._transcriptions.discard(finished)
            self._file_note = ""
            if self.conversation.phase == "transcribing":
                self.conversation.listen_again()  # it failed or was cancelled: the next turn
            self._refresh()

        task.add_done_callback(done)

    def _refresh(self) -> None:
        """Show the voice bar for what voice is doing (or hide it)."""
        composer = self._composer
        state = self.state
        if state == "recording":
            return  # set when recording started
        composer.mic_button.set_recording(False)
        if state == "transcribing":
            composer.show_voice("transcribing", self._file_note or None)
        elif state == "listening":
            note = f"{self._note} · Listening…" if self._note else None
            hint = HEARING if self.conversation.hearing else note
            composer.show_voice("listening", hint)
        elif state == "speaking" and self.conversation.active:
            composer.show_voice("speaking", "Speaking · talk to interrupt, Esc ends")
        elif state in ("thinking", "speaking"):
            composer.show_voice(state)
        elif self._note:
            composer.show_voice("message", self._note)
        else:
            composer.hide_voice()

    def _show_note(self, text: str) -> None:
        self._note = one_line(text, 200)
        self._note_timer.start()
        self._refresh()

    def _clear_note(self) -> None:
        self._note = ""
        self._note_timer.stop()
        self._refresh()

    def _cue(self, kind: str) -> None:
        if not self._settings_flag("voice_cues"):
            return
        from keiko_desktop.ui.voice.cues import cue

        self.tasks.spawn(self._play_cue(cue("start" if kind == "start" else "end")), "cue")

    def _apply_key(self, key: str) -> None:
        self._composer.mic_button.set_key_text(key)
        if self._keys is None:
            return
        try:
            self._keys.set_key(key)
        except ValueError:
            self._show_error(
                KeikoError(
                    f"The push-to-talk key “{one_line(key, 40)}” is not a key Keiko knows.",
                    "Choose another in Settings › Voice.",
                )
            )

    def _settings_flag(self, key: str) -> bool:
        core = self._core.current
        return bool(getattr(core.settings, key)) if core is not None else False

    def _turn_silence(self) -> float:
        core = self._core.current
        return core.settings.voice_turn_silence if core is not None else 0.9

    def _show_error(self, error: KeikoError) -> None:
        self._panel.show_error(error.message, error.hint)
