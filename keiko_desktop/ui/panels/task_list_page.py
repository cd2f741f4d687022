"""TaskListPage: the Tasks panel's "Tasks" tab — the toolbar, the table and the detail.

The toolbar: New task…, Cancel, Retry, Duplicate, Delete (each enabled only when the selected
tasks allow it), then the status and kind filters and the search box (applied as you type,
after ``SEARCH_DELAY_MS``). The table is ``TaskTableModel`` in a ``QTableView``: rows of a
fixed height (no size is asked per row, so 10,000 cost nothing), sorted by a click on a header
(a third click: newest first again), several rows selectable; the durations of running tasks
tick once a second while the page is on screen. Under it the selected task's ``TaskDetail``.
Delete in the table deletes the selected tasks (the panel asks first when there are several).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import (
    QEvent,
    QItemSelectionModel,
    QObject,
    Qt,
    QTimer,
    Signal,
    SignalInstance,
)
from PySide6.QtGui import QAction, QHideEvent, QKeyEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.tasks.records import TASK_STATUSES, TaskRecord
from keiko_desktop.ui.theme import LIGHT, Theme
from keiko_desktop.ui.widgets.task_detail import TaskDetail
from keiko_desktop.ui.widgets.task_progress_delegate import TaskProgressDelegate
from keiko_desktop.ui.widgets.task_table import NAME, PROGRESS, TaskTableModel
from keiko_desktop.ui.widgets.task_text import STATUS_WORDS, TaskQuery

SEARCH_DELAY_MS = 200
TICK_MS = 1000
ROW_HEIGHT = 28
COLUMN_WIDTHS = (280, 120, 150, 80, 150, 100, 90)
EMPTY_TEXT = (
    "No tasks yet. New task… runs work in the background: ask an agent, summarise a folder, "
    "call a tool, remind you."
)
DELETE_TIP = "Delete the selected task (Delete)"
CANCELLABLE = ("pending", "running")
RETRYABLE = ("failed", "cancelled")


def _button(text: str, tip: str, parent: QWidget) -> QPushButton:
    button = QPushButton(text, parent)
    button.setToolTip(tip)
    button.setAccessibleName(text.replace("&", "").rstrip("…"))
    return button


class TaskListPage(QWidget):
    """The Tasks tab. Passive: the presenter fills the model and acts on the signals.

    Signals:
        new_requested(): New task….
        task_selected(object): the current task changed (its id; None: none).
        cancel_requested(object), retry_requested(object), duplicate_requested(object),
            delete_requested(object): the toolbar (or Delete) on these task ids (a list; only
            the ones it applies to: Cancel sends the pending and running ones).
    """

    new_requested = Signal()
    task_selected = Signal(object)
    cancel_requested = Signal(object)
    retry_requested = Signal(object)
    duplicate_requested = Signal(object)
    delete_requested = Signal(object)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._current: int | None = None
        self._restoring = False
        self._wanted: tuple[list[int], int | None] = ([], None)
        """What the user selected, shown again when a filter that hid it is lifted."""
        self.model = TaskTableModel(theme, parent=self)
        self.new_button = _button("&New task…", "Run work in the background (Ctrl+Shift+N)", self)
        self.new_button.setObjectName("PrimaryButton")
        self.cancel_button = _button("&Cancel", "Stop the selected pending or running tasks", self)
        self.retry_button = _button(
            "&Retry", "Run the selected failed or cancelled tasks again", self
        )
        self.duplicate_button = _button("D&uplicate", "Add a new copy of the selected tasks", self)
        self.delete_button = _button("&Delete", DELETE_TIP, self)
        self.status_filter = QComboBox(self)
        self.status_filter.addItem("All", None)
        for status in TASK_STATUSES:
            self.status_filter.addItem(STATUS_WORDS[status], status)
        self.kind_filter = QComboBox(self)
        self.kind_filter.addItem("All kinds", None)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Name, kind, result or error")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(200)
        filters: list[tuple[QLabel, QWidget]] = []
        field: QWidget
        for text, field, name, tip in (
            ("St&atus", self.status_filter, "Status filter", "Show tasks in this state"),
            ("&Kind", self.kind_filter, "Kind filter", "Show tasks of this kind"),
            ("S&earch", self.search, "Search tasks", "Every word in name, kind, result or error"),
        ):
            label = QLabel(text, self)
            label.setBuddy(field)
            label.setObjectName("PlaceholderText")
            field.setAccessibleName(name)
            field.setToolTip(tip)
            filters.append((label, field))

        self.table = QTableView(self)
        self._setup_table(theme)
        self.empty_label = QLabel(EMPTY_TEXT, self)
        self.empty_label.setObjectName("PlaceholderText")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.table_stack = QStackedWidget(self)
        self.table_stack.addWidget(self.table)
        self.table_stack.addWidget(self.empty_label)
        self.detail = TaskDetail(theme, self)
        self.split = QSplitter(Qt.Orientation.Vertical, self)
        self.split.setChildrenCollapsible(False)
        self.split.addWidget(self.table_stack)
        self.split.addWidget(self.detail)
        self.split.setSizes([380, 300])

        toolbar = QHBoxLayout()
        toolbar.setSpacing(6)
        for button in self.buttons():
            toolbar.addWidget(button)
        toolbar.addStretch(1)
        for label, widget in filters:
            toolbar.addWidget(label)
            toolbar.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 10, 16, 0)
        layout.setSpacing(8)
        layout.addLayout(toolbar)
        layout.addWidget(self.split, 1)

        self.delete_action = QAction("Delete tasks", self.table)
        self.delete_action.setShortcut(QKeySequence(QKeySequence.StandardKey.Delete))
        self.delete_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.table.addAction(self.delete_action)
        self.table.installEventFilter(self)
        self._search_due = self._timer(SEARCH_DELAY_MS, self._apply_query, single=True)
        self._actions_due = self._timer(0, self._update_actions, single=True)
        self._tick = self._timer(TICK_MS, self.model.tick)

        self.new_button.clicked.connect(self.new_requested)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.retry_button.clicked.connect(self._on_retry_button_clicked)
        self.duplicate_button.clicked.connect(self._on_duplicate_button_clicked)
        self.delete_button.clicked.connect(self._on_delete_button_clicked)
        self.delete_action.triggered.connect(self._on_delete_button_clicked)
        self.status_filter.currentIndexChanged.connect(self._apply_query)
        self.kind_filter.currentIndexChanged.connect(self._apply_query)
        self.search.textChanged.connect(self._search_due.start)
        self.detail.child_selected.connect(self.select_task)
        selection = self.table.selectionModel()
        selection.selectionChanged.connect(self._on_selection_changed)
        selection.currentRowChanged.connect(self._on_current_row_changed)
        for signal in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            signal.connect(self._on_model_rows_changed)
        self.model.dataChanged.connect(self._actions_due.start)
        self._update_empty()
        self._update_actions()

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self.model.set_theme(theme)
        delegate = self.table.itemDelegateForColumn(PROGRESS)
        if isinstance(delegate, TaskProgressDelegate):
            delegate.theme = theme
        self.detail.set_theme(theme)

    def set_kinds(self, kinds: Sequence[tuple[str, str]]) -> None:
        """The kinds there are, as (name, label): the kind filter and the Kind column."""
        self.model.set_kind_labels(dict(kinds))
        current = self.kind_filter.currentData()
        self.kind_filter.blockSignals(True)
        self.kind_filter.clear()
        self.kind_filter.addItem("All kinds", None)
        for name, label in kinds:
            self.kind_filter.addItem(label, name)
        self.kind_filter.setCurrentIndex(max(0, self.kind_filter.findData(current)))
        self.kind_filter.blockSignals(False)

    def set_tasks(self, tasks: Sequence[TaskRecord]) -> None:
        """Show these tasks; the selected ones stay selected if they are still there."""
        self._restoring = True
        try:
            self.model.set_tasks(tasks)
        finally:
            self._restoring = False
        self._reselect(*self._wanted)

    def select_task(self, task_id: int) -> bool:
        """Select ``task_id`` (the filters are cleared if they hide it); False when unknown."""
        if self.model.task(task_id) is None:
            return False
        if self.model.row_of(task_id) is None:
            self.clear_filters()
        row = self.model.row_of(task_id)
        if row is None:
            return False
        index = self.model.index(row, NAME)
        flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
        self.table.selectionModel().setCurrentIndex(
            index, flags | QItemSelectionModel.SelectionFlag.Rows
        )
        self.table.scrollTo(index)
        return True

    def clear_filters(self) -> None:
        for widget in (self.status_filter, self.kind_filter, self.search):
            widget.blockSignals(True)
        self.status_filter.setCurrentIndex(0)
        self.kind_filter.setCurrentIndex(0)
        self.search.clear()
        for widget in (self.status_filter, self.kind_filter, self.search):
            widget.blockSignals(False)
        self._apply_query()

    def clear_search(self) -> bool:
        """Clear the search box (True), if it has text."""
        if not self.search.text():
            return False
        self.search.clear()
        self._apply_query()
        return True

    # ------------------------------------------------------------------ queries
    def buttons(self) -> tuple[QPushButton, ...]:
        return (
            self.new_button,
            self.cancel_button,
            self.retry_button,
            self.duplicate_button,
            self.delete_button,
        )

    def selected_ids(self) -> list[int]:
        """The selected tasks' ids, in row order."""
        rows = sorted(i.row() for i in self.table.selectionModel().selectedRows())
        return [self.model.task_at(r).id for r in rows]

    def selected_tasks(self) -> list[TaskRecord]:
        return [t for i in self.selected_ids() if (t := self.model.task(i)) is not None]

    @property
    def current_id(self) -> int | None:
        return self._current

    # ------------------------------------------------------------------ events
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        self.model.tick()
        self._tick.start()

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802
        self._tick.stop()
        super().hideEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        # Delete reaches the table as a key press when no shortcut took it (a window Qt does
        # not count as active, see ui/shortcuts.py): do what the shortcut would have done.
        if (
            watched is self.table
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.key() == Qt.Key.Key_Delete
            and not event.modifiers()
        ):
            self._on_delete_button_clicked()
            return True
        return super().eventFilter(watched, event)

    # ------------------------------------------------------------------ slots
    def _on_selection_changed(self, *_args: object) -> None:
        if not self._restoring:
            self._wanted = (self.selected_ids(), self._wanted[1])
        self._update_actions()

    def _on_current_row_changed(self, *_args: object) -> None:
        index = self.table.currentIndex()
        task_id = self.model.task_at(index.row()).id if index.isValid() else None
        if not self._restoring:
            self._wanted = (self._wanted[0], task_id)
        if task_id != self._current:
            self._current = task_id
            self.task_selected.emit(task_id)

    def _on_model_rows_changed(self, *_args: object) -> None:
        self._update_empty()
        self._actions_due.start()
        if not self._restoring:
            self._on_current_row_changed()

    def _on_cancel_button_clicked(self) -> None:
        self._emit(self.cancel_requested, CANCELLABLE)

    def _on_retry_button_clicked(self) -> None:
        self._emit(self.retry_requested, RETRYABLE)

    def _on_duplicate_button_clicked(self) -> None:
        self._emit(self.duplicate_requested, TASK_STATUSES)

    def _on_delete_button_clicked(self) -> None:
        self._emit(self.delete_requested, TASK_STATUSES)

    # ------------------------------------------------------------------ internals
    def _setup_table(self, theme: Theme) -> None:
        table = self.table
        table.setObjectName("TaskTable")
        table.setAccessibleName("Tasks")
        table.setModel(self.model)
        table.setItemDelegateForColumn(PROGRESS, TaskProgressDelegate(theme, table))
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setShowGrid(False)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        table.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        table.setTabKeyNavigation(False)  # Tab leaves the table, arrows move in it
        rows = table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(ROW_HEIGHT)
        header = table.horizontalHeader()
        header.setHighlightSections(False)
        header.setSortIndicatorClearable(True)
        header.setSortIndicator(-1, Qt.SortOrder.DescendingOrder)
        for column, width in enumerate(COLUMN_WIDTHS):
            header.resizeSection(column, width)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        header.setToolTip(
            "Click a column to sort by it, again to reverse; a third click: newest first"
        )
        table.setSortingEnabled(True)

    def _emit(self, signal: SignalInstance, statuses: Sequence[str]) -> None:
        ids = [t.id for t in self.selected_tasks() if t.status in statuses]
        if ids:
            signal.emit(ids)

    def _timer(self, ms: int, slot: Callable[[], None], single: bool = False) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.setSingleShot(single)
        timer.timeout.connect(slot)
        return timer

    def _apply_query(self, *_args: object) -> None:
        query = TaskQuery(
            status=self.status_filter.currentData(),
            kind=self.kind_filter.currentData(),
            search=self.search.text().strip(),
        )
        if query == self.model.query:
            return
        self._restoring = True
        try:
            self.model.set_query(query)
        finally:
            self._restoring = False
        self._reselect(*self._wanted)

    def _reselect(self, ids: Sequence[int], current: int | None) -> None:
        """Select ``ids`` (those shown) and make ``current`` current, keeping them wanted."""
        self._restoring = True
        try:
            self._select(ids, current)
            self._on_current_row_changed()
        finally:
            self._restoring = False
        self._update_actions()

    def _select(self, ids: Sequence[int], current: int | None) -> None:
        selection = self.table.selectionModel()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for task_id in ids:
            row = self.model.row_of(task_id)
            if row is not None:
                selection.select(self.model.index(row, 0), flags)
        row = self.model.row_of(current) if current is not None else None
        if row is not None:
            selection.setCurrentIndex(
                self.model.index(row, NAME), QItemSelectionModel.SelectionFlag.NoUpdate
            )

    def _update_empty(self) -> None:
        empty = self.model.total() == 0
        self.empty_label.setText(EMPTY_TEXT if empty else "No tasks match these filters.")
        self.table_stack.setCurrentWidget(self.table if self.model.rowCount() else self.empty_label)

    def _update_actions(self) -> None:
        tasks = self.selected_tasks()
        self.cancel_button.setEnabled(any(t.status in CANCELLABLE for t in tasks))
        self.retry_button.setEnabled(any(t.status in RETRYABLE for t in tasks))
        for widget in (self.duplicate_button, self.delete_button):
            widget.setEnabled(bool(tasks))
        self.delete_action.setEnabled(bool(tasks))
        n = len(tasks)
        self.delete_button.setToolTip(
            f"Delete the {n} selected tasks (Delete)" if n > 1 else DELETE_TIP
        )
