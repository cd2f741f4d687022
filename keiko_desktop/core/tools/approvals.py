"""Approvals: an Ask goes to the ``Approver`` registered on the broker, who answers it.

The window registers one that shows a dialog, the CLI one that asks on the terminal (or answers
for ``--yes``). An answer is allow once, always allow (which also sets the tool's policy to
Always) or deny. No answer within the timeout (``Settings.tool_approval_timeout``, which the
broker follows through ``SettingsChanged``) is a deny, and so is a request when no approver is
registered (the refusal says so). Each request is also published as ``ToolApprovalRequested``,
a plain fact for whoever displays it; answering goes only through the approver.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from keiko_desktop.core.config import default_of
from keiko_desktop.core.events import EventBus, SettingsChanged
from keiko_desktop.core.safe_text import printable
from keiko_desktop.core.tools.events import ToolApprovalRequested
from keiko_desktop.core.tools.models import ApprovalAnswer, Decision

log = logging.getLogger(__name__)

DEFAULT_APPROVAL_TIMEOUT: float = default_of("tool_approval_timeout")
FOLD_AT = 1_200
"""Values longer than this many characters are folded in a question (and can be unfolded)."""
_ids = itertools.count(1)


@dataclass(frozen=True)
class ApprovalRequest:
    """One question: may ``server.tool`` run with these arguments?

    ``arguments`` are the call's arguments in full: the person approving sees exactly what
    would be sent (a secret-looking name hides nothing from them; a steered model could use
    one to send a file's contents out unseen). ``redacted_arguments`` are for logs, events and
    the audit trail. ``description`` is the tool's own description, escaped for display.
    """

    server: str
    tool: str
    arguments: dict[str, Any]
    timeout: float
    """Seconds the broker waits for an answer before it denies."""
    redacted_arguments: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    id: int = field(default_factory=lambda: next(_ids))
    created: float = field(default_factory=time.monotonic)

    @property
    def qualified_name(self) -> str:
        return f"{self.server}.{self.tool}"

    def remaining(self) -> float:
        """Seconds left before no answer becomes a deny."""
        return max(0.0, self.timeout - (time.monotonic() - self.created))


class Approver(Protocol):
    """Answers Ask requests: the window's dialog, the terminal.

    ``approve`` returns the answer. The broker cancels it when the request times out or the call
    is abandoned (the user stopped the reply): it should then stop asking (close its dialog).
    An exception is a deny.
    """

    async def approve(self, request: ApprovalRequest) -> ApprovalAnswer: ...


@dataclass(frozen=True)
class ApprovalOutcome:
    """How an Ask ended: ``approved``, ``denied`` or ``timed_out``, and why, in words."""

    decision: Decision
    answer: ApprovalAnswer | None = None
    reason: str = ""


class ApprovalBroker:
    """Hands Ask requests to the registered approver and waits for the answer."""

    def __init__(
        self,
        bus: EventBus,
        timeout: float = DEFAULT_APPROVAL_TIMEOUT,
        approver: Approver | None = None,
    ) -> None:
        self._bus = bus
        self.timeout = timeout
        self._approver = approver
        self._pending: dict[int, ApprovalRequest] = {}
        bus.subscribe(SettingsChanged, self._on_bus_settings_changed)

    def _on_bus_settings_changed(self, event: SettingsChanged) -> None:
        self.timeout = event.new.tool_approval_timeout  # requests already asked keep theirs

    @property
    def approver(self) -> Approver | None:
        return self._approver

    def set_approver(self, approver: Approver | None) -> None:
        """Who answers from now on (None: nobody, so every Ask is denied)."""
        self._approver = approver

    def pending(self) -> list[ApprovalRequest]:
        return list(self._pending.values())

    async def ask(
        self,
        server: str,
        tool: str,
        arguments: dict[str, Any],
        redacted_arguments: dict[str, Any],
        description: str = "",
    ) -> ApprovalOutcome:
        """Ask the approver about a call with ``arguments`` (shown in full to the approver;
        ``redacted_arguments`` go on the bus) and wait, at most ``timeout`` seconds."""
        request = ApprovalRequest(
            server, tool, arguments, self.timeout, redacted_arguments, description
        )
        name = request.qualified_name
        approver = self._approver
        if approver is None:
            log.info("no approver is registered for %s; denied", name)
            return ApprovalOutcome(
                "denied",
                None,
                f"The tool {name} needs approval (its policy is Ask) and nobody here can "
                "approve it, so it did not run.",
            )
        self._pending[request.id] = request
        self._bus.publish(ToolApprovalRequested(server, tool, redacted_arguments, request.id))
        try:
            async with asyncio.timeout(request.timeout):
                answer = await approver.approve(request)
        except TimeoutError:
            return ApprovalOutcome(
                "timed_out", None, f"No one approved {name} in time, so it did not run."
            )
        except Exception:
            log.exception("the approver failed on %s; denied", name)
            return ApprovalOutcome(
                "denied", None, f"Approval of {name} could not be asked, so it did not run."
            )
        finally:
            self._pending.pop(request.id, None)
        if answer is ApprovalAnswer.DENY:
            return ApprovalOutcome("denied", answer, f"The user did not allow {name} to run.")
        return ApprovalOutcome("approved", ApprovalAnswer(answer))


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)


def describe_arguments(
    arguments: dict[str, Any], folded: bool = True, unfold_hint: str = "v shows them"
) -> str:
    """The arguments for a person approving a call: each on its own lines, in full, escaped
    (``safe_text.printable``), with its length when long. With ``folded`` a value longer than
    ``FOLD_AT`` shows its start and end and how much is folded between (``unfold_hint`` says
    how to see it); nothing is ever redacted here."""
    if not arguments:
        return "  (no arguments)\n"
    lines: list[str] = []
    for key, value in arguments.items():
        text = printable(_value_text(value))
        size = f" ({len(text):,} characters)" if len(text) > 80 else ""
        if folded and len(text) > FOLD_AT:
            head, tail = text[: FOLD_AT * 2 // 3], text[-FOLD_AT // 3 :]
            hidden = len(text) - len(head) - len(tail)
            text = f"{head}\n… {hidden:,} characters folded ({unfold_hint}) …\n{tail}"
        body = text.replace("\n", "\n      ")
        lines.append(f"  {printable(str(key), newlines=False)}{size}:\n      {body}")
    return "\n".join(lines) + "\n"
