"""With tools in chat, the answer after the tool calls streams like a plain reply: piece by
piece, before its generation has ended, and with its token counts stored on the message."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Sequence

from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import (
    ChatMessage,
    GenerationParams,
    GenerationStats,
    ToolCallRequest,
    ToolTurn,
)
from keiko_desktop.core.tools.models import ToolSpec
from keiko_desktop.core.tools.reply_format import read_json_turn
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.store import Database
from tests.helpers.fake_model import FakeToolModel

from .conftest import chat_with_tools


class GatedGeneration:
    """Yields its pieces one at a time; after each piece marked held it waits until the test
    releases it, so the test can look while the generation is still running."""

    def __init__(self, pieces: Sequence[tuple[str, bool]]) -> None:
        self.pieces = list(pieces)
        self.releases = [asyncio.Event() for _ in self.pieces]
        self.ended = False
        self._cancelled = False
        self._stats = GenerationStats()

    def cancel(self) -> None:
        self._cancelled = True
        for release in self.releases:
            release.set()

    @property
    def stats(self) -> GenerationStats:
        return self._stats

    def release(self, index: int) -> None:
        self.releases[index].set()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._run()

    async def _run(self) -> AsyncIterator[str]:
        start = time.perf_counter()
        first: float | None = None
        n = 0
        for (piece, held), release in zip(self.pieces, self.releases, strict=True):
            if self._cancelled:
                break
            await asyncio.sleep(0.002)
            first = first if first is not None else time.perf_counter() - start
            n += 1
            yield piece
            if held:
                await release.wait()
        self.ended = True
        self._stats = GenerationStats(
            prompt_tokens=11,
            completion_tokens=n,
            time_to_first_token=first,
            total_time=time.perf_counter() - start,
            finish_reason="cancelled" if self._cancelled else "stop",
        )


class GatedToolModel(FakeToolModel):
    """First turn: a call to ``vault.peek``. Then ``answer`` (a GatedGeneration): as the JSON
    reply of the next turn when ``json_answer``, else as the plain ``generate()`` reply."""

    def __init__(self, answer: GatedGeneration, *, json_answer: bool) -> None:
        super().__init__()
        self.answer = answer
        self.json_answer = json_answer
        self.generated: list[list[ChatMessage]] = []

    async def call_tools(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        params: GenerationParams,
        *,
        require: bool = False,
    ) -> ToolTurn:
        self.tool_turns.append(list(messages))
        if len(self.tool_turns) == 1:
            call = ToolCallRequest("vault.peek")
            return ToolTurn(calls=(call,), text=json.dumps({"tool": "vault.peek"}))
        return await read_json_turn(self.answer)

    def generate(  # type: ignore[override]
        self, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> GatedGeneration:
        self.generated.append(list(messages))
        return self.answer


def chat_for(
    database: Database, bus: EventBus, model: FakeToolModel, tools: ToolService, **settings: object
) -> ChatService:
    return chat_with_tools(
        database, bus, model, tools, system_prompt="", flush_interval=0.01, **settings
    )


async def consume_gated(chat: ChatService, answer: GatedGeneration, pieces: list[str]) -> object:
    """Send, then read the reply piece by piece, checking each arrives while the generation is
    still running (and the stored reply is still ``streaming``); release it only then."""
    reply = await chat.send(None, "look around")
    held = [i for i, (_piece, is_held) in enumerate(answer.pieces) if is_held]
    seen: list[str] = []
    iterator = aiter(reply)
    for index in held:
        piece = await asyncio.wait_for(anext(iterator), 10)
        seen.append(piece)
        assert not answer.ended  # it reached us before the generation ended
        stored = await chat.repo.get_message(reply.message_id)
        assert stored is not None
        assert stored.status == "streaming"
        answer.release(index)
    seen += [piece async for piece in iterator]
    assert seen == pieces
    result = await asyncio.wait_for(reply.result(), 10)
    assert answer.ended
    return result


async def test_the_answer_the_model_begins_streams_piece_by_piece_with_its_stats(
    database: Database, bus: EventBus, vault_tools: ToolService
) -> None:
    answer = GatedGeneration(
        [('{"answer": "', False), ("Nothing", True), (" to", True), (' see."', True), ("}", False)]
    )
    model = GatedToolModel(answer, json_answer=True)
    chat = chat_for(database, bus, model, vault_tools)
    result = await consume_gated(chat, answer, ["Nothing", " to", " see."])
    assert result.status == "complete"  # type: ignore[attr-defined]
    assert result.text == "Nothing to see."  # type: ignore[attr-defined]
    assert model.generated == []  # no second request: the same generation streamed on
    stored = await chat.repo.get_message(result.message_id)  # type: ignore[attr-defined]
    assert stored is not None
    assert (stored.content, stored.status) == ("Nothing to see.", "complete")
    assert (stored.prompt_tokens, stored.completion_tokens) == (11, 5)
    assert stored.time_to_first_token is not None
    assert stored.duration is not None
    assert 0 < stored.time_to_first_token < stored.duration
    assert stored.tokens_per_second is not None
    assert stored.tokens_per_second > 0


async def test_after_the_step_limit_a_plain_reply_streams_with_its_stats(
    database: Database, bus: EventBus, vault_tools: ToolService
) -> None:
    answer = GatedGeneration([("I ", True), ("peeked ", True), ("once.", True)])
    model = GatedToolModel(answer, json_answer=False)
    chat = chat_for(database, bus, model, vault_tools, tool_max_steps=1)
    result = await consume_gated(chat, answer, ["I ", "peeked ", "once."])
    assert result.text == "I peeked once."  # type: ignore[attr-defined]
    assert len(model.tool_turns) == 1  # the limit: no second tool turn, a plain reply instead
    [prompt] = model.generated
    assert prompt[-1] == ChatMessage(
        "tool", '<tool_result tool="vault.peek">\nnothing to see\n</tool_result>'
    )
    stored = await chat.repo.get_message(result.message_id)  # type: ignore[attr-defined]
    assert stored is not None
    assert (stored.prompt_tokens, stored.completion_tokens) == (11, 3)
    assert stored.tokens_per_second is not None


async def test_stopping_the_streamed_answer_keeps_what_was_written(
    database: Database, bus: EventBus, vault_tools: ToolService
) -> None:
    answer = GatedGeneration([('{"answer": "', False), ("Half", True), (" of it", True)])
    chat = chat_for(database, bus, GatedToolModel(answer, json_answer=True), vault_tools)
    reply = await chat.send(None, "look around")
    iterator = aiter(reply)
    assert await asyncio.wait_for(anext(iterator), 10) == "Half"
    reply.cancel()
    result = await asyncio.wait_for(reply.result(), 10)
    assert (result.status, result.text) == ("interrupted", "Half")
    stored = await chat.repo.get_message(result.message_id)
    assert stored is not None
    assert (stored.status, stored.content) == ("interrupted", "Half")
