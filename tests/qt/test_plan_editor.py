"""The plan editor: steps edited in the table (agent chooser, instruction, dependencies), added,
removed and moved by buttons and keys, checked as they change."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit

from keiko_desktop.core.agents.plan import Checkpoint, Plan, PlanStep, StepState
from keiko_desktop.ui.widgets.plan_editor import PlanEditor
from keiko_desktop.ui.widgets.plan_model import (
    AGENT_COLUMN,
    DEPENDS_COLUMN,
    ID_COLUMN,
    INSTRUCTION_COLUMN,
    STATUS_COLUMN,
    parse_depends,
)

AGENTS = ["Researcher", "Summarizer", "Writer"]
PLAN = Plan(
    "Write a summary email",
    (
        PlanStep("s1", "Researcher", "Find the release notes.", ()),
        PlanStep("s2", "Summarizer", "Condense them.", ("s1",)),
        PlanStep("s3", "Writer", "Write the email.", ("s2",)),
    ),
)


@pytest.fixture
def editor(qtbot: Any) -> PlanEditor:
    widget = PlanEditor()
    qtbot.addWidget(widget)
    widget.resize(760, 360)
    widget.set_agents(AGENTS)
    widget.set_plan(PLAN)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def cell(editor: PlanEditor, row: int, column: int) -> Any:
    return editor.model.index(row, column)


def edit_cell(editor: PlanEditor, row: int, column: int) -> Any:
    """Open the cell's editor the way F2 does, and return it."""
    editor.table.setFocus()
    editor.table.setCurrentIndex(cell(editor, row, column))
    QTest.keyClick(editor.table, Qt.Key.Key_F2)
    widget = QApplication.focusWidget()
    assert widget is not None
    assert widget is not editor.table
    return widget


def commit(widget: Any) -> None:
    """Enter in a cell's editor: the delegate commits on the next turn of the event loop."""
    QTest.keyClick(widget, Qt.Key.Key_Return)
    QApplication.processEvents()


def test_a_plan_shows_its_steps_and_comes_back_as_it_was(editor: PlanEditor) -> None:
    assert editor.model.rowCount() == 3
    assert cell(editor, 1, AGENT_COLUMN).data() == "Summarizer"
    assert cell(editor, 2, DEPENDS_COLUMN).data() == "s2"
    assert editor.plan() == PLAN
    assert editor.plan("Another goal").goal == "Another goal"
    assert editor.is_valid
    assert editor.message.text() == "3 steps, ready to run."
    assert editor.table.isColumnHidden(STATUS_COLUMN)


def test_the_agent_is_chosen_from_the_real_agents(editor: PlanEditor) -> None:
    box = edit_cell(editor, 0, AGENT_COLUMN)
    assert isinstance(box, QComboBox)
    assert [box.itemData(i) for i in range(box.count())] == AGENTS
    assert box.currentData() == "Researcher"
    box.setCurrentIndex(2)
    commit(box)
    assert editor.plan().steps[0].agent == "Writer"
    assert editor.is_valid


def test_instruction_and_dependencies_are_typed_in(editor: PlanEditor) -> None:
    line = edit_cell(editor, 0, INSTRUCTION_COLUMN)
    assert isinstance(line, QLineEdit)
    line.selectAll()
    QTest.keyClicks(line, "Look in ~/notes first.")
    commit(line)
    deps = edit_cell(editor, 2, DEPENDS_COLUMN)
    deps.selectAll()
    QTest.keyClicks(deps, " s1 , s2,, s1")
    commit(deps)
    steps = editor.plan().steps
    assert steps[0].instruction == "Look in ~/notes first."
    assert steps[2].depends_on == ("s1", "s2")
    assert parse_depends("a,, b ,a") == ("a", "b")


def test_problems_are_shown_inline_and_make_it_invalid(editor: PlanEditor) -> None:
    plans: list[Plan] = []
    editor.plan_changed.connect(plans.append)
    editor.model.setData(cell(editor, 1, AGENT_COLUMN), "Nobody")
    assert not editor.is_valid
    assert "Step s2: there is no agent named 'Nobody'" in editor.message.text()
    assert "Researcher, Summarizer, Writer" in editor.message.text()
    assert editor.message.objectName() == "ErrorText"
    assert plans[-1].steps[1].agent == "Nobody"
    editor.model.setData(cell(editor, 1, AGENT_COLUMN), "Writer")
    editor.model.setData(cell(editor, 0, DEPENDS_COLUMN), "s3")
    assert "depend on each other in a circle" in editor.message.text()
    editor.model.setData(cell(editor, 0, DEPENDS_COLUMN), "")
    editor.model.setData(cell(editor, 0, INSTRUCTION_COLUMN), "   ")
    assert editor.message.text().startswith("Step s1: the instruction is empty.")
    editor.set_plan(None)
    assert not editor.is_valid
    assert editor.message.objectName() == "PlaceholderText"


