"""Tool policies: Always, Ask or Never, per ``server.tool``, bound to what the tool is.

An explicit policy (set by the user, kept in the ``tool_policies`` table) wins. Otherwise a
built-in read-only tool is Always and every other tool is Ask.

An Always is given to one server and one tool: it is stored with the tool's
``ToolSpec.fingerprint`` (the server's command, arguments and env names or its URL, and the
tool's name, description and schema). When either changes — ``keiko mcp import --replace``
points the name at another program, or the server changes the tool under the Always — the
Always no longer holds: the tool asks again, the stored Always is cleared (``reconcile``) and a
``ToolPolicyReset`` says why. Ask and Never are kept whatever changes: they never let a call
through unasked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from keiko_desktop.core.tools.events import ToolPolicyReset
from keiko_desktop.core.tools.models import Policy, ToolSpec
from keiko_desktop.core.tools.ports import ToolPolicyRepository

log = logging.getLogger(__name__)


def default_policy(spec: ToolSpec) -> Policy:
    """Built-in read-only tools run without asking; everything else asks first."""
    return Policy.ALWAYS if spec.builtin and spec.read_only else Policy.ASK


@dataclass(frozen=True)
class _Entry:
    policy: Policy
    fingerprint: str | None


def _why_changed(spec: ToolSpec, stored: str | None) -> str:
    if stored is None:
        return "its Always was given before Keiko tied policies to a server's identity"
    server, _, _tool = stored.partition(".")
    if server != spec.fingerprint.partition(".")[0]:
        return (
            f"the server '{spec.server}' is not the one it was allowed for (its command, "
            "arguments, environment names or URL changed)"
        )
    return "the tool's description or input schema changed since it was allowed"


class PolicyBook:
    """The policies in force. ``load()`` once, then reads are synchronous."""

    def __init__(self, repository: ToolPolicyRepository | None = None) -> None:
        self._repository = repository
        self._explicit: dict[str, _Entry] = {}

    async def load(self) -> None:
        if self._repository is None:
            return
        stored = await self._repository.load_policies()
        self._explicit = {}
        for tool, entry in stored.items():
            try:
                self._explicit[tool] = _Entry(Policy(entry.policy), entry.fingerprint)
            except ValueError:
                log.warning("ignoring unknown policy %r for %s", entry.policy, tool)

    def _holds(self, entry: _Entry, spec: ToolSpec) -> bool:
        return entry.policy is not Policy.ALWAYS or entry.fingerprint == spec.fingerprint

    def policy_for(self, spec: ToolSpec) -> Policy:
        entry = self._explicit.get(spec.qualified_name)
        if entry is None or not self._holds(entry, spec):
            return default_policy(spec)
        return entry.policy

    def explicit(self, qualified_name: str) -> Policy | None:
        """The stored policy of a tool (whether or not it still holds), or None."""
        entry = self._explicit.get(qualified_name)
        return entry.policy if entry is not None else None

    async def set_policy(self, spec: ToolSpec, policy: Policy) -> None:
        """Set ``spec``'s policy, bound to what the tool is now."""
        name = spec.qualified_name
        self._explicit[name] = _Entry(policy, spec.fingerprint)
        if self._repository is not None:
            await self._repository.set_policy(name, policy.value, spec.fingerprint)

    async def reset_policy(self, qualified_name: str) -> None:
        """Go back to the default for this tool."""
        self._explicit.pop(qualified_name, None)
        if self._repository is not None:
            await self._repository.clear_policy(qualified_name)

    async def reconcile(self, specs: Iterable[ToolSpec]) -> list[ToolPolicyReset]:
        """Clear each stored Always that no longer matches its tool; say which and why."""
        resets: list[ToolPolicyReset] = []
        for spec in specs:
            entry = self._explicit.get(spec.qualified_name)
            if entry is None or self._holds(entry, spec):
                continue
            reset = ToolPolicyReset(spec.qualified_name, _why_changed(spec, entry.fingerprint))
            log.warning("tool policy reset: %s", reset.text)
            await self.reset_policy(spec.qualified_name)
            resets.append(reset)
        return resets
