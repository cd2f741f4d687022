"""The tool loop with a scripted model and the real ToolService over in-process servers."""

from __future__ import annotations

import json
from collections.abc import Sequence

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ChatMessage
from keiko_desktop.core.tools.loop import ToolLoop, ToolStep, parse_reply, tool_instructions
from keiko_desktop.core.tools.models import ApprovalAnswer, ToolSpec
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.store import SqliteToolRepository

from .conftest import Approver, Vault


class ScriptedModel:
    """Replies with the queued texts in order and records what it was shown."""

    def __init__(self, *replies: object) -> None:
        self.replies = [r if isinstance(r, str) else json.dumps(r) for r in replies]
        self.seen: list[list[ChatMessage]] = []
        self.grammars: list[str] = []

    async def complete_with_grammar(
        self, messages: Sequence[ChatMessage], grammar: str, max_tokens: int
    ) -> str:
        self.seen.append(list(messages))
        self.grammars.append(grammar)
        return self.replies.pop(0)


def fake_grammar(tools: Sequence[ToolSpec], *, allow_answer: bool = True) -> str:
    return "tools:" + ",".join(t.qualified_name for t in tools) + ("" if allow_answer else "!")


async def test_call_then_answer(service: ToolService, repo: SqliteToolRepository) -> None:
    model = ScriptedModel(
        {
            "tool": "clock.convert_time",
            "arguments": {
                "time": "2024-07-01T12:00",
                "from_timezone": "UTC",
                "to_timezone": "Asia/Tokyo",
            },
        },
        {"answer": "It is 21:00 in Tokyo."},
    )
    seen_steps: list[ToolStep] = []
    loop = ToolLoop(model, service, fake_grammar)
    outcome = await loop.run(
        [ChatMessage("system", "You are Keiko."), ChatMessage("user", "Noon UTC in Tokyo?")],
        service.tools("clock"),
        conversation_id=3,
        on_step=seen_steps.append,
    )
    assert outcome.answer == "It is 21:00 in Tokyo."
    assert outcome.stopped == "answer"
    [step] = outcome.steps
    assert step is seen_steps[0]
    assert step.name == "clock.convert_time"
    assert "2024-07-01T21:00:00+09:00" in step.result.text
    first, second = model.seen
    assert first[0].role == "system"
    assert first[0].content.startswith("You are Keiko.")
    assert "clock.now(timezone)" in first[0].content
    assert second[-1].role == "tool"
    assert second[-1].content.startswith("Result of clock.convert_time:")
    assert model.grammars[0].startswith("tools:clock.add_to_date")
    [row] = await repo.list_tool_calls()
    assert (row.tool, row.conversation_id) == ("convert_time", 3)


async def test_refusals_and_unknown_tools_are_results_the_model_reads(
    service: ToolService, bus: EventBus, vault: Vault
) -> None:
    Approver(bus, ApprovalAnswer.DENY)
    model = ScriptedModel(
        {"tool": "vault.delete_file", "arguments": {"path": "/"}},
        {"tool": "vault.nope", "arguments": {}},
        {"answer": "I was not allowed to."},
    )
    outcome = await ToolLoop(model, service, fake_grammar).run(
        [ChatMessage("user", "delete everything")], service.tools("vault")
    )
    assert outcome.answer == "I was not allowed to."
    denied, unknown = outcome.steps
    assert denied.shown.startswith("Error: The user did not allow vault.delete_file")
    assert unknown.shown.startswith("Error: Server 'vault' has no tool 'nope'.")
    assert vault.ran == []


async def test_step_limit_forces_an_answer_without_tools(
    service: ToolService, vault: Vault
) -> None:
    call = {"tool": "vault.peek", "arguments": {}}
    model = ScriptedModel(call, call, {"answer": "Enough peeking."})
    outcome = await ToolLoop(model, service, fake_grammar, max_steps=2).run(
        [ChatMessage("user", "peek forever")], service.tools("vault")
    )
    assert outcome.stopped == "step_limit"
    assert outcome.answer == "Enough peeking."
    assert len(outcome.steps) == 2
    assert vault.ran == ["peek", "peek"]
    assert model.grammars[-1] == "tools:"  # the last reply may only be an answer
    assert model.seen[-1][-1].content.startswith("No more tool calls")


async def test_big_results_are_cut_with_a_note(service: ToolService) -> None:
    model = ScriptedModel({"tool": "clock.now", "arguments": {"timezone": "UTC"}}, {"answer": "ok"})
    outcome = await ToolLoop(model, service, fake_grammar, max_result_chars=20).run(
        [ChatMessage("user", "time?")], service.tools("clock")
    )
    shown = outcome.steps[0].shown
    assert shown.startswith(outcome.steps[0].result.text[:20])
    assert "[truncated:" in shown
    assert "more characters not shown]" in model.seen[1][-1].content


def test_parse_reply() -> None:
    assert parse_reply('{"answer": "hi"}') == "hi"
    request = parse_reply('{"tool": "a.b", "arguments": {"x": 1}}')
    assert not isinstance(request, str)
    assert (request.name, request.arguments) == ("a.b", {"x": 1})
    assert parse_reply("plain words") == "plain words"
    assert parse_reply('{ "answer": "It is 5 o\\"clock and') == 'It is 5 o"clock and'
    assert parse_reply('{"answer": "done"  ') == "done"
    assert parse_reply('{"tool": "files.read_file", "arguments": {"path": "/ve') == ""
    assert parse_reply('{"tool": "a.b", "arguments": 3}') != "a.b"


def test_instructions_list_tools_and_parameters() -> None:
    spec = ToolSpec(
        "files",
        "read_file",
        "Read a file.\nMore text.",
        {"type": "object", "properties": {"path": {}, "offset": {}}},
    )
    text = tool_instructions([spec])
    assert "- files.read_file(offset, path): Read a file." in text
    assert '{"answer": "<your reply to the user>"}' in text


async def test_a_cut_off_call_asks_for_a_plain_answer(service: ToolService) -> None:
    model = ScriptedModel('{"tool": "clock.now", "arguments": {"timezone": "Eur', {"answer": "ok"})
    outcome = await ToolLoop(model, service, fake_grammar).run(
        [ChatMessage("user", "time?")], service.tools("clock")
    )
    assert (outcome.answer, outcome.steps, outcome.stopped) == ("ok", [], "step_limit")
    assert model.grammars[-1] == "tools:"


async def test_first_reply_can_be_forced_to_be_a_call(service: ToolService) -> None:
    model = ScriptedModel({"tool": "clock.now", "arguments": {}}, {"answer": "done"})
    await ToolLoop(model, service, fake_grammar, require_tool_first=True).run(
        [ChatMessage("user", "time?")], service.tools("clock")
    )
    assert model.grammars[0].endswith("!")
    assert not model.grammars[1].endswith("!")
