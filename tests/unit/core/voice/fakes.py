"""Fakes for the voice pipeline's unit tests: a synthesizer and an output that log what
happens to each clip, in order (the logic under test is the pipeline, not the engines)."""

from __future__ import annotations

import asyncio

from keiko_desktop.core.voice.types import AudioClip

Log = list[tuple[str, str]]


def clip_of(text: str) -> AudioClip:
    """A clip whose samples spell its text, so the output can tell what it plays."""
    return AudioClip(text.encode("utf-16-le"), 16000)


class FakeSynth:
    """Logs ("synth", text) when asked and ("made", text) when done; ``gated`` waits for
    ``open(text)``; ``fail`` maps a text to the exception its synthesis raises."""

    def __init__(self, log: Log, *, gated: bool = False) -> None:
        self.log = log
        self.gated = gated
        self.gates: dict[str, asyncio.Event] = {}
        self.fail: dict[str, Exception] = {}
        self.cancelled: list[str] = []
        self.empty = False

    async def __call__(self, text: str) -> AudioClip:
        self.log.append(("synth", text))
        try:
            if self.gated:
                await self.gates.setdefault(text, asyncio.Event()).wait()
            await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.cancelled.append(text)
            raise
        if text in self.fail:
            raise self.fail[text]
        self.log.append(("made", text))
        return AudioClip(b"") if self.empty else clip_of(text)


class FakeOutput:
    """Logs ("play", text), then ("played", text), ("interrupted", text) after ``stop()``
    or ("cancelled", text). With ``hold``
    a clip plays until ``release()`` (or ``stop()``); without, it plays at once."""

    def __init__(self, log: Log, *, hold: bool = False) -> None:
        self.log = log
        self.hold = hold
        self.played: list[str] = []
        self.stops = 0
        self.error: Exception | None = None
        self.started = asyncio.Event()  # set when the first clip starts playing
        self._current: asyncio.Event | None = None
        self._stopped = False

    async def play(self, clip: AudioClip) -> None:
        text = clip.pcm.decode("utf-16-le")
        self.log.append(("play", text))
        self.started.set()
        if self.error is not None:
            raise self.error
        self._current, self._stopped = asyncio.Event(), False
        try:
            if self.hold:
                await self._current.wait()
            else:
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            self.log.append(("cancelled", text))
            raise
        if self._stopped:
            self.log.append(("interrupted", text))
        else:
            self.log.append(("played", text))
            self.played.append(text)

    def release(self) -> None:
        assert self._current is not None
        self._current.set()

    def stop(self) -> None:
        self.stops += 1
        self._stopped = True
        if self._current is not None:
            self._current.set()


async def settle() -> None:
    """Let every ready task run until nothing moves (fakes never sleep for real)."""
    for _ in range(30):
        await asyncio.sleep(0)
