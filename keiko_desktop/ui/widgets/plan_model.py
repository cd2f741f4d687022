"""The plan editor's table model: a plan's steps as rows, editable, and the agent chooser.

Renaming a step renames it where other steps depend on it; removing one drops it there too.
A Status column shows each step's state during a run (``set_states``). Instructions and
states come from a model: shown escaped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import QComboBox, QStyledItemDelegate, QStyleOptionViewItem, QWidget

from keiko_desktop.core.agents.plan import Checkpoint, PlanStep
from keiko_desktop.core.safe_text import one_line, printable

COLUMNS = ("Step", "Agent", "Instruction", "Depends on", "Status")
ID_COLUMN, AGENT_COLUMN, INSTRUCTION_COLUMN, DEPENDS_COLUMN, STATUS_COLUMN = range(5)
STATE_WORDS = {
    "pending": "Waiting",
    "running": "Running…",
    "done": "Done",
    "failed": "Failed",
    "skipped": "Skipped",
    "cancelled": "Cancelled",
}
AnyIndex = QModelIndex | QPersistentModelIndex


def parse_depends(text: str) -> tuple[str, ...]:
    """``"s1, s2,"`` -> ``("s1", "s2")`` (order kept, repeats dropped)."""
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


class PlanTableModel(QAbstractTableModel):
    """The steps of one plan, editable (see the module docs).

    Signals:
        steps_changed(): a step was edited, added, removed or moved.
    """

    steps_changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._steps: list[PlanStep] = []
        self._states = Checkpoint()
        self.read_only = False

    # ------------------------------------------------------------------ steps
    def set_steps(self, steps: Sequence[PlanStep]) -> None:
        self.beginResetModel()
        self._steps = list(steps)
        self.endResetModel()
        self.steps_changed.emit()

    def steps(self) -> tuple[PlanStep, ...]:
        return tuple(self._steps)

    def set_states(self, states: Checkpoint) -> None:
        self._states = states
        if self._steps:
            self.dataChanged.emit(
                self.index(0, STATUS_COLUMN), self.index(len(self._steps) - 1, STATUS_COLUMN)
            )

    def new_id(self) -> str:
        taken = {s.id for s in self._steps}
        n = len(self._steps) + 1
        while f"s{n}" in taken:
            n += 1
        return f"s{n}"

    def insert_step(self, row: int, step: PlanStep) -> None:
        self.beginInsertRows(QModelIndex(), row, row)
        self._steps.insert(row, step)
        self.endInsertRows()
        self.steps_changed.emit()

    def remove_step(self, row: int) -> None:
        removed = self._steps[row].id
        self.beginRemoveRows(QModelIndex(), row, row)
        del self._steps[row]
        self.endRemoveRows()
        self._rewrite_depends(lambda deps: tuple(d for d in deps if d != removed))
        self.steps_changed.emit()

    def move_step(self, row: int, to: int) -> bool:
        if not (0 <= row < len(self._steps) and 0 <= to < len(self._steps)) or row == to:
            return False
        # Qt's destination is the row the moved one goes before (in the old numbering).
        self.beginMoveRows(QModelIndex(), row, row, QModelIndex(), to + 1 if to > row else to)
        self._steps.insert(to, self._steps.pop(row))
        self.endMoveRows()
        self.steps_changed.emit()
        return True

    # ------------------------------------------------------------------ Qt model
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._steps)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return str(section + 1)

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.isValid() and index.column() != STATUS_COLUMN and not self.read_only:
            base |= Qt.ItemFlag.ItemIsEditable
        return base

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._steps):
            return None
        step = self._steps[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.EditRole:
            return self._raw(step, column)
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            if column == STATUS_COLUMN:
                state = self._states.steps.get(step.id)
                if state is None:
                    return "" if role == Qt.ItemDataRole.DisplayRole else None
                word = STATE_WORDS.get(state.status, state.status)
                if state.error and role == Qt.ItemDataRole.ToolTipRole:
                    return f"{word}: {one_line(state.error, 500)}"
                return word
            text = self._raw(step, column)
            if role == Qt.ItemDataRole.ToolTipRole:
                return printable(text[:2000]) if column == INSTRUCTION_COLUMN else None
            return one_line(text, 600)
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{COLUMNS[column]}: {one_line(self._raw(step, column), 300) or 'empty'}"
        return None

    def setData(  # noqa: N802
        self, index: AnyIndex, value: object, role: int = Qt.ItemDataRole.EditRole
    ) -> bool:
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or self.read_only:
            return False
        row, column = index.row(), index.column()
        step = self._steps[row]
        text = str(value)
        if column == ID_COLUMN:
            new_id = text.strip()
            if new_id == step.id:
                return False
            old_id = step.id
            self._steps[row] = replace(step, id=new_id)
            self._rewrite_depends(lambda deps: tuple(new_id if d == old_id else d for d in deps))
        elif column == AGENT_COLUMN:
            self._steps[row] = replace(step, agent=text)
        elif column == INSTRUCTION_COLUMN:
            self._steps[row] = replace(step, instruction=text.strip())
        elif column == DEPENDS_COLUMN:
            self._steps[row] = replace(step, depends_on=parse_depends(text))
        else:
            return False
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        self.steps_changed.emit()
        return True

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _raw(step: PlanStep, column: int) -> str:
        if column == ID_COLUMN:
            return step.id
        if column == AGENT_COLUMN:
            return step.agent
        if column == INSTRUCTION_COLUMN:
            return step.instruction
        if column == DEPENDS_COLUMN:
            return ", ".join(step.depends_on)
        return ""

    def _rewrite_depends(self, change: Callable[[tuple[str, ...]], tuple[str, ...]]) -> None:
        for row, step in enumerate(self._steps):
            deps = change(step.depends_on)
            if deps != step.depends_on:
                self._steps[row] = replace(step, depends_on=deps)
                self.dataChanged.emit(
                    self.index(row, DEPENDS_COLUMN), self.index(row, DEPENDS_COLUMN)
                )


class AgentChoiceDelegate(QStyledItemDelegate):
    """Edits the Agent column with a list of the real agents' names."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.names: list[str] = []

    def createEditor(  # noqa: N802
        self, parent: QWidget, option: QStyleOptionViewItem, index: AnyIndex
    ) -> QWidget:
        box = QComboBox(parent)
        box.setAccessibleName("Agent of this step")
        for name in self.names:
            box.addItem(one_line(name, 64), name)
        box.activated.connect(lambda _i: self.commitData.emit(box))
        return box

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:  # noqa: N802
        assert isinstance(editor, QComboBox)
        current = str(index.data(Qt.ItemDataRole.EditRole) or "")
        found = editor.findData(current)
        if found < 0 and current:
            editor.addItem(f"{one_line(current, 64)} (unknown)", current)
            found = editor.count() - 1
        editor.setCurrentIndex(max(0, found))

    def setModelData(  # noqa: N802
        self, editor: QWidget, model: QAbstractItemModel, index: AnyIndex
    ) -> None:
        assert isinstance(editor, QComboBox)
        model.setData(index, str(editor.currentData() or ""), Qt.ItemDataRole.EditRole)
