"""SchedulesPage: the Tasks panel's "Schedules" tab — every schedule, switched on or off.

Each row: the name, the kind, when (``describe(spec)``: "daily at 09:00"), the next and the last
run, and a check box that switches it on or off (Space on the selected row). New schedule…
opens the task dialog set to a schedule; Delete removes the selected schedule (its tasks stay).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.records import ScheduleRecord
from keiko_desktop.core.tasks.schedule import describe

SCHEDULE_COLUMNS = ("Name", "Kind", "When", "Next run", "Last run", "On")
ON_COLUMN = 5
EMPTY_TEXT = (
    "No schedules yet. New schedule… makes a task every day, every hour, on some weekdays "
    "or at a time you choose."
)


def _moment(moment: datetime | None, none: str) -> str:
    if moment is None:
        return none
    return moment.astimezone().strftime("%a %d %b %H:%M")


COLUMN_GAP = 24


class SchedulesPage(QWidget):
    """The Schedules tab. Passive: the presenter lists schedules and acts on them.

    Signals:
        new_requested(): New schedule….
        enabled_changed(int, bool): switch this schedule on (True) or off.
        delete_requested(int): delete this schedule.
    """

    new_requested = Signal()
    enabled_changed = Signal(int, bool)
    delete_requested = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._filling = False
        self.tree = QTreeWidget(self)
        self.tree.setObjectName("ScheduleList")
        self.tree.setAccessibleName("Schedules")
        self.tree.setRootIsDecorated(False)
        self.tree.setHeaderLabels(list(SCHEDULE_COLUMNS))
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setToolTip("Space switches the selected schedule on or off; Delete removes it")
        self.new_button = self._button("New &schedule…", "Run a task on a schedule")
        self.toggle_button = self._button("Switch o&ff", "Switch the selected schedule off")
        self.delete_button = self._button(
            "&Delete schedule", "Delete the selected schedule (its tasks stay)"
        )
        self.delete_button.setAccessibleName("Delete schedule")
        self.empty_label = QLabel(EMPTY_TEXT, self)
        self.empty_label.setObjectName("PlaceholderText")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.tree)
        self.stack.addWidget(self.empty_label)
        self.delete_action = QAction("Delete schedule", self.tree)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.tree.addAction(self.delete_action)

        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        for button in (self.new_button, self.toggle_button, self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)
        layout.addLayout(buttons)
        layout.addWidget(self.stack, 1)

        self.new_button.clicked.connect(self.new_requested)
        self.toggle_button.clicked.connect(self._on_toggle_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.delete_action.triggered.connect(self._on_delete_button_clicked)
        self.tree.itemChanged.connect(self._on_tree_item_changed)
        self.tree.currentItemChanged.connect(self._on_tree_current_item_changed)
        self.set_schedules([])

    # ------------------------------------------------------------------ setters
    def set_schedules(
        self,
        schedules: Sequence[ScheduleRecord],
        label: Callable[[str], str] = lambda kind: kind,
    ) -> None:
        """Show ``schedules``; the selected one stays selected."""
        keep = self.selected_id
        self._filling = True
        try:
            self.tree.clear()
            for schedule in schedules:
                item = QTreeWidgetItem(
                    [
                        one_line(schedule.name, 200),
                        one_line(label(schedule.kind), 60),
                        describe(schedule.spec),
                        _moment(schedule.next_run, "never again") if schedule.enabled else "off",
                        _moment(schedule.last_run, "not yet"),
                        "",
                    ]
                )
                item.setData(0, Qt.ItemDataRole.UserRole, schedule.id)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                state = Qt.CheckState.Checked if schedule.enabled else Qt.CheckState.Unchecked
                item.setCheckState(ON_COLUMN, state)
                item.setToolTip(ON_COLUMN, "On: it makes tasks when due (Space switches it)")
                self.tree.addTopLevelItem(item)
                if schedule.id == keep:
                    self.tree.setCurrentItem(item)
            for column in range(len(SCHEDULE_COLUMNS)):
                self.tree.resizeColumnToContents(column)
                # breathing room between columns (contents alone leave them touching)
                self.tree.setColumnWidth(column, self.tree.columnWidth(column) + COLUMN_GAP)
        finally:
            self._filling = False
        self.stack.setCurrentWidget(self.tree if schedules else self.empty_label)
        self._update()

    # ------------------------------------------------------------------ queries
    @property
    def selected_id(self) -> int | None:
        item = self.tree.currentItem()
        return None if item is None else int(item.data(0, Qt.ItemDataRole.UserRole))

    def items(self) -> list[QTreeWidgetItem]:
        found = (self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount()))
        return [item for item in found if item is not None]

    def schedule_ids(self) -> list[int]:
        return [int(item.data(0, Qt.ItemDataRole.UserRole)) for item in self.items()]

    def item_of(self, schedule_id: int) -> QTreeWidgetItem | None:
        for item in self.items():
            if item.data(0, Qt.ItemDataRole.UserRole) == schedule_id:
                return item
        return None

    # ------------------------------------------------------------------ internals
    def _button(self, text: str, tip: str) -> QPushButton:
        button = QPushButton(text, self)
        button.setToolTip(tip)
        button.setAccessibleName(text.replace("&", "").rstrip("…"))
        return button

    def _update(self) -> None:
        item = self.tree.currentItem()
        self.toggle_button.setEnabled(item is not None)
        self.delete_button.setEnabled(item is not None)
        on = item is not None and item.checkState(ON_COLUMN) == Qt.CheckState.Checked
        self.toggle_button.setText("Switch o&ff" if on or item is None else "Switch o&n")
        self.toggle_button.setAccessibleName("Switch off" if on or item is None else "Switch on")

    def _on_tree_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if self._filling or column != ON_COLUMN:
            return
        on = item.checkState(ON_COLUMN) == Qt.CheckState.Checked
        self.enabled_changed.emit(int(item.data(0, Qt.ItemDataRole.UserRole)), on)
        self._update()

    def _on_tree_current_item_changed(self, *_items: object) -> None:
        self._update()

    def _on_toggle_button_clicked(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            on = item.checkState(ON_COLUMN) == Qt.CheckState.Checked
            item.setCheckState(ON_COLUMN, Qt.CheckState.Unchecked if on else Qt.CheckState.Checked)

    def _on_delete_button_clicked(self) -> None:
        schedule_id = self.selected_id
        if schedule_id is not None:
            self.delete_requested.emit(schedule_id)
