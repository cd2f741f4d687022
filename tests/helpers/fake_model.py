"""A scripted ChatModel for unit tests of logic that is not about the model.

Enqueue replies with ``model.enqueue(["Hel", "lo"])``; each ``generate`` call pops one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from keiko_desktop.core.ports import ChatMessage, GenerationParams, GenerationStats, ToolTurn

if TYPE_CHECKING:
    from keiko_desktop.core.tools.models import ToolSpec


class FakeGeneration:
    def __init__(
        self,
        pieces: list[str],
        delay: float,
        fail_after: int | None,
        error: Exception | None = None,
    ) -> None:
        self._error = error
        self._pieces = pieces
        self._delay = delay
        self._fail_after = fail_after
        self._cancelled = False
        self._stats = GenerationStats()

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def stats(self) -> GenerationStats:
        return self._stats

    def __aiter__(self) -> AsyncIterator[str]:
        return self._run()

    async def _run(self) -> AsyncIterator[str]:
        start = time.perf_counter()
        first: float | None = None
        n = 0
        reason = "stop"
        for i, piece in enumerate(self._pieces):
            if self._cancelled:
                reason = "cancelled"
                break
            if self._fail_after is not None and i >= self._fail_after:
                raise self._error or RuntimeError("scripted failure")
            await asyncio.sleep(self._delay)
            if first is None:
                first = time.perf_counter() - start
            n += 1
            yield piece
        self._stats = GenerationStats(
            prompt_tokens=3,
            completion_tokens=n,
            time_to_first_token=first,
            total_time=time.perf_counter() - start,
            finish_reason=reason,  # type: ignore[arg-type]
        )


class FakeChatModel:
    name = "fake"
    supports_tools = False
    context_length = 2048

    def __init__(self, delay: float = 0.0) -> None:
        self.queue: list[tuple[list[str], int | None, Exception | None]] = []
        self.calls: list[list[ChatMessage]] = []
        self.delay = delay

    def enqueue(
        self, pieces: list[str], fail_after: int | None = None, error: Exception | None = None
    ) -> None:
        """Script the next reply: ``pieces``; after ``fail_after`` of them it raises ``error``
        (a RuntimeError when None)."""
        self.queue.append((pieces, fail_after, error))

    def generate(self, messages: Sequence[ChatMessage], params: GenerationParams) -> FakeGeneration:
        self.calls.append(list(messages))
        pieces, fail_after, error = self.queue.pop(0) if self.queue else (["ok"], None, None)
        return FakeGeneration(pieces, self.delay, fail_after, error)

    async def aclose(self) -> None:
        return None


class FakeToolModel(FakeChatModel):
    """The scripted model, able to call tools (a ``ToolCallingModel``) the way llama.cpp does:
    each ``call_tools`` turn is read from a scripted JSON reply (``tool_replies``: a string, or
    a list of pieces) by the same ``read_json_turn``, so an answer streams on, decoded, from the
    turn that began it. ``{"answer": "done"}`` once they run out. ``gate``, when set, is awaited
    before each turn (to hold the model mid-loop)."""

    supports_tools = True

    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.tool_replies: list[str | list[str]] = []
        self.tool_turns: list[list[ChatMessage]] = []
        self.required: list[bool] = []
        self.gate: asyncio.Event | None = None

    async def call_tools(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        params: GenerationParams,
        *,
        require: bool = False,
    ) -> ToolTurn:
        from keiko_desktop.core.tools.reply_format import read_json_turn

        self.tool_turns.append(list(messages))
        self.required.append(require)
        if self.gate is not None:
            await self.gate.wait()
        reply = self.tool_replies.pop(0) if self.tool_replies else '{"answer": "done"}'
        pieces = [reply] if isinstance(reply, str) else list(reply)
        return await read_json_turn(FakeGeneration(pieces, self.delay, None))
