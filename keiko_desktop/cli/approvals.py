"""``TerminalApprover``: answers Ask tools on the terminal (`keiko mcp call`, `keiko ask --tools`).

Registered on the Core (``core.set_approver``) or on the tool service's broker. ``--yes``
approves every Ask up front; without a terminal on stdin an Ask is denied with a hint.
The question shows every argument in full (a secret-looking name hides nothing from the
person approving), escaped; a long value is folded (its start, its end and its length) and
``v`` shows it all. The question is read on a daemon thread, so an unanswered prompt never
keeps the process alive.
"""

from __future__ import annotations

import asyncio
import sys
import threading

from keiko_desktop.cli.common import error
from keiko_desktop.core.tools.approvals import ApprovalRequest, describe_arguments
from keiko_desktop.core.tools.models import ApprovalAnswer

_ANSWERS = {
    "y": ApprovalAnswer.ALLOW_ONCE,
    "yes": ApprovalAnswer.ALLOW_ONCE,
    "a": ApprovalAnswer.ALWAYS_ALLOW,
    "always": ApprovalAnswer.ALWAYS_ALLOW,
}


class TerminalApprover:
    """Implements ``core.tools.approvals.Approver`` on stdin/stderr."""

    def __init__(self, assume_yes: bool) -> None:
        self.assume_yes = assume_yes

    async def approve(self, request: ApprovalRequest) -> ApprovalAnswer:
        if self.assume_yes:
            return ApprovalAnswer.ALLOW_ONCE
        if not sys.stdin.isatty():
            error(
                f"{request.qualified_name} needs your approval (its policy is Ask), "
                "and stdin is not a terminal.\n  → Pass --yes to approve it."
            )
            return ApprovalAnswer.DENY
        folded = True
        while True:
            question = (
                f"Allow {request.qualified_name}?\n{describe_arguments(request.arguments, folded)}"
                f"  [y] yes, once   [a] always   [v] view in full   [N] no "
                f"({int(request.remaining())} s): "
            )
            try:
                reply = (await _read_line(question)).strip().lower()
            except asyncio.CancelledError:
                sys.stderr.write("\n(no answer in time: not allowed)\n")
                raise
            if reply in ("v", "view"):
                folded = False
                continue
            return _ANSWERS.get(reply, ApprovalAnswer.DENY)


async def _read_line(prompt: str) -> str:
    """``input(prompt)`` on a daemon thread; "" at end of input."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def settle(text: str) -> None:
        if not future.done():
            future.set_result(text)

    def read() -> None:
        try:
            text = input(prompt)
        except (EOFError, OSError):
            text = ""
        loop.call_soon_threadsafe(settle, text)

    threading.Thread(target=read, name="keiko-approval", daemon=True).start()
    return await future
