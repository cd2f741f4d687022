"""TaskTableModel: every task as a row of a table (name, kind, status, priority, progress,
started, duration), filtered and sorted in the model, changed one row at a time.

Built for 10,000 tasks with updates arriving live: a ``TaskUpdated`` replaces one record and
emits ``dataChanged`` for that row only (or moves the row, keeping the selection, when its sort
key changed), a new task is one ``beginInsertRows``, progress repaints one cell, and the
once-a-second tick repaints only the duration cells of running rows. Rows are found by binary
search over the sort keys cached per task (the id -> row index: O(log n), and nothing to
renumber when a task is inserted above the others); sorting and filtering are plain Python over
the records, a few milliseconds for 10,000, where a ``QSortFilterProxyModel`` would call back
into Python for every comparison. Names, results and errors come from users, models and tools:
shown escaped (``core.safe_text``).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)
from PySide6.QtGui import QColor, QPainter, QPixmap

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.clock import utc_now
from keiko_desktop.core.tasks.records import TASK_STATUSES, TaskRecord, priority_rank
from keiko_desktop.ui.theme import LIGHT, Theme
from keiko_desktop.ui.widgets.task_text import (
    TaskQuery,
    duration_of,
    duration_text,
    matches,
    started_text,
    status_colour,
    status_text,
)

COLUMNS = ("Name", "Kind", "Status", "Priority", "Progress", "Started", "Duration")
NAME, KIND, STATUS, PRIORITY, PROGRESS, STARTED, DURATION = range(len(COLUMNS))
ID_ROLE = Qt.ItemDataRole.UserRole
TASK_ROLE = Qt.ItemDataRole.UserRole + 1
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 2
"""The progress column's value, 0 to 100 (None: no bar: the task has not started)."""
STATUS_ROLE = Qt.ItemDataRole.UserRole + 3
TICK_RANGE = 64
"""More running rows than this are repainted as one range per tick (one signal, not many)."""
AnyIndex = QModelIndex | QPersistentModelIndex
SortKey = tuple[Any, int]


