"""The microphone: ``MicSource`` records PCM16 mono at 16 kHz (``WHISPER_RATE``) in small
chunks as they arrive, on the GUI thread.

It asks the device for exactly that format; a device that refuses it is recorded in its own
format (its preferred one: any rate, channels, u8/s16/s32/float) and converted here, chunk by
chunk (``pcm``). A failure to open, a device that goes away and a microphone that sends
nothing at all for three seconds are each ``failed(reason)``. QtMultimedia is imported when a
microphone is first started.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal

from keiko_desktop.core.voice.types import SAMPLE_WIDTH, WHISPER_RATE, VoiceError
from keiko_desktop.ui.voice import pcm
from keiko_desktop.ui.voice.devices import NO_MICROPHONE, find_input, microphone_permission

if TYPE_CHECKING:
    from PySide6.QtCore import QIODevice
    from PySide6.QtMultimedia import QAudioFormat, QAudioSource

BYTES_PER_SECOND = WHISPER_RATE * SAMPLE_WIDTH
SILENT_START_MS = 3000
"""A microphone that has sent nothing this long after it started is reported as failed."""

_SOURCE_ERRORS = {
    "OpenError": "The microphone could not be opened (is another program using it?).",
    "IOError": "Reading from the microphone failed (was it unplugged?).",
    "FatalError": "The sound system failed while recording.",
}


def sample_format(fmt: QAudioFormat) -> pcm.SampleFormat:
    """A QAudioFormat's sample type, as ``pcm`` names it."""
    from PySide6.QtMultimedia import QAudioFormat

    kinds: dict[Any, pcm.SampleFormat] = {
        QAudioFormat.SampleFormat.UInt8: "u8",
        QAudioFormat.SampleFormat.Int16: "s16",
        QAudioFormat.SampleFormat.Int32: "s32",
        QAudioFormat.SampleFormat.Float: "f32",
    }
    kind = kinds.get(fmt.sampleFormat())
    if kind is None:
        raise VoiceError(f"The sound device uses a sample format Keiko cannot read ({fmt}).")
    return kind


class _Converter:
    """A device's own format to PCM16 mono 16 kHz, chunk by chunk."""

    def __init__(self, fmt: QAudioFormat) -> None:
        self.kind = sample_format(fmt)
        self.channels = max(fmt.channelCount(), 1)
        self.frame = pcm.WIDTHS[self.kind] * self.channels
        self.resampler = pcm.StreamResampler(fmt.sampleRate(), WHISPER_RATE)
        self._rest = b""

    def convert(self, data: bytes) -> bytes:
        data = self._rest + data
        cut = len(data) // self.frame * self.frame
        self._rest = data[cut:]
        mono = pcm.to_mono_float(data[:cut], self.kind, self.channels)
        return pcm.to_pcm16(self.resampler.feed(mono))


BUFFER_US = 2_000_000


class MicSource(QObject):
    """The microphone (``device``: an id or description, "" the system default).

    Signals:
        chunk(bytes): PCM16 mono 16 kHz, as it is recorded.
        failed(str): no microphone, no permission, or it stopped working (why, to show).
    """

    chunk = Signal(bytes)
    failed = Signal(str)

    def __init__(self, device: str = "", parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._device = device
        self._source: QAudioSource | None = None
        self._io: QIODevice | None = None
        self._converter: _Converter | None = None
        self._received = 0
        self._watchdog = QTimer(self)
        self._watchdog.setSingleShot(True)
        self._watchdog.setInterval(SILENT_START_MS)
        self._watchdog.timeout.connect(self._on_watchdog_timeout)

    @property
    def active(self) -> bool:
        return self._source is not None

    @property
    def converting(self) -> bool:
        """Whether the device records in its own format, converted here."""
        return self._converter is not None

    def start(self) -> None:
        """Start recording; ``failed`` (at once) when it cannot."""
        if self._source is not None:
            return
        device = find_input(self._device)
        if device is None:
            self.failed.emit(NO_MICROPHONE)
            return
        denied = microphone_permission(request=True)
        if denied:
            self.failed.emit(denied)
            return
        from PySide6.QtMultimedia import QAudioFormat, QAudioSource

        fmt = QAudioFormat()
        fmt.setSampleRate(WHISPER_RATE)
        fmt.setChannelCount(1)
        fmt.setSampleFormat(QAudioFormat.SampleFormat.Int16)
        self._converter = None
        if not device.isFormatSupported(fmt):
            fmt = device.preferredFormat()
            try:
                self._converter = _Converter(fmt)
            except (VoiceError, ValueError) as exc:
                self.failed.emit(str(exc))
                return
        source = QAudioSource(device, fmt, self)
        # Two seconds of buffer, so nothing is lost while the GUI thread is held up (the
        # first push-to-talk imports and loads the speech model meanwhile); what has arrived
        # is read as it comes, so the meter and turn ends stay immediate.
        source.setBufferSize(max(fmt.bytesForDuration(BUFFER_US), 1024))
        source.stateChanged.connect(self._on_source_state_changed)
        self._source = source
        self._received = 0
        io = source.start()
        if io is None or self._error_reason() is not None:
            reason = self._error_reason() or _SOURCE_ERRORS["OpenError"]
            self._release()
            self.failed.emit(reason)
            return
        self._io = io
        io.readyRead.connect(self._on_io_ready_read)
        self._watchdog.start()

    def drain(self) -> None:
        """Emit what the device has recorded and not yet handed over (before ``stop``)."""
        self._on_io_ready_read()

    def stop(self) -> None:
        """Stop recording (nothing more is emitted; ``drain`` first to keep the last bit)."""
        self._release()

    def _release(self) -> None:
        self._watchdog.stop()
        source, self._source = self._source, None
        io, self._io = self._io, None
        if io is not None:
            io.readyRead.disconnect(self._on_io_ready_read)
        if source is not None:
            source.stateChanged.disconnect(self._on_source_state_changed)
            source.stop()
            source.deleteLater()

    def _error_reason(self) -> str | None:
        if self._source is None:
            return None
        error = self._source.error()
        name = getattr(error, "name", str(error))
        if name == "NoError":
            return None
        return _SOURCE_ERRORS.get(name, f"The microphone failed ({name}).")

    def _on_io_ready_read(self) -> None:
        if self._io is None:
            return
        data = bytes(self._io.readAll().data())
        if not data:
            return
        self._received += len(data)
        if self._converter is not None:
            data = self._converter.convert(data)
        if data:
            self.chunk.emit(data)

    def _on_source_state_changed(self) -> None:
        # No argument: PySide6 6.11 cannot convert QAudio::State for a Python slot.
        reason = self._error_reason()
        if reason is not None and self._source is not None:
            self._release()
            self.failed.emit(reason)

    def _on_watchdog_timeout(self) -> None:
        if self._source is not None and self._received == 0:
            self._release()
            self.failed.emit(
                "The microphone gives Keiko no sound at all. Check that it is connected, "
                "and that PipeWire or PulseAudio lets Keiko use it."
            )
