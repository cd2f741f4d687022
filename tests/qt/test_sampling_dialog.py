"""The sampling dialog, its presenter (through the real SamplingService) and the Sampling
column of Settings > Tools, offscreen."""

from __future__ import annotations

import asyncio

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QPlainTextEdit, QPushButton, QSpinBox
from pytestqt.qtbot import QtBot

from keiko_desktop.core.tools.models import ServerState
from keiko_desktop.core.tools.sampling import (
    SamplingAnswer,
    SamplingPolicy,
    SamplingRefusedError,
    SamplingRequest,
    SamplingResult,
    SamplingReview,
)
from keiko_desktop.core.tools.sampling_service import SamplingPolicies, SamplingService
from keiko_desktop.ui.dialogs.sampling_dialog import SamplingDialog
from keiko_desktop.ui.dialogs.sampling_policies import sampling_combo
from keiko_desktop.ui.dialogs.tools_dialog import ToolsDialog
from keiko_desktop.ui.presenters.sampling_presenter import SamplingPresenter
from tests.helpers.fake_model import FakeChatModel

from .conftest import wait_until

HOSTILE = "Summarise\x1b[2J this"


@pytest.fixture
def request_() -> SamplingRequest:
    return SamplingRequest.bounded(
        "research",
        [("user", HOSTILE), ("assistant", "Sure."), ("user", "Now shorter.")],
        5000,
        system_prompt="You are terse.",
        model_hints=["claude-3-opus"],
    )


def shown(qtbot: QtBot, request: SamplingRequest) -> tuple[SamplingDialog, list[SamplingReview]]:
    dialog = SamplingDialog(request)
    qtbot.addWidget(dialog)
    dialog.show()
    reviews: list[SamplingReview] = []
    dialog.answered.connect(reviews.append)
    return dialog, reviews


def test_the_request_is_shown_in_full_escaped_with_deny_the_default(
    qtbot: QtBot, request_: SamplingRequest
) -> None:
    dialog, _ = shown(qtbot, request_)
    assert dialog.title.text() == "Let research use Keiko's model?"
    assert "claude-3-opus; Keiko's own model answers" in dialog.subtitle.text()
    assert dialog.system_prompt is not None
    assert dialog.system_prompt.isReadOnly()
    assert dialog.system_prompt.toPlainText() == "You are terse."
    texts = [e.toPlainText() for e in dialog.message_edits]
    assert texts == ["Summarise\\x1b[2J this", "Sure.", "Now shorter."]  # escaped on screen
    assert dialog.max_tokens.value() == 1024  # capped from the 5000 asked for
    assert dialog.deny_button.isDefault()
    assert not dialog.allow_once_button.autoDefault()
    assert "denied in" in dialog.countdown.text()
    for kind in (QPlainTextEdit, QSpinBox, QPushButton):
        for widget in dialog.findChildren(kind):
            assert widget.accessibleName(), widget
    assert [e.accessibleName() for e in dialog.message_edits][:2] == [
        "Message 1, user",
        "Message 2, assistant",
    ]


def test_edits_reach_the_review_and_untouched_text_stays_the_servers(
    qtbot: QtBot, request_: SamplingRequest
) -> None:
    dialog, reviews = shown(qtbot, request_)
    last = dialog.message_edits[2]
    last.clear()
    qtbot.keyClicks(last, "In one line.")
    dialog.max_tokens.setValue(40)
    qtbot.mouseClick(dialog.allow_once_button, Qt.MouseButton.LeftButton)
    wait_until(lambda: not dialog.isVisible(), 2)
    [review] = reviews
    assert review.answer is SamplingAnswer.ALLOW_ONCE
    assert [m.text for m in review.request.messages] == [HOSTILE, "Sure.", "In one line."]
    assert review.request.max_tokens == 40


