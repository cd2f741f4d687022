"""The tool loop: the model asks for a tool, gets its result, and answers (in a few steps).

Local models cannot be trusted to format tool calls, so every reply in the loop is constrained
(by a grammar built from the tools' JSON schemas, see ``llm/tool_grammar.py``) to one JSON object:

    {"tool": "files.read_file", "arguments": {"path": "notes.txt"}}      a call, or
    {"answer": "The file says ..."}                                    the final answer.

``ToolLoop.run`` alternates model and tools until an answer, at most ``max_steps`` calls; then it
asks for an answer with tools withheld. Each tool result goes back to the model as a ``tool``
message, cut to ``max_result_chars`` with a note. Calls go through ``ToolService`` (policies,
approvals, audit), so a refusal is just a result the model reads.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from keiko_desktop.core.ports import ChatMessage
from keiko_desktop.core.tools.errors import ToolNotFoundError
from keiko_desktop.core.tools.models import ToolResult, ToolSpec

log = logging.getLogger(__name__)

DEFAULT_MAX_STEPS = 4
DEFAULT_MAX_RESULT_CHARS = 4_000


class GrammarModel(Protocol):
    """A model that can produce one reply constrained by a GBNF grammar (the backend hook)."""

    async def complete_with_grammar(
        self, messages: Sequence[ChatMessage], grammar: str, max_tokens: int
    ) -> str: ...


class GrammarBuilder(Protocol):
    """Tools -> GBNF for one reply (``llm.tool_grammar.tool_call_gbnf``). No tools: only an
    answer is possible; ``allow_answer=False``: only a tool call is."""

    def __call__(self, tools: Sequence[ToolSpec], *, allow_answer: bool = True) -> str: ...


class ToolCaller(Protocol):
    """What the loop needs of ``ToolService``."""

    async def call(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        conversation_id: int | None = None,
        agent: str | None = None,
    ) -> ToolResult: ...


@dataclass(frozen=True)
class ToolRequest:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ToolStep:
    """One call the model asked for and what came back (as the model saw it)."""

    name: str
    arguments: dict[str, Any]
    result: ToolResult
    shown: str


@dataclass(frozen=True)
class LoopOutcome:
    answer: str
    steps: list[ToolStep] = field(default_factory=list)
    stopped: Literal["answer", "step_limit"] = "answer"


_CUT_ANSWER = re.compile(r'\s*\{\s*"answer"\s*:\s*"(.*)', re.DOTALL)


def _salvage(text: str) -> str:
    """The answer from a reply cut off by the token limit; "" for a cut-off tool call."""
    match = _CUT_ANSWER.match(text)
    if match is None:
        return "" if text.lstrip().startswith("{") else text.strip()
    body = re.sub(r'"\s*\}?\s*$', "", match.group(1)).rstrip("\\")
    try:
        return str(json.loads(f'"{body}"'))
    except json.JSONDecodeError:
        return body


def parse_reply(text: str) -> ToolRequest | str:
    """A tool request, or the answer text. A reply cut off mid-answer keeps what it said; a
    cut-off tool call is an empty answer."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return _salvage(text)
    if isinstance(data, dict):
        if isinstance(data.get("tool"), str):
            arguments = data.get("arguments")
            return ToolRequest(data["tool"], arguments if isinstance(arguments, dict) else {})
        if isinstance(data.get("answer"), str):
            return str(data["answer"])
    return text.strip()


def tool_instructions(tools: Sequence[ToolSpec]) -> str:
    """The system text that tells the model which tools exist and how to call them."""
    lines = [
        "You can use tools. Reply with exactly one JSON object:",
        '{"tool": "<name>", "arguments": {...}} to call a tool, or',
        '{"answer": "<your reply to the user>"} when you can answer.',
        "Tools:",
    ]
    for spec in tools:
        summary = spec.description.strip().splitlines()[0] if spec.description.strip() else ""
        params = ", ".join(sorted(spec.input_schema.get("properties", {})))
        lines.append(f"- {spec.qualified_name}({params}): {summary}")
    return "\n".join(lines)


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[truncated: {len(text) - limit} more characters not shown]"


class ToolLoop:
    """Runs call -> result -> answer for one user turn."""

    def __init__(
        self,
        model: GrammarModel,
        caller: ToolCaller,
        grammar_for: GrammarBuilder,
        *,
        max_steps: int = DEFAULT_MAX_STEPS,
        max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
        max_tokens: int = 512,
        require_tool_first: bool = False,
    ) -> None:
        self.model = model
        self.caller = caller
        self.grammar_for = grammar_for
        self.max_steps = max_steps
        self.max_result_chars = max_result_chars
        self.max_tokens = max_tokens
        self.require_tool_first = require_tool_first

    async def run(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        *,
        conversation_id: int | None = None,
        agent: str | None = None,
        on_step: Callable[[ToolStep], Awaitable[None] | None] | None = None,
    ) -> LoopOutcome:
        history = self._with_instructions(messages, tools)
        steps: list[ToolStep] = []
        for index in range(self.max_steps):
            forced = index == 0 and self.require_tool_first and bool(tools)
            grammar = self.grammar_for(tools, allow_answer=not forced)
            reply = await self.model.complete_with_grammar(history, grammar, self.max_tokens)
            parsed = parse_reply(reply)
            if isinstance(parsed, str):
                if not parsed:  # cut off mid-call: ask for a plain answer instead
                    break
                return LoopOutcome(parsed, steps, "answer")
            step = await self._run_tool(parsed, conversation_id, agent)
            steps.append(step)
            if on_step is not None:
                maybe = on_step(step)
                if maybe is not None:
                    await maybe
            history += [
                ChatMessage("assistant", reply.strip()),
                ChatMessage("tool", f"Result of {step.name}:\n{step.shown}"),
            ]
        history.append(
            ChatMessage("system", "No more tool calls are possible. Answer the user now.")
        )
        reply = await self.model.complete_with_grammar(
            history, self.grammar_for(()), self.max_tokens
        )
        parsed = parse_reply(reply)
        answer = parsed if isinstance(parsed, str) else ""
        return LoopOutcome(answer, steps, "step_limit")

    def _with_instructions(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> list[ChatMessage]:
        instructions = tool_instructions(tools)
        history = list(messages)
        if history and history[0].role == "system":
            history[0] = ChatMessage("system", f"{history[0].content}\n\n{instructions}")
        else:
            history.insert(0, ChatMessage("system", instructions))
        return history

    async def _run_tool(
        self, request: ToolRequest, conversation_id: int | None, agent: str | None
    ) -> ToolStep:
        try:
            result = await self.caller.call(
                request.name, request.arguments, conversation_id=conversation_id, agent=agent
            )
        except ToolNotFoundError as exc:
            text = f"{exc.message} {exc.hint}".strip()
            result = ToolResult(text=text, is_error=True, size=len(text), decision="invalid")
        prefix = "Error: " if result.is_error else ""
        return ToolStep(
            request.name,
            request.arguments,
            result,
            cut(prefix + result.text, self.max_result_chars),
        )
