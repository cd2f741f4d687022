"""Playing speech: ``SpeakerOutput`` (core's AudioOutput for the window) and ``play_blocking``
(``keiko say`` without a window).

One clip goes through one QAudioSink in push mode: a 10 ms timer writes as much as the sink
has room for, and the clip counts as played when the sink has drained (its state turns idle
after the last sample), with a deadline in case a backend never says so. ``stop()`` stops the
sink at once, dropping what it still holds (barge-in). A device that refuses the clip's own
format (rate, mono, 16-bit) gets it converted to its preferred one. QtMultimedia is imported
on first play.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEventLoop, QObject, Qt, QTimer, Signal

from keiko_desktop.core.voice.types import AudioClip, VoiceError
from keiko_desktop.ui.voice import pcm
from keiko_desktop.ui.voice.devices import NO_OUTPUT, ensure_app, find_output

if TYPE_CHECKING:
    from PySide6.QtCore import QIODevice
    from PySide6.QtMultimedia import QAudioDevice, QAudioSink

OUTPUT_HINT = "Use `keiko say --out FILE.wav` to save speech to a file instead."
STOPPED = "stopped"
TICK_MS = 10
BUFFER_US = 200_000
STALL_SECONDS = 3.0
DRAIN_GRACE = 2.0
"""Seconds after the last write (beyond the buffer's length) the sink may take to say idle."""

_SINK_ERRORS = {
    "OpenError": "The sound output could not be opened (is another program holding it?).",
    "IOError": "Writing to the sound output failed (was it unplugged?).",
    "FatalError": "The sound system failed while playing.",
}


def _name(value: object) -> str:
    return str(getattr(value, "name", value))


class _Playback(QObject):
    """One clip through one sink.

    Signals:
        done(str): "" played to the end, "stopped", or why it failed.
    """

    done = Signal(str)

    def __init__(self, clip: AudioClip, device: QAudioDevice, parent: QObject | None = None):
        super().__init__(parent)
        self._clip = clip
        self._device = device
        self._sink: QAudioSink | None = None
        self._io: QIODevice | None = None
        self._data = b""
        self._pos = 0
        self._last_progress = 0.0
        self._all_written_at = 0.0
        self._buffer_seconds = BUFFER_US / 1e6
        self._finished = False
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._on_timer_timeout)

    def start(self) -> None:
        from PySide6.QtMultimedia import QAudioFormat, QAudioSink

        from keiko_desktop.ui.voice.microphone import sample_format

        fmt = QAudioFormat()
        fmt.setSampleRate(self._clip.sample_rate)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        data = self._clip.pcm
        if not self._device.isFormatSupported(fmt):
            fmt = self._device.preferredFormat()
            try:
                kind = sample_format(fmt)
            except VoiceError as exc:
                self._finish(str(exc))
                return
            clip = pcm.resample(self._clip, fmt.sampleRate())
            data = pcm.from_pcm16(clip.pcm, kind, max(fmt.channelCount(), 1))
        self._data = data
        sink = QAudioSink(self._device, fmt, self)
        sink.setBufferSize(max(fmt.bytesForDuration(BUFFER_US), 4096))
        sink.stateChanged.connect(self._on_sink_state_changed)
        self._sink = sink
        self._io = sink.start()
        reason = self._error_reason()
        if self._io is None or reason:
            self._finish(reason or _SINK_ERRORS["OpenError"])
            return
        self._buffer_seconds = sink.bufferSize() / max(fmt.bytesForDuration(1_000_000), 1)
        self._last_progress = time.monotonic()
        self._write()
        self._timer.start()

    def stop(self) -> None:
        self._finish(STOPPED)

    def _error_reason(self) -> str:
        if self._sink is None:
            return ""
        name = _name(self._sink.error())
        if name in ("NoError", "UnderrunError"):
            return ""
        return _SINK_ERRORS.get(name, f"The sound output failed ({name}).")

    def _write(self) -> None:
        if self._sink is None or self._io is None or self._pos >= len(self._data):
            return
        room = self._sink.bytesFree()
        if room <= 0:
            return
        written = self._io.write(self._data[self._pos : self._pos + room])
        if written > 0:
            self._pos += written
            self._last_progress = time.monotonic()
            if self._pos >= len(self._data):
                self._all_written_at = self._last_progress

    def _on_timer_timeout(self) -> None:
        if self._sink is None:
            return
        now = time.monotonic()
        if self._pos < len(self._data):
            self._write()
            if now - self._last_progress > STALL_SECONDS:
                self._finish("The sound output stopped responding.")
            return
        if _name(self._sink.state()) in ("IdleState", "StoppedState"):
            self._finish("")
        elif now - self._all_written_at > self._buffer_seconds + DRAIN_GRACE:
            self._finish("")  # a backend that never reports idle: the buffer has played

    def _on_sink_state_changed(self) -> None:
        # No argument: PySide6 6.11 cannot convert QAudio::State for a Python slot.
        reason = self._error_reason()
        if reason:
            self._finish(reason)
        elif (
            self._sink is not None
            and _name(self._sink.state()) == "IdleState"
            and self._pos >= len(self._data)
        ):
            self._finish("")

    def _finish(self, reason: str) -> None:
        if self._finished:
            return
        self._finished = True
        self._timer.stop()
        sink, self._sink = self._sink, None
        self._io = None
        if sink is not None:
            sink.stateChanged.disconnect(self._on_sink_state_changed)
            sink.stop()
            sink.deleteLater()
        self.done.emit(reason)