def test_keys_esc_denies_enter_never_allows_tab_moves_on(
    qtbot: QtBot, request_: SamplingRequest
) -> None:
    dialog, reviews = shown(qtbot, request_)
    edit = dialog.message_edits[0]
    edit.setFocus()
    qtbot.keyClick(edit, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(edit, Qt.Key.Key_Return)  # a new line in the text, not an answer
    assert reviews == []
    assert edit.toPlainText().endswith("\n")
    qtbot.keyClick(edit, Qt.Key.Key_Tab)
    assert "\t" not in edit.toPlainText()  # Tab left the box
    qtbot.keyClick(dialog.max_tokens, Qt.Key.Key_Return)  # Enter outside a text: Deny
    assert [r.answer for r in reviews] == [SamplingAnswer.DENY]

    dialog, reviews = shown(qtbot, request_)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert [r.answer for r in reviews] == [SamplingAnswer.DENY]
    dialog, reviews = shown(qtbot, request_)
    dialog.close()
    assert [r.answer for r in reviews] == [SamplingAnswer.DENY]


def test_an_edit_over_the_bounds_is_said_and_not_answered(
    qtbot: QtBot, request_: SamplingRequest
) -> None:
    dialog, reviews = shown(qtbot, request_)
    dialog.message_edits[0].setPlainText("x" * 100_001)
    qtbot.mouseClick(dialog.always_button, Qt.MouseButton.LeftButton)
    assert reviews == []
    assert dialog.isVisible()
    assert "characters; at most" in dialog.problem.text()
    qtbot.mouseClick(dialog.deny_button, Qt.MouseButton.LeftButton)
    assert [r.answer for r in reviews] == [SamplingAnswer.DENY]


def _service(presenter: SamplingPresenter, timeout: float) -> SamplingService:
    model = FakeChatModel()
    model.enqueue(["Short", "er."])

    async def get() -> FakeChatModel:
        return model

    policies = SamplingPolicies(None, lambda _name: "identity")
    return SamplingService(policies, get, timeout=timeout, approver=presenter)


def test_always_in_the_dialog_runs_and_sets_the_policy(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop, request_: SamplingRequest
) -> None:
    presenter = SamplingPresenter()
    opened: list[SamplingDialog] = []
    presenter.dialog_opened.connect(opened.append)
    service = _service(presenter, 30.0)
    task = loop.create_task(service.sample(request_))
    wait_until(lambda: len(opened) == 1, 5)
    qtbot.mouseClick(opened[0].always_button, Qt.MouseButton.LeftButton)
    wait_until(task.done, 5)
    assert task.result() == SamplingResult("Shorter.", "fake", "endTurn")
    assert service.policy_for("research") is SamplingPolicy.ALWAYS
    assert not presenter.open_dialogs


def test_no_answer_in_time_closes_the_dialog_and_refuses(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop, request_: SamplingRequest
) -> None:
    presenter = SamplingPresenter()
    opened: list[SamplingDialog] = []
    presenter.dialog_opened.connect(opened.append)
    task = loop.create_task(_service(presenter, 0.4).sample(request_))
    wait_until(lambda: len(opened) == 1, 5)
    wait_until(task.done, 5)
    with pytest.raises(SamplingRefusedError, match="did not answer"):
        task.result()
    assert not presenter.open_dialogs


def test_the_tools_page_shows_and_sets_each_servers_sampling(qtbot: QtBot) -> None:
    dialog = ToolsDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.set_servers(
        [
            ServerState("clock", "builtin", "ready", tool_count=4, target="built-in"),
            ServerState("research", "stdio", "ready", tool_count=2),
        ]
    )
    dialog.set_sampling({"research": SamplingPolicy.NEVER})
    assert sampling_combo(dialog.servers, "clock") is None  # built-ins never sample
    combo = sampling_combo(dialog.servers, "research")
    assert isinstance(combo, QComboBox)
    assert combo.currentText() == "Never"
    assert combo.accessibleName() == "Sampling policy of research"
    with qtbot.waitSignal(dialog.sampling_policy_changed, timeout=1000) as signal:
        combo.setFocus()
        qtbot.keyClick(combo, Qt.Key.Key_Up)  # by keyboard: Never -> Always
    assert signal.args == ["research", "always"]
