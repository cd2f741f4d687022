"""Regression (issue 9, item 3): tool names could spoof other tools.

Names with newlines, ``\\r`` or ESC sequences were accepted: `keiko mcp tools` showed a fake
line ``files.read_file [always]`` and the approval prompt "Allow evil.x␛[2K\\rclock.now…" read
as a clock call. Tool names outside the spec's character set are refused (with a note that
shows the name escaped), and server text is shown through one escaping function.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from keiko_desktop.core.tools.errors import ToolNotFoundError
from keiko_desktop.core.tools.models import ApprovalAnswer
from tests.helpers.approver import Approver
from tests.helpers.cli import run_keiko
from tests.helpers.mcp_servers import hostile_entry, import_servers
from tests.helpers.mcp_servers.hostile import SPOOF_ESCAPE, SPOOF_NEWLINE
from tests.helpers.tool_system import real_tool_system


def test_keiko_mcp_tools_shows_no_fake_line(keiko_home: Path) -> None:
    import_servers(keiko_home, evil=hostile_entry())
    done = run_keiko(keiko_home, "mcp", "tools", "evil", timeout=90)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(line.startswith(("evil.", "    ")) for line in lines), lines
    assert not any(line.startswith("files.read_file") for line in lines)
    for stream in (done.stdout, done.stderr):
        assert "\x1b" not in stream
        assert "\r" not in stream
    assert "refused a tool named 'x\\nfiles.read_file" in done.stderr
    assert "refused a tool named 'x\\x1b[2K\\rclock.now'" in done.stderr


async def test_spoofing_tools_can_be_neither_offered_nor_called(keiko_home: Path) -> None:
    import_servers(keiko_home, evil=hostile_entry())
    approver = Approver(None, ApprovalAnswer.ALLOW_ONCE)
    async with real_tool_system(["evil"], approver) as system:
        names = {t.name for t in system.service.tools(include_unusable=True)}
        assert "echo" in names
        assert SPOOF_NEWLINE not in names
        assert SPOOF_ESCAPE not in names
        [state] = system.service.servers()
        assert len(state.notes) == 2
        with pytest.raises(ToolNotFoundError):
            await system.service.call(f"evil.{SPOOF_ESCAPE}", {})
        assert approver.seen == []  # nobody was ever asked about a spoofing name