def _device() -> QAudioDevice:
    device = find_output()
    if device is None:
        raise VoiceError(NO_OUTPUT, OUTPUT_HINT)
    return device


class SpeakerOutput(QObject):
    """Plays clips through the system's default output (implements core's ``AudioOutput``).

    One clip at a time: ``play`` while another plays stops that one first. Cancelling the
    awaiting task stops the sound too.

    Signals:
        playing_changed(bool): a clip started or ended.
    """

    playing_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._current: _Playback | None = None
        self._future: asyncio.Future[str] | None = None

    @property
    def playing(self) -> bool:
        return self._current is not None

    async def play(self, clip: AudioClip) -> None:
        """Play ``clip``; return when it has played, or at once after ``stop()``.
        VoiceError when there is no output device or it fails."""
        self.stop()
        if not clip.pcm:
            return
        device = _device()
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        playback = _Playback(clip, device, self)
        playback.done.connect(self._on_playback_done)
        self._current, self._future = playback, future
        self.playing_changed.emit(True)
        playback.start()
        try:
            reason = await future
        finally:
            if self._current is playback:
                self._current, self._future = None, None
                self.playing_changed.emit(False)
            playback.stop()  # cancelled: stop the sound (nothing when it has ended)
            playback.deleteLater()
        if reason not in ("", STOPPED):
            raise VoiceError(reason, "Check the sound output in your system's settings.")

    def stop(self) -> None:
        """Stop playing at once; a ``play`` in progress returns."""
        if self._current is not None:
            self._current.stop()

    def _on_playback_done(self, reason: str) -> None:
        future = self._future
        if self.sender() is self._current and future is not None and not future.done():
            future.set_result(reason)


def play_blocking(clip: AudioClip, timeout: float | None = None) -> None:
    """Play ``clip`` and return when it has played (for the CLI: makes a QCoreApplication if
    there is none). ``timeout``: stop after that many seconds. VoiceError when there is no
    output device or it fails; Ctrl+C stops the sound and raises KeyboardInterrupt."""
    ensure_app()
    if not clip.pcm:
        return
    playback = _Playback(clip, _device())
    results: list[str] = []
    playback.done.connect(results.append)
    playback.start()
    limit = timeout if timeout is not None else clip.duration + STALL_SECONDS + 10.0
    deadline = time.monotonic() + limit
    try:
        while not results:
            if time.monotonic() > deadline:
                playback.stop()
                if timeout is None:
                    raise VoiceError("The sound output did not finish playing.", OUTPUT_HINT)
                break
            QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.005)
    except KeyboardInterrupt:
        playback.stop()
        raise
    if results and results[0] not in ("", STOPPED):
        raise VoiceError(results[0], OUTPUT_HINT)
