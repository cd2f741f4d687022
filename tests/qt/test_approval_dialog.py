"""The approval dialog, its presenter, the tool card and the Tools page, offscreen."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.approvals import ApprovalBroker, ApprovalOutcome, ApprovalRequest
from keiko_desktop.core.tools.models import (
    ApprovalAnswer,
    AuditEntry,
    Policy,
    ServerState,
    ToolSpec,
)
from keiko_desktop.ui.dialogs.approval_dialog import ApprovalDialog
from keiko_desktop.ui.dialogs.tools_dialog import ToolsDialog
from keiko_desktop.ui.presenters.approval_presenter import ApprovalPresenter
from keiko_desktop.ui.widgets.tool_card import ToolCard

from .conftest import Runner, wait_until

ARGS = {"path": "/home/ann/report.txt", "api_key": "k-live-123456"}


@pytest.fixture
def request_() -> ApprovalRequest:
    return ApprovalRequest("files", "delete_file", dict(ARGS), 30.0)


def test_dialog_shows_the_call_with_every_argument(qtbot: QtBot, request_: ApprovalRequest) -> None:
    dialog = ApprovalDialog(request_)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.title.text() == "Allow delete_file from files?"
    shown = dialog.arguments.toPlainText()
    assert "api_key:\n      k-live-123456" in shown  # the person approving sees it all
    assert "/home/ann/report.txt" in shown
    assert not dialog.show_all_button.isVisible()  # nothing folded
    assert "denied in 30 s" in dialog.countdown.text()
    assert dialog.deny_button.isDefault()
    assert not dialog.allow_once_button.isDefault()


@pytest.mark.parametrize(
    ("button", "answer"),
    [
        ("allow_once_button", ApprovalAnswer.ALLOW_ONCE),
        ("always_button", ApprovalAnswer.ALWAYS_ALLOW),
        ("deny_button", ApprovalAnswer.DENY),
    ],
)
def test_each_button_answers_once_and_closes(
    qtbot: QtBot, request_: ApprovalRequest, button: str, answer: ApprovalAnswer
) -> None:
    dialog = ApprovalDialog(request_)
    qtbot.addWidget(dialog)
    dialog.show()
    answers: list[str] = []
    dialog.answered.connect(answers.append)
    qtbot.mouseClick(getattr(dialog, button), Qt.MouseButton.LeftButton)
    wait_until(lambda: not dialog.isVisible(), 2)
    assert answers == [answer.value]  # once, even though closing follows
    assert dialog.settled


def test_escape_and_closing_the_window_deny(qtbot: QtBot, request_: ApprovalRequest) -> None:
    for close in ("escape", "close"):
        dialog = ApprovalDialog(request_)
        qtbot.addWidget(dialog)
        dialog.show()
        answers: list[str] = []
        dialog.answered.connect(answers.append)
        if close == "escape":
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        else:
            dialog.close()
        assert answers == [ApprovalAnswer.DENY.value]


def test_dismiss_closes_without_an_answer(qtbot: QtBot, request_: ApprovalRequest) -> None:
    dialog = ApprovalDialog(request_)
    qtbot.addWidget(dialog)
    dialog.show()
    answers: list[str] = []
    dialog.answered.connect(answers.append)
    dialog.dismiss()
    wait_until(lambda: not dialog.isVisible(), 2)
    assert answers == []


def _ask_through_broker(
    loop: asyncio.AbstractEventLoop, timeout: float
) -> tuple[ApprovalPresenter, asyncio.Task[ApprovalOutcome], list[ApprovalDialog]]:
    """The presenter registered as the broker's approver, as the controller does on the Core."""
    presenter = ApprovalPresenter()
    opened: list[ApprovalDialog] = []
    presenter.dialog_opened.connect(opened.append)
    broker = ApprovalBroker(EventBus(loop), timeout, approver=presenter)
    task = loop.create_task(broker.ask("files", "delete_file", dict(ARGS), dict(ARGS)))
    return presenter, task, opened


