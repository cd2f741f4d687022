"""The OpenAI-compatible backend against a real server: llama_cpp.server with the bundled
model (tests/helpers/llama_server.py), through the registry, the model and the AgentRunner."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from keiko_desktop.core.agents.runner import AgentRunner
from keiko_desktop.core.config import Settings
from keiko_desktop.core.endpoints import Endpoint
from keiko_desktop.core.ports import ChatMessage, GenerationParams, tool_calling
from keiko_desktop.core.tools.models import ToolResult, ToolSpec
from keiko_desktop.llm.openai_backend import OpenAIBackend
from keiko_desktop.llm.openai_model import OpenAIChatModel
from keiko_desktop.llm.registry import ModelRegistry
from tests.helpers.llama_server import LlamaServer, llama_server

pytestmark = pytest.mark.model

TIME = ToolSpec(
    "clock",
    "time_in",
    "The current time in a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
NOTE = ToolSpec("notes", "add", "Add a note.", {"type": "object", "properties": {}})
ASK = [
    ChatMessage("system", "You are a helpful assistant."),
    ChatMessage("user", "What time is it in Paris? Use the tool."),
]


@pytest.fixture(scope="module")
def server() -> Iterator[LlamaServer]:
    with llama_server() as running:
        yield running


async def load(server: LlamaServer) -> tuple[OpenAIBackend, OpenAIChatModel]:
    backend = OpenAIBackend(Endpoint("local-llama", server.url, timeout=60), lambda: None)
    registry = ModelRegistry(Settings())
    registry.register_backend(backend)
    model = await registry.load(registry.resolve(f"local-llama/{server.model_id}"))
    assert isinstance(model, OpenAIChatModel)
    return backend, model


async def test_lists_its_models(server: LlamaServer) -> None:
    backend = OpenAIBackend(Endpoint("local-llama", server.url), lambda: None)
    status = await backend.refresh()
    await backend.aclose()
    assert status.state == "online", status.detail
    assert status.models == (server.model_id,)
    assert [i.name for i in backend.list_models()] == [f"local-llama/{server.model_id}"]


async def test_streams_a_reply_with_stats(server: LlamaServer) -> None:
    backend, model = await load(server)
    generation = model.generate(
        [ChatMessage("user", "Count from 1 to 10.")], GenerationParams(temperature=0, max_tokens=40)
    )
    pieces = [p async for p in generation]
    await model.aclose()
    await backend.aclose()
    assert len(pieces) > 5
    assert "".join(pieces).strip()
    stats = generation.stats
    assert stats.finish_reason in ("stop", "length")
    assert stats.completion_tokens >= len(pieces) - 1
    assert stats.time_to_first_token is not None
    assert stats.time_to_first_token > 0
    assert stats.total_time > stats.time_to_first_token
    assert stats.tokens_per_second is not None
    assert stats.tokens_per_second > 1


async def test_cancel_mid_reply(server: LlamaServer) -> None:
    backend, model = await load(server)
    generation = model.generate(
        [ChatMessage("user", "Write a long story about a cat.")],
        GenerationParams(temperature=0, max_tokens=400),
    )
    pieces = []
    async for piece in generation:
        pieces.append(piece)
        if len(pieces) == 3:
            generation.cancel()
    assert len(pieces) == 3
    assert generation.stats.finish_reason == "cancelled"
    # the server takes the next reply (llama_cpp.server interrupts the one it was writing)
    again = [
        p async for p in model.generate([ChatMessage("user", "Hi")], GenerationParams(max_tokens=5))
    ]
    assert again
    await model.aclose()
    await backend.aclose()


class Caller:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(
        self, name: str, arguments: dict[str, Any] | None = None, **_: Any
    ) -> ToolResult:
        self.calls.append((name, arguments or {}))
        return ToolResult("It is 14:05 in Paris.")


async def test_a_native_tool_call_required(server: LlamaServer) -> None:
    backend, model = await load(server)
    assert tool_calling(model) is model
    caller = Caller()
    runner = AgentRunner(model, caller, max_steps=1, require_tool_first=True, max_tokens=40)
    done = await runner.complete(ASK, [TIME])
    await model.aclose()
    await backend.aclose()
    assert len(caller.calls) == 1
    name, arguments = caller.calls[0]
    assert name == "clock.time_in"  # clock_time_in on the wire
    assert isinstance(arguments.get("city"), str)
    assert done.outcome.stopped == "step_limit"
    assert done.stats.finish_reason in ("stop", "length")


async def test_a_native_tool_call_chosen_by_the_model(server: LlamaServer) -> None:
    # tool_choice auto: llama.cpp's chatml-function-calling cannot stream a call it chooses
    # (its stream ends at once), so the model asks again without streaming and remembers
    backend, model = await load(server)
    caller = Caller()
    runner = AgentRunner(model, caller, max_steps=2, max_tokens=40)
    done = await runner.complete(ASK, [TIME, NOTE])
    await model.aclose()
    await backend.aclose()
    assert caller.calls
    assert caller.calls[0][0] == "clock.time_in"
    assert isinstance(caller.calls[0][1].get("city"), str)
    assert done.outcome.stopped in ("answer", "step_limit")
