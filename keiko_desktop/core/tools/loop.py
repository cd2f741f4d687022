"""The tool loop: the model asks for tools, gets their results, and answers (in a few steps).

``ToolLoop.run`` offers the tools to a ``ToolCallingModel`` turn by turn (``call_tools``; how the
model formats a call is its backend's business: a grammar-constrained JSON object in llama.cpp,
native function calling elsewhere) and runs what it asks for, at most ``max_steps`` calls. Each
result goes back to the model as a ``tool`` message, cut to ``max_result_chars`` with a note,
inside a ``<tool_result>`` block (data, not instructions: see ``tool_instructions``).
Calls go through ``ToolService`` (policies, approvals, audit), so a refusal is just a result the
model reads.

The loop does not write the answer itself. It ends with a ``LoopOutcome``: the steps, the
messages to answer from (the conversation and each result), and, when the model chose to answer
and is already writing it, that answer as a streaming ``Generation``. ``ToolLoop.answer`` gives
the answer to stream either way: that generation, or a plain ``generate()`` over the messages
(after the step limit, or when a call was cut off), so the answer arrives piece by piece with its
token counts like any reply.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from keiko_desktop.core.config import default_of
from keiko_desktop.core.ports import (
    ChatMessage,
    Generation,
    GenerationParams,
    ToolCallingModel,
    ToolCallRequest,
)
from keiko_desktop.core.tools.errors import ToolNotFoundError
from keiko_desktop.core.tools.models import ToolResult, ToolSpec
from keiko_desktop.core.tools.untrusted_text import DATA_NOTE, result_block

log = logging.getLogger(__name__)

DEFAULT_MAX_STEPS: int = default_of("tool_max_steps")
DEFAULT_MAX_RESULT_CHARS = 4_000


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
class ToolStep:
    """One call the model asked for and what came back (as the model saw it)."""

    name: str
    arguments: dict[str, Any]
    result: ToolResult
    shown: str

    def as_message(self) -> ChatMessage:
        """The result as the model reads it: in a ``<tool_result tool="NAME">`` block that
        nothing in the result can close (``core/tools/untrusted_text.py``)."""
        return ChatMessage("tool", result_block(self.name, self.shown))


@dataclass(frozen=True)
class LoopOutcome:
    """How the tool phase of a turn ended.

    ``stopped``: ``answer`` (the model made no call: it answers, or its call was cut off by the
    token limit) or ``step_limit`` (``max_steps`` calls made). ``messages`` are what to answer
    from; ``answer`` is the model's answer already streaming (read it or cancel it), if it began
    one.
    """

    steps: list[ToolStep] = field(default_factory=list)
    messages: list[ChatMessage] = field(default_factory=list)
    stopped: Literal["answer", "step_limit"] = "answer"
    answer: Generation | None = None


def with_data_note(messages: Sequence[ChatMessage]) -> list[ChatMessage]:
    """``messages`` with ``DATA_NOTE`` (tool output is data, not instructions) in the system
    message, for an answer written from tool results without the tool instructions."""
    history = list(messages)
    if history and history[0].role == "system":
        if DATA_NOTE not in history[0].content:
            history[0] = ChatMessage("system", f"{history[0].content}\n\n{DATA_NOTE}")
        return history
    return [ChatMessage("system", DATA_NOTE), *history]


def cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[truncated: {len(text) - limit} more characters not shown]"


class ToolLoop:
    """Runs call -> result -> ... for one user turn, until the model answers."""

    def __init__(
        self,
        model: ToolCallingModel,
        caller: ToolCaller,
        *,
        max_steps: int = DEFAULT_MAX_STEPS,
        max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
        max_tokens: int = 512,
        temperature: float = 0.0,
        require_tool_first: bool = False,
    ) -> None:
        self.model = model
        self.caller = caller
        self.max_steps = max_steps
        self.max_result_chars = max_result_chars
        self.params = GenerationParams(temperature=temperature, max_tokens=max_tokens)
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
        history = list(messages)  # what the model sees while it may still call tools
        results = list(messages)  # what it answers from: the conversation and the results
        steps: list[ToolStep] = []
        while len(steps) < self.max_steps and tools:
            forced = not steps and self.require_tool_first
            turn = await self.model.call_tools(history, tools, self.params, require=forced)
            if not turn.calls:
                return LoopOutcome(steps, results, "answer", turn.answer)
            if turn.answer is not None:  # calls and an answer at once: the calls come first
                turn.answer.cancel()
            made: list[ToolStep] = []
            for request in turn.calls[: self.max_steps - len(steps)]:
                step = await self._run_tool(request, conversation_id, agent)
                made.append(step)
                steps.append(step)
                if on_step is not None:
                    maybe = on_step(step)
                    if maybe is not None:
                        await maybe
            shown = [step.as_message() for step in made]
            history += [ChatMessage("assistant", turn.text), *shown]
            results += shown
        return LoopOutcome(steps, results, "step_limit" if tools else "answer")

    def answer(self, outcome: LoopOutcome, params: GenerationParams) -> Generation:
        """The answer to stream: the one the model began, else a plain reply to the results."""
        if outcome.answer is not None:
            return outcome.answer
        messages = outcome.messages
        if outcome.steps:  # tool results are in there: say again that they are data
            messages = with_data_note(messages)
        return self.model.generate(messages, params)

    async def _run_tool(
        self, request: ToolCallRequest, conversation_id: int | None, agent: str | None
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
