"""AgentRunner: model -> tool calls -> results -> model, until an answer; one loop for chat and
agents.

``AgentRunner.run`` offers the tools to a ``ToolCallingModel`` turn by turn (``call_tools``; how
the model formats a call is its backend's business: a grammar-constrained JSON object in
llama.cpp, native function calling elsewhere) and runs what it asks for, until the model
answers, ``max_steps`` calls are made, the token budget is used, a call times out, or the run is
cancelled (cancel the task: the model's reply, an approval wait or a tool call stops at once).
Each result goes back to the model as a ``tool`` message, cut to ``max_result_chars``, inside a
``<tool_result>`` block (data, not instructions: see ``core/tools/untrusted_text.py``).

Every model call passes the run's model middleware and every tool call the run's tool
middleware together with ``ToolService``'s, in one configured order
(``core/agents/middleware.py``). An agent's ``AgentProfile`` gives the allowlist (only allowed
tools are offered, and the ``allowlist`` middleware refuses any other the model names), the
step limit, the per-call timeout and the sampling settings; chat runs without a profile.

The runner does not write the answer itself. ``run`` ends with a ``LoopOutcome``: the steps,
the messages to answer from, and, when the model chose to answer and is already writing it,
that answer as a streaming ``Generation``. ``answer`` gives the answer to stream either way
(through the model middleware too); ``complete`` does both and collects the text, for agents.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from keiko_desktop.core.agents.middleware import (
    DEFAULT_ORDER,
    BudgetExhaustedError,
    ModelCallContext,
    ModelReply,
    RunState,
    build_model_pipeline,
    check_order,
    model_middleware,
    tool_middleware,
)
from keiko_desktop.core.agents.profiles import AgentProfile
from keiko_desktop.core.agents.trace import Tracer
from keiko_desktop.core.config import default_of
from keiko_desktop.core.ports import (
    ChatMessage,
    ChatModel,
    Generation,
    GenerationParams,
    GenerationStats,
    ToolCallRequest,
    ToolTurn,
    tool_calling,
)
from keiko_desktop.core.tools.errors import ToolNotFoundError
from keiko_desktop.core.tools.middleware import ToolMiddleware
from keiko_desktop.core.tools.models import ToolResult, ToolSpec
from keiko_desktop.core.tools.untrusted_text import DATA_NOTE, result_block

log = logging.getLogger(__name__)

DEFAULT_MAX_STEPS: int = default_of("tool_max_steps")
DEFAULT_MAX_RESULT_CHARS = 4_000

Stopped = Literal["answer", "step_limit", "budget", "timeout"]


class ToolCaller(Protocol):
    """What the runner needs of ``ToolService``."""

    async def call(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        conversation_id: int | None = None,
        agent: str | None = None,
        middleware: Mapping[str, ToolMiddleware] | None = None,
        order: Sequence[str] | None = None,
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
    """How the tool phase of a run ended.

    ``stopped``: ``answer`` (the model made no call: it answers, or its call was cut off by the
    token limit), ``step_limit`` (``max_steps`` calls made), ``budget`` (the token budget is
    used) or ``timeout`` (a model call took longer than the step timeout). ``messages`` are
    what to answer from; ``answer`` is the model's answer already streaming (read it or cancel
    it), if it began one.
    """

    steps: list[ToolStep] = field(default_factory=list)
    messages: list[ChatMessage] = field(default_factory=list)
    stopped: Stopped = "answer"
    answer: Generation | None = None


@dataclass(frozen=True)
class Completed:
    """A whole run: its tool phase and the answer's text and stats."""

    outcome: LoopOutcome
    text: str
    stats: GenerationStats
    timed_out: bool = False


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


