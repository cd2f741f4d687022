"""The one fake Approver: answers every approval request with a fixed answer."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from keiko_desktop.core.tools.approvals import ApprovalRequest
from keiko_desktop.core.tools.models import ApprovalAnswer

if TYPE_CHECKING:
    from keiko_desktop.core.tools.service import ToolService


class Approver:
    """An ``Approver`` that keeps each request in ``seen`` and answers ``answer`` (None: never
    answers; ``cancelled`` counts the waits the broker gave up on). Given a ``service`` it
    registers itself there; with None, hand it over yourself (``Core.set_approver``)."""

    def __init__(self, service: ToolService | None, answer: ApprovalAnswer | None) -> None:
        self.answer = answer
        self.seen: list[ApprovalRequest] = []
        self.cancelled = 0
        if service is not None:
            service.approvals.set_approver(self)

    async def approve(self, request: ApprovalRequest) -> ApprovalAnswer:
        self.seen.append(request)
        if self.answer is not None:
            return self.answer
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise
        raise AssertionError("unreachable")
