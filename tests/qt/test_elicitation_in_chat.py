"""Elicitation in the window: the controller registers its presenter as the Core's elicitor,
and a chat turn whose tool asks the user opens the form over the window; the answer reaches
the server and its result is stored with the turn. The elicit test server runs in-process
here (the X11 test runs it as a subprocess), the model is scripted."""

from __future__ import annotations

import json
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit

from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.tools.elicitation import ElicitationBroker
from keiko_desktop.core.tools.models import Policy
from keiko_desktop.core.tools.service import ToolService
from keiko_desktop.mcp_tools.config import BuiltinServerConfig
from keiko_desktop.mcp_tools.connection import PoolOptions
from keiko_desktop.mcp_tools.elicitation import elicitation_hooks
from keiko_desktop.mcp_tools.pool import ServerPool
from keiko_desktop.mcp_tools.transport import ClientFactory
from keiko_desktop.store import SqliteToolRepository
from keiko_desktop.ui.dialogs.elicitation_dialog import ElicitationDialog
from tests.helpers.fake_model import FakeToolModel
from tests.helpers.mcp_servers.elicit_server import build
from tests.qt.conftest import Harness, make_fake_core


def test_a_chat_turn_asks_in_a_form_and_the_answer_reaches_the_tool(
    make_harness: Callable[..., Harness], paths: Paths
) -> None:
    model = FakeToolModel(delay=0.005)
    model.tool_replies = [
        json.dumps({"tool": "elicit.quick", "arguments": {}}),
        json.dumps({"answer": "Thanks."}),
    ]
    broker = ElicitationBroker(30.0)
    pools: list[ServerPool] = []

    async def core_with_tools() -> object:
        core = await make_fake_core(paths, model, Settings(max_tokens=48, tools_in_chat=True))
        factory = ClientFactory(
            builtins={"elicit": lambda _c: build("https://a.example/", "quick")}
        )
        factory.hooks.add(elicitation_hooks(broker))
        pool = ServerPool(core.bus, factory, PoolOptions(call_timeout=20))
        pools.append(pool)
        repo = SqliteToolRepository(core.database)
        service = ToolService(pool, core.bus, policies=repo, audit=repo, approval_timeout=20)
        await service.load()
        pool.add(BuiltinServerConfig("elicit"))
        assert await pool.wait_settled(time_limit=20)
        await service.wait_reconciled()
        await service.set_policy("elicit.quick", Policy.ALWAYS)
        core.tools = service
        core.chat.set_tools(service)
        return core

    harness = make_harness(core_with_tools)
    try:
        presenter = harness.controller.elicitations
        assert harness.core.elicitor is presenter  # registered like the approver
        broker.set_elicitor(harness.core.elicitor)
        opened: list[ElicitationDialog] = []
        presenter.dialog_opened.connect(opened.append)
        composer = harness.panel.composer
        composer.set_text("Ask me something")
        QTest.keyClick(composer.editor, Qt.Key.Key_Return)
        harness.wait(lambda: bool(opened), timeout=15)
        dialog = opened[0]
        assert dialog.isVisible()
        assert "elicit" in dialog.windowTitle()
        note = dialog.editors[0].widget
        assert isinstance(note, QLineEdit)
        assert note.text() == "hello"  # the default, pre-filled
        note.setText("from the window")
        dialog.accept_button.click()

        def stored_result() -> str:
            cid = harness.controller.chat.conversation_id
            if cid is None:
                return ""
            rows = harness.run(harness.core.conversations.list_messages(cid))
            tool = [m for m in rows if m.role == "tool"]
            return str(json.loads(tool[0].content)["result"]) if tool else ""

        harness.wait(lambda: stored_result().startswith("accept"), timeout=15)
        assert json.loads(stored_result().removeprefix("accept ")) == {
            "count": 3,
            "note": "from the window",
        }
        harness.wait(lambda: not harness.controller.chat.is_streaming(), timeout=15)
    finally:
        harness.run(harness.core.chat.stop_all())
        for pool in pools:
            harness.run(pool.aclose(), timeout=20)
