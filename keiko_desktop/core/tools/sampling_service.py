"""MCP sampling, the decisions: each server's policy, the person's review, the generation.

``SamplingPolicies`` keeps one policy per server (Always / Ask / Never; Ask when none is set) in
the tool-policy table, under the key ``sampling:<server>`` (server names have no dot and tool
keys always have one, so the two never meet), with the digest of the server's identity (its
command, arguments and env names, or URL) as fingerprint. An Always holds only for the program
it was given to (§2h): when ``mcp.json`` points the name at another program, the server asks
again, the stored Always is cleared and a ``ToolPolicyReset`` says why. Ask and Never are kept.

``SamplingService.sample`` is the one door: Never is refused at once with ``NOT_ALLOWED`` (what
the server sees); Ask goes to the registered ``SamplingApprover`` (none: refused, saying so),
which may edit the messages' text and the token limit and answers within ``timeout`` seconds or
the request is refused; then the chat's model (``model()``, the ModelManager's current one,
generating in its own worker thread) writes the reply. Nothing the server sent can choose the
model, a role or a policy.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ChatModel, GenerationParams
from keiko_desktop.core.tools.elicitation import user_time
from keiko_desktop.core.tools.events import ToolPolicyReset
from keiko_desktop.core.tools.ports import ToolPolicyRepository
from keiko_desktop.core.tools.sampling import (
    DEFAULT_TEMPERATURE,
    NOT_ALLOWED,
    SamplingAnswer,
    SamplingApprover,
    SamplingFailedError,
    SamplingPolicy,
    SamplingRefusedError,
    SamplingRequest,
    SamplingResult,
    StopReason,
    chat_messages,
)

log = logging.getLogger(__name__)

KEY_PREFIX = "sampling:"
DEFAULT_SAMPLING_TIMEOUT = 120.0
ModelGetter = Callable[[], Awaitable[ChatModel]]


def policy_key(server: str) -> str:
    """The tool-policy table's key of a server's sampling policy."""
    return f"{KEY_PREFIX}{server}"


def identity_digest(identity: str) -> str:
    """The fingerprint an Always is stored with: a digest of the server's identity."""
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


class SamplingPolicies:
    """The servers' sampling policies. ``load()`` once, then reads are synchronous.

    ``identity_of(server)`` is what the server is now (``ServerConfig.identity``); it raises
    ``LookupError`` for a server that is not configured."""

    def __init__(
        self, repository: ToolPolicyRepository | None, identity_of: Callable[[str], str]
    ) -> None:
        self._repository = repository
        self._identity_of = identity_of
        self._stored: dict[str, tuple[SamplingPolicy, str | None]] = {}

    async def load(self) -> None:
        if self._repository is None:
            return
        self._stored = {}
        for key, entry in (await self._repository.load_policies()).items():
            if not key.startswith(KEY_PREFIX):
                continue
            try:
                policy = SamplingPolicy(entry.policy)
            except ValueError:
                log.warning("ignoring unknown sampling policy %r for %s", entry.policy, key)
                continue
            self._stored[key.removeprefix(KEY_PREFIX)] = (policy, entry.fingerprint)

    def _fingerprint(self, server: str) -> str | None:
        try:
            return identity_digest(self._identity_of(server))
        except LookupError:
            return None

    def _holds(self, server: str) -> bool:
        policy, fingerprint = self._stored[server]
        return policy is not SamplingPolicy.ALWAYS or fingerprint == self._fingerprint(server)

    def policy_for(self, server: str) -> SamplingPolicy:
        """The policy in force: the stored one, unless it is an Always given to another
        program under this name; else Ask."""
        if server not in self._stored or not self._holds(server):
            return SamplingPolicy.ASK
        return self._stored[server][0]

    async def set_policy(self, server: str, policy: SamplingPolicy) -> None:
        """Set ``server``'s policy, bound to what the server is now."""
        fingerprint = self._fingerprint(server)
        self._stored[server] = (policy, fingerprint)
        if self._repository is not None:
            await self._repository.set_policy(policy_key(server), policy.value, fingerprint)

    async def reset_policy(self, server: str) -> None:
        self._stored.pop(server, None)
        if self._repository is not None:
            await self._repository.clear_policy(policy_key(server))

    async def reconcile(self, server: str) -> ToolPolicyReset | None:
        """Clear ``server``'s stored Always if it was given to another program; say why."""
        if server not in self._stored or self._holds(server):
            return None
        await self.reset_policy(server)
        reset = ToolPolicyReset(
            f"sampling for {server}",
            f"the server '{server}' is not the one it was allowed for (its command, "
            "arguments, environment names or URL changed)",
        )
        log.warning("sampling policy reset: %s", reset.text)
        return reset