class AgentRunner:
    """Runs call -> result -> ... for one prompt, until the model answers."""

    def __init__(
        self,
        model: ChatModel,
        caller: ToolCaller | None,
        *,
        profile: AgentProfile | None = None,
        max_steps: int | None = None,
        max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
        max_tokens: int | None = None,
        temperature: float = 0.0,
        require_tool_first: bool = False,
        step_timeout: float | None = None,
        token_budget: int | None = None,
        tracer: Tracer | None = None,
        order: Sequence[str] = DEFAULT_ORDER,
        conversation_id: int | None = None,
    ) -> None:
        """``profile`` (an agent) gives defaults for the limits; explicit arguments win."""
        self.model = model
        self.caller = caller
        self.profile = profile
        if max_steps is None:
            max_steps = profile.max_steps if profile is not None else DEFAULT_MAX_STEPS
        if max_tokens is None:
            max_tokens = profile.max_tokens if profile is not None else 512
        if step_timeout is None and profile is not None:
            step_timeout = profile.step_timeout
        self.max_steps = max_steps
        self.max_result_chars = max_result_chars
        self.params = GenerationParams(temperature=temperature, max_tokens=max_tokens)
        self.require_tool_first = require_tool_first
        self.conversation_id = conversation_id
        self.order = check_order(order)
        self.state = RunState(
            profile=profile, tracer=tracer, token_budget=token_budget, step_timeout=step_timeout
        )
        self._tool_middleware = tool_middleware(self.state)
        self._model_call = build_model_pipeline(
            self.order, model_middleware(self.state), self._call_model
        )

    @property
    def agent(self) -> str | None:
        return self.profile.name if self.profile is not None else None

    def offered(self, tools: Sequence[ToolSpec]) -> list[ToolSpec]:
        """The tools this run may offer the model: an agent's allowlist, else all."""
        if self.profile is None:
            return list(tools)
        return [spec for spec in tools if self.profile.allows(spec.qualified_name)]

    async def run(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        *,
        on_step: Callable[[ToolStep], Awaitable[None] | None] | None = None,
    ) -> LoopOutcome:
        """The tool phase: ask, call, repeat, until the model answers or a limit is met."""
        history = list(messages)  # what the model sees while it may still call tools
        results = list(messages)  # what it answers from: the conversation and the results
        steps: list[ToolStep] = []
        offered = self.offered(tools) if self.caller is not None else []
        if not offered or tool_calling(self.model) is None:
            return LoopOutcome(steps, results, "answer")
        while len(steps) < self.max_steps:
            forced = not steps and self.require_tool_first
            ctx = ModelCallContext("tools", history, self.params, offered, forced)
            try:
                reply = await self._model_call(ctx)
            except BudgetExhaustedError as exc:
                log.info("%s: token budget reached (%s)", self.agent or "chat", exc)
                return LoopOutcome(steps, results, "budget")
            except TimeoutError:
                return LoopOutcome(steps, results, "timeout")
            assert isinstance(reply, ToolTurn)
            turn = reply
            if not turn.calls:
                return LoopOutcome(steps, results, "answer", turn.answer)
            if turn.answer is not None:  # calls and an answer at once: the calls come first
                turn.answer.cancel()
            made: list[ToolStep] = []
            for request in turn.calls[: self.max_steps - len(steps)]:
                step = await self._run_tool(request)
                made.append(step)
                steps.append(step)
                if on_step is not None:
                    maybe = on_step(step)
                    if maybe is not None:
                        await maybe
            shown = [step.as_message() for step in made]
            history += [ChatMessage("assistant", turn.text), *shown]
            results += shown
        return LoopOutcome(steps, results, "step_limit")

    def answer(self, outcome: LoopOutcome, params: GenerationParams | None = None) -> Generation:
        """The answer to stream: the one the model began, else a plain reply to the results
        (through the model middleware: traced, counted, bounded by the step timeout)."""
        if outcome.answer is not None:
            return outcome.answer
        messages = outcome.messages
        if outcome.steps:  # tool results are in there: say again that they are data
            messages = with_data_note(messages)
        return _LazyGeneration(self, messages, params or self.params)

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec],
        params: GenerationParams | None = None,
        *,
        on_step: Callable[[ToolStep], Awaitable[None] | None] | None = None,
        on_piece: Callable[[str], None] | None = None,
    ) -> Completed:
        """The whole run: the tool phase, then the answer (each piece to ``on_piece``)."""
        outcome = await self.run(messages, tools, on_step=on_step)
        if outcome.stopped == "timeout":  # no answer: the run failed
            return Completed(outcome, "", GenerationStats(finish_reason="error"), timed_out=True)
        generation = self.answer(outcome, params)
        pieces: list[str] = []
        try:
            async for piece in generation:
                pieces.append(piece)
                if on_piece is not None:
                    on_piece(piece)
        except BaseException:
            generation.cancel()
            raise
        return Completed(outcome, "".join(pieces), generation.stats, self.state.timed_out)

    # ------------------------------------------------------------------ internals
    async def _call_model(self, ctx: ModelCallContext) -> ModelReply:
        if ctx.kind == "generate":
            return self.model.generate(ctx.messages, ctx.params)
        model = tool_calling(self.model)
        assert model is not None
        return await model.call_tools(ctx.messages, ctx.tools, ctx.params, require=ctx.require)

    async def _run_tool(self, request: ToolCallRequest) -> ToolStep:
        assert self.caller is not None
        try:
            result = await self.caller.call(
                request.name,
                request.arguments,
                conversation_id=self.conversation_id,
                agent=self.agent,
                middleware=self._tool_middleware,
                order=self.order,
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


class _LazyGeneration:
    """The answer's ``generate()`` call, made through the model middleware on first read."""

    def __init__(
        self, runner: AgentRunner, messages: Sequence[ChatMessage], params: GenerationParams
    ) -> None:
        self._runner = runner
        self._messages = messages
        self._params = params
        self._inner: Generation | None = None
        self._cancelled = False

    @property
    def stats(self) -> GenerationStats:
        if self._inner is None:
            return GenerationStats(finish_reason="cancelled" if self._cancelled else "stop")
        return self._inner.stats

    def cancel(self) -> None:
        self._cancelled = True
        if self._inner is not None:
            self._inner.cancel()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        if self._cancelled:
            return
        ctx = ModelCallContext("generate", self._messages, self._params, answering=True)
        try:
            reply = await self._runner._model_call(ctx)
        except TimeoutError:
            return
        assert not isinstance(reply, ToolTurn)
        self._inner = reply
        if self._cancelled:
            reply.cancel()
        async for piece in reply:
            yield piece
