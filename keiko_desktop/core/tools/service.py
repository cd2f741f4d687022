"""ToolService: the one door to tools for chat, agents, the CLI and the settings page.

``await service.call("files.read_file", {...})`` looks the tool up, passes the middleware onion
(logging, audit, validation, approval, timing by default) and runs it on the provider. Failures
come back as a ``ToolResult`` with ``is_error`` set, never as an exception, so a model can read
what went wrong; only an unknown tool raises ``ToolNotFoundError``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.approvals import DEFAULT_APPROVAL_TIMEOUT, ApprovalBroker, Approver
from keiko_desktop.core.tools.errors import ToolError
from keiko_desktop.core.tools.events import McpToolsChanged, ToolPolicyReset
from keiko_desktop.core.tools.live_calls import LiveCalls, outcome_of
from keiko_desktop.core.tools.middleware import (
    DEFAULT_ORDER,
    ApprovalMiddleware,
    AuditMiddleware,
    LoggingMiddleware,
    TimingMiddleware,
    ToolCallContext,
    ToolMiddleware,
    ValidationMiddleware,
    build_pipeline,
)
from keiko_desktop.core.tools.models import (
    AuditEntry,
    Policy,
    ServerState,
    ToolCall,
    ToolResult,
    ToolSpec,
)
from keiko_desktop.core.tools.permissions import PolicyBook
from keiko_desktop.core.tools.ports import ToolAuditRepository, ToolPolicyRepository, ToolProvider
from keiko_desktop.core.tools.redaction import Redactor
from keiko_desktop.core.tools.registry import ToolRegistry
from keiko_desktop.core.tools.resources import McpContent
from keiko_desktop.core.tools.sign_in import ServerSignIn

log = logging.getLogger(__name__)

MAX_POLICY_NOTES = 50


class ToolService:
    """Tools with permissions, approvals and an audit trail."""

    def __init__(
        self,
        provider: ToolProvider,
        bus: EventBus,
        *,
        policies: ToolPolicyRepository | None = None,
        audit: ToolAuditRepository | None = None,
        redactor: Redactor | None = None,
        approval_timeout: float = DEFAULT_APPROVAL_TIMEOUT,
        approver: Approver | None = None,
        middleware_order: Sequence[str] = DEFAULT_ORDER,
        call_timeout: float | None = None,
        registry: ToolRegistry | None = None,
    ) -> None:
        self.provider = provider
        self.bus = bus
        self.redactor = redactor or Redactor()
        self.registry = registry or ToolRegistry(bus)
        self.policies = PolicyBook(policies)
        self.approvals = ApprovalBroker(bus, approval_timeout, approver)
        self.call_timeout = call_timeout
        self.sign_in: ServerSignIn | None = None
        """Sign in to remote servers that use OAuth (Settings > Tools); None: not offered."""
        self.live_calls = LiveCalls(bus)
        """Calls running now: their ids, progress and log lines (``live_calls``)."""
        self._audit = audit
        available: dict[str, ToolMiddleware] = {
            "logging": LoggingMiddleware(self.redactor),
            "audit": AuditMiddleware(audit, self.redactor, bus),
            "validation": ValidationMiddleware(),
            "approval": ApprovalMiddleware(self.policies, self.approvals),
            "timing": TimingMiddleware(),
        }
        self._middleware = available
        self._pipeline = build_pipeline(middleware_order, available, self._execute)
        by_server: dict[str, list[ToolSpec]] = {}
        for spec in provider.list_tools():  # servers already ready before we subscribed
            by_server.setdefault(spec.server, []).append(spec)
        for server, specs in by_server.items():
            self.registry.update(server, specs)
        for state in provider.server_states():
            self.registry.set_enabled(state.name, state.enabled)
        self.content: McpContent | None = None
        """Resources, prompts and completions of the servers (``core/tools/resources.py``)."""
        self.policy_notes: list[ToolPolicyReset] = []
        """Recent Always policies that stopped holding (newest last)."""
        self._reconciling: set[asyncio.Task[None]] = set()
        bus.subscribe(McpToolsChanged, self._on_bus_tools_changed)

    async def load(self) -> None:
        """Read stored policies (and clear those that no longer hold). Call once after
        building."""
        await self.policies.load()
        await self.reconcile(self.registry.tools(include_disabled=True, include_unusable=True))

    async def reconcile(self, specs: Sequence[ToolSpec]) -> list[ToolPolicyReset]:
        """Clear the Always of each tool in ``specs`` that changed; note and publish each."""
        resets = await self.policies.reconcile(specs)
        for reset in resets:
            self.policy_notes = [*self.policy_notes, reset][-MAX_POLICY_NOTES:]
            self.bus.publish(reset)
        return resets

    def _on_bus_tools_changed(self, event: McpToolsChanged) -> None:
        if not event.tools:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # published outside a loop (a test): policy_for still checks
            return
        task = loop.create_task(self._reconcile_quietly(event.tools))
        self._reconciling.add(task)
        task.add_done_callback(self._reconciling.discard)

    async def wait_reconciled(self) -> None:
        """Wait for the policy checks started by tool lists that arrived so far."""
        while self._reconciling:
            await asyncio.gather(*list(self._reconciling))

    async def _reconcile_quietly(self, specs: Sequence[ToolSpec]) -> None:
        try:
            await self.reconcile(specs)
        except Exception:
            log.exception("could not reset changed tool policies")

    # ---------------------------------------------------------------- reading
    def servers(self) -> list[ServerState]:
        return self.provider.server_states()

    def tools(
        self,
        server: str | None = None,
        include_disabled: bool = False,
        include_unusable: bool = False,
    ) -> list[ToolSpec]:
        return self.registry.tools(server, include_disabled, include_unusable)

    def policy_for(self, spec: ToolSpec) -> Policy:
        return self.policies.policy_for(spec)

    async def audit_log(self, limit: int = 100, server: str | None = None) -> list[AuditEntry]:
        if self._audit is None:
            return []
        return await self._audit.list_tool_calls(limit, server)

    # ---------------------------------------------------------------- changing
    async def set_policy(self, qualified_name: str, policy: Policy) -> None:
        """Set the policy of a tool a ready server offers, bound to that server and tool."""
        await self.policies.set_policy(self.registry.get(qualified_name), policy)

    async def set_server_enabled(self, server: str, enabled: bool) -> None:
        self.registry.set_enabled(server, enabled)
        await self.provider.set_server_enabled(server, enabled)

    # ---------------------------------------------------------------- calling
    async def call(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        *,
        conversation_id: int | None = None,
        agent: str | None = None,
        middleware: Mapping[str, ToolMiddleware] | None = None,
        order: Sequence[str] | None = None,
    ) -> ToolResult:
        """Run ``server.tool`` with ``arguments`` through the middleware.

        A run (``core.agents``) passes its own ``middleware`` (allowlist, cache, tracing…) and
        the ``order`` of the whole onion: this service's middleware and the run's, outermost
        first, as one pipeline. Names ``order`` lists that neither has are for model calls and
        are skipped here.
        """
        spec = self.registry.get(name)
        call = ToolCall(spec.server, spec.name, dict(arguments or {}), conversation_id, agent)
        ctx = ToolCallContext(call, spec, self.redactor.redact(call.arguments))
        pipeline = self._pipeline
        if middleware is not None or order is not None:
            available = {**self._middleware, **(middleware or {})}
            names = [n for n in (order or DEFAULT_ORDER) if n in available]
            pipeline = build_pipeline(names, available, self._execute)
        try:
            return await pipeline(ctx)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("tool call %s failed", spec.qualified_name)
            text = f"{spec.qualified_name} failed: {self.redactor.redact_text(str(exc))[:500]}"
            return ToolResult(text=text, is_error=True, size=len(text), decision=ctx.decision)

    async def _execute(self, ctx: ToolCallContext) -> ToolResult:
        async with self.live_calls.running(ctx.call, ctx.redacted_arguments) as live:
            result = await self._run(ctx)
            live.outcome = outcome_of(result)
            return result

    async def _run(self, ctx: ToolCallContext) -> ToolResult:
        try:
            return await self.provider.call_tool(
                ctx.call.server, ctx.call.tool, ctx.call.arguments, self.call_timeout
            )
        except ToolError as exc:
            text = self.redactor.redact_text(str(exc))
            return ToolResult(text=text, is_error=True, size=len(text))
