"""The agent editor: every field filled and read back, editors bounded like the profile, the
allowed tools as a tree (or a text list), and an error that brings its field into view."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDoubleSpinBox, QLabel, QSpinBox

from keiko_desktop.core.agents.errors import AgentProfileError
from keiko_desktop.core.agents.profiles import AgentProfile, profile_from_dict
from keiko_desktop.ui.dialogs.agent_dialog import AgentDialog
from keiko_desktop.ui.dialogs.agent_fields import FIELD_TAB, field_of
from keiko_desktop.ui.dialogs.agent_tools import NOT_OFFERED, ToolChoice

FULL = AgentProfile(
    name="Travel planner",
    description="Plans trips.",
    system_prompt="You plan trips.\nBe brief.",
    icon="pin",
    model="qwen2.5-1.5b",
    tools=("files.read_file", "clock"),
    temperature=1.3,
    max_tokens=900,
    max_steps=7,
    step_timeout=45.0,
    retries=3,
    retry_backoff=2.5,
    tags=("travel", "maps"),
    id=12,
)
CHOICES = [
    ToolChoice("files", (("read_file", "Read a file"), ("write_file", "Write a file")), "ready"),
    ToolChoice("clock", (("now", "The time now"),), "ready"),
    ToolChoice("notes", (("add_note", "Add a note"), ("search_notes", "Search")), "ready"),
]
MODELS = [("smollm2 (bundled)", "smollm2-135m-instruct"), ("qwen2.5-1.5b", "qwen2.5-1.5b")]


@pytest.fixture
def dialog(qtbot: Any) -> AgentDialog:
    widget = AgentDialog()
    qtbot.addWidget(widget)
    widget.set_models(MODELS)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def save(dialog: AgentDialog) -> list[AgentProfile]:
    saved: list[AgentProfile] = []
    dialog.save_requested.connect(saved.append)
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    return saved


def test_every_field_is_shown_and_read_back(dialog: AgentDialog) -> None:
    dialog.set_tool_choices(CHOICES)
    dialog.set_profile(FULL)
    assert dialog.windowTitle() == "Edit Travel planner"
    assert dialog.name.text() == "Travel planner"
    assert dialog.icon.currentData() == "pin"
    assert dialog.model.currentText() == "qwen2.5-1.5b"
    assert dialog.tags.text() == "travel, maps"
    assert dialog.system_prompt.toPlainText() == "You plan trips.\nBe brief."
    assert dialog.tool_tree.entries() == ["files.read_file", "clock"]
    assert (dialog.temperature.value(), dialog.max_tokens.value()) == (1.3, 900)
    assert (dialog.step_timeout.value(), dialog.retries.value()) == (45.0, 3)
    [saved] = save(dialog)
    assert saved == FULL
    assert saved.id == 12  # an edit keeps its id (compare=False in the dataclass)


def test_a_new_agent_starts_from_the_defaults_and_needs_a_name(dialog: AgentDialog) -> None:
    dialog.set_profile(AgentProfile(name=""))
    assert dialog.windowTitle() == "New agent"
    assert dialog.model.currentData() == ""  # the chat's model
    assert save(dialog) == []
    assert dialog.error.isVisibleTo(dialog)
    assert "Agent field 'name'" in dialog.error.text()
    assert QApplication.focusWidget() is dialog.name
    QTest.keyClicks(dialog.name, "Helper")
    [saved] = save(dialog)
    assert saved.name == "Helper"
    assert saved.id is None
    assert saved == AgentProfile(name="Helper")


def test_editors_are_bounded_like_the_profile(dialog: AgentDialog) -> None:
    boxes: dict[str, QSpinBox | QDoubleSpinBox] = {
        "temperature": dialog.temperature,
        "max_tokens": dialog.max_tokens,
        "max_steps": dialog.max_steps,
        "step_timeout": dialog.step_timeout,
        "retries": dialog.retries,
        "retry_backoff": dialog.retry_backoff,
    }
    for key, box in boxes.items():
        for value in (box.minimum(), box.maximum()):
            profile_from_dict({"name": "x", key: value})  # the editor's ends are valid
        with pytest.raises(AgentProfileError, match=key):
            profile_from_dict({"name": "x", key: box.maximum() + 1})
        box.setValue(box.maximum() + 1000)
        assert box.value() == box.maximum()
    assert dialog.name.maxLength() == 64
    assert dialog.description.maxLength() == 500


def test_the_tool_tree_allows_whole_servers_or_single_tools(dialog: AgentDialog) -> None:
    dialog.set_tool_choices(CHOICES)
    dialog.set_profile(AgentProfile(name="T", tools=("notes.add_note", "weather")))
    tree = dialog.tool_tree
    files, clock, _notes, weather = tree.servers()
    assert weather.text(0) == "weather"
    assert weather.text(1) == NOT_OFFERED
    assert tree.entries() == ["notes.add_note", "weather"]
    files.setCheckState(0, Qt.CheckState.Checked)
    assert tree.entries() == ["files", "notes.add_note", "weather"]
    child = files.child(0)
    assert child is not None
    assert child.checkState(0) == Qt.CheckState.Checked
    assert not (child.flags() & Qt.ItemFlag.ItemIsEnabled)  # implied by the whole server
    files.setCheckState(0, Qt.CheckState.Unchecked)
    assert child.checkState(0) == Qt.CheckState.Unchecked  # its own choice again
    assert child.flags() & Qt.ItemFlag.ItemIsEnabled
    only = clock.child(0)
    assert only is not None
    only.setCheckState(0, Qt.CheckState.Checked)  # its only tool: still that tool, not all
    assert tree.entries() == ["clock.now", "notes.add_note", "weather"]
    [saved] = save(dialog)
    assert saved.tools == ("clock.now", "notes.add_note", "weather")


def test_space_checks_a_tool_from_the_keyboard(dialog: AgentDialog) -> None:
    dialog.set_tool_choices(CHOICES)
    dialog.set_profile(AgentProfile(name="T"))
    dialog.tabs.setCurrentIndex(1)
    tree = dialog.tool_tree
    tree.setFocus()
    tree.setCurrentItem(tree.servers()[2])
    QTest.keyClick(tree.viewport(), Qt.Key.Key_Space)
    assert tree.entries() == ["notes"]


def test_without_running_tools_the_allowlist_is_a_text_list(dialog: AgentDialog) -> None:
    dialog.set_tool_choices(None)
    dialog.set_profile(AgentProfile(name="T", tools=("files", "notes.add_note")))
    assert dialog.tool_stack.currentWidget() is dialog.tool_text
    assert dialog.tool_text.toPlainText() == "files\nnotes.add_note"
    dialog.tool_text.setPlainText("files\n\n  clock  \nbad name!")
    [] = save(dialog)
    assert "tools[2]" in dialog.error.text()
    assert dialog.tabs.currentIndex() == FIELD_TAB["tools"]
    assert dialog.tool_text.textCursor().selectedText() == "bad name!"
    dialog.tool_text.setPlainText("files\nclock")
    [saved] = save(dialog)
    assert saved.tools == ("files", "clock")


def test_a_store_error_focuses_the_field_it_names(dialog: AgentDialog) -> None:
    dialog.set_profile(FULL)
    dialog.show_error(AgentProfileError("agents[0].temperature", "must be between 0 and 2."))
    assert dialog.tabs.currentIndex() == FIELD_TAB["temperature"]
    assert QApplication.focusWidget() is dialog.temperature
    assert "agents[0].temperature" in dialog.error.text()
    assert "must be between 0 and 2." in dialog.error.text()
    dialog.show_error(AgentProfileError("name", "an agent named 'Writer' exists."))
    assert dialog.tabs.currentIndex() == 0
    assert QApplication.focusWidget() is dialog.name
    assert field_of("agents[3].tags[1]") == ("tags", 1)
    assert field_of("file") == ("file", None)


def test_every_field_has_a_label_with_a_key_and_a_name(dialog: AgentDialog) -> None:
    labels = dialog.findChildren(QLabel)
    buddies = {label.buddy(): label.text() for label in labels if label.buddy() is not None}
    keys = []
    for key, f in dialog.fields.items():
        widget = dialog.tool_tree if key == "tools" else f.widget
        assert widget in buddies, key
        assert "&" in buddies[widget], key
        assert widget.accessibleName(), key
        assert widget.toolTip(), key
        keys.append((FIELD_TAB[key], buddies[widget].split("&")[1][0].lower()))
    assert len(keys) == len(set(keys)), "two fields of one tab share a key"
    dialog.set_profile(FULL)
    dialog.tabs.setCurrentIndex(2)
    QTest.keyClick(dialog, Qt.Key.Key_R, Qt.KeyboardModifier.AltModifier)
    assert QApplication.focusWidget() is dialog.retries
