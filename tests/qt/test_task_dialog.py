"""TaskDialog over the real kinds (``builtin_kinds``) and the real schedule checks: a form made
from each kind's parameters, mistakes shown on the field they are about (never a crash, the
dialog stays open), and what Create asks for: a task now or a schedule."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pytest
from PySide6.QtCore import QDateTime, Qt, QTime
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QTimeEdit,
    QWidget,
)

from keiko_desktop.core.config import Settings
from keiko_desktop.core.tasks.builtin import builtin_kinds
from keiko_desktop.core.tasks.errors import ScheduleError, TaskError, TaskParamError
from keiko_desktop.core.tasks.kinds import (
    Done,
    Param,
    TaskContext,
    TaskKind,
    TaskKinds,
    TaskServices,
)
from keiko_desktop.core.tasks.records import NewSchedule, NewTask, ScheduleSpec
from keiko_desktop.ui.dialogs.task_dialog import TaskDialog
from keiko_desktop.ui.dialogs.task_fields import PathField, mnemonic


async def _nothing(_ctx: TaskContext, _params: Mapping[str, Any]) -> Done:
    return Done()


EVERY_TYPE = TaskKind(
    "every_type",
    "Every type",
    "A kind with one parameter of each type.",
    _nothing,
    params=(
        Param("count", "int", "Count", minimum=1, maximum=50, default=3),
        Param("ratio", "float", "Ratio", minimum=0.0, maximum=1.0, default=0.5),
        Param("loud", "bool", "Loud", required=False, default=False),
        Param("colour", "choice", "Colour", choices=("red", "green"), default="green"),
        Param("when", "time", "At", default="07:45"),
    ),
)


@pytest.fixture
def kinds() -> TaskKinds:
    registry = builtin_kinds(TaskServices(settings=lambda: Settings()))
    registry.register(EVERY_TYPE)
    return registry


@pytest.fixture
def dialog(qtbot: Any, kinds: TaskKinds) -> TaskDialog:
    widget = TaskDialog(kinds)
    qtbot.addWidget(widget)
    widget.start("reminder")
    widget.show()
    qtbot.waitExposed(widget)
    return widget


class Asked:
    def __init__(self, dialog: TaskDialog) -> None:
        self.tasks: list[NewTask] = []
        self.schedules: list[NewSchedule] = []
        dialog.task_requested.connect(self.tasks.append)
        dialog.schedule_requested.connect(self.schedules.append)


def choose_kind(dialog: TaskDialog, name: str) -> None:
    dialog.kind.setCurrentIndex(dialog.kind.findData(name))


def test_the_kinds_and_a_form_from_their_parameters(dialog: TaskDialog, kinds: TaskKinds) -> None:
    labels = [dialog.kind.itemText(i) for i in range(dialog.kind.count())]
    assert labels == [k.label for k in kinds]
    assert list(dialog.editors) == ["text"]
    assert isinstance(dialog.editors["text"].widget, QPlainTextEdit)  # multiline
    assert "note" in dialog.description.text()
    choose_kind(dialog, "agent_folder")
    assert list(dialog.editors) == ["agent", "folder", "prompt", "pattern"]
    folder = dialog.editors["folder"].widget
    assert isinstance(folder, PathField)
    assert folder.folder
    assert dialog.editors["pattern"].get() == "*"  # its default
    assert dialog.editors["pattern"].label.text().endswith("(optional)")
    choose_kind(dialog, "tool")
    assert isinstance(dialog.editors["arguments"].widget, QPlainTextEdit)
    assert dialog.editors["arguments"].get() == "{}"
    choose_kind(dialog, "every_type")
    widgets = {k: e.widget for k, e in dialog.editors.items()}
    assert isinstance(widgets["count"], QSpinBox)
    assert (widgets["count"].minimum(), widgets["count"].maximum()) == (1, 50)
    assert isinstance(widgets["ratio"], QDoubleSpinBox)
    assert (widgets["ratio"].minimum(), widgets["ratio"].maximum()) == (0.0, 1.0)
    assert isinstance(widgets["loud"], QCheckBox)
    assert isinstance(widgets["colour"], QComboBox)
    assert isinstance(widgets["when"], QTimeEdit)
    assert dialog.params() == {
        "count": 3,
        "ratio": 0.5,
        "loud": False,
        "colour": "green",
        "when": "07:45",
    }


def test_a_reminder_now(dialog: TaskDialog) -> None:
    asked = Asked(dialog)
    QTest.keyClicks(dialog.editors["text"].focus_target, "Water the plants")
    QTest.keyClicks(dialog.name, "Plants")
    dialog.priority.setCurrentIndex(dialog.priority.findData("high"))
    assert dialog.create_button.text() == "&Create"
    dialog.create_button.click()
    assert asked.tasks == [
        NewTask("reminder", {"text": "Water the plants"}, name="Plants", priority="high")
    ]
    assert not asked.schedules


def test_enter_in_a_text_of_several_lines_is_a_new_line_ctrl_enter_creates(
    dialog: TaskDialog,
) -> None:
    asked = Asked(dialog)
    text = dialog.editors["text"].focus_target
    assert isinstance(text, QPlainTextEdit)
    QTest.keyClicks(text, "Line one")
    QTest.keyClick(text, Qt.Key.Key_Return)
    QTest.keyClicks(text, "line two")
    assert not asked.tasks
    QTest.keyClick(text, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert asked.tasks == [NewTask("reminder", {"text": "Line one\nline two"})]


def test_a_missing_parameter_shows_under_its_field(dialog: TaskDialog) -> None:
    asked = Asked(dialog)
    dialog.create_button.click()
    error = dialog.editors["text"].error
    assert error.isVisibleTo(dialog)
    assert error.text().startswith("Is required. ")  # under its field: not named again
    assert QApplication.focusWidget() is dialog.editors["text"].focus_target
    assert dialog.isVisible()
    assert not asked.tasks
    QTest.keyClicks(dialog.editors["text"].focus_target, "now it is there")
    dialog.create_button.click()
    assert not error.isVisibleTo(dialog)
    assert len(asked.tasks) == 1


def test_bad_json_and_a_relative_path_are_caught(dialog: TaskDialog) -> None:
    asked = Asked(dialog)
    choose_kind(dialog, "tool")
    dialog.editors["server"].put("clock")
    dialog.editors["tool"].put("now")
    dialog.editors["arguments"].put('{"zone": ')
    dialog.create_button.click()
    assert "not valid JSON" in dialog.editors["arguments"].error.text()
    choose_kind(dialog, "summarise")
    dialog.editors["path"].put("notes/today.txt")
    dialog.create_button.click()
    assert "absolute path" in dialog.editors["path"].error.text()
    assert not asked.tasks


def test_schedules_are_checked_as_they_are_typed(dialog: TaskDialog) -> None:
    asked = Asked(dialog)
    dialog.editors["text"].put("Stand up")
    when = dialog.when
    when.set_mode("daily")
    when.daily_time.setTime(QTime(7, 30))
    assert when.preview.text().startswith("daily at 07:30 · next run ")
    assert dialog.create_button.text() == "&Schedule"
    when.set_mode("weekly")
    for box in when.days:
        box.setChecked(False)
    assert when.error.isVisibleTo(dialog)
    assert "1 to 7 weekdays" in when.error.text()
    dialog.create_button.click()
    assert not asked.schedules  # refused, inline
    when.days[0].setChecked(True)
    when.days[2].setChecked(True)
    assert when.preview.text().startswith("weekly on Mon, Wed at 09:00")
    assert not when.error.isVisibleTo(dialog)
    when.set_mode("cron")
    QTest.keyClicks(when.cron, "61 * * * *")
    assert when.error.isVisibleTo(dialog)
    when.cron.setText("*/15 9-17 * * 1-5")
    assert when.preview.text().startswith("cron */15 9-17 * * 1-5")
    when.set_mode("every")
    when.every.setValue(90)
    assert when.preview.text().startswith("every 90 minutes")
    when.set_mode("once")
    when.at.setDateTime(QDateTime.currentDateTime().addDays(-1))
    assert "never" in when.error.text()
    when.set_mode("daily")
    dialog.create_button.click()
    assert asked.schedules == [
        NewSchedule(
            name="Reminder",
            kind="reminder",
            spec=ScheduleSpec("daily", time="07:30"),
            params={"text": "Stand up"},
        )
    ]


def test_errors_from_the_service_land_on_their_field(dialog: TaskDialog) -> None:
    dialog.show_error(TaskParamError("text", "is too long"))
    assert dialog.editors["text"].error.text() == "Is too long. Fix that parameter."
    dialog.show_error(TaskParamError("kind", "there is no task kind 'x'"))
    assert dialog.kind_error.isVisibleTo(dialog)
    assert QApplication.focusWidget() is dialog.kind
    dialog.show_error(ScheduleError("the time is wrong", "E.g. 09:00."))
    assert dialog.when.error.text() == "The time is wrong. E.g. 09:00."
    dialog.show_error(TaskError("The database is locked.", "Try again."))
    assert dialog.error.text() == "The database is locked. Try again."
    dialog.start("reminder")
    assert not dialog.error.isVisibleTo(dialog)
    assert not dialog.editors["text"].error.isVisibleTo(dialog)


def test_browse_fills_the_path(dialog: TaskDialog, tmp_path: Any) -> None:
    choose_kind(dialog, "agent_folder")
    field = dialog.editors["folder"].widget
    assert isinstance(field, PathField)
    field.browse.click()
    chooser = dialog.file_dialog
    assert chooser is not None
    assert chooser.isVisible()
    assert chooser.testOption(chooser.Option.DontUseNativeDialog)
    chooser.selectFile(str(tmp_path))
    chooser.accept()
    assert field.line.text() == str(tmp_path)


def visible_controls(root: QWidget) -> list[QWidget]:
    kinds = (QAbstractButton, QLineEdit, QPlainTextEdit, QComboBox, QAbstractSpinBox)
    return [
        w
        for w in root.findChildren(QWidget)
        if isinstance(w, kinds)
        and w.isVisibleTo(root)
        and w.focusPolicy() != Qt.FocusPolicy.NoFocus
        and not isinstance(w.parent(), QAbstractSpinBox)  # a spin box's own line
    ]


def test_every_control_has_a_name_and_a_key_of_its_own(dialog: TaskDialog) -> None:
    for kind in ("reminder", "agent_folder", "tool", "every_type"):
        choose_kind(dialog, kind)
        for mode in ("now", "weekly", "cron"):
            dialog.when.set_mode(mode)
            for widget in visible_controls(dialog):
                assert widget.accessibleName(), (kind, widget)
            texts = [
                w.text() for w in dialog.findChildren(QAbstractButton) if w.isVisibleTo(dialog)
            ]
            texts += [
                w.text() for w in dialog.findChildren(QLabel) if w.isVisibleTo(dialog) and w.buddy()
            ]
            keys = [m.group(1).lower() for t in texts if (m := re.search(r"&([^&])", t))]
            assert len(keys) == len(set(keys)), (kind, keys)


def test_tab_reaches_every_field(dialog: TaskDialog) -> None:
    choose_kind(dialog, "agent_folder")
    dialog.kind.setFocus()
    seen: set[QWidget] = set()
    for _ in range(30):
        focused = QApplication.focusWidget()
        assert focused is not None
        seen.add(focused)
        QTest.keyClick(focused, Qt.Key.Key_Tab)
    field = dialog.editors["folder"].widget
    assert isinstance(field, PathField)
    wanted = {
        dialog.kind,
        dialog.name,
        dialog.priority,
        dialog.when.mode,
        dialog.editors["agent"].focus_target,
        field.line,
        field.browse,
        dialog.editors["prompt"].focus_target,
        dialog.editors["pattern"].focus_target,
        dialog.create_button,
    }
    assert wanted <= seen, wanted - seen


def test_mnemonics_take_free_letters() -> None:
    taken = {"k", "n"}
    assert mnemonic("Name", taken) == "N&ame"
    assert mnemonic("Kind", taken) == "K&ind"  # k, n and a are taken by then
    assert mnemonic("a&b", {"a", "b"}) == "a&&b"


def test_agent_names_are_suggested(dialog: TaskDialog) -> None:
    dialog.set_suggestions("agent", ["Writer", "Researcher", "General assistant"])
    choose_kind(dialog, "agent_folder")
    line = dialog.editors["agent"].widget
    assert isinstance(line, QLineEdit)
    completer = line.completer()
    assert completer is not None
    completer.setCompletionPrefix("search")  # contains, any case
    assert completer.currentCompletion() == "Researcher"
    choose_kind(dialog, "reminder")
    choose_kind(dialog, "agent")  # a new form: suggested again
    line = dialog.editors["agent"].widget
    assert isinstance(line, QLineEdit)
    assert line.completer() is not None
