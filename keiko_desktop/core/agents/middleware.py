"""The run's middleware: small classes, one job each, around every model call and tool call.

One order (``DEFAULT_ORDER``, the ``agent_middleware`` setting) lists them outermost first.
A model call (``call_tools`` or ``generate``) passes the names that handle model calls
(``MODEL_MIDDLEWARE``); a tool call passes the names that handle tool calls: this module's
(``allowlist``, ``cache``, ``tracing``, ``timeout``) together with ``ToolService``'s own
(``logging``, ``audit``, ``validation``, ``approval``, ``timing``), in the same order, as one
onion (``ToolService.call(..., middleware=, order=)``).

A streamed reply (``generate``, or a ``ToolTurn.answer``) is still running when its call
returns: middleware that need its end (tracing, the token budget, the timeout) wrap it in an
``ObservedGeneration``, which calls them back when it ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol

from keiko_desktop.core.agents.profiles import AgentProfile
from keiko_desktop.core.agents.trace import Tracer
from keiko_desktop.core.config import AGENT_MIDDLEWARE
from keiko_desktop.core.ports import (
    ChatMessage,
    Generation,
    GenerationParams,
    GenerationStats,
    ToolTurn,
)
from keiko_desktop.core.tools.elicitation import paused_while_answering
from keiko_desktop.core.tools.middleware import NextStep, ToolCallContext, ToolMiddleware, refusal
from keiko_desktop.core.tools.models import ToolResult, ToolSpec

log = logging.getLogger(__name__)

DEFAULT_ORDER: tuple[str, ...] = AGENT_MIDDLEWARE
"""Outermost first (the ``agent_middleware`` setting; why this order: ``core.config``)."""

MODEL_MIDDLEWARE = frozenset({"logging", "tracing", "budget", "timeout"})
TOOL_MIDDLEWARE = frozenset(
    {
        "logging",
        "tracing",
        "allowlist",
        "audit",
        "validation",
        "cache",
        "approval",
        "timeout",
        "timing",
    }
)
KNOWN_MIDDLEWARE = MODEL_MIDDLEWARE | TOOL_MIDDLEWARE


def check_order(order: Sequence[str]) -> tuple[str, ...]:
    """``order`` if it names only known middleware, each once; ValueError otherwise."""
    unknown = [name for name in order if name not in KNOWN_MIDDLEWARE]
    if unknown:
        raise ValueError(f"unknown middleware {unknown}; known: {sorted(KNOWN_MIDDLEWARE)}")
    if len(set(order)) != len(order):
        raise ValueError(f"middleware named twice in {list(order)}")
    return tuple(order)


class BudgetExhaustedError(Exception):
    """The run has used its token budget: no further model call in the tool phase."""


@dataclass
class RunState:
    """What a run's middleware share: its agent, limits, tracer, tokens used and cache."""

    profile: AgentProfile | None = None
    tracer: Tracer | None = None
    token_budget: int | None = None
    step_timeout: float | None = None
    tokens_used: int = 0
    timed_out: bool = False
    cache: dict[str, ToolResult] = field(default_factory=dict)

    def count(self, stats: GenerationStats | None) -> None:
        if stats is not None:
            self.tokens_used += stats.prompt_tokens + stats.completion_tokens


ModelCallKind = Literal["tools", "generate"]
ModelReply = ToolTurn | Generation


@dataclass
class ModelCallContext:
    kind: ModelCallKind
    messages: Sequence[ChatMessage]
    params: GenerationParams
    tools: Sequence[ToolSpec] = ()
    require: bool = False
    answering: bool = False
    """The call that writes the answer (the budget never stops it)."""


ModelNext = Callable[[ModelCallContext], Awaitable[ModelReply]]


class ModelMiddleware(Protocol):
    async def __call__(self, ctx: ModelCallContext, call_next: ModelNext) -> ModelReply: ...


class ObservedGeneration:
    """A ``Generation`` that tells ``on_end`` its stats (and whether it raised) when it ends."""

    def __init__(
        self, inner: Generation, on_end: Callable[[GenerationStats, BaseException | None], None]
    ) -> None:
        self._inner = inner
        self._on_end = on_end
        self._ended = False

    @property
    def stats(self) -> GenerationStats:
        return self._inner.stats

    def cancel(self) -> None:
        self._inner.cancel()

    def __aiter__(self) -> AsyncIterator[str]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[str]:
        error: BaseException | None = None
        try:
            async for piece in self._inner:
                yield piece
        except BaseException as exc:
            error = exc
            raise
        finally:
            self._end(error)

    def _end(self, error: BaseException | None) -> None:
        if not self._ended:
            self._ended = True
            self._on_end(self._inner.stats, error)


