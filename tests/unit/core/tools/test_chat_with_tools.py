"""Tool use in chat: ChatService + the real ToolService (built-in ``clock``) + the real model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import pytest

from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import Settings
from keiko_desktop.core.events import EventBus, MessageCreated
from keiko_desktop.core.ports import ChatMessage
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.llm.llama_backend import LlamaChatModel
from keiko_desktop.llm.tool_grammar import reply_schema
from keiko_desktop.mcp_tools.builtin import create_clock_server
from keiko_desktop.mcp_tools.config import BuiltinServerConfig
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from keiko_desktop.store import Database, SqliteToolRepository
from tests.helpers.approver import Approver
from tests.helpers.events import EventRecorder
from tests.helpers.fake_model import FakeToolModel
from tests.helpers.fake_provider import FakeProvider

from .conftest import Vault, chat_with_tools


@pytest.fixture
async def clock_tools(
    bus: EventBus, repo: SqliteToolRepository
) -> AsyncIterator[tuple[ToolService, ServerPool]]:
    factory = ClientFactory(builtins={"clock": lambda _c: create_clock_server()})
    pool = ServerPool(bus, factory, PoolOptions(call_timeout=10))
    try:
        service = ToolService(pool, bus, policies=repo, audit=repo)
        await service.load()
        pool.add(BuiltinServerConfig("clock"))
        assert await pool.wait_settled(time_limit=20)
        yield service, pool
    finally:
        await pool.aclose()


@pytest.mark.model
@pytest.mark.timeout(240)
async def test_a_chat_reply_calls_a_tool_on_the_real_model(
    database: Database,
    bus: EventBus,
    clock_tools: tuple[ToolService, ServerPool],
    smol: LlamaChatModel,
) -> None:
    service, _pool = clock_tools
    # The first reply must be a call (``require_tool_first``: a 135M model cannot be trusted
    # to choose to; the test is about the mechanics, not its judgement). With one step allowed
    # the answer is then a plain reply to the result, streamed like any other.
    settings = Settings(
        temperature=0.0, max_tokens=160, tool_max_steps=1, system_prompt="", tools_in_chat=True
    )
    created = EventRecorder(bus, MessageCreated)
    chat = ChatService(
        database.conversations,
        ModelManager(FakeProvider(smol), bus),
        bus,
        lambda: settings,
        tools=service,
        require_tool_first=True,
    )
    chat.models.start_loading()
    reply = await chat.send(None, "What time is it in UTC? Use the clock.")
    streamed = [piece async for piece in reply]
    result = await asyncio.wait_for(reply.result(), 200)

    assert result.status == "complete", result.error
    assert len(streamed) > 1  # piece by piece, not in one piece at the end
    assert "".join(streamed) == result.text
    messages = await database.conversations.list_messages(reply.conversation_id)
    roles = [m.role for m in messages]
    assert roles[:2] == ["user", "assistant"]
    tool_messages = [m for m in messages if m.role == "tool"]
    assert len(tool_messages) == 1  # one step allowed, and the first reply had to be a call
    step = json.loads(tool_messages[0].content)
    assert step["tool"] in {t.qualified_name for t in service.tools()}
    call = {"tool": step["tool"], "arguments": step["arguments"]}
    jsonschema.validate(call, reply_schema(service.tools(), allow_answer=False))
    assert step["decision"] == "auto"  # built-in read-only tools run without asking
    assert isinstance(step["result"], str)
    assert step["result"]
    assert tool_messages[0].parent_id == reply.user_message.id
    assert any(isinstance(e, MessageCreated) and e.role == "tool" for e in created.events)
    answer = await database.conversations.get_message(reply.message_id)
    assert answer is not None
    assert answer.status == "complete"
    assert answer.content == result.text
    assert not answer.content.lstrip().startswith("{")  # never raw JSON for the user
    assert answer.prompt_tokens  # its own token counts, stored
    assert answer.completion_tokens == result.stats.completion_tokens
    assert answer.completion_tokens
    assert answer.completion_tokens >= len(streamed)
    assert answer.time_to_first_token is not None
    assert answer.tokens_per_second is not None
    assert answer.duration is not None
    assert answer.duration >= answer.time_to_first_token
    audit = await service.audit_log(10)
    assert [f"{e.server}.{e.tool}" for e in audit] == [step["tool"]]
    assert audit[0].conversation_id == reply.conversation_id


# ---------------------------------------------------------------- scripted model, real tools
def scripted_chat(
    database: Database, bus: EventBus, model: FakeToolModel, tools: ToolService, **settings: Any
) -> ChatService:
    return chat_with_tools(
        database, bus, model, tools, system_prompt="Be brief.", flush_interval=0.05, **settings
    )


async def test_each_call_is_a_tool_message_and_regenerate_drops_them(
    database: Database, bus: EventBus, vault_tools: ToolService, vault: Vault
) -> None:
    model = FakeToolModel()
    model.tool_replies = [
        json.dumps({"tool": "vault.peek", "arguments": {}}),
        json.dumps({"tool": "vault.login", "arguments": {"user": "ann", "password": "hunter22"}}),
        json.dumps({"answer": "Nothing to see; login was refused."}),
    ]
    chat = scripted_chat(database, bus, model, vault_tools)
    reply = await chat.send(None, "look around")
    result = await asyncio.wait_for(reply.result(), 20)
    assert (result.status, result.text) == ("complete", "Nothing to see; login was refused.")
    repo = database.conversations
    messages = await repo.list_messages(reply.conversation_id)
    assert [m.role for m in messages] == ["user", "assistant", "tool", "tool"]
    peek, login = (json.loads(m.content) for m in messages[2:])
    assert (peek["tool"], peek["decision"], peek["result"]) == (
        "vault.peek",
        "auto",
        "nothing to see",
    )
    assert login["decision"] == "denied"  # Ask, and nobody here to ask
    assert login["arguments"] == {"user": "ann", "password": "[redacted]"}
    assert "hunter22" not in messages[3].content
    assert vault.ran == ["peek"]
    # The model saw the tool's result; a later turn does not see tool messages again.
    assert any(m.role == "tool" for m in model.tool_turns[1])
    again = await chat.regenerate(reply.conversation_id)
    assert (await asyncio.wait_for(again.result(), 20)).text == "done"  # answered at once
    roles = [m.role for m in await repo.list_messages(reply.conversation_id)]
    assert roles == ["user", "assistant"]  # the old reply's calls went with it


async def test_tools_off_in_settings_means_a_plain_reply(
    database: Database, bus: EventBus, vault_tools: ToolService
) -> None:
    model = FakeToolModel()
    model.enqueue(["just ", "text"])
    chat = scripted_chat(database, bus, model, vault_tools, tools_in_chat=False)
    reply = await chat.send(None, "hi")
    result = await asyncio.wait_for(reply.result(), 20)
    assert result.text == "just text"
    assert model.tool_turns == []


async def test_stop_while_a_tool_waits_for_approval(
    database: Database, bus: EventBus, vault_tools: ToolService, vault: Vault
) -> None:
    approver = Approver(vault_tools, None)  # never answers
    model = FakeToolModel()
    model.tool_replies = [json.dumps({"tool": "vault.delete_file", "arguments": {"path": "x"}})]
    chat = scripted_chat(database, bus, model, vault_tools)
    reply = await chat.send(None, "delete x")
    for _ in range(400):
        if approver.seen:
            break
        await asyncio.sleep(0.01)
    assert approver.seen
    reply.cancel()
    result = await asyncio.wait_for(reply.result(), 10)
    assert result.status == "interrupted"
    assert approver.cancelled == 1  # told to stop asking: a dialog closes, a late click is moot
    assert vault.ran == []
    assert chat.active_reply(reply.conversation_id) is None


async def test_an_empty_answer_falls_back_to_a_streamed_reply(
    database: Database, bus: EventBus, vault_tools: ToolService
) -> None:
    model = FakeToolModel()
    model.tool_replies = [
        json.dumps({"tool": "vault.peek", "arguments": {}}),
        json.dumps({"answer": ""}),  # the model chose to answer, and said nothing
    ]
    model.enqueue(["free ", "text"])
    chat = scripted_chat(database, bus, model, vault_tools)
    reply = await chat.send(None, "look")
    streamed = [piece async for piece in reply]
    result = await asyncio.wait_for(reply.result(), 20)
    assert (result.status, result.text, streamed) == ("complete", "free text", ["free ", "text"])
    assert model.calls[-1][-1] == ChatMessage(
        "tool", '<tool_result tool="vault.peek">\nnothing to see\n</tool_result>'
    )
