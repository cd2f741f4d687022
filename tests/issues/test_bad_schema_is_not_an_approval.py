"""Regression (issue 9, item 4): a bad schema was taken for an approval.

A tool whose ``inputSchema`` is invalid (``"type": "str"``, unknown types, recursive ``$ref``)
crashed `keiko mcp call` with a traceback, and in a chat turn ended as an empty error audited
``auto`` although its policy was Ask. Schemas are now checked when a server lists its tools:
an invalid one is listed as unusable with the reason, never offered to a model, never called,
and audited ``unusable``, never as approved.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keiko_desktop.core.tools.models import ApprovalAnswer
from tests.helpers.approver import Approver
from tests.helpers.cli import run_keiko
from tests.helpers.mcp_servers import hostile_entry, import_servers
from tests.helpers.mcp_servers.hostile import BAD_SCHEMAS
from tests.helpers.tool_system import real_tool_system


@pytest.fixture
def hostile(keiko_home: Path) -> Path:
    import_servers(keiko_home, evil=hostile_entry())
    return keiko_home


@pytest.mark.parametrize("tool", sorted(BAD_SCHEMAS))
def test_keiko_mcp_call_says_the_tool_is_unusable(hostile: Path, tool: str) -> None:
    done = run_keiko(hostile, "mcp", "call", f"evil.{tool}", "--args", "{}", "--yes", timeout=90)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"The tool evil.{tool} cannot be used: its input schema" in done.stderr
    assert "ran anyway" not in done.stdout


def test_keiko_mcp_tools_lists_them_as_unusable(hostile: Path) -> None:
    done = run_keiko(hostile, "mcp", "tools", "evil", timeout=90)
    assert done.returncode == 0, done.stderr
    for tool in BAD_SCHEMAS:
        assert f"evil.{tool}" in done.stdout
    assert done.stdout.count("[unusable]") == len(BAD_SCHEMAS)
    assert "'str' is not valid" in done.stdout
    assert "refers to itself without end" in done.stdout


async def test_a_call_is_never_audited_as_let_through(hostile: Path) -> None:
    approver = Approver(None, ApprovalAnswer.ALLOW_ONCE)
    async with real_tool_system(["evil"], approver) as system:
        offered = {t.name for t in system.service.tools()}
        assert "echo" in offered
        assert not offered & set(BAD_SCHEMAS)
        for tool in BAD_SCHEMAS:
            result = await system.service.call(f"evil.{tool}", {"text": "hi"})
            assert (result.is_error, result.decision) == (True, "unusable")
            assert "ran anyway" not in result.text
        assert approver.seen == []  # an unusable tool is not put to the user either
        decisions = {e.tool: e.decision for e in await system.service.audit_log()}
        assert decisions == dict.fromkeys(BAD_SCHEMAS, "unusable")