def observe(
    reply: ModelReply,
    on_end: Callable[[GenerationStats, BaseException | None], None],
    turn_stats: Callable[[ToolTurn], None] | None = None,
) -> ModelReply:
    """Call ``on_end`` when ``reply`` has ended: a turn read whole now, a stream when it ends."""
    if isinstance(reply, ToolTurn):
        if reply.answer is not None:
            return replace(reply, answer=ObservedGeneration(reply.answer, on_end))
        if turn_stats is not None:
            turn_stats(reply)
        on_end(reply.stats or GenerationStats(), None)
        return reply
    return ObservedGeneration(reply, on_end)


# ------------------------------------------------------------------------- model calls
class ModelLoggingMiddleware:
    """Logs each model call: its kind, how long it took, its tokens; never the prompt."""

    def __init__(self, state: RunState) -> None:
        self._state = state

    async def __call__(self, ctx: ModelCallContext, call_next: ModelNext) -> ModelReply:
        who = self._state.profile.name if self._state.profile else "chat"
        started = time.perf_counter()

        def ended(stats: GenerationStats, error: BaseException | None) -> None:
            log.info(
                "%s: model %s: %d+%d tokens, %.2fs%s",
                who,
                ctx.kind,
                stats.prompt_tokens,
                stats.completion_tokens,
                time.perf_counter() - started,
                f", failed: {type(error).__name__}" if error else "",
            )

        return observe(await call_next(ctx), ended)


class ModelTracingMiddleware:
    """A ``model`` span per model call, with its tokens, closed when the reply has ended."""

    def __init__(self, state: RunState) -> None:
        self._state = state

    async def __call__(self, ctx: ModelCallContext, call_next: ModelNext) -> ModelReply:
        tracer = self._state.tracer
        if tracer is None:
            return await call_next(ctx)
        handle = tracer.open("model", f"model.{'answer' if ctx.answering else ctx.kind}")
        try:
            reply = await call_next(ctx)
        except BaseException as exc:
            handle.status = "cancelled" if isinstance(exc, asyncio.CancelledError) else "error"
            handle.detail = f"{type(exc).__name__}: {exc}"
            tracer.close(handle)
            raise

        def ended(stats: GenerationStats, error: BaseException | None) -> None:
            handle.prompt_tokens = stats.prompt_tokens
            handle.completion_tokens = stats.completion_tokens
            if error is not None or stats.finish_reason == "error":
                handle.status = "error"
            elif stats.finish_reason == "cancelled":
                handle.status = "cancelled"
            if isinstance(reply, ToolTurn) and reply.calls:
                handle.detail = "asked for " + ", ".join(c.name for c in reply.calls)
            tracer.close(handle)

        return observe(reply, ended)


class BudgetMiddleware:
    """Counts the run's tokens; once ``token_budget`` is used, a tool-phase model call raises
    ``BudgetExhaustedError`` (the runner then writes the answer from what it has)."""

    def __init__(self, state: RunState) -> None:
        self._state = state

    async def __call__(self, ctx: ModelCallContext, call_next: ModelNext) -> ModelReply:
        state = self._state
        budget = state.token_budget
        if budget is not None and not ctx.answering and state.tokens_used >= budget:
            raise BudgetExhaustedError(f"used {state.tokens_used} of {budget} tokens")
        return observe(await call_next(ctx), lambda stats, _e: state.count(stats))


class TimeoutMiddleware:
    """Bounds one model call by ``step_timeout`` seconds: a tool turn is cancelled when it
    takes longer, a streamed reply is cut off (and ``RunState.timed_out`` set)."""

    def __init__(self, state: RunState) -> None:
        self._state = state

    async def __call__(self, ctx: ModelCallContext, call_next: ModelNext) -> ModelReply:
        limit = self._state.step_timeout
        if limit is None:
            return await call_next(ctx)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        try:
            async with asyncio.timeout(limit):
                reply = await call_next(ctx)
        except TimeoutError:
            self._state.timed_out = True
            raise
        stream = reply.answer if isinstance(reply, ToolTurn) else reply
        if stream is None:
            return reply

        def expire() -> None:
            self._state.timed_out = True
            stream.cancel()

        timer = loop.call_at(deadline, expire)
        return observe(reply, lambda _s, _e: timer.cancel())


