"""The run list: rows of runs, selection by click and keys, a debounced search box."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from keiko_desktop.core.agents.records import RunRecord
from keiko_desktop.ui.theme import DARK, LIGHT
from keiko_desktop.ui.widgets.run_list import SEARCH_DELAY_MS, RunList, run_facts, when_text

NOW = datetime(2025, 3, 12, 15, 0, 0)


def run(run_id: int, title: str, **kw: Any) -> RunRecord:
    created = kw.pop("created_at", NOW - timedelta(minutes=run_id))
    return RunRecord(
        id=run_id,
        kind=kw.pop("kind", "agent"),
        title=title,
        status=kw.pop("status", "completed"),
        created_at=created,
        updated_at=created,
        agent=kw.pop("agent", "Researcher"),
        **kw,
    )


RUNS = [
    run(3, "Summarise the release notes", status="running", agent="Writer"),
    run(2, "Compare llama.cpp and Ollama", kind="plan", agent=None, status="failed"),
    run(1, "Tag these 40 files", kind="batch", status="cancelled"),
]


@pytest.fixture
def runs(qtbot: Any) -> RunList:
    widget = RunList(LIGHT)
    qtbot.addWidget(widget)
    widget.resize(360, 420)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_rows_show_each_run_and_read_as_a_sentence(runs: RunList) -> None:
    runs.set_runs(RUNS)
    assert runs.run_ids() == [3, 2, 1]
    assert runs.search.accessibleName() == "Search runs"
    assert runs.view.isVisibleTo(runs)
    assert not runs.empty_label.isVisibleTo(runs)
    index = runs.model.index(1)
    assert index.data(Qt.ItemDataRole.DisplayRole) == "Compare llama.cpp and Ollama"
    spoken = index.data(Qt.ItemDataRole.AccessibleTextRole)
    assert spoken.startswith("Compare llama.cpp and Ollama — Failed · plan · ")
    assert "Writer" in runs.model.index(0).data(Qt.ItemDataRole.AccessibleTextRole)


def test_click_and_keys_select_a_run(runs: RunList, qtbot: Any) -> None:
    runs.set_runs(RUNS)
    rect = runs.view.visualRect(runs.model.index(1))
    with qtbot.waitSignal(runs.run_selected, timeout=1000) as blocker:
        QTest.mouseClick(runs.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [2]
    with qtbot.waitSignal(runs.run_selected, timeout=1000) as blocker:
        QTest.keyClick(runs.view, Qt.Key.Key_Down)
    assert blocker.args == [1]
    assert runs.selected_run_id == 1


def test_down_in_the_search_box_moves_into_the_list(runs: RunList, qtbot: Any) -> None:
    runs.set_runs(RUNS)
    runs.search.setFocus()
    with qtbot.waitSignal(runs.run_selected, timeout=1000) as blocker:
        QTest.keyClick(runs.search, Qt.Key.Key_Down)
    assert blocker.args == [3]
    assert runs.view.hasFocus()


def test_new_runs_keep_the_selection_without_a_signal(runs: RunList, qtbot: Any) -> None:
    runs.set_runs(RUNS)
    assert runs.select_run(2)
    newer = [run(4, "A newer run"), *RUNS]
    with qtbot.assertNotEmitted(runs.run_selected):
        runs.set_runs(newer)
    assert runs.selected_run_id == 2
    runs.set_runs([r for r in newer if r.id != 2])
    assert runs.selected_run_id is None
    assert not runs.select_run(99)


def test_search_is_debounced(runs: RunList, qtbot: Any) -> None:
    emitted: list[str] = []
    runs.search_changed.connect(emitted.append)
    started = time.monotonic()
    QTest.keyClicks(runs.search, "lla")
    QTest.keyClicks(runs.search, "ma ")
    assert emitted == []
    qtbot.waitUntil(lambda: bool(emitted), timeout=2000)
    assert time.monotonic() - started >= SEARCH_DELAY_MS / 1000 * 0.9
    assert emitted == ["llama"]  # once, for the whole word, stripped
    QTest.qWait(SEARCH_DELAY_MS + 100)
    assert emitted == ["llama"]


def test_empty_states_say_why(runs: RunList) -> None:
    runs.set_runs([])
    assert runs.empty_label.isVisibleTo(runs)
    assert not runs.view.isVisibleTo(runs)
    assert "No runs yet" in runs.empty_label.text()
    runs.search.setText("zebra")
    runs.set_runs([])
    assert runs.empty_label.text() == "No runs match “zebra”."


def test_untrusted_titles_are_escaped_and_it_paints_in_both_themes(runs: RunList) -> None:
    runs.set_runs([run(1, "evil\x1b]52;c;AAAA\x07 <b>bold</b>", agent="A\u202eB")])
    index = runs.model.index(0)
    assert index.data(Qt.ItemDataRole.DisplayRole) == "evil\\x1b]52;c;AAAA\\x07 <b>bold</b>"
    assert "A\\u202eB" in index.data(Qt.ItemDataRole.AccessibleTextRole)
    for theme in (LIGHT, DARK):
        runs.set_theme(theme)
        assert not runs.grab().isNull()


def test_when_and_facts() -> None:
    assert when_text(NOW - timedelta(seconds=20), NOW) == "just now"
    assert when_text(NOW - timedelta(minutes=5), NOW) == "5 min ago"
    assert when_text(NOW - timedelta(hours=3), NOW) == "12:00"
    assert when_text(NOW - timedelta(days=1), NOW) == "Yesterday 15:00"
    assert when_text(NOW - timedelta(days=30), NOW) == "10 Feb 15:00"
    assert when_text(datetime(2023, 1, 2), NOW) == "02 Jan 2023"
    assert run_facts(RUNS[0], NOW) == "Running · agent run · Writer · 3 min ago"
