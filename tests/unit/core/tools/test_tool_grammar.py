"""The tool-call grammar: built from real tool schemas, and obeyed by the real bundled model."""

from __future__ import annotations

import json

import jsonschema
import pytest

from keiko_desktop.core.agents.runner import AgentRunner
from keiko_desktop.core.ports import ChatMessage, GenerationParams
from keiko_desktop.core.tools.models import ToolSpec
from keiko_desktop.core.tools.reply_format import read_json_turn
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.llm.llama_backend import LlamaChatModel
from keiko_desktop.llm.tool_grammar import reply_schema, tool_call_gbnf, tool_call_grammar

NESTED = ToolSpec(
    "gh",
    "create_issue",
    "Open an issue.",
    {
        "$defs": {
            "Label": {
                "type": "object",
                "properties": {"name": {"type": "string"}},
                "required": ["name"],
                "title": "Label",
            }
        },
        "type": "object",
        "properties": {
            "title": {"type": "string", "title": "Title"},
            "labels": {"type": "array", "items": {"$ref": "#/$defs/Label"}},
        },
        "required": ["title"],
        "title": "create_issueArguments",
    },
)
WEIRD = ToolSpec(
    "x", "remote_ref", "", {"type": "object", "properties": {"a": {"$ref": "http://x/y"}}}
)


def test_reply_schema_accepts_calls_and_answers_only() -> None:
    schema = reply_schema([NESTED])
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"answer": "hi"})
    assert validator.is_valid(
        {"tool": "gh.create_issue", "arguments": {"title": "t", "labels": [{"name": "bug"}]}}
    )
    assert not validator.is_valid({"tool": "gh.delete_repo", "arguments": {}})
    assert not validator.is_valid({"tool": "gh.create_issue", "arguments": {"labels": []}})
    assert not validator.is_valid(
        {"tool": "gh.create_issue", "arguments": {"title": "t", "extra": 1}}
    )
    assert reply_schema([])["required"] == ["answer"]
    forced = jsonschema.Draft202012Validator(reply_schema([NESTED], allow_answer=False))
    assert not forced.is_valid({"answer": "hi"})
    assert forced.is_valid({"tool": "gh.create_issue", "arguments": {"title": "t"}})


def test_gbnf_names_each_tool_and_survives_odd_schemas() -> None:
    gbnf = tool_call_gbnf([NESTED, WEIRD])
    assert '\\"gh.create_issue\\"' in gbnf
    assert '\\"x.remote_ref\\"' in gbnf  # kept, with free-form arguments
    assert "root ::=" in gbnf
    assert tool_call_gbnf([NESTED, WEIRD]) is gbnf  # cached
    assert '\\"answer\\"' in tool_call_gbnf([])


@pytest.mark.model
@pytest.mark.timeout(180)
async def test_the_model_can_only_reply_in_the_format(
    smol: LlamaChatModel, service: ToolService
) -> None:
    tools = [service.registry.get("clock.now"), service.registry.get("clock.convert_time")]
    messages = [ChatMessage("user", "What time is it in Tokyo right now?")]
    params = GenerationParams(temperature=0.0, max_tokens=96, grammar=tool_call_gbnf(tools))
    reply = "".join([piece async for piece in smol.generate(messages, params)])
    data = json.loads(reply)  # always valid JSON
    jsonschema.validate(data, reply_schema(tools))
    assert tool_call_grammar(tools) is not None


@pytest.mark.model
@pytest.mark.timeout(180)
async def test_a_forced_call_is_a_valid_call(smol: LlamaChatModel, service: ToolService) -> None:
    tools = [service.registry.get("clock.now")]
    turn = await smol.call_tools(
        [ChatMessage("user", "Use clock.now to tell me the time in UTC.")],
        tools,
        GenerationParams(max_tokens=48),
        require=True,
    )
    assert turn.answer is None
    [call] = turn.calls
    assert call.name == "clock.now"
    jsonschema.validate(json.loads(turn.text), reply_schema(tools, allow_answer=False))


@pytest.mark.model
@pytest.mark.timeout(180)
async def test_an_answer_streams_from_the_grammar_constrained_reply(smol: LlamaChatModel) -> None:
    """With only an answer possible, the real model's JSON answer is handed over as soon as it
    begins and streams on, decoded, one piece per token, from the same generation."""
    params = GenerationParams(temperature=0.0, max_tokens=40, grammar=tool_call_gbnf([]))
    generation = smol.generate([ChatMessage("user", "Say hello to Ann.")], params)
    turn = await read_json_turn(generation)
    assert turn.calls == ()
    assert turn.answer is not None
    assert generation.stats.completion_tokens == 0  # not ended: the answer is still coming
    pieces = [piece async for piece in turn.answer]
    assert len(pieces) > 1
    text = "".join(pieces)
    assert text.strip()
    assert "{" not in text[:1]
    assert '\\"' not in text  # decoded, not JSON-escaped
    assert turn.answer.stats.completion_tokens >= len(pieces)
    assert turn.answer.stats.prompt_tokens > 0


@pytest.mark.model
@pytest.mark.timeout(180)
async def test_the_loop_runs_end_to_end_on_the_real_model(
    smol: LlamaChatModel, service: ToolService
) -> None:
    loop = AgentRunner(smol, service, max_steps=2, max_tokens=48, require_tool_first=True)
    outcome = await loop.run(
        [ChatMessage("user", "Use clock.now to tell me the time in UTC.")],
        [service.registry.get("clock.now")],
    )
    assert outcome.stopped in ("answer", "step_limit")
    assert 1 <= len(outcome.steps) <= 2  # the first reply had to be a call
    for step in outcome.steps:
        assert step.name == "clock.now"
        assert step.result.decision in ("auto", "cached")  # the same call again: cached
        assert not step.result.is_error or "timezone" in step.result.text
    answer = loop.answer(outcome, GenerationParams(temperature=0.0, max_tokens=48))
    text = "".join([piece async for piece in answer])
    # The grammar's wrapper never reaches the user. (The model may still quote the tool's own
    # JSON result in its words: that is what it read, and it varies with the clock.)
    squeezed = "".join(text.split())
    assert not squeezed.startswith(('{"answer"', '{"tool"'))
