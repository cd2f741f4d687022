"""A slow tool's progress on its live card in the real `keiko` window under Xvfb, and Stop by
keyboard reaching the server.

Tools in chat are on with the bundled model; the only server is the progress server
(``tests/helpers/mcp_servers/progress_server.py``, a real SDK server over stdio) offering just
``wait_for_cancel`` (set to Always, as a person would), which reports progress and a log line
and waits at least a minute. A person asks for it; the model calls it; the live card above the
message box shows the call, its busy progress bar, the server's latest message and its log
line (screenshot). Esc stops the turn: the server records the cancellation it was sent, the
card says ``cancelled``, the audit row says why, and the app and the server go on. Screenshots
go to ``screenshots/x11-tool-progress/``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.mcp_servers.progress_http import PROGRESS_SERVER
from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

ASK = "Call prog.wait_for_cancel now"


async def _allow_always() -> None:
    from keiko_desktop.core.tools.models import Policy
    from tests.helpers.tool_system import real_tool_system

    async with real_tool_system(["prog"]) as system:
        await system.service.set_policy("prog.wait_for_cancel", Policy.ALWAYS)


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "server-record.txt"


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path, record: Path) -> Iterator[Person]:
    (keiko_home / "config").mkdir(parents=True)
    (keiko_home / "config" / "settings.toml").write_text(
        "schema_version = 2\n[chat]\ntemperature = 0.0\nmax_tokens = 48\n"
        "[tools]\ntools_in_chat = true\ntool_max_steps = 1\n",
        encoding="utf-8",
    )
    entry = {
        "command": sys.executable,
        "args": [str(PROGRESS_SERVER)],
        "env": {
            "PROGRESS_LOG": str(record),
            "PROGRESS_ONLY": "wait_for_cancel",
            "PROGRESS_MIN_WAIT": "60",
        },
    }
    config = {
        "mcpServers": {"prog": entry},
        "builtinServers": {n: {"disabled": True} for n in ("files", "notes", "clock")},
    }
    (keiko_home / "config" / "mcp.json").write_text(json.dumps(config), encoding="utf-8")
    asyncio.run(_allow_always())
    record.unlink(missing_ok=True)
    shots = fresh_shots("x11-tool-progress")
    with launched(xserver, keiko_home, tmp_path / "keiko.log", shots) as p:
        yield p


def _recorded(record: Path, what: str) -> bool:
    return record.exists() and what in record.read_text(encoding="utf-8")


def test_the_person_sees_progress_and_stops_the_call_by_keyboard(
    person: Person, record: Path
) -> None:
    p = person
    window = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    left, top, width, height = p.x.geometry(window)
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    p.wait("the tool server", lambda: p.logged("MCP server prog: ready"), timeout=90)
    p.type(ASK)
    p.key("Return")
    p.wait("the call on the server", lambda: _recorded(record, "wait started"), timeout=120)
    time.sleep(2.0)  # a few progress reports (every 0.2 s, shown at most ten a second)
    p.shot("progress on the live card")
    assert not _recorded(record, "cancelled")

    p.key("Escape")  # the pointer is still over the window, so the key goes there
    p.wait("the cancellation on the server", lambda: _recorded(record, "cancelled"), timeout=20)
    assert _recorded(record, "notified "), "the client sent notifications/cancelled"
    time.sleep(0.5)
    p.shot("cancelled")
    rows = p.rows("SELECT tool, error FROM tool_audit ORDER BY id")
    assert rows, "no audit row"
    assert rows[-1][0] == "wait_for_cancel"
    assert str(rows[-1][1]).startswith("cancelled")
    reply = p.rows("SELECT status FROM messages WHERE role = 'assistant' ORDER BY id DESC LIMIT 1")
    assert reply[0][0] == "interrupted"
    assert p.proc.poll() is None, p.output()
    assert not p.logged("MCP server prog: error"), "the server must stay up"
