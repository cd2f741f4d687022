"""RunPage: the Agents panel's "Run" tab — the selected agent, a goal, its answer or a plan.

From the top: the agent (icon, name, status, description); the goal or prompt; the buttons
(Ask agent runs the agent on the prompt and streams its answer; Plan has a plan proposed for
the goal; Run plan runs the plan as edited; Stop cancels what is going on); the plan editor; and
the output: the streamed answer, or a plan's result and its report, one line per step.
Text from models is plain text, escaped. Ctrl+Enter in the goal box asks the agent.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QShortcut, QTextCursor
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.agents.plan import MAX_GOAL
from keiko_desktop.core.agents.profiles import ICONS, AgentProfile
from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.ui.icons import icon
from keiko_desktop.ui.theme import LIGHT, Theme
from keiko_desktop.ui.widgets.agent_row import status_colour, status_text
from keiko_desktop.ui.widgets.heading import heading_label
from keiko_desktop.ui.widgets.plan_editor import PlanEditor

BUSY_WORDS = {"ask": "The agent is answering…", "plan": "Planning…", "run": "Running the plan…"}


def _button(text: str, tip: str, parent: QWidget, name: str = "") -> QPushButton:
    button = QPushButton(text, parent)
    button.setToolTip(tip)
    button.setAccessibleName(text.replace("&", ""))
    if name:
        button.setObjectName(name)
    return button


def _section(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("SectionTitle")
    return label


class RunPage(QWidget):
    """The Run tab. Passive: the presenter fills it and reacts to its intents.

    Signals:
        ask_requested(str, str): run this agent on this prompt.
        plan_requested(str): propose a plan toward this goal.
        run_plan_requested(object): run this ``Plan`` (the editor's steps, the goal box's goal).
        folder_requested(str, str): run this agent (name) on each file of a folder, the prompt
            (str) saying what to do with each; the panel asks which folder.
        stop_requested(): cancel the run or the planning going on.
        open_trace_requested(int): show this run in the Runs tab.
    """

    ask_requested = Signal(str, str)
    plan_requested = Signal(str)
    run_plan_requested = Signal(object)
    folder_requested = Signal(str, str)
    stop_requested = Signal()
    open_trace_requested = Signal(int)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._theme = theme
        self._agent: AgentProfile | None = None
        self._status = ("inactive", "")
        self._busy: str | None = None
        self._run_id: int | None = None

        header = QFrame(self)
        header.setObjectName("AgentHeader")
        self.agent_icon = QLabel(header)
        self.agent_icon.setFixedSize(QSize(40, 40))
        self.agent_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.agent_icon.setObjectName("AgentIcon")
        self.agent_name = heading_label(header, 1.25)
        self.agent_name.setTextFormat(Qt.TextFormat.PlainText)
        self.agent_status = QLabel(header)
        self.agent_status.setObjectName("AgentStatus")
        self.agent_status.setTextFormat(Qt.TextFormat.PlainText)
        self.agent_description = QLabel(header)
        self.agent_description.setObjectName("PlaceholderText")
        self.agent_description.setTextFormat(Qt.TextFormat.PlainText)
        self.agent_description.setWordWrap(True)
        names = QHBoxLayout()
        names.setSpacing(10)
        names.addWidget(self.agent_name)
        names.addWidget(self.agent_status, 0, Qt.AlignmentFlag.AlignVCenter)
        names.addStretch(1)
        text_col = QVBoxLayout()
        text_col.setSpacing(2)
        text_col.addLayout(names)
        text_col.addWidget(self.agent_description)
        header_row = QHBoxLayout(header)
        header_row.setContentsMargins(0, 0, 0, 0)
        header_row.setSpacing(12)
        header_row.addWidget(self.agent_icon, 0, Qt.AlignmentFlag.AlignTop)
        header_row.addLayout(text_col, 1)

        self.goal_label = QLabel("&Goal or prompt", self)
        self.goal_label.setObjectName("SectionTitle")
        self.goal = QPlainTextEdit(self)
        self.goal.setObjectName("GoalBox")
        self.goal.setAccessibleName("Goal or prompt")
        self.goal.setToolTip(
            "A question for the selected agent (Ask agent, Ctrl+Enter), or a goal for a plan"
        )
        self.goal.setPlaceholderText(
            "Ask the selected agent something, or describe a goal to plan for…"
        )
        self.goal.setTabChangesFocus(True)
        self.goal.setFixedHeight(84)
        self.goal_label.setBuddy(self.goal)
        self.ask_shortcut = QShortcut(QKeySequence("Ctrl+Return"), self.goal)
        self.ask_shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)

        self.ask_button = _button(
            "&Ask agent", "Run the selected agent on the prompt (Ctrl+Enter)", self, "PrimaryButton"
        )
        self.plan_button = _button("&Plan", "Have a plan proposed for the goal", self)
        self.run_plan_button = _button("&Run plan", "Run the plan as it is below", self)
        self.folder_button = _button(
            "Each &file…",
            "Run the selected agent once per text file of a folder you choose; the prompt says"
            " what to do with each file",
            self,
        )
        self.stop_button = _button("S&top", "Cancel what is running (Esc)", self)
        self.busy_label = QLabel(self)
        self.busy_label.setObjectName("PlaceholderText")
        self.busy_label.setTextFormat(Qt.TextFormat.PlainText)
        actions = QHBoxLayout()
        actions.setSpacing(8)
        buttons = (
            self.ask_button,
            self.folder_button,
            self.plan_button,
            self.run_plan_button,
            self.stop_button,
        )
        for button in buttons:
            actions.addWidget(button)
        actions.addSpacing(6)
        actions.addWidget(self.busy_label, 1)

        plan_box = QWidget(self)
        self.plan_editor = PlanEditor(plan_box)
        plan_layout = QVBoxLayout(plan_box)
        plan_layout.setContentsMargins(0, 0, 0, 0)
        plan_layout.setSpacing(6)
        plan_layout.addWidget(_section("Plan", plan_box))
        plan_layout.addWidget(self.plan_editor, 1)

        output_box = QWidget(self)
        self.output_title = _section("Answer", output_box)
        self.open_trace_button = _button(
            "&Open trace", "Show this run's timeline in the Runs tab", output_box
        )
        self.open_trace_button.setEnabled(False)
        self.output = QPlainTextEdit(output_box)
        self.output.setObjectName("AgentOutput")
        self.output.setReadOnly(True)
        self.output.setAccessibleName("Answer")
        self.output.setTabChangesFocus(True)
        self.output.setPlaceholderText("The agent's answer, or the plan's result, shows here.")
        self.report = QPlainTextEdit(output_box)
        self.report.setObjectName("PlanReport")
        self.report.setReadOnly(True)
        self.report.setAccessibleName("Plan report")
        self.report.setTabChangesFocus(True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.hide()
        output_head = QHBoxLayout()
        output_head.addWidget(self.output_title, 1)
        output_head.addWidget(self.open_trace_button)
        output_layout = QVBoxLayout(output_box)
        output_layout.setContentsMargins(0, 0, 0, 0)
        output_layout.setSpacing(6)
        output_layout.addLayout(output_head)
        output_layout.addWidget(self.report)
        output_layout.addWidget(self.output, 1)

        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.addWidget(plan_box)
        self.splitter.addWidget(output_box)
        self.splitter.setSizes([260, 240])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(10)
        layout.addWidget(header)
        layout.addWidget(self.goal_label)
        layout.addWidget(self.goal)
        layout.addLayout(actions)
        layout.addWidget(self.splitter, 1)

        self.ask_button.clicked.connect(self._on_ask_button_clicked)
        self.ask_shortcut.activated.connect(self._on_ask_button_clicked)
        self.plan_button.clicked.connect(self._on_plan_button_clicked)
        self.folder_button.clicked.connect(self._on_folder_button_clicked)
        self.run_plan_button.clicked.connect(self._on_run_plan_button_clicked)
        self.stop_button.clicked.connect(self.stop_requested)
        self.open_trace_button.clicked.connect(self._on_open_trace_button_clicked)
        self.goal.textChanged.connect(self._update_buttons)
        self.plan_editor.plan_changed.connect(self._on_plan_editor_plan_changed)
        self.set_agent(None)

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self._theme = theme
        self._show_agent()

    def set_agent(self, profile: AgentProfile | None, status: str = "", detail: str = "") -> None:
        self._agent = profile
        if status:
            self._status = (status, detail)
        self._show_agent()
        self._update_buttons()

    def set_status(self, status: str, detail: str = "") -> None:
        self._status = (status, detail)
        self._show_agent()

    def set_busy(self, busy: str | None, text: str = "") -> None:
        """``ask``, ``plan`` or ``run`` while that goes on (None: idle)."""
        self._busy = busy
        self.busy_label.setText(text or BUSY_WORDS.get(busy or "", ""))
        self.plan_editor.set_read_only(busy == "run")
        self._update_buttons()

    def set_busy_text(self, text: str) -> None:
        self.busy_label.setText(printable(text))

    def begin_answer(self, title: str = "Answer") -> None:
        self.output_title.setText(title)
        self.output.setAccessibleName(title)
        self.output.clear()
        self.report.clear()
        self.report.hide()
        self.set_run_id(None)

    def append_answer(self, text: str) -> None:
        """Add streamed text at the end (never re-rendering what is shown)."""
        cursor = self.output.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(printable(text))
        bar = self.output.verticalScrollBar()
        if bar.value() >= bar.maximum() - 4:
            bar.setValue(bar.maximum())

    def set_result(self, text: str, report: str = "", error: str | None = None) -> None:
        """Show a finished run: its text (kept if none), its per-step report, its error."""
        if text:
            self.output.setPlainText(printable(text))
        if error and not text:
            self.output.setPlainText(printable(error))
        self.report.setPlainText(printable(report))
        lines = min(6, max(1, report.count("\n") + 1))
        height = self.report.fontMetrics().lineSpacing() * lines
        self.report.setFixedHeight(height + 14)
        self.report.setVisible(bool(report))

    def set_run_id(self, run_id: int | None) -> None:
        self._run_id = run_id
        self.open_trace_button.setEnabled(run_id is not None)

    def set_agents(self, names: list[str]) -> None:
        self.plan_editor.set_agents(names)
        self._update_buttons()

    # ------------------------------------------------------------------ queries
    @property
    def agent(self) -> AgentProfile | None:
        return self._agent

    @property
    def busy(self) -> str | None:
        return self._busy

    @property
    def prompt(self) -> str:
        return self.goal.toPlainText().strip()

    @property
    def answer_text(self) -> str:
        return self.output.toPlainText()

    # ------------------------------------------------------------------ internals
    def _show_agent(self) -> None:
        t = self._theme
        profile = self._agent
        name = profile.icon if profile is not None and profile.icon in ICONS else "agents"
        self.agent_icon.setPixmap(
            icon(name, t.accent).pixmap(QSize(22, 22), self.devicePixelRatioF())
        )
        if profile is None:
            self.agent_name.setText("No agent selected")
            self.agent_description.setText("Select an agent on the left, or make a new one.")
            self.agent_status.hide()
            return
        self.agent_name.setText(one_line(profile.name, 64))
        self.agent_description.setText(
            printable(profile.description) or "This agent has no description."
        )
        status, detail = self._status
        colour = status_colour(status, t).name()
        self.agent_status.setText(status_text(status, detail if status == "error" else ""))
        self.agent_status.setToolTip(status_text(status, detail))
        self.agent_status.setAccessibleName(f"Status: {status_text(status, detail)}")
        self.agent_status.setStyleSheet(
            f"QLabel#AgentStatus {{ color: {colour}; border: 1px solid {colour};"
            " border-radius: 9px; padding: 1px 9px; background: transparent; }"
        )
        self.agent_status.show()

    def _update_buttons(self) -> None:
        idle = self._busy is None
        has_prompt = bool(self.prompt) and len(self.prompt) <= MAX_GOAL
        self.ask_button.setEnabled(idle and has_prompt and self._agent is not None)
        self.folder_button.setEnabled(idle and has_prompt and self._agent is not None)
        self.plan_button.setEnabled(idle and has_prompt)
        self.run_plan_button.setEnabled(idle and self.plan_editor.is_valid)
        self.stop_button.setEnabled(not idle)
        error = self.plan_editor.error
        self.run_plan_button.setToolTip(
            "Run the plan as it is below"
            if error is None
            else f"The plan cannot run yet: {one_line(error.message, 200)}"
        )

    def _on_ask_button_clicked(self) -> None:
        if self.ask_button.isEnabled() and self._agent is not None:
            self.ask_requested.emit(self._agent.name, self.prompt)

    def _on_folder_button_clicked(self) -> None:
        if self.folder_button.isEnabled() and self._agent is not None:
            self.folder_requested.emit(self._agent.name, self.prompt)

    def _on_plan_button_clicked(self) -> None:
        if self.plan_button.isEnabled():
            self.plan_requested.emit(self.prompt)

    def _on_run_plan_button_clicked(self) -> None:
        if self.run_plan_button.isEnabled():
            self.run_plan_requested.emit(self.plan_editor.plan(self.prompt or None))

    def _on_open_trace_button_clicked(self) -> None:
        if self._run_id is not None:
            self.open_trace_requested.emit(self._run_id)

    def _on_plan_editor_plan_changed(self, _plan: object) -> None:
        self._update_buttons()