class SamplingService:
    """Runs servers' sampling requests past their policy and the person, on Keiko's model."""

    def __init__(
        self,
        policies: SamplingPolicies,
        model: ModelGetter | None = None,
        bus: EventBus | None = None,
        timeout: float = DEFAULT_SAMPLING_TIMEOUT,
        approver: SamplingApprover | None = None,
    ) -> None:
        self.policies = policies
        self.model = model
        """The chat's model (``ModelManager.get``); None: nothing can sample here."""
        self._bus = bus
        self.timeout = timeout
        self._approver = approver
        self.notes: list[ToolPolicyReset] = []
        """Sampling Always policies that stopped holding, newest last."""

    @property
    def approver(self) -> SamplingApprover | None:
        return self._approver

    def set_approver(self, approver: SamplingApprover | None) -> None:
        """Who reviews Ask requests from now on (None: nobody, so Ask is refused)."""
        self._approver = approver

    def policy_for(self, server: str) -> SamplingPolicy:
        return self.policies.policy_for(server)

    async def set_policy(self, server: str, policy: SamplingPolicy) -> None:
        await self.policies.set_policy(server, policy)

    async def sample(self, request: SamplingRequest) -> SamplingResult:
        """The model's reply to ``request``, or ``SamplingRefusedError`` with what the server is
        told (Never, denied, no answer in time, nobody to ask, the model failed)."""
        server = request.server
        reset = await self.policies.reconcile(server)
        if reset is not None:
            self.notes = [*self.notes, reset][-20:]
            if self._bus is not None:
                self._bus.publish(reset)
        policy = self.policies.policy_for(server)
        if policy is SamplingPolicy.NEVER:
            log.info("sampling for %s refused: its policy is Never", server)
            raise SamplingRefusedError(NOT_ALLOWED)
        if policy is SamplingPolicy.ASK:
            request = await self._review(replace(request, timeout=self.timeout))
        return await self._generate(request)

    async def _review(self, request: SamplingRequest) -> SamplingRequest:
        approver = self._approver
        if approver is None:
            raise SamplingRefusedError(
                "sampling needs the user's approval and nobody here can give it",
                f"Allow it with `keiko mcp sampling {request.server} always`.",
            )
        request = replace(request, created=time.monotonic())
        try:
            async with user_time(request.timeout), asyncio.timeout(request.timeout):
                review = await approver.review(request)  # the user's time is not the call's
        except TimeoutError:
            raise SamplingRefusedError(
                "the user did not answer the sampling request in time"
            ) from None
        except Exception:
            log.exception("the sampling approver failed on %s; refused", request.server)
            raise SamplingRefusedError(
                "the sampling request could not be shown to the user"
            ) from None
        if review.answer is SamplingAnswer.DENY:
            raise SamplingRefusedError("the user declined this sampling request")
        edited = review.request
        same_roles = [m.role for m in edited.messages] == [m.role for m in request.messages]
        if edited.server != request.server or not same_roles:
            raise SamplingRefusedError("the sampling request changed while it was reviewed")
        edited.check()
        if review.answer is SamplingAnswer.ALWAYS_ALLOW:
            await self.policies.set_policy(request.server, SamplingPolicy.ALWAYS)
        # Only the texts and the token limit are the person's to change.
        return replace(request, messages=edited.messages, max_tokens=edited.max_tokens)

    async def _generate(self, request: SamplingRequest) -> SamplingResult:
        if self.model is None:
            raise SamplingFailedError("Keiko has no model to sample with here")
        try:
            model = await self.model()
        except KeikoError as exc:
            raise SamplingFailedError(f"Keiko's model is not available: {exc.message}") from None
        temperature = DEFAULT_TEMPERATURE if request.temperature is None else request.temperature
        params = GenerationParams(
            temperature=temperature, max_tokens=request.max_tokens, stop=request.stop_sequences
        )
        generation = model.generate(chat_messages(request), params)
        pieces: list[str] = []
        finished = False
        try:
            async for piece in generation:
                pieces.append(piece)
            finished = True
        except KeikoError as exc:
            raise SamplingFailedError(f"Keiko's model failed: {exc.message}") from None
        finally:
            if not finished:
                generation.cancel()
        stats = generation.stats
        if stats.finish_reason in ("error", "cancelled"):
            raise SamplingFailedError(f"Keiko's model stopped ({stats.finish_reason})")
        reason: StopReason = "maxTokens" if stats.finish_reason == "length" else "endTurn"
        log.info(
            "sampled %d tokens for %s on %s", stats.completion_tokens, request.server, model.name
        )
        return SamplingResult("".join(pieces).strip(), model.name, reason)
