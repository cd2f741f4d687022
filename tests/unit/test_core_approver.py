"""The Core hands its approver to the tools, whenever they start; none means Ask is denied."""

from __future__ import annotations

import pytest

from keiko_desktop.app import build_core
from keiko_desktop.cli.approvals import TerminalApprover
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.tools.approvals import ApprovalRequest
from keiko_desktop.core.tools.models import ApprovalAnswer, Policy
from tests.helpers.approver import Approver


@pytest.mark.timeout(120)
async def test_an_approver_set_before_the_tools_start_answers_their_asks(paths: Paths) -> None:
    core = await build_core(paths, Settings(), start_model=False, start_tools=True)
    try:
        approver = Approver(None, ApprovalAnswer.ALLOW_ONCE)
        core.set_approver(approver)  # the tools are still starting
        tools = await core.wait_tools(settle=30)
        assert tools is not None
        assert tools.approvals.approver is approver
        await tools.set_policy("clock.now", Policy.ASK)
        result = await tools.call("clock.now", {"timezone": "UTC"})
        assert result.decision == "approved"
        assert [r.qualified_name for r in approver.seen] == ["clock.now"]
        core.set_approver(None)  # the window closed: nobody to ask any more
        refused = await tools.call("clock.now", {"timezone": "UTC"})
        assert refused.decision == "denied"
        assert "nobody here can approve it" in refused.text
    finally:
        await core.aclose()


async def test_the_terminal_approver_approves_with_yes_and_denies_without_a_tty(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    request = ApprovalRequest("files", "delete_file", {"path": "x"}, 5.0)
    assert await TerminalApprover(True).approve(request) is ApprovalAnswer.ALLOW_ONCE
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert await TerminalApprover(False).approve(request) is ApprovalAnswer.DENY
    assert "Pass --yes" in capsys.readouterr().err
