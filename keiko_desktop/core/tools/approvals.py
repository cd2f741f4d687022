"""Approvals: an Ask becomes a ``ToolApprovalRequested`` event that someone answers.

The window shows a dialog, the CLI asks on the terminal (or answers for ``--yes``). An answer is
allow once, always allow (which also sets the tool's policy to Always) or deny. No answer within
the timeout (120 s unless configured) is a deny, and so is a request nobody is listening for.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Callable
from typing import Any

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.events import ToolApprovalRequested
from keiko_desktop.core.tools.models import ApprovalAnswer, Decision

log = logging.getLogger(__name__)

DEFAULT_APPROVAL_TIMEOUT = 120.0
_ids = itertools.count(1)


class ApprovalRequest:
    """One pending question: may ``server.tool`` run with these (redacted) arguments?

    Answer it once, on the loop's thread, with ``answer()``. ``add_done_callback`` tells a dialog
    that the question was settled elsewhere (answered, timed out) so it can close.
    """

    def __init__(self, server: str, tool: str, arguments: dict[str, Any], timeout: float) -> None:
        self.id = next(_ids)
        self.server = server
        self.tool = tool
        self.arguments = arguments
        self.timeout = timeout
        self.created = time.monotonic()
        self._future: asyncio.Future[ApprovalAnswer | None] = (
            asyncio.get_running_loop().create_future()
        )

    @property
    def qualified_name(self) -> str:
        return f"{self.server}.{self.tool}"

    def remaining(self) -> float:
        """Seconds left before no answer becomes a deny."""
        return max(0.0, self.timeout - (time.monotonic() - self.created))

    @property
    def done(self) -> bool:
        return self._future.done()

    def answer(self, answer: ApprovalAnswer) -> bool:
        """Settle the request. False if it was already settled (answered or timed out)."""
        if self._future.done():
            return False
        self._future.set_result(answer)
        return True

    def add_done_callback(self, callback: Callable[[ApprovalRequest], object]) -> None:
        self._future.add_done_callback(lambda _f: callback(self))

    async def wait(self) -> ApprovalAnswer | None:
        """The answer, or None when the timeout passed first (then the request is settled)."""
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.shield(self._future)
        except TimeoutError:
            if not self._future.done():
                self._future.set_result(None)
            return self._future.result()
        finally:
            if not self._future.done():  # the caller was cancelled: nobody will use an answer
                self._future.set_result(None)


class ApprovalBroker:
    """Publishes Ask requests and waits for their answers."""

    def __init__(self, bus: EventBus, timeout: float = DEFAULT_APPROVAL_TIMEOUT) -> None:
        self._bus = bus
        self.timeout = timeout
        self._pending: dict[int, ApprovalRequest] = {}

    def pending(self) -> list[ApprovalRequest]:
        return list(self._pending.values())

    async def ask(
        self, server: str, tool: str, redacted_arguments: dict[str, Any]
    ) -> tuple[Decision, ApprovalAnswer | None]:
        """Ask and wait. Returns the decision and the answer (None when none came)."""
        request = ApprovalRequest(server, tool, redacted_arguments, self.timeout)
        if self._bus.subscriber_count(ToolApprovalRequested) == 0:
            log.info("no one can approve %s; denied", request.qualified_name)
            request.answer(ApprovalAnswer.DENY)
            return "denied", None
        self._pending[request.id] = request
        try:
            self._bus.publish(ToolApprovalRequested(server, tool, redacted_arguments, request))
            answer = await request.wait()
        finally:
            self._pending.pop(request.id, None)
        if answer is None:
            return "timed_out", None
        if answer is ApprovalAnswer.DENY:
            return "denied", answer
        return "approved", answer
