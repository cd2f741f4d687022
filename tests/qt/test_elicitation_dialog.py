"""The elicitation dialog and its presenter, offscreen: the form built from every field kind,
defaults pre-filled, inline problems, the keys, URL mode and refused schemas."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLineEdit,
    QListWidget,
    QSpinBox,
    QWidget,
)
from pytestqt.qtbot import QtBot

from keiko_desktop.core.tools.elicitation import (
    ElicitAnswer,
    ElicitationBroker,
    ElicitationOutcome,
    form_request,
    url_request,
)
from keiko_desktop.ui.dialogs.elicitation_dialog import ElicitationDialog
from keiko_desktop.ui.presenters.elicitation_presenter import ElicitationPresenter
from tests.unit.core.tools.test_elicitation_form import EVERY_KIND

from .conftest import wait_until


def _dialog(qtbot: QtBot, schema: dict[str, Any] = EVERY_KIND) -> ElicitationDialog:
    dialog = ElicitationDialog(form_request("travel\x1b[2J", "Where to?\u202e", schema, 30.0))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def _editor(dialog: ElicitationDialog, name: str) -> QWidget:
    return next(e.widget for e in dialog.editors if e.field.name == name)


def test_every_field_kind_gets_its_editor_with_defaults_and_names(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    assert "travel\\x1b[2J" in dialog.windowTitle()  # who asks, escaped
    assert dialog.title.textFormat() == Qt.TextFormat.PlainText
    assert dialog.message.text() == "Where to?\\u202e"
    kinds = {e.field.name: type(e.widget) for e in dialog.editors}
    assert kinds["name"] is QLineEdit
    assert kinds["guests"] is QSpinBox
    assert kinds["budget"] is QDoubleSpinBox
    assert kinds["vip"] is QCheckBox
    assert kinds["seat"] is QComboBox
    assert kinds["meal"] is QComboBox
    assert kinds["extras"] is QListWidget
    assert kinds["topics"] is QListWidget
    guests = _editor(dialog, "guests")
    assert isinstance(guests, QSpinBox)
    assert (guests.minimum(), guests.maximum(), guests.value()) == (1, 8, 2)
    name = _editor(dialog, "name")
    assert isinstance(name, QLineEdit)
    assert name.maxLength() == 5
    assert name.hasFocus() or dialog.focusWidget() is name
    cabin = _editor(dialog, "cabin")
    assert isinstance(cabin, QComboBox)
    assert [cabin.itemText(i) for i in range(cabin.count())] == ["Economy", "Business"]
    meal = _editor(dialog, "meal")
    assert isinstance(meal, QComboBox)
    assert meal.currentIndex() == -1  # required, no default: the user must choose
    assert all(e.widget.accessibleName() for e in dialog.editors)
    assert _editor(dialog, "name").accessibleName() == "Your name"
    assert dialog.values()["extras"] == ["wifi"]
    assert dialog.values()["email"] == "a@b.co"
    assert "budget" not in dialog.values()  # optional, no default: left unanswered
    for button in (dialog.accept_button, dialog.decline_button, dialog.cancel_button):
        assert "&" in button.text()
        assert button.accessibleName()


def test_accept_shows_problems_inline_then_sends_values_and_defaults(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot)
    answers: list[ElicitAnswer] = []
    dialog.answered.connect(answers.append)
    name = _editor(dialog, "name")
    assert isinstance(name, QLineEdit)
    qtbot.keyClicks(name, "A")
    qtbot.mouseClick(dialog.accept_button, Qt.MouseButton.LeftButton)
    assert answers == []  # not sent: problems shown under their fields
    assert dialog.isVisible()
    assert dialog.errors["name"].text() == "Your name needs at least 2 characters."
    assert dialog.errors["meal"].text() == "meal is required."
    assert dialog.errors["name"].isVisible()
    assert not dialog.errors["guests"].isVisible()
    qtbot.keyClicks(name, "nn")
    meal = _editor(dialog, "meal")
    assert isinstance(meal, QComboBox)
    meal.setFocus()
    qtbot.keyClick(meal, Qt.Key.Key_Down)  # keyboard: the first choice
    topics = _editor(dialog, "topics")
    assert isinstance(topics, QListWidget)
    topics.setFocus()
    topics.setCurrentRow(1)
    qtbot.keyClick(topics.viewport(), Qt.Key.Key_Space)  # checks "F" (food)
    qtbot.keyClick(name, Qt.Key.Key_Return)  # Enter accepts a valid form
    wait_until(lambda: bool(answers), 2)
    (answer,) = answers
    assert answer.action == "accept"
    assert answer.content is not None
    assert answer.content["name"] == "Ann"
    assert answer.content["meal"] == "veg"
    assert answer.content["topics"] == ["food"]
    assert answer.content["guests"] == 2  # untouched default, sent
    assert answer.content["vip"] is False
    assert not dialog.isVisible()


def test_keys_decline_cancel_and_close(qtbot: QtBot) -> None:
    for how, expected in (
        ("escape", ElicitAnswer.cancel()),
        ("alt+d", ElicitAnswer.decline()),
        ("alt+c", ElicitAnswer.cancel()),
        ("close", ElicitAnswer.cancel()),
    ):
        dialog = ElicitationDialog(form_request("srv", "m", EVERY_KIND, 30.0))
        qtbot.addWidget(dialog)
        with qtbot.waitActive(dialog):
            dialog.show()
            dialog.activateWindow()
        answers: list[ElicitAnswer] = []
        dialog.answered.connect(answers.append)
        if how == "escape":
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        elif how == "close":
            dialog.close()
        else:
            key = Qt.Key.Key_D if how == "alt+d" else Qt.Key.Key_C
            qtbot.keyClick(dialog, key, Qt.KeyboardModifier.AltModifier)
        wait_until(lambda answers=answers: bool(answers), 2)  # type: ignore[misc]
        assert answers == [expected], how


def test_field_labels_get_free_alt_letters(qtbot: QtBot) -> None:
    dialog = ElicitationDialog(form_request("srv", "m", EVERY_KIND, 30.0))
    qtbot.addWidget(dialog)
    with qtbot.waitActive(dialog):
        dialog.show()
        dialog.activateWindow()
    guests = _editor(dialog, "guests")
    vip = _editor(dialog, "vip")
    assert isinstance(vip, QCheckBox)
    assert "&" in vip.text()
    qtbot.keyClick(dialog, Qt.Key.Key_G, Qt.KeyboardModifier.AltModifier)  # "&guests"
    wait_until(guests.hasFocus, 2)


def test_a_refused_schema_offers_only_decline_and_cancel(qtbot: QtBot) -> None:
    dialog = _dialog(qtbot, {"type": "object", "properties": {"a": {"type": "object"}}})
    assert dialog.editors == []
    assert "cannot show this form" in dialog.problem.text()
    assert not dialog.accept_button.isVisible()
    assert dialog.decline_button.isVisible()


def test_url_mode_shows_the_host_and_the_link_and_enter_does_not_open_it(qtbot: QtBot) -> None:
    dialog = ElicitationDialog(url_request("auth", "Sign in", "https://login.example.com/a", 30))
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.link is not None
    assert dialog.link.text() == "https://login.example.com/a"
    assert dialog.link.isReadOnly()
    assert dialog.accept_button.text() == "Open in &browser"
    assert not dialog.accept_button.isDefault()
    assert dialog.decline_button.isDefault()  # Enter declines: it never opens the link
    answers: list[ElicitAnswer] = []
    dialog.answered.connect(answers.append)
    qtbot.keyClick(dialog, Qt.Key.Key_Return)
    wait_until(lambda: bool(answers), 2)
    assert answers == [ElicitAnswer.decline()]


async def _ask(broker: ElicitationBroker, request: Any) -> ElicitationOutcome:
    return await broker.ask(request)


def test_the_presenter_answers_for_the_broker_and_opens_an_accepted_link(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop
) -> None:
    opened_urls: list[str] = []

    def opener(url: QUrl) -> bool:
        opened_urls.append(url.toString())
        return True

    presenter = ElicitationPresenter(open_url=opener)
    dialogs: list[ElicitationDialog] = []
    presenter.dialog_opened.connect(dialogs.append)
    broker = ElicitationBroker(30.0, elicitor=presenter)
    task = loop.create_task(_ask(broker, broker.url("auth", "Sign in", "https://a.example/x")))
    wait_until(lambda: len(dialogs) == 1, 5)
    assert opened_urls == []  # never before the user chose to
    qtbot.mouseClick(dialogs[0].accept_button, Qt.MouseButton.LeftButton)
    wait_until(task.done, 5)
    assert task.result().answer == ElicitAnswer.accept()
    assert opened_urls == ["https://a.example/x"]
    assert not presenter.open_dialogs


def test_an_unanswered_dialog_is_cancelled_and_closed(
    qtbot: QtBot, loop: asyncio.AbstractEventLoop
) -> None:
    presenter = ElicitationPresenter()
    dialogs: list[ElicitationDialog] = []
    presenter.dialog_opened.connect(dialogs.append)
    broker = ElicitationBroker(0.4, elicitor=presenter)
    task = loop.create_task(_ask(broker, broker.form("srv", "m", EVERY_KIND)))
    wait_until(lambda: len(dialogs) == 1, 5)
    wait_until(task.done, 5)
    assert task.result().answer == ElicitAnswer.cancel()
    assert not presenter.open_dialogs


def test_a_required_number_without_default_starts_near_zero_within_its_range(
    qtbot: QtBot,
) -> None:
    schema = {
        "type": "object",
        "properties": {
            "n": {"type": "number"},
            "k": {"type": "integer", "minimum": 5, "maximum": 9},
        },
        "required": ["n", "k"],
    }
    dialog = _dialog(qtbot, schema)
    n, k = _editor(dialog, "n"), _editor(dialog, "k")
    assert isinstance(n, QDoubleSpinBox)
    assert isinstance(k, QSpinBox)
    assert (n.value(), k.value()) == (0.0, 5)
    assert not n.specialValueText()  # required: never "(not set)"
    assert dialog.values() == {"n": 0.0, "k": 5}
