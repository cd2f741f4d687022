"""The live card of a running tool call in the window: the progress bar and the server's log
lines while a real SDK server (``progress_server.py``, a stdio subprocess, through the real tool
system) works, and Esc stopping the turn: the server sees the cancellation, the card says so,
the app goes on."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.tools.models import Policy
from keiko_desktop.mcp_tools.config import (
    BUILTIN_NAMES,
    BuiltinServerConfig,
    McpConfig,
    StdioServerConfig,
)
from keiko_desktop.mcp_tools.setup import ToolSystem, build_tool_system
from keiko_desktop.store import SqliteToolRepository
from keiko_desktop.ui.presenters import live_tool_calls
from keiko_desktop.ui.widgets.live_tool_card import LiveCallsStrip, LiveToolCard
from tests.helpers.fake_model import FakeToolModel
from tests.helpers.mcp_servers.progress_http import PROGRESS_SERVER
from tests.qt.conftest import Harness, make_fake_core


@pytest.fixture
def tool_model() -> FakeToolModel:
    return FakeToolModel(delay=0.005)


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "server-record.txt"


@pytest.fixture
def harness(
    make_harness: Callable[..., Harness], paths: Paths, tool_model: FakeToolModel, record: Path
) -> Iterator[Harness]:
    holder: dict[str, ToolSystem] = {}

    async def core_with_tools() -> object:
        core = await make_fake_core(paths, tool_model, Settings(max_tokens=48, tools_in_chat=True))
        repo = SqliteToolRepository(core.database)
        server = StdioServerConfig(
            "prog", sys.executable, (str(PROGRESS_SERVER),), env={"PROGRESS_LOG": str(record)}
        )
        system = await build_tool_system(
            paths,
            core.bus,
            policies=repo,
            audit=repo,
            config=McpConfig(
                servers={"prog": server},
                builtins={n: BuiltinServerConfig(n, disabled=True) for n in BUILTIN_NAMES},
            ),
        )
        holder["system"] = system
        assert await system.pool.wait_settled(time_limit=30)
        for tool in ("work", "wait_for_cancel", "was_cancelled"):
            await system.service.set_policy(f"prog.{tool}", Policy.ALWAYS)
        core.tools = system.service
        core.chat.set_tools(system.service)
        return core

    harness = make_harness(core_with_tools)
    yield harness
    harness.run(harness.core.chat.stop_all())
    harness.run(holder["system"].aclose(), timeout=20)


def send(h: Harness, text: str) -> None:
    composer = h.panel.composer
    composer.set_text(text)
    QTest.keyClick(composer.editor, Qt.Key.Key_Return)


def only_card(strip: LiveCallsStrip) -> LiveToolCard | None:
    cards = list(strip.cards.values())
    return cards[0] if len(cards) == 1 else None


def test_the_card_shows_progress_and_log_lines_while_the_tool_works(
    harness: Harness, tool_model: FakeToolModel
) -> None:
    tool_model.tool_replies = [
        json.dumps({"tool": "prog.work", "arguments": {"steps": 6, "delay": 0.4}}),
        json.dumps({"answer": "All six steps are done."}),
    ]
    strip: LiveCallsStrip = harness.panel.live_calls
    send(harness, "Do the work")
    harness.wait(lambda: only_card(strip) is not None, timeout=15)
    card = only_card(strip)
    assert card is not None
    assert strip.isVisible()
    assert "prog.work" in card.card.header_text
    assert "running" in card.card.header_text
    assert card.progress.accessibleName() == "Progress of prog.work"
    harness.wait(lambda: card.progress.maximum() > 0 and card.progress.value() > 0, timeout=10)
    assert "of 6" in card.progress.format()
    harness.wait(lambda: "did step 2" in card.log_text, timeout=10)
    assert card.log.textFormat() == Qt.TextFormat.PlainText
    assert card.message.textFormat() == Qt.TextFormat.PlainText
    assert card.log_text.startswith("[info] worker: did step")
    assert card.message_text.startswith("step ")
    harness.wait(lambda: not strip.cards, timeout=15)  # ended: the stored card takes over
    assert not strip.isVisible()
    view = harness.panel.view

    def answered() -> bool:
        last = view.last_widget()
        return last is not None and last.text == "All six steps are done."

    harness.wait(answered, timeout=15)

    def roles() -> list[str]:
        widgets = [view.widget_for(mid) for mid in view.message_ids()]
        return [w.message.role for w in widgets if w]

    harness.wait(lambda: roles() == ["user", "tool", "assistant"], timeout=10)


def test_esc_stops_the_turn_and_the_server_sees_the_cancellation(
    harness: Harness, tool_model: FakeToolModel, record: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_tool_calls, "KEEP_CANCELLED_MS", 1500)
    tool_model.tool_replies = [
        json.dumps({"tool": "prog.wait_for_cancel", "arguments": {}}),
    ]
    strip: LiveCallsStrip = harness.panel.live_calls
    send(harness, "Wait for me")
    harness.wait(lambda: only_card(strip) is not None, timeout=15)
    card = only_card(strip)
    assert card is not None
    harness.wait(lambda: card.message_text.startswith("waited"), timeout=10)
    assert card.progress.maximum() == 0  # no total: busy
    assert "waiting to be cancelled" in card.log_text
    QTest.keyClick(harness.panel.composer.editor, Qt.Key.Key_Escape)
    harness.wait(lambda: card.card.header_text.endswith("cancelled"), timeout=10)
    harness.wait(lambda: record.exists() and "cancelled" in record.read_text(), timeout=10)
    assert "notified " in record.read_text()  # told by notifications/cancelled
    harness.wait(lambda: not harness.controller.chat.is_streaming(), timeout=10)
    rows = harness.run(harness.core.tools.audit_log(server="prog"))
    assert rows[0].tool == "wait_for_cancel"
    assert rows[0].error is not None
    assert rows[0].error.startswith("cancelled")
    answer = harness.run(harness.core.tools.call("prog.was_cancelled", {}))
    assert answer.text == "yes"  # the server is still up, and knows
    harness.wait(lambda: not strip.cards, timeout=10)  # the cancelled card goes after a while
    assert not strip.isVisible()
