"""Ctrl+C in the terminal while `keiko mcp call` waits on a slow tool: the real `keiko`
process sends the real progress server (stdio, made with the SDK) ``notifications/cancelled``
before it closes it, the server records it, the audit row says ``cancelled``, and keiko exits
130."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.helpers.cli import db_rows, keiko_env
from tests.helpers.mcp_servers.progress_http import PROGRESS_SERVER


def _recorded(record: Path, what: str) -> bool:
    return record.exists() and what in record.read_text(encoding="utf-8")


def test_ctrl_c_cancels_the_call_on_the_server(keiko_home: Path, tmp_path: Path) -> None:
    record = tmp_path / "server-record.txt"
    entry = {
        "command": sys.executable,
        "args": [str(PROGRESS_SERVER)],
        "env": {"PROGRESS_LOG": str(record)},
    }
    config = {
        "mcpServers": {"prog": entry},
        "builtinServers": {n: {"disabled": True} for n in ("files", "notes", "clock")},
    }
    (keiko_home / "config").mkdir(parents=True)
    (keiko_home / "config" / "mcp.json").write_text(json.dumps(config), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "mcp", "call", "prog.wait_for_cancel", "--yes"],
        env=keiko_env(keiko_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while not _recorded(record, "wait started"):
            assert proc.poll() is None, proc.communicate()[0].decode(errors="replace")
            assert time.monotonic() < deadline, "the call never reached the server"
            time.sleep(0.1)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out.decode(errors="replace")
    assert _recorded(record, "notified "), record.read_text()  # the client said so
    assert _recorded(record, "cancelled")
    rows = db_rows(keiko_home, "SELECT tool, error FROM tool_audit ORDER BY id")
    assert rows[-1][0] == "wait_for_cancel"
    assert str(rows[-1][1]).startswith("cancelled")
