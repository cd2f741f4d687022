"""ChatService with the real SQLite store and a scripted model."""

from __future__ import annotations

import asyncio

import pytest

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.errors import EmptyPromptError, KeikoError
from keiko_desktop.core.events import (
    ConversationChanged,
    EventBus,
    MessageCompleted,
    ModelStateChanged,
)
from keiko_desktop.store import Database, open_database
from tests.helpers.events import EventRecorder
from tests.helpers.fake_model import FakeChatModel
from tests.helpers.fake_provider import FakeProvider


@pytest.fixture
def model() -> FakeChatModel:
    return FakeChatModel()


@pytest.fixture
def service(database: Database, model: FakeChatModel, bus: EventBus) -> ChatService:
    settings = Settings(system_prompt="Be brief.")
    manager = ModelManager(FakeProvider(model), bus)
    return ChatService(database.conversations, manager, bus, lambda: settings, flush_interval=0.05)


async def test_send_stores_both_messages_and_titles_the_chat(
    service: ChatService, model: FakeChatModel, bus: EventBus
) -> None:
    recorder = EventRecorder(bus)
    model.enqueue(["Paris", " is", " the", " capital."])
    reply = await service.send(None, "What is the capital of France?")
    pieces = [p async for p in reply]
    result = await reply.result()
    assert "".join(pieces) == "Paris is the capital." == result.text
    assert result.status == "complete"

    repo = service.repo
    messages = await repo.list_messages(reply.conversation_id)
    assert [(m.role, m.status) for m in messages] == [
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert messages[1].content == "Paris is the capital."
    assert messages[1].model == "fake"
    assert messages[1].completion_tokens == 4
    assert messages[1].parent_id == messages[0].id
    conversation = await repo.get_conversation(reply.conversation_id)
    assert conversation is not None
    assert conversation.title == "What is the capital of France"
    kinds = [type(e) for e in recorder.events]
    assert MessageCompleted in kinds
    assert ConversationChanged in kinds
    assert ModelStateChanged in kinds
    # the model saw the system prompt first and the question last
    assert model.calls[0][0].role == "system"
    assert model.calls[0][-1].content == "What is the capital of France?"


async def test_user_message_is_stored_before_generation(
    service: ChatService, model: FakeChatModel
) -> None:
    model.delay = 0.05
    model.enqueue(["a", "b", "c", "d"])
    reply = await service.send(None, "hello")
    stored = await service.repo.list_messages(reply.conversation_id)
    assert [(m.role, m.status) for m in stored] == [
        ("user", "complete"),
        ("assistant", "streaming"),
    ]
    await reply.result()


async def test_streaming_reply_is_flushed_while_it_grows(
    service: ChatService, model: FakeChatModel
) -> None:
    model.delay = 0.03
    model.enqueue([f"w{i} " for i in range(20)])
    reply = await service.send(None, "count")
    partials: list[str] = []
    async for _ in reply:
        stored = await service.repo.get_message(reply.message_id)
        assert stored is not None
        if stored.status == "streaming" and stored.content:
            partials.append(stored.content)
    await reply.result()
    assert partials, "the growing reply was never written while streaming"
    assert partials[0].startswith("w0 ")
    assert len(partials[0]) < len("".join(f"w{i} " for i in range(20)))


async def test_cancel_marks_interrupted_and_keeps_text(
    service: ChatService, model: FakeChatModel
) -> None:
    model.delay = 0.02
    model.enqueue([f"t{i} " for i in range(100)])
    reply = await service.send(None, "long please")
    got = []
    async for piece in reply:
        got.append(piece)
        if len(got) == 5:
            reply.cancel()
    result = await reply.result()
    assert result.status == "interrupted"
    stored = await service.repo.get_message(reply.message_id)
    assert stored is not None
    assert stored.status == "interrupted"
    assert stored.content == "".join(got)
    assert len(got) < 100


async def test_model_error_is_stored_as_error(service: ChatService, model: FakeChatModel) -> None:
    model.enqueue(["partial ", "text"], fail_after=1)
    reply = await service.send(None, "break")
    _ = [p async for p in reply]
    result = await reply.result()
    assert result.status == "error"
    assert result.error
    stored = await service.repo.get_message(reply.message_id)
    assert stored is not None
    assert (stored.status, stored.content) == ("error", "partial ")


async def test_empty_prompt_is_refused(service: ChatService) -> None:
    with pytest.raises(EmptyPromptError):
        await service.send(None, " \n\t")
    assert await service.repo.list_conversations() == []


async def test_regenerate_replaces_last_reply(service: ChatService, model: FakeChatModel) -> None:
    model.enqueue(["first"])
    reply = await service.send(None, "q")
    await reply.result()
    model.enqueue(["second"])
    again = await service.regenerate(reply.conversation_id)
    await again.result()
    messages = await service.repo.list_messages(reply.conversation_id)
    assert [m.content for m in messages] == ["q", "second"]


async def test_edit_and_resend_drops_later_messages(
    service: ChatService, model: FakeChatModel
) -> None:
    model.enqueue(["one"])
    first = await service.send(None, "first question")
    await first.result()
    model.enqueue(["two"])
    second = await service.send(first.conversation_id, "second question")
    await second.result()
    model.enqueue(["edited answer"])
    edited = await service.edit_and_resend(first.user_message.id, "better question")
    await edited.result()
    messages = await service.repo.list_messages(first.conversation_id)
    assert [m.content for m in messages] == ["better question", "edited answer"]
    assert model.calls[-1][-1].content == "better question"


async def test_history_skips_errors_and_includes_earlier_turns(
    service: ChatService, model: FakeChatModel
) -> None:
    model.enqueue(["ok"], fail_after=0)
    failed = await service.send(None, "first")
    await failed.result()
    model.enqueue(["fine"])
    second = await service.send(failed.conversation_id, "second")
    await second.result()
    seen = [(m.role, m.content) for m in model.calls[-1]]
    assert seen == [("system", "Be brief."), ("user", "first"), ("user", "second")]


async def test_one_reply_at_a_time_per_chat(service: ChatService, model: FakeChatModel) -> None:
    model.delay = 0.05
    model.enqueue(["a", "b", "c"])
    reply = await service.send(None, "x")
    with pytest.raises(KeikoError, match="still being written"):
        await service.send(reply.conversation_id, "y")
    await reply.result()


async def test_message_sent_while_model_loads_waits_for_it(
    database: Database, bus: EventBus
) -> None:
    model = FakeChatModel()
    model.enqueue(["ready now"])
    manager = ModelManager(FakeProvider(model, load_delay=0.2), bus)
    service = ChatService(database.conversations, manager, bus, Settings)
    manager.start_loading()
    reply = await service.send(None, "are you there?")
    assert manager.state == "loading"
    result = await reply.result()
    assert (result.status, result.text) == ("complete", "ready now")


async def test_stop_while_model_loads_is_interrupted(database: Database, bus: EventBus) -> None:
    manager = ModelManager(FakeProvider(load_delay=5), bus)
    service = ChatService(database.conversations, manager, bus, Settings)
    manager.start_loading()
    reply = await service.send(None, "hello?")
    reply.cancel()
    result = await asyncio.wait_for(reply.result(), 2)
    assert result.status == "interrupted"
    await manager.aclose()


async def test_bad_model_falls_back_and_reports(database: Database, bus: EventBus) -> None:
    recorder = EventRecorder(bus, ModelStateChanged)
    provider = FakeProvider()
    manager = ModelManager(provider, bus)
    await manager.load("/nowhere/missing.gguf")
    assert provider.loaded == ["fake-model"]
    assert manager.last_error is not None
    assert "/nowhere/missing.gguf" in manager.last_error.message
    states = [(e.state, e.detail) for e in recorder.events if isinstance(e, ModelStateChanged)]
    assert states[0][0] == "error"
    assert states[-1] == ("ready", "fallback")


async def test_recover_marks_streaming_interrupted(service: ChatService, paths: Paths) -> None:
    crashed = await open_database(paths.database)  # an earlier run, which then crashed
    conversation = await crashed.conversations.create_conversation("crashed")
    await crashed.conversations.add_message(conversation.id, "user", "hi")
    await crashed.conversations.add_message(
        conversation.id, "assistant", "half a rep", status="streaming"
    )
    crashed.close()  # a reply whose writer is gone (a live one would be left alone)
    assert await service.recover() == 1
    messages = await service.repo.list_messages(conversation.id)
    assert [m.status for m in messages] == ["complete", "interrupted"]
    assert messages[1].content == "half a rep"
