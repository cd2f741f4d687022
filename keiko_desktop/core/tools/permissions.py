"""Tool policies: Always, Ask or Never, per ``server.tool``.

An explicit policy (set by the user, kept in the ``tool_policies`` table) wins. Otherwise a
built-in read-only tool is Always and every other tool is Ask.
"""

from __future__ import annotations

import logging

from keiko_desktop.core.tools.models import Policy, ToolSpec
from keiko_desktop.core.tools.ports import ToolPolicyRepository

log = logging.getLogger(__name__)


def default_policy(spec: ToolSpec) -> Policy:
    """Built-in read-only tools run without asking; everything else asks first."""
    return Policy.ALWAYS if spec.builtin and spec.read_only else Policy.ASK


class PolicyBook:
    """The policies in force. ``load()`` once, then reads are synchronous."""

    def __init__(self, repository: ToolPolicyRepository | None = None) -> None:
        self._repository = repository
        self._explicit: dict[str, Policy] = {}

    async def load(self) -> None:
        if self._repository is None:
            return
        stored = await self._repository.load_policies()
        self._explicit = {}
        for tool, value in stored.items():
            try:
                self._explicit[tool] = Policy(value)
            except ValueError:
                log.warning("ignoring unknown policy %r for %s", value, tool)

    def policy_for(self, spec: ToolSpec) -> Policy:
        return self._explicit.get(spec.qualified_name, default_policy(spec))

    async def set_policy(self, qualified_name: str, policy: Policy) -> None:
        self._explicit[qualified_name] = policy
        if self._repository is not None:
            await self._repository.set_policy(qualified_name, policy.value)

    async def reset_policy(self, qualified_name: str) -> None:
        """Go back to the default for this tool."""
        self._explicit.pop(qualified_name, None)
        if self._repository is not None:
            await self._repository.clear_policy(qualified_name)
