"""ReadAloud: a reply spoken sentence by sentence while it is still streaming.

``feed`` takes the reply's pieces as they come; each sentence the ``SentenceSplitter``
completes is synthesized at once, and while it plays the next one is synthesized (one ahead,
no more: the model writing the reply needs the CPU too). ``stop`` (barge-in) stops the output
at once, drops what is queued and cancels the synthesis in progress.

Speech starts sooner when the first sentence is long: its opening words (up to a clause
boundary within ``QUICK_CLAUSE`` characters, else up to ``QUICK_HEAD`` characters at a
space) are synthesized and played first, and the rest while they play. Piper spends about
0.1 s plus 0.2 s per second of speech here, so a whole first sentence would take 0.4-0.8 s
before anything is heard. Later sentences are synthesized whole while the previous one plays.

Everything runs on the loop thread. The bus gets ``SpeechStarted(sentence)`` before a
sentence plays and ``SpeechStopped`` once, at the end: ``finished`` (everything said, even
when there was nothing to say), ``stopped`` or ``error`` (``.error`` says what).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.voice.events import SpeechStarted, SpeechStopped
from keiko_desktop.core.voice.ports import AudioOutput
from keiko_desktop.core.voice.sentences import SentenceSplitter
from keiko_desktop.core.voice.types import AudioClip, VoiceError

log = logging.getLogger(__name__)

QUICK_WHOLE = 24
"""A first sentence this short is synthesized whole."""
QUICK_CLAUSE = 22
"""A clause boundary (, ; : —) within this many characters ends the opening words..."""
QUICK_HEAD = 14
"""...else they end at the last space within this many."""
QUICK_REST = 8
"""The opening words are split off only when at least this much is left after them."""
LONG_REST = 100
"""A rest longer than this is split once more, at its last clause boundary within..."""
REST_CLAUSE = (20, 80)

_CLAUSE = re.compile(r"[,;:](?=\s)|\s[—–-](?=\s)")

Synthesize = Callable[[str], Awaitable[AudioClip]]


@dataclass(frozen=True)
class _Piece:
    text: str  # what is synthesized
    sentence: str  # the sentence it belongs to
    first: bool  # its sentence's first piece (SpeechStarted before it plays)
    last: bool  # its sentence's last piece (spoken once it has played)


def opening(sentence: str) -> list[str]:
    """``sentence`` as the pieces a first sentence is spoken in (see the module docstring)."""
    if len(sentence) <= QUICK_WHOLE:
        return [sentence]
    cut = _last_clause(sentence, 4, QUICK_CLAUSE)
    if cut < 0:
        cut = sentence.rfind(" ", 0, QUICK_HEAD + 1)
        if cut <= 0:
            cut = sentence.find(" ")
    head, rest = sentence[:cut].strip(), sentence[cut:].strip()
    if cut <= 0 or not head or len(rest) < QUICK_REST:
        return [sentence]
    if len(rest) > LONG_REST:
        second = _last_clause(rest, *REST_CLAUSE)
        if second > 0 and len(rest) - second >= QUICK_REST:
            return [head, rest[:second].strip(), rest[second:].strip()]
    return [head, rest]


def _last_clause(text: str, low: int, high: int) -> int:
    """Where the last clause boundary ending between ``low`` and ``high`` ends, else -1."""
    best = -1
    for match in _CLAUSE.finditer(text, 0, high + 1):
        if match.end() >= low:
            best = match.end()
    return best


class ReadAloud:
    """Speaks a streamed reply (see the module docstring). ``feed`` and ``finish`` never
    raise; failures end the reading with ``SpeechStopped("error")`` and ``.error`` set."""

    def __init__(
        self,
        synthesize: Synthesize,
        output: AudioOutput,
        bus: EventBus | None = None,
        *,
        quick_start: bool = True,
    ) -> None:
        self._synthesize = synthesize
        self._output = output
        self._bus = bus
        self._quick_start = quick_start
        self._splitter = SentenceSplitter()
        self._pieces: asyncio.Queue[_Piece | None] = asyncio.Queue()
        self._clips: asyncio.Queue[tuple[_Piece, AudioClip] | None] = asyncio.Queue()
        self._slots = asyncio.Semaphore(2)  # the clip playing and the one made ahead of it
        self._task: asyncio.Task[None] | None = None
        self._ended = asyncio.Event()
        self._spoken: list[str] = []
        self._sentences = 0
        self._finished = False
        self._done = False
        self.error: VoiceError | None = None

    @property
    def spoken(self) -> tuple[str, ...]:
        """The sentences played to their end, in order."""
        return tuple(self._spoken)

    @property
    def speaking(self) -> bool:
        """Something was given to say and the reading has not ended (true between
        sentences too, while the reply is still coming)."""
        return self._sentences > 0 and not self._done

    @property
    def done(self) -> bool:
        """The reading ended: finished, stopped or failed."""
        return self._done

    def feed(self, piece: str) -> None:
        """Add a piece of the reply; complete sentences start being spoken."""
        if self._done or self._finished:
            return
        self._take(self._splitter.feed, piece)

    def finish(self) -> None:
        """The reply is complete: say the rest, then end with ``SpeechStopped("finished")``."""
        if self._done or self._finished:
            return
        self._finished = True
        self._take(lambda _: self._splitter.flush(), "")
        self._pieces.put_nowait(None)
        self._start()

    def stop(self) -> None:
        """Stop speaking now (barge-in, Stop): the output stops, nothing more is said."""
        if self._done:
            return
        try:
            self._output.stop()
        except Exception:
            log.exception("stopping the sound output failed")
        self._end("stopped")
        if self._task is not None:
            self._task.cancel()

    async def wait(self) -> None:
        """Return once the reading has ended (and its work is cleaned up)."""
        await self._ended.wait()
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    # ------------------------------------------------------------------ inside

    def _take(self, split: Callable[[str], list[str]], piece: str) -> None:
        try:
            sentences = split(piece)
        except Exception:
            log.exception("could not split a reply into sentences")
            self._fail(VoiceError("Keiko could not read this reply aloud."))
            return
        for sentence in sentences:
            first = self._quick_start and self._sentences == 0
            parts = opening(sentence) if first else [sentence]
            self._sentences += 1
            for index, text in enumerate(parts):
                last = index == len(parts) - 1
                self._pieces.put_nowait(_Piece(text, sentence, index == 0, last))
        if sentences:
            self._start()

    def _start(self) -> None:
        if self._task is None and not self._done:
            loop = asyncio.get_running_loop()
            self._task = loop.create_task(self._run(), name="keiko-read-aloud")

    async def _run(self) -> None:
        maker = asyncio.create_task(self._make_clips(), name="keiko-read-aloud-synth")
        player = asyncio.create_task(self._play_clips(), name="keiko-read-aloud-play")
        try:
            await asyncio.wait({maker, player}, return_when=asyncio.FIRST_EXCEPTION)
            for task in (maker, player):
                error = task.exception() if task.done() and not task.cancelled() else None
                if error is not None:
                    raise error
            self._end("finished")
        except VoiceError as exc:
            self._fail(exc)
        except Exception as exc:
            log.exception("reading a reply aloud failed")
            self._fail(VoiceError(f"Speaking failed: {exc}.", "See keiko.log for details."))
        finally:
            for task in (maker, player):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(maker, player, return_exceptions=True)

    async def _make_clips(self) -> None:
        while True:
            piece = await self._pieces.get()
            if piece is None:
                self._clips.put_nowait(None)
                return
            await self._slots.acquire()
            clip = await self._synthesize(piece.text)
            self._clips.put_nowait((piece, clip))

    async def _play_clips(self) -> None:
        while True:
            item = await self._clips.get()
            if item is None:
                return
            piece, clip = item
            try:
                if piece.first and self._bus is not None:
                    self._bus.publish(SpeechStarted(piece.sentence))
                if self._done:  # stopped by a SpeechStarted subscriber
                    return
                if clip.samples:
                    await self._output.play(clip)
            finally:
                self._slots.release()
            if self._done:
                return
            if piece.last:
                self._spoken.append(piece.sentence)

    def _fail(self, error: VoiceError) -> None:
        if self._done:
            return
        self.error = error
        log.warning("reading aloud stopped: %s", error)
        try:
            self._output.stop()
        except Exception:
            log.exception("stopping the sound output failed")
        self._end("error")
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()

    def _end(self, reason: Literal["finished", "stopped", "error"]) -> None:
        if self._done:
            return
        self._done = True
        self._ended.set()
        if self._bus is not None:
            self._bus.publish(SpeechStopped(reason))
