"""TaskDetail: the selected task — what it is, how it went, and the agent trace if it has one.

A title and a line of facts (status, kind, priority, attempts, when), the live progress text,
and tabs: Result, Error, Attempts (each attempt's start, outcome, time and error), Subtasks (a
count per status and the list; Enter or a double click selects one), Trace (the agent run's
timeline, ``RunTimeline``, with the selected span's details) and Parameters. Results, errors
and span details come from models, tools and files: plain text, escaped.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.agents.records import Span
from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.core.tasks.records import TASK_STATUSES, TaskAttempt, TaskRecord
from keiko_desktop.ui.theme import LIGHT, Theme
from keiko_desktop.ui.widgets.heading import heading_label
from keiko_desktop.ui.widgets.run_timeline import RunTimeline
from keiko_desktop.ui.widgets.span_detail import SpanDetail
from keiko_desktop.ui.widgets.task_text import (
    STATUS_WORDS,
    duration_text,
    started_text,
    status_text,
)

MAX_SHOWN_CHARS = 100_000
CHILDREN_LISTED = 1000
RESULT_TAB, ERROR_TAB, ATTEMPTS_TAB, CHILDREN_TAB, TRACE_TAB, PARAMS_TAB = range(6)
OUTCOME_WORDS = {
    "running": "Running",
    "completed": "Completed",
    "failed": "Failed",
    "timed_out": "Timed out",
    "cancelled": "Cancelled",
    "interrupted": "Interrupted (Keiko stopped)",
}


def task_facts(task: TaskRecord, kind_label: str = "") -> str:
    """The line under the title: status, kind, priority, attempts, created."""
    parts = [status_text(task), kind_label or one_line(task.kind, 40)]
    parts.append(f"{task.priority} priority")
    if task.max_attempts > 1 or task.attempts > 1:
        parts.append(f"attempt {task.attempts} of {task.max_attempts}")
    parts.append(f"created {started_text(task.created_at)}")
    if task.finished_at is not None and task.started_at is not None:
        took = (task.finished_at - task.started_at).total_seconds()
        parts.append(f"took {duration_text(took)}")
    return " · ".join(parts)


def children_summary(children: Sequence[TaskRecord]) -> str:
    """``12 subtasks: 8 completed, 1 failed, 3 pending``."""
    if not children:
        return "No subtasks."
    counts = Counter(c.status for c in children)
    parts = [f"{counts[s]} {s}" for s in TASK_STATUSES if counts[s]]
    n = len(children)
    return f"{n} subtask{'s' if n != 1 else ''}: {', '.join(parts)}"


def _text_box(parent: QWidget, name: str, fixed: bool = False) -> QPlainTextEdit:
    box = QPlainTextEdit(parent)
    box.setReadOnly(True)
    box.setAccessibleName(name)
    box.setTabChangesFocus(True)
    if fixed:
        box.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
    return box


def _capped(text: str) -> str:
    if len(text) <= MAX_SHOWN_CHARS:
        return printable(text)
    rest = len(text) - MAX_SHOWN_CHARS
    return printable(text[:MAX_SHOWN_CHARS]) + f"\n[{rest:,} more characters not shown]"


class TaskDetail(QWidget):
    """One task's details. Passive: the presenter sets the task, attempts, children, spans.

    Signals:
        child_selected(int): the user opened this subtask (Enter or a double click).
    """

    child_selected = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TaskDetail")
        self._task: TaskRecord | None = None
        self._run_id: int | None = None
        page = QWidget(self)
        self.title = heading_label(page, 1.15)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = QLabel(page)
        self.facts.setObjectName("PlaceholderText")
        self.facts.setTextFormat(Qt.TextFormat.PlainText)
        self.facts.setWordWrap(True)
        self.progress = QLabel(page)
        self.progress.setTextFormat(Qt.TextFormat.PlainText)
        self.progress.setWordWrap(True)
        self.progress.hide()

        self.result = _text_box(page, "Task result")
        self.error = _text_box(page, "Task error")
        self.error.setObjectName("TaskError")
        self.attempts = QTreeWidget(page)
        self.attempts.setAccessibleName("Attempts")
        self.attempts.setRootIsDecorated(False)
        self.attempts.setHeaderLabels(["#", "Started", "Outcome", "Took", "Error"])
        self.attempts.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        children_page = QWidget(page)
        self.children_summary = QLabel(children_page)
        self.children_summary.setTextFormat(Qt.TextFormat.PlainText)
        self.children_list = QTreeWidget(children_page)
        self.children_list.setAccessibleName("Subtasks")
        self.children_list.setRootIsDecorated(False)
        self.children_list.setHeaderLabels(["Name", "Status", "Progress"])
        self.children_list.setToolTip("Enter or a double click selects the subtask")
        children_layout = QVBoxLayout(children_page)
        children_layout.setContentsMargins(0, 6, 0, 0)
        children_layout.addWidget(self.children_summary)
        children_layout.addWidget(self.children_list, 1)
        trace_page = QSplitter(Qt.Orientation.Horizontal, page)
        trace_page.setChildrenCollapsible(False)
        self.timeline = RunTimeline(theme, trace_page)
        self.timeline.setAccessibleName("Task trace")
        self.timeline.setMinimumHeight(100)
        self.span_detail = SpanDetail()
        span_scroll = QScrollArea(trace_page)  # its form never makes the page taller
        span_scroll.setWidgetResizable(True)
        span_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        span_scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        span_scroll.setWidget(self.span_detail)
        trace_page.addWidget(self.timeline)
        trace_page.addWidget(span_scroll)
        trace_page.setStretchFactor(0, 3)
        trace_page.setStretchFactor(1, 2)
        self.params = _text_box(page, "Task parameters", fixed=True)

        self.tabs = QTabWidget(page)
        self.tabs.setDocumentMode(True)
        self.tabs.tabBar().setAccessibleName("Task details")
        for widget, title in (
            (self.result, "Result"),
            (self.error, "Error"),
            (self.attempts, "Attempts"),
            (children_page, "Subtasks"),
            (trace_page, "Trace"),
            (self.params, "Parameters"),
        ):
            self.tabs.addTab(widget, title)

        layout = QVBoxLayout(page)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.facts)
        layout.addWidget(self.progress)
        layout.addWidget(self.tabs, 1)
        self.placeholder = QLabel("Select a task to see its result, attempts and trace.", self)
        self.placeholder.setObjectName("PlaceholderText")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(page)
        self._page = page
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.stack)

        self.timeline.span_selected.connect(self._on_timeline_span_selected)
        self.timeline.selected_span_updated.connect(self._on_timeline_span_selected)
        self.children_list.itemActivated.connect(self._on_children_item_activated)
        self.set_task(None)

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self.timeline.set_theme(theme)

    def set_task(self, task: TaskRecord | None, kind_label: str = "") -> None:
        """Show ``task`` (None: the hint). Another task starts on the tab that matters most
        (Error for a failure, Trace for a running agent, else Result)."""
        other = task is None or self._task is None or task.id != self._task.id
        self._task = task
        if task is None:
            self.stack.setCurrentWidget(self.placeholder)
            self._clear_lists()
            return
        self.stack.setCurrentWidget(self._page)
        self.title.setText(one_line(task.name, 300) or f"Task {task.id}")
        self.facts.setText(task_facts(task, kind_label))
        running = task.status == "running"
        if running:
            text = f"{task.progress:.0f} %"
            if task.progress_text:
                text += f" — {one_line(task.progress_text, 300)}"
            self.progress.setText(text)
        self.progress.setVisible(running)
        self.result.setPlainText(_capped(task.result) if task.result else self._no_result(task))
        self.error.setPlainText(_capped(task.error or ""))
        self.tabs.setTabEnabled(ERROR_TAB, bool(task.error))
        self.tabs.setTabEnabled(CHILDREN_TAB, task.children > 0)
        self.tabs.setTabEnabled(TRACE_TAB, task.run_id is not None)
        self.params.setPlainText(printable(json.dumps(dict(task.params), indent=2, default=str)))
        if other:
            self._clear_lists()
            self.tabs.setCurrentIndex(self._first_tab(task))
        elif not self.tabs.isTabEnabled(self.tabs.currentIndex()):
            self.tabs.setCurrentIndex(RESULT_TAB)
        self.setAccessibleDescription(f"{self.title.text()}: {self.facts.text()}")

    def set_progress(self, progress: float, text: str) -> None:
        if self._task is None or self._task.status != "running":
            return
        shown = f"{progress:.0f} %"
        if text:
            shown += f" — {one_line(text, 300)}"
        self.progress.setText(shown)

    def set_attempts(self, attempts: Sequence[TaskAttempt]) -> None:
        self.attempts.clear()
        for attempt in attempts:
            took = ""
            if attempt.ended_at is not None:
                took = duration_text((attempt.ended_at - attempt.started_at).total_seconds())
            item = QTreeWidgetItem(
                [
                    str(attempt.number),
                    _when(attempt.started_at),
                    OUTCOME_WORDS.get(attempt.outcome, one_line(attempt.outcome, 30)),
                    took,
                    one_line(attempt.error or "", 300),
                ]
            )
            if attempt.error:
                item.setToolTip(4, one_line(attempt.error, 1000))
            self.attempts.addTopLevelItem(item)
        for column in range(4):
            self.attempts.resizeColumnToContents(column)

    def set_children(self, children: Sequence[TaskRecord]) -> None:
        self.children_summary.setText(children_summary(children))
        self.children_list.clear()
        items = []
        for child in children[:CHILDREN_LISTED]:
            item = QTreeWidgetItem(
                [
                    one_line(child.name, 200) or f"Task {child.id}",
                    STATUS_WORDS.get(child.status, child.status),
                    f"{child.progress:.0f} %",
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, child.id)
            items.append(item)
        self.children_list.addTopLevelItems(items)
        self.children_list.resizeColumnToContents(0)

    def set_spans(self, run_id: int, spans: Sequence[Span], live: bool) -> None:
        """The trace of agent run ``run_id`` (the same run again: only what changed)."""
        if run_id != self._run_id:
            self._run_id = run_id
            self.timeline.set_spans(spans)
            self.span_detail.set_span(None)
        else:
            self.timeline.add_spans(spans)
        self.timeline.set_live(live)

    # ------------------------------------------------------------------ queries
    @property
    def task(self) -> TaskRecord | None:
        return self._task

    @property
    def run_id(self) -> int | None:
        return self._run_id

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _no_result(task: TaskRecord) -> str:
        if task.status == "running":
            return "Still running…"
        if task.status == "pending":
            return "Not started yet."
        if task.status == "cancelled":
            return "It was cancelled."
        if task.status == "failed":
            return "It failed: see Error."
        return "It produced no text."

    @staticmethod
    def _first_tab(task: TaskRecord) -> int:
        if task.status == "failed" and task.error:
            return ERROR_TAB
        if task.status == "running" and task.run_id is not None:
            return TRACE_TAB
        return RESULT_TAB

    def _clear_lists(self) -> None:
        self.attempts.clear()
        self.children_list.clear()
        self.children_summary.setText("")
        self._run_id = None
        self.timeline.clear()
        self.timeline.set_live(False)
        self.span_detail.set_span(None)

    def _on_timeline_span_selected(self, span: Span | None) -> None:
        self.span_detail.set_span(span, self.timeline.run_start)

    def _on_children_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        task_id = item.data(0, Qt.ItemDataRole.UserRole)
        if isinstance(task_id, int):
            self.child_selected.emit(task_id)


def _when(moment: datetime) -> str:
    local = moment.astimezone() if moment.tzinfo is not None else moment
    return local.strftime("%d %b %H:%M:%S")
