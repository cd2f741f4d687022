"""The tool-call onion: small middleware objects, each with one job, in a configured order.

A middleware is ``async (ctx, call_next) -> ToolResult``. ``build_pipeline`` wraps them around a
terminal step (the actual call) in the order named by configuration, outermost first.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

import jsonschema

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.approvals import ApprovalBroker
from keiko_desktop.core.tools.events import ToolExecuted
from keiko_desktop.core.tools.models import (
    ApprovalAnswer,
    AuditEntry,
    Decision,
    Policy,
    ToolCall,
    ToolResult,
    ToolSpec,
)
from keiko_desktop.core.tools.permissions import PolicyBook
from keiko_desktop.core.tools.ports import ToolAuditRepository
from keiko_desktop.core.tools.redaction import Redactor

log = logging.getLogger(__name__)

DEFAULT_ORDER: tuple[str, ...] = ("logging", "audit", "validation", "approval", "timing")
"""Outermost first. Timing is innermost so a call's duration excludes the wait for approval."""


@dataclass
class ToolCallContext:
    """What the middleware share about one call.

    ``decision`` starts as ``error`` (nothing decided): only the approval step sets ``auto``
    or ``approved``, so a call that fails before it is never recorded as let through.
    """

    call: ToolCall
    spec: ToolSpec
    redacted_arguments: dict[str, Any]
    decision: Decision = "error"
    duration: float | None = None


NextStep = Callable[[ToolCallContext], Awaitable[ToolResult]]


class ToolMiddleware(Protocol):
    async def __call__(self, ctx: ToolCallContext, call_next: NextStep) -> ToolResult: ...


def refusal(text: str, decision: Decision) -> ToolResult:
    return ToolResult(text=text, is_error=True, size=len(text), decision=decision)


class LoggingMiddleware:
    """Logs each call's name, decision, duration and outcome; never its arguments."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor

    async def __call__(self, ctx: ToolCallContext, call_next: NextStep) -> ToolResult:
        name = ctx.spec.qualified_name
        log.info("tool call %s", name)
        try:
            result = await call_next(ctx)
        except Exception as exc:
            log.warning("tool call %s raised %s", name, self._redactor.redact_text(str(exc)))
            raise
        log.info(
            "tool call %s: %s, %s, %s",
            name,
            ctx.decision,
            "error" if result.is_error else "ok",
            f"{ctx.duration:.3f}s" if ctx.duration is not None else "not run",
        )
        return result


class ValidationMiddleware:
    """Checks arguments against the tool's input schema before anyone is asked."""

    async def __call__(self, ctx: ToolCallContext, call_next: NextStep) -> ToolResult:
        name = ctx.spec.qualified_name
        if ctx.spec.problem is not None:
            ctx.decision = "unusable"
            return refusal(f"The tool {name} cannot be used: {ctx.spec.problem}.", "unusable")
        schema = ctx.spec.input_schema or {"type": "object"}
        try:
            validator_cls = jsonschema.validators.validator_for(schema)
            errors = sorted(
                validator_cls(schema).iter_errors(ctx.call.arguments), key=lambda e: list(e.path)
            )
        except Exception as exc:  # noqa: BLE001 - a hostile schema breaks the checker anyhow
            log.warning("tool %s: its schema cannot be checked: %s", name, type(exc).__name__)
            ctx.decision = "unusable"
            return refusal(
                f"The tool {name} cannot be used: its input schema cannot be checked.", "unusable"
            )
        if errors:
            ctx.decision = "invalid"
            problems = "; ".join(
                f"{'/'.join(str(p) for p in e.path) or 'arguments'}: {e.message}"
                for e in errors[:5]
            )
            return refusal(
                f"Invalid arguments for {ctx.spec.qualified_name}: {problems}", "invalid"
            )
        return await call_next(ctx)


