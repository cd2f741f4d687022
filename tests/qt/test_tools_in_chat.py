"""Tool use in the window: tool calls as ToolCards, approvals in a dialog, Settings > Tools."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from mcp.server.mcpserver import MCPServer
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.ports import MessageUpdate
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.mcp_tools.builtin import create_clock_server
from keiko_desktop.mcp_tools.config import BuiltinServerConfig
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from keiko_desktop.store import SqliteToolRepository
from keiko_desktop.ui.controller import AppController
from keiko_desktop.ui.dialogs.approval_dialog import ApprovalDialog
from keiko_desktop.ui.dialogs.tools_dialog import ToolsDialog
from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.theme import ThemeManager
from keiko_desktop.ui.widgets.message_view import display_order
from keiko_desktop.ui.window_state import WindowState
from tests.helpers.fake_model import FakeToolModel
from tests.qt.conftest import Harness, make_fake_core, wait_until


@dataclass
class Shredder:
    """An in-process server with one tool that asks first (not read-only)."""

    ran: list[str] = field(default_factory=list)

    def server(self, _config: BuiltinServerConfig) -> MCPServer:
        server: MCPServer = MCPServer("shredder", log_level="WARNING")

        @server.tool()
        def shred(path: str) -> str:
            """Shred a file (pretend)."""
            self.ran.append(path)
            return f"shredded {path}"

        return server


@pytest.fixture
def tool_model() -> FakeToolModel:
    return FakeToolModel(delay=0.005)


@pytest.fixture
def tools_harness(
    make_harness: Callable[..., Harness],
    paths: Paths,
    tool_model: FakeToolModel,
) -> Iterator[tuple[Harness, Shredder]]:
    shredder = Shredder()
    holder: dict[str, ServerPool] = {}

    async def core_with_tools() -> object:
        core = await make_fake_core(paths, tool_model, Settings(max_tokens=48, tools_in_chat=True))
        factory = ClientFactory(
            builtins={"shredder": shredder.server, "clock": lambda _c: create_clock_server()}
        )
        pool = ServerPool(core.bus, factory, PoolOptions(call_timeout=10))
        holder["pool"] = pool
        repo = SqliteToolRepository(core.database)
        service = ToolService(pool, core.bus, policies=repo, audit=repo, approval_timeout=20)
        await service.load()
        pool.add(BuiltinServerConfig("shredder"))
        pool.add(BuiltinServerConfig("clock"))
        assert await pool.wait_settled(time_limit=20)
        core.tools = service
        core.chat.set_tools(service)
        return core

    harness = make_harness(core_with_tools)
    yield harness, shredder
    harness.run(harness.core.chat.stop_all())
    harness.run(holder["pool"].aclose(), timeout=20)


def send(h: Harness, text: str) -> None:
    composer = h.panel.composer
    composer.set_text(text)
    QTest.keyClick(composer.editor, Qt.Key.Key_Return)


def test_a_reopened_conversation_shows_its_tool_calls_as_cards(harness: Harness) -> None:
    repo = harness.core.conversations

    async def make() -> int:
        conversation = await repo.create_conversation("Time")
        user = await repo.add_message(conversation.id, "user", "What time is it?")
        reply = await repo.add_message(
            conversation.id, "assistant", "", status="streaming", parent_id=user.id
        )
        call = {
            "tool": "clock.now",
            "arguments": {"timezone": "UTC"},
            "result": '{"datetime": "2026-11-22T15:00:00+00:00"}',
            "duration": 0.01,
            "is_error": False,
            "decision": "auto",
        }
        await repo.add_message(conversation.id, "tool", json.dumps(call), parent_id=user.id)
        await repo.update_message(
            reply.id, MessageUpdate(content="It is 15:00 UTC.", status="complete")
        )
        return conversation.id

    cid = harness.run(make())
    harness.controller.chat.open_conversation(cid)
    view = harness.panel.view
    harness.wait(lambda: len(view.message_ids()) == 3)
    roles = [w.message.role for w in (view.widget_for(m) for m in view.message_ids()) if w]
    assert roles == ["user", "tool", "assistant"]  # the call shows above the reply
    tool = view.widget_for(view.message_ids()[1])
    assert tool is not None
    card = tool.tool_card
    assert card is not None
    assert card.header_text.startswith("▸ clock.now")
    assert "ok" in card.header_text
    assert not card.expanded  # collapsed until clicked
    assert not tool.body.isVisibleTo(tool)
    card.set_expanded(True)
    assert card.expanded
    assert "2026-11-22T15:00" in card.result.toPlainText()
    assert '"timezone": "UTC"' in card.arguments.toPlainText()
    assert view.last_widget() is view.widget_for(view.message_ids()[2])


def test_display_order_puts_calls_before_their_reply() -> None:
    from datetime import datetime

    from keiko_desktop.core.ports import StoredMessage

    def m(mid: int, role: str, parent: int | None = None) -> StoredMessage:
        return StoredMessage(mid, 1, role, "", "complete", datetime.now(), parent_id=parent)  # type: ignore[arg-type]

    ordered = display_order([m(1, "user"), m(2, "assistant", 1), m(3, "tool", 1), m(4, "tool", 1)])
    assert [x.id for x in ordered] == [1, 3, 4, 2]


def test_an_ask_tool_opens_the_approval_dialog_and_allow_once_runs_it(
    tools_harness: tuple[Harness, Shredder], tool_model: FakeToolModel
) -> None:
    harness, shredder = tools_harness
    tool_model.tool_replies = [
        json.dumps({"tool": "shredder.shred", "arguments": {"path": "/tmp/old.txt"}}),
        json.dumps({"answer": "I shredded /tmp/old.txt."}),
    ]
    opened: list[ApprovalDialog] = []
    harness.controller.approvals.dialog_opened.connect(opened.append)
    send(harness, "Shred /tmp/old.txt please")
    harness.wait(lambda: bool(opened), timeout=15)
    dialog = opened[0]
    assert dialog.isVisible()
    assert dialog.request.qualified_name == "shredder.shred"
    assert "/tmp/old.txt" in dialog.arguments.toPlainText()
    assert shredder.ran == []  # nothing runs before the answer
    dialog.allow_once_button.click()

    view = harness.panel.view

    def finished() -> bool:
        last = view.last_widget()
        return (
            last is not None
            and last.message.role == "assistant"
            and last.message.status == "complete"
            and not harness.controller.chat.is_streaming()
        )

    harness.wait(finished, timeout=15)
    assert shredder.ran == ["/tmp/old.txt"]
    widgets = [view.widget_for(mid) for mid in view.message_ids()]
    assert [w.message.role for w in widgets if w] == ["user", "tool", "assistant"]
    card = widgets[1].tool_card if widgets[1] else None
    assert card is not None
    assert "shredder.shred" in card.header_text
    assert "ok" in card.header_text
    assert card.decision.text() == "Ran with your approval."
    assert widgets[2] is not None
    assert widgets[2].text == "I shredded /tmp/old.txt."
    cid = harness.controller.chat.conversation_id
    assert cid is not None
    stored = harness.run(harness.core.conversations.list_messages(cid))
    step = json.loads(next(m for m in stored if m.role == "tool").content)
    assert step["decision"] == "approved"
    assert step["result"] == "shredded /tmp/old.txt"


def test_settings_tools_button_opens_the_tools_page(
    tools_harness: tuple[Harness, Shredder],
) -> None:
    harness, _shredder = tools_harness
    presenter = harness.controller.settings
    presenter.open()
    harness.wait(lambda: presenter.dialog is not None and presenter.dialog.isVisible())
    assert presenter.dialog is not None
    presenter.dialog.tools_button.click()
    harness.wait(lambda: presenter.tools_dialog is not None and presenter.tools_dialog.isVisible())
    tools_dialog = presenter.tools_dialog
    assert isinstance(tools_dialog, ToolsDialog)
    harness.wait(lambda: tools_dialog.servers.rowCount() == 2)
    names = {tools_dialog.servers.item(r, 1).text() for r in range(2)}
    assert names == {"clock", "shredder"}
    tools_dialog.reject()
    presenter.dialog.reject()


def test_the_window_starts_the_tools_on_first_use_and_closes_them(
    qtbot: Any, run: Any, paths: Paths, themes: ThemeManager
) -> None:
    window = MainWindow(themes, WindowState(paths.config_dir))
    qtbot.addWidget(window)
    window.show()
    controller = AppController(window, themes, WindowState(paths.config_dir))
    try:
        core = run(controller.start(paths=paths, settings=Settings(), start_model=False))
        assert core.tools is None  # tool use in chat is off: no server runs yet
        opened: list[Any] = []
        controller.settings.tools_opened.connect(opened.append)
        assert controller.settings.open_tools() is None  # starts them, opens when they are up
        wait_until(lambda: bool(opened))
        tools = run(core.wait_tools(settle=20))
        assert tools is not None
        assert core.chat.tools is tools
        assert "clock.now" in {t.qualified_name for t in tools.tools()}
        dialog = opened[0]
        assert dialog.isVisible()
        wait_until(lambda: dialog.servers.rowCount() == 3)  # files, notes, clock
        dialog.reject()
    finally:
        run(controller.shutdown(), timeout=30)
        window.close()
    assert core.tools is None
