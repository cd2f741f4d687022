"""Recording: a clip played in as if spoken (``ClipSource``, for tests and benchmarks) and the
``Recorder`` that turns it or the microphone (``MicSource``, in ``microphone``) into a clip
and a level meter.

Every source gives PCM16 mono at 16 kHz (``WHISPER_RATE``) in small chunks as they arrive, on
the GUI thread, and has ``start``, ``stop``, ``drain`` and the signals ``chunk`` and ``failed``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from keiko_desktop.core.voice.types import SAMPLE_WIDTH, WHISPER_RATE, AudioClip, VoiceError
from keiko_desktop.ui.voice import pcm
from keiko_desktop.ui.voice.microphone import BYTES_PER_SECOND, MicSource

__all__ = ["BYTES_PER_SECOND", "ClipSource", "MicSource", "Recorder", "Source"]


class ClipSource(QObject):
    """A clip fed in real time, like a microphone hearing it: 20 ms chunks by a timer.

    After the clip, silence when ``then_silence`` (until ``stop``), else it stops and emits
    ``finished``. Any sample rate: resampled to 16 kHz first.

    Signals:
        chunk(bytes): PCM16 mono 16 kHz.
        failed(str): never emitted (the same interface as MicSource).
        finished(): the clip has all been sent (not with ``then_silence``).
    """

    chunk = Signal(bytes)
    failed = Signal(str)
    finished = Signal()

    def __init__(
        self,
        clip: AudioClip,
        *,
        then_silence: bool = False,
        chunk_ms: int = 20,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._pcm = pcm.resample(clip, WHISPER_RATE).pcm
        self._then_silence = then_silence
        self._chunk_bytes = max(WHISPER_RATE * chunk_ms // 1000, 1) * SAMPLE_WIDTH
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(chunk_ms)
        self._timer.timeout.connect(self._on_timer_timeout)
        self._started_at = 0.0
        self._sent = 0

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    @property
    def sent_seconds(self) -> float:
        return self._sent / BYTES_PER_SECOND

    def start(self) -> None:
        """Start feeding the clip from its beginning."""
        self._sent = 0
        self._started_at = time.monotonic()
        self._timer.start()

    def drain(self) -> None:
        """Emit what is due by now (as a microphone hands over what it has buffered)."""
        if self._timer.isActive():
            self._on_timer_timeout()

    def stop(self) -> None:
        self._timer.stop()

    def _on_timer_timeout(self) -> None:
        # Paced by the clock, not by timer ticks (which run late under load): what is due now.
        due = int((time.monotonic() - self._started_at) * WHISPER_RATE) * SAMPLE_WIDTH
        while True:
            end = self._sent + self._chunk_bytes
            if not self._then_silence:
                end = min(end, len(self._pcm))  # the clip's last piece may be short
            if end > due or end <= self._sent:
                break
            piece = self._pcm[self._sent : end]
            piece += bytes(end - self._sent - len(piece))  # silence past the clip
            self._sent = end
            self.chunk.emit(piece)
            if not self._timer.isActive():
                return  # stopped by a receiver
        if not self._then_silence and self._sent >= len(self._pcm):
            self._timer.stop()
            self.finished.emit()


Source = MicSource | ClipSource


class Recorder(QObject):
    """Records from a source made by ``source_factory`` each time; a clip when stopped.

    Levels (0..1, for the meter) are sent at most ~30 times a second; recording stops by
    itself after ``max_seconds`` (or when a ClipSource runs out) as if ``stop`` was called.

    Signals:
        started(): recording has begun.
        level_changed(float): the meter's level, 0..1 (fast rise, gentle fall).
        elapsed_changed(float): seconds recorded.
        chunk(bytes): each chunk recorded (PCM16 mono 16 kHz), e.g. for turn detection.
        stopped(object): the recorded AudioClip (stop, max_seconds, or the source ran out).
        cancelled(): recording was cancelled; nothing is kept.
        failed(str): the source could not record (why, to show); nothing is kept.
    """

    started = Signal()
    level_changed = Signal(float)
    elapsed_changed = Signal(float)
    chunk = Signal(bytes)
    stopped = Signal(object)
    cancelled = Signal()
    failed = Signal(str)

    LEVEL_INTERVAL = 1 / 30
    FALL = 0.7
    """Each update the shown level falls at most to this fraction of the last one."""

    def __init__(
        self,
        source_factory: Callable[[], Source],
        max_seconds: float = 300.0,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._factory = source_factory
        self._max_bytes = int(max_seconds * WHISPER_RATE) * SAMPLE_WIDTH
        self._source: Source | None = None
        self._buffer = bytearray()
        self._pending = bytearray()
        self._level = 0.0
        self._last_update = 0.0
        self._last = AudioClip(b"", WHISPER_RATE)
        self._tail = QTimer(self)
        self._tail.setSingleShot(True)
        self._tail.timeout.connect(self._on_tail_timeout)

    @property
    def recording(self) -> bool:
        return self._source is not None

    @property
    def elapsed(self) -> float:
        return len(self._buffer) / BYTES_PER_SECOND

    @property
    def level(self) -> float:
        return self._level

    @property
    def source(self) -> Source | None:
        """The source recording now (None when not recording)."""
        return self._source

    def start(self) -> None:
        """Start recording (nothing when already recording); ``failed`` if it cannot."""
        if self._source is not None:
            return
        try:
            source = self._factory()
        except (VoiceError, OSError, RuntimeError, ValueError) as exc:
            self.failed.emit(str(exc))
            return
        self._buffer = bytearray()
        self._pending = bytearray()
        self._level = 0.0
        self._last_update = time.monotonic()
        self._source = source
        source.chunk.connect(self._on_source_chunk)
        source.failed.connect(self._on_source_failed)
        if isinstance(source, ClipSource):
            source.finished.connect(self._on_source_finished)
        source.start()
        if self._source is source:  # not failed at once
            self.started.emit()
            self.level_changed.emit(0.0)
            self.elapsed_changed.emit(0.0)

    def stop(self) -> AudioClip:
        """Stop and return what was recorded (an empty clip when not recording); emits
        ``stopped`` with it."""
        if self._source is None:
            return AudioClip(b"", WHISPER_RATE)
        self._source.drain()
        if self._source is None:  # the last of it hit max_seconds or ended the clip: stopped
            return self._last
        self._release()
        clip = AudioClip(bytes(self._buffer), WHISPER_RATE)
        self._last = clip
        self._buffer = bytearray()
        self.level_changed.emit(0.0)
        self.stopped.emit(clip)
        return clip

    def finish(self, tail: float = 0.2) -> None:
        """Stop after ``tail`` more seconds (``stopped`` then): a key comes up as the last
        syllable ends, and the sound of it is still on its way from the device."""
        if self._source is None:
            return
        if tail <= 0:
            self.stop()
        elif not self._tail.isActive():
            self._tail.start(round(tail * 1000))

    @property
    def finishing(self) -> bool:
        """Whether ``finish`` is waiting out its tail."""
        return self._tail.isActive()

    def _on_tail_timeout(self) -> None:
        self.stop()

    def cancel(self) -> None:
        """Stop and drop what was recorded; emits ``cancelled`` (nothing when not recording)."""
        if self._source is None:
            return
        self._release()
        self._buffer = bytearray()
        self.level_changed.emit(0.0)
        self.cancelled.emit()

    def _release(self) -> None:
        self._tail.stop()
        source, self._source = self._source, None
        if source is None:
            return
        source.chunk.disconnect(self._on_source_chunk)
        source.failed.disconnect(self._on_source_failed)
        if isinstance(source, ClipSource):
            source.finished.disconnect(self._on_source_finished)
        source.stop()
        source.deleteLater()
        self._pending = bytearray()
        self._level = 0.0

    def _on_source_chunk(self, data: bytes) -> None:
        if self._source is None:
            return
        room = self._max_bytes - len(self._buffer)
        data = data[: max(room, 0)]
        self._buffer += data
        self._pending += data
        if data:
            self.chunk.emit(data)
        now = time.monotonic()
        # Every 1/30 s, or every 1/30 s of sound when it comes in a burst (the GUI thread was
        # held up and the device hands over what it kept): the meter never misses the speech.
        if (
            now - self._last_update >= self.LEVEL_INTERVAL
            or len(self._pending) >= self.LEVEL_INTERVAL * BYTES_PER_SECOND
        ):
            self._update_level(now)
        if len(self._buffer) >= self._max_bytes and self._source is not None:
            self.stop()

    def _update_level(self, now: float) -> None:
        from keiko_desktop.core.voice.levels import meter_level

        raw = meter_level(bytes(self._pending)) if self._pending else 0.0
        self._pending = bytearray()
        self._last_update = now
        self._level = max(raw, self._level * self.FALL)
        self.level_changed.emit(self._level)
        self.elapsed_changed.emit(self.elapsed)

    def _on_source_failed(self, reason: str) -> None:
        if self._source is None:
            return
        self._release()
        self._buffer = bytearray()
        self.level_changed.emit(0.0)
        self.failed.emit(reason)

    def _on_source_finished(self) -> None:
        if self._source is not None:
            self.stop()