def test_broker_request_answered_in_the_dialog(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop
) -> None:
    presenter, task, opened = _ask_through_broker(loop, 30.0)
    wait_until(lambda: len(opened) == 1, 5)
    dialog = opened[0]
    assert dialog.isVisible()
    assert dialog.request.qualified_name == "files.delete_file"
    qtbot.mouseClick(dialog.allow_once_button, Qt.MouseButton.LeftButton)
    wait_until(task.done, 5)
    assert task.result() == ApprovalOutcome("approved", ApprovalAnswer.ALLOW_ONCE)
    assert not presenter.open_dialogs


def test_unanswered_dialog_times_out_as_deny_and_closes(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop
) -> None:
    presenter, task, opened = _ask_through_broker(loop, 0.4)
    wait_until(lambda: len(opened) == 1, 5)
    dialog = opened[0]
    answers: list[str] = []
    dialog.answered.connect(answers.append)
    wait_until(task.done, 5)
    assert task.result().decision == "timed_out"
    assert not presenter.open_dialogs  # it closed itself (and was deleted)
    assert answers == []  # nobody answered


def test_abandoned_request_closes_its_dialog(qtbot: QtBot, loop: asyncio.AbstractEventLoop) -> None:
    presenter, task, opened = _ask_through_broker(loop, 30.0)
    wait_until(lambda: len(opened) == 1, 5)
    task.cancel()  # the reply that asked was stopped
    wait_until(task.done, 5)
    assert not presenter.open_dialogs


def test_tool_card_collapses_and_shows_the_result(qtbot: QtBot) -> None:
    card = ToolCard()
    qtbot.addWidget(card)
    card.show()
    card.set_call("clock.now", {"timezone": "UTC"})
    assert card.header_text == "▸ clock.now · running…"
    assert not card.expanded
    with qtbot.waitSignal(card.toggled, timeout=1000) as signal:
        qtbot.mouseClick(card.header, Qt.MouseButton.LeftButton)
    assert signal.args == [True]
    assert card.expanded
    card.set_result("boom", is_error=True, duration=0.4213, decision="approved")
    assert card.header_text == "▾ clock.now · 0.42 s · error"
    assert card.result_label.text() == "Error"
    assert card.result.toPlainText() == "boom"
    assert card.decision.text() == "Ran with your approval."
    assert '"timezone": "UTC"' in card.arguments.toPlainText()


def test_tools_dialog_shows_state_and_emits_intents(qtbot: QtBot) -> None:
    dialog = ToolsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_servers(
        [
            ServerState("clock", "builtin", "ready", tool_count=4, target="built-in"),
            ServerState("gh", "stdio", "error", "the server exited", tool_count=0),
        ]
    )
    assert dialog.servers.item(1, 3).text() == "error"
    assert dialog.servers.item(1, 5).text() == "the server exited"
    spec = ToolSpec("gh", "create_issue", "Open an issue.", {"type": "object"})
    dialog.set_tools([(spec, Policy.ASK)])
    assert '"type": "object"' in dialog.schema.toPlainText()
    combo = dialog.policy_combo("gh.create_issue")
    assert combo is not None
    assert combo.currentText() == "Ask"
    with qtbot.waitSignal(dialog.policy_changed, timeout=1000) as signal:
        combo.setCurrentIndex(combo.findData("never"))
    assert signal.args == ["gh.create_issue", "never"]
    with qtbot.waitSignal(dialog.server_enabled_changed, timeout=1000) as toggled:
        dialog.servers.item(0, 0).setCheckState(Qt.CheckState.Unchecked)
    assert toggled.args == ["clock", False]
    dialog.set_audit([AuditEntry("gh", "create_issue", '{"title": "x"}', "denied", True, None, 0)])
    assert dialog.audit.item(0, 2).text() == "denied"
    assert dialog.audit.item(0, 3).text() == "—"


