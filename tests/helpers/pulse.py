"""A real PulseAudio sound server for a test: a microphone fed from the test, a speaker read back.

``PulseServer(root).start()`` runs ``pulseaudio`` (Debian's package; ``make system-deps`` installs
it) in a private runtime folder with its own socket and two devices: ``keiko_mic``, a pipe source
(the default input) that delivers whatever PCM is written into its FIFO, and ``keiko_out``, a
clocked pipe sink (the default output) whose FIFO a thread here reads into ``heard``;
``open_room`` keeps the microphone hearing a quiet room and ``say`` speaks into it. A process
started with ``server.env`` (``PULSE_SERVER``) sees them as its only sound devices: QMediaDevices
lists them, QAudioSource records from the FIFO, QAudioSink plays into the sink. Why a pipe sink
and not a null sink: the null sink renders in blocks as long as the longest latency its streams
ask for (2 s for Qt's), so a short clip waits seconds there; a pipe sink with
``use_system_clock_for_timing`` plays in real time. Qt picks its sound server once per process,
so the code under test runs in a child process (or the real app).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from keiko_desktop.core.voice.types import WHISPER_RATE, AudioClip
from tests.helpers.processes import stop

RATE = WHISPER_RATE


class PulseServer:
    """A PulseAudio daemon of its own in ``root``: mic ``keiko_mic`` (a FIFO), speaker
    ``keiko_out`` (a FIFO, read here). ``env`` is what a client needs to use it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "native"
        self.mic = root / "mic"
        self.speaker = root / "speaker"
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = root / "pulseaudio.log"
        self.heard = bytearray()
        self._reading = threading.Event()
        self._reader: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pending = b""
        self._said: threading.Event | None = None
        self._room: threading.Thread | None = None
        self._room_open = threading.Event()

    @property
    def env(self) -> dict[str, str]:
        return {"PULSE_SERVER": f"unix:{self.socket}"}

    def start(self) -> PulseServer:
        home, runtime = self.root / "home", self.root / "runtime"
        for folder in (home, runtime):
            folder.mkdir(mode=0o700)
        env = dict(os.environ, HOME=str(home), XDG_RUNTIME_DIR=str(runtime))
        env.pop("PULSE_SERVER", None)
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                [
                    "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1",
                    "--use-pid-file=no", "--log-target=stderr",
                    "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.socket}",
                    "-L", f"module-pipe-source source_name=keiko_mic file={self.mic} "
                    f"format=s16le rate={RATE} channels=1",
                    "-L", f"module-pipe-sink sink_name=keiko_out file={self.speaker} "
                    f"format=s16le rate={RATE} channels=1 use_system_clock_for_timing=yes",
                ],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 15
        while self.pactl("info", check=False) is None:
            if self._proc.poll() is not None or time.monotonic() > deadline:
                log_text = self._log.read_text(errors="replace")[-1500:]
                self.stop()
                pytest.skip(f"PulseAudio did not start here: {log_text}")
            time.sleep(0.1)
        self.pactl("set-default-source", "keiko_mic")
        self.pactl("set-default-sink", "keiko_out")
        self._reader = threading.Thread(target=self._read_speaker, daemon=True)
        self._reading.set()
        self._reader.start()
        return self

    def pactl(self, *args: str, check: bool = True) -> str | None:
        result = subprocess.run(
            ["pactl", *args],
            env=dict(os.environ, **self.env),
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
        if result.returncode != 0:
            if check:
                raise RuntimeError(f"pactl {' '.join(args)}: {result.stderr.strip()}")
            return None
        return result.stdout

    def _read_speaker(self) -> None:
        import select

        fd = os.open(self.speaker, os.O_RDONLY | os.O_NONBLOCK)
        try:
            while self._reading.is_set():
                ready, _, _ = select.select([fd], [], [], 0.1)
                if ready:
                    data = os.read(fd, 65536)
                    if data:
                        self.heard += data
        finally:
            os.close(fd)

    def stop(self) -> None:
        self._room_open.clear()
        if self._room is not None:
            self._room.join(5)
            self._room = None
        self._reading.clear()
        if self._reader is not None:
            self._reader.join(5)
            self._reader = None
        if self._proc is not None:
            stop(self._proc)
            self._proc = None

    def open_room(self) -> None:
        """From now on the microphone hears a quiet room, as a real one does: silence, written
        into the FIFO at its real pace from a thread, with whatever ``say`` speaks mixed in.
        (A pipe source delivers only what is written; a recorder that hears nothing at all for
        seconds rightly reports a dead microphone.)"""
        if self._room is not None:
            return
        self._room_open.set()
        self._room = threading.Thread(target=self._feed_room, name="pulse-room", daemon=True)
        self._room.start()

    def _feed_room(self) -> None:
        chunk = RATE // 50 * 2
        fd = os.open(self.mic, os.O_WRONLY)
        try:
            began, n = time.monotonic(), 0
            while self._room_open.is_set():
                with self._lock:
                    pcm, self._pending = self._pending[:chunk], self._pending[chunk:]
                    done = not self._pending and self._said is not None
                    said, self._said = (self._said, None) if done else (None, self._said)
                try:
                    os.write(fd, pcm.ljust(chunk, b"\0"))
                except BrokenPipeError:  # the source reopened its end, or the server is gone
                    os.close(fd)
                    fd = -1
                    if not self._room_open.is_set():
                        return
                    try:
                        fd = os.open(self.mic, os.O_WRONLY)
                    except OSError:  # the server stopped: nobody listens any more
                        return
                if said is not None:
                    said.set()
                n += 1
                time.sleep(max(0.0, began + n * chunk / (2 * RATE) - time.monotonic()))
        finally:
            if fd >= 0:
                os.close(fd)

    def say(self, clip: AudioClip, then_silence: float = 0.5) -> threading.Event:
        """Speak ``clip`` (16 kHz) into the microphone at its real pace, after what is still
        being said; the event is set once it (and ``then_silence``) has been heard."""
        if clip.sample_rate != RATE:
            raise ValueError("the microphone takes 16 kHz audio")
        self.open_room()
        done = threading.Event()
        with self._lock:
            self._pending += clip.pcm + bytes(int(then_silence * RATE) * 2)
            self._said = done
        return done

    def played(self) -> AudioClip:
        """Everything the speaker played so far (16 kHz mono)."""
        return AudioClip(bytes(self.heard[: len(self.heard) // 2 * 2]), RATE)


def pulse_missing() -> str:
    """Why a real sound server cannot be had here ("" when it can)."""
    missing = [tool for tool in ("pulseaudio", "pactl") if shutil.which(tool) is None]
    return (
        f"{', '.join(missing)} not installed (`make system-deps` installs them)" if missing else ""
    )


@contextmanager
def pulse_server(root: Path) -> Iterator[PulseServer]:
    """A running ``PulseServer`` in ``root`` (skips the test where PulseAudio is missing)."""
    reason = pulse_missing()
    if reason:
        pytest.skip(reason)
    root.mkdir(parents=True, exist_ok=True)
    server = PulseServer(root).start()
    try:
        yield server
    finally:
        server.stop()
