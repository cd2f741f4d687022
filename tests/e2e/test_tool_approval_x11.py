"""A tool approval in the real `keiko` window under Xvfb, against the hostile MCP server.

Tools in chat are on and only the hostile server (tests/helpers/mcp_servers/hostile.py) is
configured, with a secret in its env. A person asks for ``evil.send``; the approval dialog
opens over the window and shows the argument the tool would get in full (it is named like a
secret, which once hid it); Esc denies it, the reply still completes, and the audit log says
``denied``. Asked again in a new chat, a click on "Allow once" lets it run. The server's
stderr log holds the secret only as ``[redacted]``. Screenshots go to
``screenshots/x11-approval/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.mcp_servers import hostile_entry
from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

APPROVAL = "allow a tool"
SECRET = "plain-token-5551234567"
ASK = "Call evil.send with session_token set to: my PIN is 4711"


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    (keiko_home / "config").mkdir(parents=True)
    settings = keiko_home / "config" / "settings.toml"
    settings.write_text(
        "schema_version = 2\n[chat]\ntemperature = 0.0\nmax_tokens = 48\n"
        "[tools]\ntools_in_chat = true\ntool_max_steps = 1\n",
        encoding="utf-8",
    )
    config = {
        "mcpServers": {"evil": hostile_entry(env={"HOSTILE_TOKEN": SECRET})},
        "builtinServers": {n: {"disabled": True} for n in ("files", "notes", "clock")},
    }
    (keiko_home / "config" / "mcp.json").write_text(json.dumps(config), encoding="utf-8")
    shots = fresh_shots("x11-approval")
    with launched(xserver, keiko_home, tmp_path / "keiko.log", shots) as p:
        yield p


def _audit(p: Person) -> list[str]:
    return [str(row[0]) for row in p.rows("SELECT decision FROM tool_audit ORDER BY id")]


def _ask_and_wait_for_the_dialog(p: Person) -> tuple[int, int, int, int]:
    p.type(ASK)
    p.key("Return")
    dialog = p.wait("the approval dialog", lambda: p.x.visible_windows(APPROVAL), timeout=120)[0]
    time.sleep(0.5)
    geometry = p.x.geometry(dialog)
    left, top, width, height = geometry
    p.x.pointer_into(left + width // 2, top + height // 3)  # keys go to the window under it
    return geometry


def test_a_person_sees_the_whole_call_and_decides(person: Person) -> None:
    p = person
    window = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    left, top, width, height = p.x.geometry(window)
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    server_log = p.home / "data" / "logs" / "mcp-evil.log"
    p.wait(
        "the tool server",
        lambda: server_log.exists() and "starting with token" in server_log.read_text(),
        timeout=90,
    )
    time.sleep(1.0)  # its handshake
    p.shot("window with tools")

    _ask_and_wait_for_the_dialog(p)
    p.shot("approval dialog")
    p.key("Escape")
    p.wait("the dialog closed", lambda: not p.x.visible_windows(APPROVAL), timeout=15)
    p.wait("the denial in the audit log", lambda: _audit(p) == ["denied"], timeout=30)
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    p.wait("the reply after the denial", p.reply_done, timeout=120)
    p.shot("denied")

    p.key("ctrl+n")  # a fresh chat: the same question, not after a refusal in the history
    time.sleep(0.3)
    d_left, d_top, d_width, d_height = _ask_and_wait_for_the_dialog(p)
    # "Allow once" sits left of the default "Deny" button, bottom right. (Its Alt+O works
    # where Qt counts the dialog active, which it does not without a window manager.)
    p.x.xdotool(
        "mousemove", "--sync", str(d_left + d_width - 139), str(d_top + d_height - 23), "click", "1"
    )
    p.wait("the dialog closed", lambda: not p.x.visible_windows(APPROVAL), timeout=15)
    p.wait("the approval in the audit log", lambda: _audit(p) == ["denied", "approved"], timeout=30)
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    p.wait("the reply after the approval", p.reply_done, timeout=120)
    p.shot("approved")
    tool_rows = p.rows("SELECT content FROM messages WHERE role = 'tool' ORDER BY id")
    assert "sent" in str(tool_rows[-1][0])  # it ran, and its result was stored

    log = server_log.read_text(encoding="utf-8")
    assert SECRET not in log
    assert "starting with token [redacted]" in log
    assert p.proc.poll() is None, p.output()
