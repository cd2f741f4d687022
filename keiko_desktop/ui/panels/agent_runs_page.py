"""RunsPage: the Agents panel's "Runs" tab — every run kept, searchable, and each one's trace.

Left, the runs (newest first) with a search box; right, the selected run: its title, status
and facts, Resume (for an interrupted, failed or cancelled plan), its timeline (click a span
for its details below) and its result with the per-step report. Runs are stored, so they are
all here again after a restart. Text from models and tools is plain text, escaped.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.agents.records import RunRecord, Span
from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.ui.theme import LIGHT, Theme
from keiko_desktop.ui.widgets.heading import heading_label
from keiko_desktop.ui.widgets.run_list import RunList, run_facts
from keiko_desktop.ui.widgets.run_timeline import RunTimeline
from keiko_desktop.ui.widgets.span_detail import SpanDetail

RESUMABLE = ("interrupted", "failed", "cancelled")


def run_result_text(run: RunRecord) -> str:
    """What a run produced: its result, else its error, else where it stands."""
    if run.result:
        return run.result
    if run.error:
        return f"It ended with an error: {run.error}"
    if run.status == "running":
        return "Still running…"
    return "It produced no text."


def run_report(run: RunRecord) -> str:
    """One line per plan step from the run's checkpoint (what the outcome's report says)."""
    if run.plan is None:
        return ""
    marks = {"done": "✓", "failed": "✗", "running": "…", "cancelled": "■", "skipped": "·"}
    lines = []
    for step in run.plan.steps:
        state = run.checkpoint.state(step.id)
        mark = marks.get(state.status, "·")
        line = f"{mark} {step.id} ({step.agent}): {state.status}"
        if state.attempts > 1:
            line += f" after {state.attempts} attempts"
        if state.error:
            line += f": {one_line(state.error, 200)}"
        lines.append(line)
    return "\n".join(lines)


class RunsPage(QWidget):
    """The Runs tab. Passive: the presenter lists runs and shows the selected one.

    Signals:
        run_selected(int): the user selected this run.
        search_changed(str): the search text changed (after a pause).
        resume_requested(int): go on with this interrupted, failed or cancelled plan run.
    """

    run_selected = Signal(int)
    search_changed = Signal(str)
    resume_requested = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._run: RunRecord | None = None
        self.run_list = RunList(theme, self)
        self.run_list.setMinimumWidth(220)

        detail = QWidget(self)
        self.title = heading_label(detail, 1.15)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = QLabel(detail)
        self.facts.setObjectName("PlaceholderText")
        self.facts.setTextFormat(Qt.TextFormat.PlainText)
        self.resume_button = QPushButton("Resu&me", detail)
        self.resume_button.setAccessibleName("Resume")
        self.resume_button.setToolTip(
            "Go on with this plan from its last finished step (finished steps are kept)"
        )
        self.resume_button.hide()
        self.timeline = RunTimeline(theme, detail)
        self.timeline.setMinimumHeight(140)
        self.span_detail = SpanDetail(detail)
        self.result = QPlainTextEdit(detail)
        self.result.setReadOnly(True)
        self.result.setAccessibleName("Run result")
        self.result.setTabChangesFocus(True)
        self.report = QPlainTextEdit(detail)
        self.report.setReadOnly(True)
        self.report.setAccessibleName("Run report")
        self.report.setTabChangesFocus(True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.bottom = QTabWidget(detail)
        self.bottom.setDocumentMode(True)
        self.bottom.addTab(self.span_detail, "Span")
        self.bottom.addTab(self.result, "Result")
        self.bottom.addTab(self.report, "Steps")

        head = QHBoxLayout()
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.facts)
        head.addLayout(titles, 1)
        head.addWidget(self.resume_button, 0, Qt.AlignmentFlag.AlignTop)
        self.split = QSplitter(Qt.Orientation.Vertical, detail)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.timeline)
        self.split.addWidget(self.bottom)
        self.split.setSizes([280, 220])
        detail_layout = QVBoxLayout(detail)
        detail_layout.setContentsMargins(14, 12, 14, 12)
        detail_layout.setSpacing(8)
        detail_layout.addLayout(head)
        detail_layout.addWidget(self.split, 1)

        self.placeholder = QLabel("Select a run to see its timeline and result.", self)
        self.placeholder.setObjectName("PlaceholderText")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setWordWrap(True)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(detail)
        self._detail = detail

        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setHandleWidth(1)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(self.run_list)
        self.splitter.addWidget(self.stack)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([280, 620])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.run_list.run_selected.connect(self.run_selected)
        self.run_list.search_changed.connect(self.search_changed)
        self.timeline.span_selected.connect(self._on_timeline_span_selected)
        self.timeline.selected_span_updated.connect(self._on_timeline_span_selected)
        self.resume_button.clicked.connect(self._on_resume_button_clicked)

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self.run_list.set_theme(theme)
        self.timeline.set_theme(theme)

    def set_runs(self, runs: Sequence[RunRecord]) -> None:
        self.run_list.set_runs(runs)

    def show_run(self, run: RunRecord | None, spans: Sequence[Span] = ()) -> None:
        """Show ``run`` and its trace (None: the hint); another run starts unselected."""
        other = run is None or self._run is None or run.id != self._run.id
        self._run = run
        if run is None:
            self.stack.setCurrentWidget(self.placeholder)
            self.timeline.clear()
            self.span_detail.set_span(None)
            return
        self.stack.setCurrentWidget(self._detail)
        self.title.setText(one_line(run.title, 300) or "(untitled)")
        self.facts.setText(run_facts(run))
        self.resume_button.setVisible(run.kind == "plan" and run.status in RESUMABLE)
        self.result.setPlainText(printable(run_result_text(run)))
        report = run_report(run)
        self.report.setPlainText(printable(report))
        self.bottom.setTabEnabled(2, bool(report))
        if other:
            self.timeline.set_spans(spans)
            self.span_detail.set_span(None)
            self.bottom.setCurrentIndex(1 if run.status != "running" else 0)
        else:
            self.timeline.add_spans(spans)
        self.timeline.set_live(run.status == "running")

    def select_run(self, run_id: int) -> bool:
        return self.run_list.select_run(run_id)

    # ------------------------------------------------------------------ queries
    @property
    def run(self) -> RunRecord | None:
        return self._run

    # ------------------------------------------------------------------ slots
    def _on_timeline_span_selected(self, span: Span | None) -> None:
        spans = self.timeline.spans()
        start = min((s.start for s in spans), default=None)
        self.span_detail.set_span(span, start)
        if span is not None:
            self.bottom.setCurrentWidget(self.span_detail)

    def _on_resume_button_clicked(self) -> None:
        if self._run is not None:
            self.resume_requested.emit(self._run.id)
