"""The spoken side of the voice presenter: replies read aloud while they stream
(``ReplyReader``), and the voice conversation (``VoiceConversation``), whose turns
``TurnTaker`` cuts out of continuous microphone audio."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from keiko_desktop.core.voice.turns import TurnDetector
from keiko_desktop.core.voice.types import SAMPLE_WIDTH, WHISPER_RATE, AudioClip
from keiko_desktop.ui.task_runner import TaskRunner

if TYPE_CHECKING:
    from keiko_desktop.core.voice.ports import AudioOutput
    from keiko_desktop.core.voice.read_aloud import ReadAloud
    from keiko_desktop.core.voice.service import VoiceService
    from keiko_desktop.ui.presenters.chat_presenter import ChatPresenter
    from keiko_desktop.ui.voice.capture import Recorder

log = logging.getLogger(__name__)

PREROLL = 0.3
"""Seconds of audio kept from before a turn's speech was detected (its first syllable)."""
CHAT_IDLE_WAIT = 10.0
"""Seconds a turn waits for a reply stopped by barge-in to end before it is sent."""


class ReplyReader(QObject):
    """Reads one reply at a time aloud, sentence by sentence while it streams.

    ``begin`` a reply (a new one stops the one being read), ``feed`` its pieces, ``end`` it
    (complete: the rest is read; else reading stops). ``stop`` is barge-in.

    Signals:
        ended(str): the reply being read is done: "finished", "stopped" or "error".
        failed(object): reading failed (the VoiceError: no output device, no voice...).
    """

    ended = Signal(str)
    failed = Signal(object)

    def __init__(
        self, output: AudioOutput, tasks: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._output = output
        self._tasks = tasks
        self._reader: ReadAloud | None = None
        self._voice: VoiceService | None = None
        self._message_id: int | None = None
        self._stopped = False

    @property
    def active(self) -> bool:
        """A reply is being read (or waits for its first sentence)."""
        return self._reader is not None

    @property
    def message_id(self) -> int | None:
        return self._message_id

    @property
    def speaking(self) -> bool:
        return self._reader is not None and self._reader.speaking

    def begin(self, voice: VoiceService, message_id: int) -> None:
        self.stop()
        reader = voice.read_aloud(self._output)
        self._voice, self._reader, self._message_id = voice, reader, message_id
        self._stopped = False
        self._tasks.spawn(self._follow(reader), "read aloud")

    def feed(self, message_id: int, piece: str) -> None:
        if self._reader is not None and message_id == self._message_id:
            self._reader.feed(piece)

    def end(self, message_id: int, complete: bool) -> None:
        if self._reader is not None and message_id == self._message_id:
            if complete:
                self._reader.finish()
            else:
                self._stopped = True
                self._reader.stop()

    def stop(self) -> None:
        """Stop speaking at once; what was not said yet is dropped."""
        if self._reader is not None:
            self._stopped = True
            self._reader.stop()
        if self._voice is not None:
            self._voice.stop_speaking()

    async def _follow(self, reader: ReadAloud) -> None:
        try:
            await reader.wait()
        finally:
            current = reader is self._reader
            if current:
                self._reader, self._message_id = None, None
        if not current:
            return  # replaced by the next reply: that one reports
        if reader.error is not None:
            self.failed.emit(reader.error)
            self.ended.emit("error")
        else:
            self.ended.emit("stopped" if self._stopped else "finished")


class TurnTaker(QObject):
    """Cuts the user's turns out of continuous microphone audio, by voice activity.

    ``feed`` every chunk; when speech starts ``speech_started`` is emitted (so Keiko can stop
    talking), and when a pause of ``silence`` seconds follows it, ``turn_ended`` with the turn
    (from ``PREROLL`` seconds before the speech). ``pause`` drops audio (while a turn is being
    transcribed); ``resume`` listens afresh.

    Signals:
        speech_started(): the user started talking.
        turn_ended(object): the AudioClip of one turn.
    """

    speech_started = Signal()
    turn_ended = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._silence = 0.9
        self._detector: TurnDetector | None = None
        self._preroll: deque[bytes] = deque()
        self._preroll_bytes = 0
        self._turn: list[bytes] = []
        self._paused = False

    @property
    def listening(self) -> bool:
        return self._detector is not None and not self._paused

    @property
    def in_turn(self) -> bool:
        """The user is talking (a turn has started and not ended)."""
        return bool(self._turn)

    def start(self, silence: float) -> None:
        self._silence = silence
        self.resume()

    def stop(self) -> None:
        self._detector = None
        self._clear()

    def pause(self) -> None:
        self._paused = True
        self._clear()

    def resume(self) -> None:
        self._paused = False
        self._detector = TurnDetector(self._silence, sample_rate=WHISPER_RATE)
        self._clear()

    def feed(self, pcm: bytes) -> None:
        detector = self._detector
        if detector is None or self._paused:
            return
        if self._turn:
            self._turn.append(pcm)
        else:
            self._keep_preroll(pcm)
        result = detector.feed(pcm)
        if result == "speech" and not self._turn:
            self._turn = [*self._preroll]
            self._preroll.clear()
            self._preroll_bytes = 0
            self.speech_started.emit()
        elif result == "end" and self._turn:
            clip = AudioClip(b"".join(self._turn), WHISPER_RATE)
            self._turn = []
            detector.reset()
            self.turn_ended.emit(clip)

    def _keep_preroll(self, pcm: bytes) -> None:
        self._preroll.append(pcm)
        self._preroll_bytes += len(pcm)
        limit = int(PREROLL * WHISPER_RATE) * SAMPLE_WIDTH
        while self._preroll and self._preroll_bytes - len(self._preroll[0]) >= limit:
            self._preroll_bytes -= len(self._preroll.popleft())

    def _clear(self) -> None:
        self._preroll.clear()
        self._preroll_bytes = 0
        self._turn = []


class VoiceConversation(QObject):
    """The voice conversation: hands-free turns.

    listening (the recorder runs all along; ``TurnTaker`` cuts the turns) → a pause ends the
    user's turn (``turn_ended``: the presenter transcribes it, ``transcribing``, and hands the
    words to ``heard``) → thinking (the reply streams) → speaking (read aloud) → listening.
    Talking while Keiko thinks or speaks stops both (barge-in).

    Signals:
        changed(): the phase changed, or the user started talking.
        turn_ended(object): the AudioClip of a turn, to transcribe.
    """

    changed = Signal()
    turn_ended = Signal(object)

    def __init__(
        self, recorder: Recorder, reader: ReplyReader, chat: ChatPresenter, parent: QObject | None
    ) -> None:
        super().__init__(parent)
        self._recorder = recorder
        self._reader = reader
        self._chat = chat
        self._active = False
        self._phase = ""
        self._chat_idle = asyncio.Event()
        self.turns = TurnTaker(self)
        recorder.chunk.connect(self.turns.feed)
        chat.reply_finished.connect(self._on_chat_reply_finished)
        self.turns.speech_started.connect(self._on_turns_speech_started)
        self.turns.turn_ended.connect(self._on_turns_turn_ended)

    @property
    def active(self) -> bool:
        return self._active

    @property
    def phase(self) -> str:
        """listening, transcribing, thinking or speaking ("" when not active)."""
        return self._phase

    @property
    def hearing(self) -> bool:
        """The user is talking."""
        return self.turns.in_turn

    def enter(self, silence: float) -> None:
        if self._active:
            return
        self._active = True
        self._phase = "listening"
        self.turns.start(silence)
        self._recorder.start()
        self.changed.emit()

    def leave(self) -> None:
        if not self._active:
            return
        self._active = False
        self._phase = ""
        self.turns.stop()
        self._recorder.cancel()
        self._reader.stop()
        self.changed.emit()

    def set_silence(self, silence: float) -> None:
        if self._active:
            self.turns.start(silence)

    def keep_listening(self) -> None:
        """The recorder stopped by itself (its length limit): start it again."""
        if self._active:
            self._recorder.start()

    def transcribing(self) -> None:
        self._set_phase("transcribing")

    async def heard(self, text: str) -> bool:
        """A turn's words; True when they are to be sent now (a reply still ending after
        barge-in is waited for). Empty words: listen again."""
        if not self._active:
            return False
        if not text:
            self.listen_again()
            return False
        try:
            async with asyncio.timeout(CHAT_IDLE_WAIT):
                while self._chat.is_streaming():
                    self._chat_idle.clear()
                    await self._chat_idle.wait()
        except TimeoutError:
            log.info("a reply is still being written; the voice turn waits in the box")
        if not self._active:
            return False
        self.turns.resume()  # listening through the reply, for barge-in
        self._set_phase("thinking")
        return True

    def listen_again(self) -> None:
        if self._active:
            self.turns.resume()
            self._set_phase("listening")

    def reply_started(self) -> None:
        if self._active:
            self._set_phase("thinking")

    def speech_started(self) -> None:
        if self._active and self._phase == "thinking":
            self._set_phase("speaking")

    def reader_ended(self) -> None:
        if self._active and self._phase in ("thinking", "speaking"):
            self.listen_again()

    def _set_phase(self, phase: str) -> None:
        self._phase = phase
        self.changed.emit()

    def _on_turns_speech_started(self) -> None:
        if self._reader.active or self._phase in ("thinking", "speaking"):
            self._reader.stop()  # barge-in: the user talks over Keiko
            if self._chat.is_streaming():
                self._chat.stop()
        self._set_phase("listening")

    def _on_turns_turn_ended(self, clip: AudioClip) -> None:
        if self._active:
            self.turns.pause()
            self.turn_ended.emit(clip)

    def _on_chat_reply_finished(self, _message_id: int, _status: str) -> None:
        self._chat_idle.set()