def test_tools_presenter_applies_choices_to_the_service(
    qtbot: QtBot, run: Runner, loop: asyncio.AbstractEventLoop, tmp_path: Any
) -> None:
    from keiko_desktop.core.tools.service import ToolService
    from keiko_desktop.mcp_tools.config import BuiltinServerConfig
    from keiko_desktop.mcp_tools.pool import ServerPool
    from keiko_desktop.mcp_tools.setup import builtin_factories
    from keiko_desktop.mcp_tools.transport import ClientFactory
    from keiko_desktop.store import SqliteToolRepository, open_database
    from keiko_desktop.ui.presenters.tools_presenter import ToolsPresenter

    async def build() -> tuple[ToolService, Any]:
        database = await open_database(tmp_path / "tools.sqlite3")
        repo = SqliteToolRepository(database)
        bus = EventBus(loop)
        pool = ServerPool(bus, ClientFactory(builtins=builtin_factories(repo)))
        service = ToolService(pool, bus, policies=repo, audit=repo)
        await service.load()
        pool.add(BuiltinServerConfig("clock"))
        await pool.wait_settled(time_limit=20)
        await service.call("clock.now", {"timezone": "UTC"})
        return service, database

    service, database = run(build())
    dialog = ToolsDialog()
    qtbot.addWidget(dialog)
    presenter = ToolsPresenter(dialog, service)
    run(presenter.refresh())
    assert dialog.servers.item(0, 1).text() == "clock"
    assert dialog.servers.item(0, 3).text() == "ready"
    assert dialog.audit.item(0, 1).text() == "clock.now"
    combo = dialog.policy_combo("clock.now")
    assert combo is not None
    assert combo.currentText() == "Always"  # built-in and read-only
    combo.setCurrentIndex(combo.findData("never"))
    spec = service.registry.get("clock.now")
    wait_until(lambda: service.policy_for(spec) is Policy.NEVER, 5)
    dialog.servers.item(0, 0).setCheckState(Qt.CheckState.Unchecked)
    wait_until(lambda: dialog.servers.item(0, 3).text() == "stopped", 10)
    run(service.provider.aclose())  # type: ignore[attr-defined]
    run(database.aclose())


def test_tools_presenter_shows_a_failure_in_the_dialog(qtbot: QtBot, run: Runner) -> None:
    from keiko_desktop.core.errors import KeikoError
    from keiko_desktop.ui.presenters.tools_presenter import ToolsPresenter

    class Failing:
        async def set_server_enabled(self, server: str, enabled: bool) -> None:
            raise KeikoError(f"Server '{server}' cannot stop.", "Try again.")

    dialog = ToolsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    presenter = ToolsPresenter(dialog, Failing())  # type: ignore[arg-type]
    presenter._on_dialog_server_enabled_changed("gh", False)
    wait_until(lambda: dialog.error_label.isVisible(), 5)
    assert dialog.error_label.text() == "Server 'gh' cannot stop. Try again."
    run(presenter.tasks.wait_idle())


@pytest.mark.parametrize(
    ("key", "answer"),
    [
        (Qt.Key.Key_O, ApprovalAnswer.ALLOW_ONCE),
        (Qt.Key.Key_A, ApprovalAnswer.ALWAYS_ALLOW),
        (Qt.Key.Key_D, ApprovalAnswer.DENY),
    ],
)
def test_each_answer_has_a_key(
    qtbot: QtBot, request_: ApprovalRequest, key: Qt.Key, answer: ApprovalAnswer
) -> None:
    from PySide6.QtTest import QTest

    dialog = ApprovalDialog(request_)
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()
    with qtbot.waitSignal(dialog.answered, timeout=2000) as signal:  # buttons animate a click
        QTest.keyClick(dialog, key, Qt.KeyboardModifier.AltModifier)
    assert signal.args == [answer.value]
