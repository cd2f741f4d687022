"""Fallback chains in ChatService: the real SQLite store, scripted models that fail the way a
remote endpoint does (the logic under test is the chain, not the model)."""

from __future__ import annotations

import pytest

from keiko_desktop.core.chat.fallback import fallback_note
from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import Settings
from keiko_desktop.core.errors import (
    GenerationError,
    ModelUnavailableError,
    ReplyInterruptedError,
)
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ChatModel, ModelInfo
from keiko_desktop.store import Database
from tests.helpers.fake_model import FakeChatModel
from tests.helpers.fake_provider import FakeProvider

DOWN = ModelUnavailableError("Cannot reach ollama (http://127.0.0.1:9/v1): connection refused.")


class NamedModel(FakeChatModel):
    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class ChainProvider(FakeProvider):
    """Hands out the model of each name (the first is the default)."""

    def __init__(self, *models: NamedModel) -> None:
        super().__init__(models[0])
        self.by_name: dict[str, ChatModel] = {m.name: m for m in models}
        self.default = ModelInfo(models[0].name, f"/m/{models[0].name}.gguf", 1, bundled=True)
        self.added = [ModelInfo(m.name, f"/m/{m.name}.gguf", 1) for m in models[1:]]

    async def load(self, info: ModelInfo) -> ChatModel:
        self.loaded.append(info.name)
        return self.by_name[info.name]


@pytest.fixture
def remote() -> NamedModel:
    return NamedModel("ollama/llama3")


@pytest.fixture
def local() -> NamedModel:
    return NamedModel("smollm2-135m-instruct")


def _service(
    database: Database, bus: EventBus, provider: FakeProvider, fallbacks: tuple[str, ...]
) -> ChatService:
    settings = Settings(model_fallbacks=fallbacks)
    manager = ModelManager(provider, bus)
    return ChatService(database.conversations, manager, bus, lambda: settings, flush_interval=0.05)


async def test_an_unreachable_model_falls_back_and_the_reply_says_which_answered(
    database: Database, bus: EventBus, remote: NamedModel, local: NamedModel
) -> None:
    service = _service(database, bus, ChainProvider(remote, local), ("smollm2-135m-instruct",))
    remote.enqueue(["never"], fail_after=0, error=DOWN)
    local.enqueue(["Blue", " light", " scatters."])
    reply = await service.send(None, "Why is the sky blue?")
    result = await reply.result()
    assert result.status == "complete"
    assert result.text == "Blue light scatters."
    assert result.model == "smollm2-135m-instruct"
    assert result.note is not None
    assert result.note.startswith("Answered by smollm2-135m-instruct: ollama/llama3 could not")
    assert "connection refused" in result.note
    stored = (await service.repo.list_messages(reply.conversation_id))[-1]
    assert (stored.model, stored.note, stored.status) == (
        "smollm2-135m-instruct",
        result.note,
        "complete",
    )


async def test_without_a_chain_the_failure_is_the_reply_error(
    database: Database, bus: EventBus, remote: NamedModel, local: NamedModel
) -> None:
    service = _service(database, bus, ChainProvider(remote, local), ())
    remote.enqueue(["never"], fail_after=0, error=DOWN)
    result = await (await service.send(None, "hello")).result()
    assert result.status == "error"
    assert result.error is not None
    assert "connection refused" in result.error
    assert result.note is None
    assert local.calls == []


async def test_a_reply_that_already_wrote_never_falls_back(
    database: Database, bus: EventBus, remote: NamedModel, local: NamedModel
) -> None:
    service = _service(database, bus, ChainProvider(remote, local), ("smollm2-135m-instruct",))
    remote.enqueue(["Half", " a"], fail_after=1, error=DOWN)
    result = await (await service.send(None, "hello")).result()
    assert result.status == "error"
    assert result.text == "Half"  # what was written is kept
    assert local.calls == []


async def test_a_stream_cut_mid_reply_is_kept_and_marked_interrupted(
    database: Database, bus: EventBus, remote: NamedModel, local: NamedModel
) -> None:
    service = _service(database, bus, ChainProvider(remote, local), ("smollm2-135m-instruct",))
    cut = ReplyInterruptedError("The connection to ollama was cut mid-reply.")
    remote.enqueue(["The", " answer", " is"], fail_after=2, error=cut)
    reply = await service.send(None, "hello")
    result = await reply.result()
    assert (result.status, result.text) == ("interrupted", "The answer")
    stored = (await service.repo.list_messages(reply.conversation_id))[-1]
    assert (stored.status, stored.content) == ("interrupted", "The answer")
    assert stored.error is not None
    assert "cut mid-reply" in stored.error
    assert local.calls == []


async def test_other_errors_do_not_fall_back(
    database: Database, bus: EventBus, remote: NamedModel, local: NamedModel
) -> None:
    service = _service(database, bus, ChainProvider(remote, local), ("smollm2-135m-instruct",))
    remote.enqueue(["x"], fail_after=0, error=GenerationError("The endpoint refused the API key."))
    result = await (await service.send(None, "hello")).result()
    assert result.status == "error"
    assert result.error is not None
    assert "API key" in result.error
    assert local.calls == []


async def test_every_model_down_names_each_failure(
    database: Database, bus: EventBus, remote: NamedModel
) -> None:
    other = NamedModel("vllm/qwen")
    service = _service(database, bus, ChainProvider(remote, other), ("vllm/qwen", "missing-model"))
    remote.enqueue(["x"], fail_after=0, error=DOWN)
    other.enqueue(["x"], fail_after=0, error=ModelUnavailableError("vllm timed out."))
    result = await (await service.send(None, "hello")).result()
    assert result.status == "error"
    assert result.error is not None
    for part in ("No model could answer", "ollama/llama3", "vllm/qwen", "missing-model"):
        assert part in result.error


def test_the_note_names_the_model_and_each_reason() -> None:
    note = fallback_note("local", [("a/x", "refused."), ("b/y", "timed out")])
    expected = "Answered by local: a/x could not be reached (refused); "
    assert note == expected + "b/y could not be reached (timed out)."