# ------------------------------------------------------------------------- tool calls
class AllowlistMiddleware:
    """Refuses a tool outside the agent's allowlist, whatever the model asked for."""

    def __init__(self, state: RunState) -> None:
        self._state = state

    async def __call__(self, ctx: ToolCallContext, call_next: NextStep) -> ToolResult:
        profile = self._state.profile
        name = ctx.spec.qualified_name
        if profile is not None and not profile.allows(name):
            ctx.decision = "not_allowed"
            return refusal(f"The agent {profile.name} may not use the tool {name}.", "not_allowed")
        return await call_next(ctx)


class CacheMiddleware:
    """Answers an identical call to a read-only tool from earlier in the same run."""

    def __init__(self, state: RunState) -> None:
        self._state = state

    async def __call__(self, ctx: ToolCallContext, call_next: NextStep) -> ToolResult:
        if not ctx.spec.read_only:
            return await call_next(ctx)
        key = ctx.spec.fingerprint + json.dumps(ctx.call.arguments, sort_keys=True, default=str)
        cached = self._state.cache.get(key)
        if cached is not None:
            ctx.decision = "cached"
            return replace(cached, decision="cached")
        result = await call_next(ctx)
        if not result.is_error:
            self._state.cache[key] = result
        return result


class ToolTracingMiddleware:
    """A ``tool`` span per tool call, with its decision and outcome."""

    def __init__(self, state: RunState) -> None:
        self._state = state

    async def __call__(self, ctx: ToolCallContext, call_next: NextStep) -> ToolResult:
        tracer = self._state.tracer
        if tracer is None:
            return await call_next(ctx)
        async with tracer.span("tool", ctx.spec.qualified_name) as span:
            result = await call_next(ctx)
            span.status = "error" if result.is_error else "ok"
            span.detail = f"{ctx.decision}: {result.text[:300]}"
            return result


class ToolTimeoutMiddleware:
    """Bounds the tool itself by ``step_timeout`` seconds (inside approval: the user's time
    to answer does not count; nor does answering a server's question, ``elicitation``)."""

    def __init__(self, state: RunState) -> None:
        self._state = state

    async def __call__(self, ctx: ToolCallContext, call_next: NextStep) -> ToolResult:
        limit = self._state.step_timeout
        if limit is None:
            return await call_next(ctx)
        try:
            async with asyncio.timeout(limit) as scope, paused_while_answering(scope):
                return await call_next(ctx)
        except TimeoutError:
            text = f"{ctx.spec.qualified_name} took longer than {limit:g} s and was stopped."
            return ToolResult(text=text, is_error=True, size=len(text), decision=ctx.decision)


def model_middleware(state: RunState) -> dict[str, ModelMiddleware]:
    return {
        "logging": ModelLoggingMiddleware(state),
        "tracing": ModelTracingMiddleware(state),
        "budget": BudgetMiddleware(state),
        "timeout": TimeoutMiddleware(state),
    }


def tool_middleware(state: RunState) -> dict[str, ToolMiddleware]:
    """This run's tool middleware (``ToolService`` adds its own)."""
    return {
        "tracing": ToolTracingMiddleware(state),
        "allowlist": AllowlistMiddleware(state),
        "cache": CacheMiddleware(state),
        "timeout": ToolTimeoutMiddleware(state),
    }


def build_model_pipeline(
    order: Sequence[str], middleware: Mapping[str, ModelMiddleware], terminal: ModelNext
) -> ModelNext:
    """Wrap ``terminal`` in the model middleware ``order`` names (others are for tools)."""
    step = terminal
    for name in reversed(order):
        if name in middleware:
            step = _wrap(middleware[name], step)
    return step


def _wrap(mw: ModelMiddleware, call_next: ModelNext) -> ModelNext:
    async def step(ctx: ModelCallContext) -> ModelReply:
        return await mw(ctx, call_next)

    return step