class ApprovalMiddleware:
    """Applies the tool's policy: Always runs, Never refuses, Ask waits for an answer."""

    def __init__(self, policies: PolicyBook, broker: ApprovalBroker) -> None:
        self._policies = policies
        self._broker = broker

    async def __call__(self, ctx: ToolCallContext, call_next: NextStep) -> ToolResult:
        name = ctx.spec.qualified_name
        policy = self._policies.policy_for(ctx.spec)
        if policy is Policy.NEVER:
            ctx.decision = "blocked"
            return refusal(f"The tool {name} is set to Never run.", "blocked")
        if policy is Policy.ASK:
            outcome = await self._broker.ask(
                ctx.spec.server,
                ctx.spec.name,
                ctx.call.arguments,
                ctx.redacted_arguments,
                one_line(ctx.spec.description, 500),
            )
            ctx.decision = outcome.decision
            if outcome.decision != "approved":
                return refusal(outcome.reason, outcome.decision)
            if outcome.answer is ApprovalAnswer.ALWAYS_ALLOW:
                await self._policies.set_policy(ctx.spec, Policy.ALWAYS)
        else:
            ctx.decision = "auto"
        return await call_next(ctx)


class TimingMiddleware:
    """Measures how long the tool itself took."""

    async def __call__(self, ctx: ToolCallContext, call_next: NextStep) -> ToolResult:
        start = time.perf_counter()
        try:
            return await call_next(ctx)
        finally:
            ctx.duration = time.perf_counter() - start


class AuditMiddleware:
    """Records every call, allowed or not, and publishes ``ToolExecuted``.

    A failure to write the audit row is logged and never fails the call.
    """

    def __init__(
        self, repository: ToolAuditRepository | None, redactor: Redactor, bus: EventBus
    ) -> None:
        self._repository = repository
        self._redactor = redactor
        self._bus = bus

    async def __call__(self, ctx: ToolCallContext, call_next: NextStep) -> ToolResult:
        result: ToolResult | None = None
        error: str | None = None
        try:
            result = await call_next(ctx)
            if result.is_error:
                error = result.text[:500]
            return replace(result, decision=ctx.decision, duration=ctx.duration)
        except asyncio.CancelledError:  # the turn was stopped: the row says so
            error = "cancelled: the turn was stopped while the tool ran"
            raise
        except Exception as exc:
            error = str(exc)[:500]
            raise
        finally:
            await self._record(ctx, result, error)

    async def _record(
        self, ctx: ToolCallContext, result: ToolResult | None, error: str | None
    ) -> None:
        is_error = result.is_error if result is not None else True
        entry = AuditEntry(
            server=ctx.spec.server,
            tool=ctx.spec.name,
            arguments=json.dumps(ctx.redacted_arguments, ensure_ascii=False, default=str),
            decision=ctx.decision,
            is_error=is_error,
            duration=ctx.duration,
            result_size=result.size if result is not None else 0,
            conversation_id=ctx.call.conversation_id,
            agent=ctx.call.agent,
            error=self._redactor.redact_text(error) if error else None,
        )
        if self._repository is not None:
            try:
                await self._repository.record_tool_call(entry)
            except Exception:
                log.exception("could not write the audit row for %s", ctx.spec.qualified_name)
        self._bus.publish(
            ToolExecuted(
                ctx.spec.server,
                ctx.spec.name,
                ctx.decision,
                is_error,
                ctx.duration,
                ctx.call.conversation_id,
                ctx.call.agent,
            )
        )


def build_pipeline(
    order: Sequence[str], middleware: Mapping[str, ToolMiddleware], terminal: NextStep
) -> NextStep:
    """Wrap ``terminal`` in the named middleware, the first name outermost."""
    unknown = [name for name in order if name not in middleware]
    if unknown:
        raise ValueError(f"unknown tool middleware {unknown}; known: {sorted(middleware)}")
    step = terminal
    for name in reversed(order):
        step = _wrap(middleware[name], step)
    return step


def _wrap(mw: ToolMiddleware, call_next: NextStep) -> NextStep:
    async def step(ctx: ToolCallContext) -> ToolResult:
        return await mw(ctx, call_next)

    return step