def test_renaming_a_step_renames_it_where_others_depend_on_it(editor: PlanEditor) -> None:
    editor.model.setData(cell(editor, 0, ID_COLUMN), "research")
    steps = editor.plan().steps
    assert steps[0].id == "research"
    assert steps[1].depends_on == ("research",)
    assert editor.is_valid


def test_buttons_add_remove_and_move_steps(editor: PlanEditor) -> None:
    editor.table.selectRow(0)
    editor.add_button.click()
    QApplication.focusWidget().clearFocus()  # leave the new instruction's editor empty
    steps = editor.plan().steps
    assert [s.id for s in steps] == ["s1", "s4", "s2", "s3"]
    assert steps[1].agent == "Researcher"
    assert steps[1].instruction == ""
    assert not editor.is_valid  # an empty instruction
    editor.table.selectRow(1)
    editor.remove_button.click()
    assert [s.id for s in editor.plan().steps] == ["s1", "s2", "s3"]
    editor.table.selectRow(2)
    editor.up_button.click()
    assert [s.id for s in editor.plan().steps] == ["s1", "s3", "s2"]
    assert editor.current_row == 1
    editor.down_button.click()
    assert [s.id for s in editor.plan().steps] == ["s1", "s2", "s3"]
    editor.table.selectRow(0)
    assert not editor.up_button.isEnabled()
    editor.table.selectRow(2)
    assert not editor.down_button.isEnabled()


def test_removing_a_step_drops_it_from_the_dependencies(editor: PlanEditor) -> None:
    editor.table.selectRow(1)
    editor.remove_button.click()
    steps = editor.plan().steps
    assert [s.id for s in steps] == ["s1", "s3"]
    assert steps[1].depends_on == ()
    assert editor.is_valid


def test_keys_add_remove_and_move_steps(editor: PlanEditor) -> None:
    editor.table.setFocus()
    editor.table.selectRow(2)
    QTest.keyClick(editor.table, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert [s.id for s in editor.plan().steps] == ["s1", "s3", "s2"]
    QTest.keyClick(editor.table, Qt.Key.Key_Down, Qt.KeyboardModifier.ControlModifier)
    assert [s.id for s in editor.plan().steps] == ["s1", "s2", "s3"]
    QTest.keyClick(editor.table, Qt.Key.Key_Delete)
    assert [s.id for s in editor.plan().steps] == ["s1", "s2"]
    QTest.keyClick(editor.table, Qt.Key.Key_Insert)
    line = QApplication.focusWidget()
    assert isinstance(line, QLineEdit)  # the new step's instruction, being edited
    QTest.keyClicks(line, "Check the spelling.")
    QTest.keyClick(line, Qt.Key.Key_Delete)  # edits the text, does not remove the step
    commit(line)
    steps = editor.plan().steps
    assert [s.id for s in steps] == ["s1", "s2", "s3"]
    assert steps[2].instruction == "Check the spelling."
    assert editor.is_valid


def test_step_states_show_in_a_status_column(editor: PlanEditor) -> None:
    editor.set_step_states(
        Checkpoint({"s1": StepState("done", "ok", 1), "s2": StepState("failed", error="boom")})
    )
    assert not editor.table.isColumnHidden(STATUS_COLUMN)
    assert cell(editor, 0, STATUS_COLUMN).data() == "Done"
    assert cell(editor, 1, STATUS_COLUMN).data(Qt.ItemDataRole.ToolTipRole) == "Failed: boom"
    assert cell(editor, 2, STATUS_COLUMN).data() == ""
    editor.set_read_only(True)
    assert not editor.add_button.isEnabled()
    assert not editor.model.setData(cell(editor, 0, INSTRUCTION_COLUMN), "changed")
    assert not (editor.model.flags(cell(editor, 0, 0)) & Qt.ItemFlag.ItemIsEditable)
    editor.set_step_states(None)
    assert editor.table.isColumnHidden(STATUS_COLUMN)


def test_controls_have_names_and_text_is_escaped(editor: PlanEditor) -> None:
    for widget in (editor.table, editor.add_button, editor.remove_button, editor.up_button):
        assert widget.accessibleName()
        assert widget.toolTip()
    editor.model.setData(cell(editor, 0, INSTRUCTION_COLUMN), "line\u202eevil\x1b[2J")
    shown = cell(editor, 0, INSTRUCTION_COLUMN).data()
    assert "\u202e" not in shown
    assert "\x1b" not in shown
    assert editor.plan().steps[0].instruction == "line\u202eevil\x1b[2J"  # kept as typed
