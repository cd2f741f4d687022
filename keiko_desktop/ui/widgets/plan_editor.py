"""PlanEditor: a plan's steps in a table the user edits before running it.

Columns: the step's id, its agent (a list of the real agents), its instruction and the steps it
depends on (ids, comma separated); while a run goes on, a Status column shows each step's
state. Renaming a step renames it where others depend on it; removing one drops it there too.
After every change the plan is checked (``check_plan``) and the first problem is shown under
the table, so what "Run plan" gets is runnable.

Keys (while the editor has focus): Insert adds a step, Delete removes it (outside a cell being
edited), Ctrl+Up and Ctrl+Down move it; F2 or typing edits a cell, Tab moves between cells.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.agents.errors import PlanError
from keiko_desktop.core.agents.plan import Checkpoint, Plan, PlanStep, check_plan
from keiko_desktop.core.safe_text import printable
from keiko_desktop.ui.widgets.plan_model import (
    AGENT_COLUMN,
    DEPENDS_COLUMN,
    ID_COLUMN,
    INSTRUCTION_COLUMN,
    STATUS_COLUMN,
    AgentChoiceDelegate,
    PlanTableModel,
)


def _button(text: str, tip: str, parent: QWidget) -> QPushButton:
    button = QPushButton(text, parent)
    button.setToolTip(tip)
    button.setAccessibleName(text.replace("&", ""))
    return button


class PlanEditor(QWidget):
    """A plan's steps, editable, checked as they change (see the module docs).

    Signals:
        plan_changed(object): the steps changed; the ``Plan`` as shown now.
    """

    plan_changed = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("PlanEditor")
        self._goal = ""
        self._agents: list[str] = []
        self._error: PlanError | None = None
        self.model = PlanTableModel(self)
        self.agent_delegate = AgentChoiceDelegate(self)
        self.table = QTableView(self)
        self.table.setObjectName("PlanTable")
        self.table.setAccessibleName("Plan steps")
        self.table.setToolTip("The plan's steps: F2 edits a cell, Tab moves to the next")
        self.table.setModel(self.model)
        self.table.setItemDelegateForColumn(AGENT_COLUMN, self.agent_delegate)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(
            QAbstractItemView.EditTrigger.DoubleClicked
            | QAbstractItemView.EditTrigger.EditKeyPressed
            | QAbstractItemView.EditTrigger.AnyKeyPressed
        )
        self.table.setWordWrap(True)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table: the page stays reachable
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.verticalHeader().hide()  # the Step column names each row
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(ID_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(AGENT_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(INSTRUCTION_COLUMN, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(DEPENDS_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STATUS_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setColumnHidden(STATUS_COLUMN, True)

        self.add_button = _button("A&dd step", "Add a step after the selected one (Insert)", self)
        self.remove_button = _button("Remo&ve step", "Remove the selected step (Delete)", self)
        self.up_button = _button("Move &up", "Move the selected step up (Ctrl+Up)", self)
        self.down_button = _button("Move do&wn", "Move the selected step down (Ctrl+Down)", self)
        self.message = QLabel(self)
        self.message.setObjectName("PlanMessage")
        self.message.setWordWrap(True)
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setAccessibleName("Plan check")
        self.shortcuts: dict[str, QShortcut] = {}
        for name, key, slot in (
            ("add", QKeySequence(Qt.Key.Key_Insert), self.add_step),
            ("remove", QKeySequence(QKeySequence.StandardKey.Delete), self.remove_step),
            ("up", QKeySequence("Ctrl+Up"), self.move_up),
            ("down", QKeySequence("Ctrl+Down"), self.move_down),
        ):
            shortcut = QShortcut(key, self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            shortcut.activated.connect(slot)
            self.shortcuts[name] = shortcut

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        for button in (self.add_button, self.remove_button, self.up_button, self.down_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addLayout(buttons)

        self.add_button.clicked.connect(self.add_step)
        self.remove_button.clicked.connect(self.remove_step)
        self.up_button.clicked.connect(self.move_up)
        self.down_button.clicked.connect(self.move_down)
        self.model.steps_changed.connect(self._on_model_steps_changed)
        self.table.selectionModel().currentRowChanged.connect(self._on_table_current_row_changed)
        self._check()

    # ------------------------------------------------------------------ setters
    def set_agents(self, names: Sequence[str]) -> None:
        """The agents a step may name (the combo's choices, and what the check accepts)."""
        self._agents = list(names)
        self.agent_delegate.names = list(names)
        self._check()

    def set_plan(self, plan: Plan | None) -> None:
        self._goal = plan.goal if plan is not None else ""
        self.model.set_states(Checkpoint())
        self.table.setColumnHidden(STATUS_COLUMN, True)
        self.model.set_steps(plan.steps if plan is not None else ())
        if plan is not None and plan.steps:
            self.table.selectRow(0)

    def set_step_states(self, states: Checkpoint | None) -> None:
        """Show each step's state in the Status column (None hides it)."""
        self.model.set_states(states or Checkpoint())
        self.table.setColumnHidden(STATUS_COLUMN, states is None)

    def set_read_only(self, read_only: bool) -> None:
        """While the plan runs it cannot be edited."""
        self.model.read_only = read_only
        self._update_buttons()

    # ------------------------------------------------------------------ queries
    def plan(self, goal: str | None = None) -> Plan:
        """The plan as shown (toward ``goal``, else the goal it was set with)."""
        return Plan(self._goal if goal is None else goal, self.model.steps())

    @property
    def error(self) -> PlanError | None:
        """Why the plan cannot run (None: it can)."""
        return self._error

    @property
    def is_valid(self) -> bool:
        return self._error is None

    @property
    def _editing(self) -> bool:
        return self.table.state() == QAbstractItemView.State.EditingState

    @property
    def current_row(self) -> int:
        index = self.table.currentIndex()
        return index.row() if index.isValid() else -1

    # ------------------------------------------------------------------ actions
    def add_step(self) -> None:
        if self.model.read_only:
            return
        row = self.current_row + 1 if self.current_row >= 0 else self.model.rowCount()
        steps = self.model.steps()
        agent = steps[row - 1].agent if row > 0 else (self._agents[0] if self._agents else "")
        self.model.insert_step(row, PlanStep(self.model.new_id(), agent, ""))
        index = self.model.index(row, INSTRUCTION_COLUMN)
        self.table.setCurrentIndex(index)
        self.table.setFocus(Qt.FocusReason.OtherFocusReason)
        self.table.edit(index)

    def remove_step(self) -> None:
        row = self.current_row
        if self.model.read_only or row < 0 or self._editing:
            return
        self.model.remove_step(row)
        if self.model.rowCount():
            self.table.selectRow(min(row, self.model.rowCount() - 1))

    def move_up(self) -> None:
        self._move(-1)

    def move_down(self) -> None:
        self._move(1)

    # ------------------------------------------------------------------ internals
    def _move(self, delta: int) -> None:
        row = self.current_row
        if self.model.read_only or row < 0 or self._editing:
            return
        if self.model.move_step(row, row + delta):
            self.table.selectRow(row + delta)

    def _check(self) -> None:
        plan = self.plan()
        if not plan.steps:
            self._error = PlanError("The plan has no steps.", "Add a step.")
            self._show("No plan yet: press Plan to have one proposed, or add steps.", False)
        else:
            try:
                check_plan(plan, self._agents)
            except PlanError as exc:
                self._error = exc
                self._show(f"{exc.message} {exc.hint}".strip(), True)
            else:
                self._error = None
                count = len(plan.steps)
                self._show(f"{count} step{'s' if count != 1 else ''}, ready to run.", False)
        self._update_buttons()

    def _show(self, text: str, problem: bool) -> None:
        self.message.setText(printable(text))
        self.message.setProperty("problem", problem)
        self.message.setObjectName("ErrorText" if problem else "PlaceholderText")
        self.message.style().unpolish(self.message)
        self.message.style().polish(self.message)

    def _update_buttons(self) -> None:
        editable = not self.model.read_only
        row = self.current_row
        self.add_button.setEnabled(editable)
        self.remove_button.setEnabled(editable and row >= 0)
        self.up_button.setEnabled(editable and row > 0)
        self.down_button.setEnabled(editable and 0 <= row < self.model.rowCount() - 1)

    def _on_model_steps_changed(self) -> None:
        self._check()
        self.plan_changed.emit(self.plan())

    def _on_table_current_row_changed(self, _current: QModelIndex, _previous: QModelIndex) -> None:
        self._update_buttons()