class TaskTableModel(QAbstractTableModel):
    """The tasks (see the module docs). Passive: the presenter feeds it records and events.

    Signals: the model's own (``dataChanged``, rows inserted, moved, removed).
    """

    def __init__(
        self,
        theme: Theme = LIGHT,
        now: Callable[[], datetime] = utc_now,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.theme = theme
        self._now = now
        self._tasks: dict[int, TaskRecord] = {}
        self._order: list[int] = []
        """The shown ids, ascending by ``_keys`` (row = position, or reversed)."""
        self._keys: dict[int, SortKey] = {}
        """The sort key of each shown id, as it was when the row was placed."""
        self._running: set[int] = set()
        self._labels: dict[str, str] = {}
        self._query = TaskQuery()
        self._column = -1
        self._descending = True
        self._dots: dict[str, QPixmap] = {}
        self._still: dict[int, tuple[TaskRecord, tuple[str, str, str, str]]] = {}
        """Per task, its record and the texts made from it that do not tick (paints are
        many, strftime and the escaping are not free)."""

    # ------------------------------------------------------------------ feeding
    def set_kind_labels(self, labels: Mapping[str, str]) -> None:
        self._labels = dict(labels)
        self._still.clear()
        if self._order:
            self._changed(0, len(self._order) - 1, KIND, KIND)

    def set_tasks(self, tasks: Iterable[TaskRecord]) -> None:
        """Show these tasks instead (a reset: the view's selection goes)."""
        self.beginResetModel()
        self._tasks = {t.id: t for t in tasks}
        self._still.clear()
        self._rebuild()
        self.endResetModel()

    def upsert(self, task: TaskRecord) -> None:
        """A stored change of ``task`` (``TaskUpdated``): one row changed, moved, inserted or
        removed (when it no longer matches the query)."""
        self._tasks[task.id] = task
        shown = task.id in self._keys
        wanted = self._accepts(task)
        if shown and not wanted:
            self._remove_position(self._position(task.id))
        elif wanted and not shown:
            self._insert(task)
        elif shown:
            self._replace(task)

    def set_progress(self, task_id: int, progress: float, text: str = "") -> None:
        """Live progress (``TaskProgressed``): one cell, unless rows are sorted by it."""
        task = self._tasks.get(task_id)
        if task is None or (task.progress == progress and task.progress_text == text):
            return
        task = replace(task, progress=progress, progress_text=text)
        if self._column == PROGRESS:
            self.upsert(task)
            return
        self._tasks[task_id] = task
        if task_id in self._keys:
            row = self._row(self._position(task_id))
            self._changed(row, row, PROGRESS, PROGRESS)

    def remove(self, task_ids: Iterable[int]) -> None:
        """Tasks deleted (``TasksRemoved``): their rows go, a range at a time, the last rows
        first (so each range is given in the rows the view had)."""
        gone = list(task_ids)
        positions = [self._position(i) for i in gone if i in self._keys]
        ranges: list[tuple[int, int]] = []
        for row in sorted(self._row(p) for p in positions):
            if ranges and ranges[-1][1] == row - 1:
                ranges[-1] = (ranges[-1][0], row)
            else:
                ranges.append((row, row))
        for first, last in reversed(ranges):  # rows above a removed range keep their number
            self._remove_rows(first, last)
        for task_id in gone:
            self._tasks.pop(task_id, None)
            self._still.pop(task_id, None)

    def tick(self) -> None:
        """Repaint the duration of running rows (the panel's timer, once a second)."""
        rows = sorted(self._row(self._position(i)) for i in self._running)
        if not rows:
            return
        if len(rows) > TICK_RANGE:
            self._changed(rows[0], rows[-1], DURATION, DURATION)
            return
        for row in rows:
            self._changed(row, row, DURATION, DURATION)

    def set_query(self, query: TaskQuery) -> None:
        if query == self._query:
            return
        self._query = query
        self.beginResetModel()
        self._rebuild()
        self.endResetModel()

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self._dots.clear()
        if self._order:
            self._changed(0, len(self._order) - 1, STATUS, STATUS)

    # ------------------------------------------------------------------ queries
    @property
    def query(self) -> TaskQuery:
        return self._query

    @property
    def sort_column(self) -> int:
        return self._column

    def task(self, task_id: int) -> TaskRecord | None:
        return self._tasks.get(task_id)

    def task_at(self, row: int) -> TaskRecord:
        return self._tasks[self._order[self._position_of_row(row)]]

    def row_of(self, task_id: int) -> int | None:
        """The row showing ``task_id`` (None: unknown, or filtered out)."""
        if task_id not in self._keys:
            return None
        return self._row(self._position(task_id))

    def task_ids(self) -> list[int]:
        """The shown ids, in row order."""
        return self._order[::-1] if self._descending else list(self._order)

    def total(self) -> int:
        """Every task known, shown or not."""
        return len(self._tasks)

    def kind_label(self, kind: str) -> str:
        return self._labels.get(kind, kind)

    # ------------------------------------------------------------------ Qt
    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return COLUMNS[section]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return _ALIGNMENTS[section]
        return None

    def flags(self, index: AnyIndex) -> Qt.ItemFlag:
        return _FLAGS if index.isValid() else Qt.ItemFlag.NoItemFlags

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # Called some eight times per cell per paint: roles it does not serve go first, and
        # the row is looked up inline (a painted screenful is some 700 calls).
        if role not in _SERVED:
            return None
        row, order = index.row(), self._order
        n = len(order)
        if not 0 <= row < n:
            return None
        task = self._tasks[order[n - 1 - row] if self._descending else order[row]]
        column = index.column()
        if role == _DISPLAY:
            return self._text(task, column)
        if role == _ALIGN:
            return _ALIGNMENTS[column]
        if role == _DECORATION:
            return self._dot(status_colour(task.status, self.theme)) if column == STATUS else None
        if role == _TOOLTIP:
            return self._tip(task, column)
        if role == _ACCESSIBLE:
            return self._spoken(task, column)
        if role == ID_ROLE:
            return task.id
        if role == TASK_ROLE:
            return task
        if role == PROGRESS_ROLE:
            return self.data_progress(task) if column == PROGRESS else None
        return task.status  # STATUS_ROLE

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by ``column``; -1 (no column): newest first. Selected rows stay selected."""
        descending = order == Qt.SortOrder.DescendingOrder if column >= 0 else True
        if not 0 <= column < len(COLUMNS):
            column = -1
        self.layoutAboutToBeChanged.emit()
        ids = self.task_ids()
        kept = [(p, ids[p.row()] if p.isValid() else None) for p in self._persistent()]
        self._column, self._descending = column, descending
        self._keys = {i: self._key(self._tasks[i]) for i in self._order}
        self._order.sort(key=self._keys.__getitem__)
        for persistent, task_id in kept:
            if task_id is None or task_id not in self._keys:
                continue
            row = self._row(self._position(task_id))
            self.changePersistentIndex(persistent, self.index(row, persistent.column()))
        self.layoutChanged.emit()

    # ------------------------------------------------------------------ internals
    def _persistent(self) -> list[QModelIndex]:
        return list(self.persistentIndexList())

    def _accepts(self, task: TaskRecord) -> bool:
        return matches(task, self._query, self.kind_label(task.kind), self._query.words())

    def _rebuild(self) -> None:
        words = self._query.words()
        shown = [
            t
            for t in self._tasks.values()
            if matches(t, self._query, self.kind_label(t.kind), words)
        ]
        self._keys = {t.id: self._key(t) for t in shown}
        self._order = sorted(self._keys, key=self._keys.__getitem__)
        self._running = {t.id for t in shown if t.status == "running"}

    def _key(self, task: TaskRecord) -> SortKey:
        column = self._column
        if column == NAME:
            return (task.name.casefold(), task.id)
        if column == KIND:
            return (self.kind_label(task.kind).casefold(), task.id)
        if column == STATUS:
            return (TASK_STATUSES.index(task.status), task.id)
        if column == PRIORITY:
            return (priority_rank(task.priority), task.id)
        if column == PROGRESS:
            return (task.progress, task.id)
        if column == STARTED:
            return (task.started_at.timestamp() if task.started_at else -1.0, task.id)
        if column == DURATION:
            seconds = duration_of(task, self._now())
            return (-1.0 if seconds is None else seconds, task.id)
        return (task.id, task.id)

    def _position(self, task_id: int) -> int:
        key = self._keys[task_id]
        position = bisect.bisect_left(self._order, key, key=self._keys.__getitem__)
        assert self._order[position] == task_id, task_id
        return position

    def _row(self, position: int) -> int:
        return len(self._order) - 1 - position if self._descending else position

    def _position_of_row(self, row: int) -> int:
        return self._row(row)  # the mapping is its own inverse

    def _insert(self, task: TaskRecord) -> None:
        key = self._key(task)
        n = len(self._order)
        position = bisect.bisect_left(self._order, key, key=self._keys.__getitem__)
        row = n - position if self._descending else position
        self.beginInsertRows(QModelIndex(), row, row)
        self._keys[task.id] = key
        self._order.insert(position, task.id)
        self._track(task)
        self.endInsertRows()

    def _replace(self, task: TaskRecord) -> None:
        key = self._key(task)
        old = self._position(task.id)
        source = self._row(old)
        self._track(task)
        if key == self._keys[task.id]:
            self._changed(source, source, 0, len(COLUMNS) - 1)
            return
        at = bisect.bisect_left(self._order, key, key=self._keys.__getitem__)
        new = at - 1 if at > old else at  # its place once it is taken out of ``old``
        final = len(self._order) - 1 - new if self._descending else new
        moved = final != source
        if moved:
            target = final + 1 if final > source else final
            self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), target)
        del self._order[old]
        self._keys[task.id] = key
        self._order.insert(new, task.id)
        if moved:
            self.endMoveRows()
        self._changed(final, final, 0, len(COLUMNS) - 1)

    def _remove_position(self, position: int) -> None:
        row = self._row(position)
        self._remove_rows(row, row)

    def _remove_rows(self, first: int, last: int) -> None:
        """Remove rows ``first``..``last`` (one contiguous range)."""
        ends = sorted((self._position_of_row(first), self._position_of_row(last)))
        self.beginRemoveRows(QModelIndex(), first, last)
        for task_id in self._order[ends[0] : ends[1] + 1]:
            del self._keys[task_id]
            self._running.discard(task_id)
        del self._order[ends[0] : ends[1] + 1]
        self.endRemoveRows()

    def _track(self, task: TaskRecord) -> None:
        if task.status == "running":
            self._running.add(task.id)
        else:
            self._running.discard(task.id)

    def _changed(self, first: int, last: int, left: int, right: int) -> None:
        self.dataChanged.emit(self.index(first, left), self.index(last, right))

    def _text(self, task: TaskRecord, column: int) -> str:
        if column in _STILL:
            fixed = self._still.get(task.id)
            if fixed is None or fixed[0] is not task:  # a new record of it: made again
                fixed = (task, self._still_texts(task))
                self._still[task.id] = fixed
            return fixed[1][_STILL[column]]
        if column == STATUS:
            return status_text(task, self._now())
        if column == PROGRESS:
            return f"{task.progress:.0f} %" if self.data_progress(task) is not None else ""
        if column == DURATION:
            return duration_text(duration_of(task, self._now()))
        return ""

    def _still_texts(self, task: TaskRecord) -> tuple[str, str, str, str]:
        """The texts that change only with the record: name, kind, priority, started."""
        return (
            one_line(task.name, 200) or f"Task {task.id}",
            one_line(self.kind_label(task.kind), 60),
            task.priority.capitalize(),
            started_text(task.started_at),
        )

    @staticmethod
    def data_progress(task: TaskRecord) -> float | None:
        return None if task.status == "pending" and not task.progress else task.progress

    def _tip(self, task: TaskRecord, column: int) -> str | None:
        if column == PROGRESS and task.progress_text:
            return one_line(task.progress_text, 300)
        if column in (NAME, STATUS) and task.error:
            return f"{one_line(task.name, 200)}\n{one_line(task.error, 300)}"
        if column == NAME:
            return one_line(task.name, 300)
        return None

    def _spoken(self, task: TaskRecord, column: int) -> str:
        if column != NAME:
            text = self._text(task, column)
            return f"{COLUMNS[column]}: {text}" if text else f"{COLUMNS[column]}: none"
        parts = [self._text(task, NAME), status_text(task, self._now())]
        parts.append(self._text(task, KIND))
        if task.status == "running":
            parts.append(f"{task.progress:.0f} percent")
        return " — ".join(parts)

    def _dot(self, colour: str) -> QPixmap:
        pixmap = self._dots.get(colour)
        if pixmap is None:
            pixmap = QPixmap(10, 10)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(colour))
            painter.drawEllipse(1, 1, 8, 8)
            painter.end()
            self._dots[colour] = pixmap
        return pixmap


def _alignment(column: int) -> int:
    vertical = Qt.AlignmentFlag.AlignVCenter
    if column in (PROGRESS, DURATION):
        return int(Qt.AlignmentFlag.AlignRight | vertical)
    return int(Qt.AlignmentFlag.AlignLeft | vertical)


_STILL = {NAME: 0, KIND: 1, PRIORITY: 2, STARTED: 3}
"""The columns whose text changes only with the record, and where it is in the cache."""
_ALIGNMENTS = tuple(_alignment(column) for column in range(len(COLUMNS)))
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_ALIGN = int(Qt.ItemDataRole.TextAlignmentRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole)
_SERVED = frozenset(
    {_DISPLAY, _ALIGN, _DECORATION, _TOOLTIP, _ACCESSIBLE}
    | {int(r) for r in (ID_ROLE, TASK_ROLE, PROGRESS_ROLE, STATUS_ROLE)}
)
