"""TasksPanel: the Tasks page — every background task, the selected one's details, and the
schedules that make tasks.

Two tabs: Tasks (``TaskListPage``: the toolbar, the filters, the table and the detail) and
Schedules (``SchedulesPage``). Above them, a banner when another process runs the tasks
("Tasks run in `keiko tasks worker` (pid N); …") and a dismissable notice for trouble.
Passive, like every panel: its children emit what the user wants and the ``TasksPresenter``
does it; the panel only asks first where that is its job: deleting more than one task.

Keys: Ctrl+Shift+N new task (Ctrl+N stays the window's New chat), Delete in the table deletes
the selected tasks, the window's Esc dismisses a toast or clears the search.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeyEvent, QKeySequence, QShowEvent
from PySide6.QtWidgets import (
    QLabel,
    QMessageBox,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.core.tasks.records import TaskRecord
from keiko_desktop.ui.dialogs.question import question_box
from keiko_desktop.ui.panels.agents_panel import panel_style
from keiko_desktop.ui.panels.chat_panel import InlineNotice
from keiko_desktop.ui.panels.task_list_page import TaskListPage
from keiko_desktop.ui.panels.task_schedules_page import SchedulesPage
from keiko_desktop.ui.theme import LIGHT, Theme

NEW_TASK_KEYS = "Ctrl+Shift+N"


def tasks_style(t: Theme) -> str:
    """The Agents page's look (buttons, tabs, tables), scoped to this page, and its own."""
    return panel_style(t).replace("#AgentsPanel", "#TasksPanel") + (
        f"#TasksPanel #TasksBanner {{ background: {t.user_bubble}; color: {t.text};"
        f" border: 1px solid {t.border}; border-radius: 6px; padding: 6px 10px; }}\n"
        f"#TasksPanel QComboBox {{ padding: 3px 8px; }}\n"
        f"#TasksPanel QScrollArea#TasksScroll, #TasksPanel #TasksInner {{"
        f" background: {t.window}; border: none; }}\n"
    )


NOTE_SECONDS = 4.0


class TasksPanel(QWidget):
    """The Tasks page (see the module docs).

    Signals:
        first_shown(): the page is on screen for the first time (the presenter loads then).
        new_requested(): New task… (the button or Ctrl+Shift+N).
        delete_confirmed(object): delete these task ids (asked first when more than one).
        (The tabs' own signals: ``tasks_page`` — task_selected, cancel_requested,
        retry_requested, duplicate_requested — and ``schedules``.)
    """

    first_shown = Signal()
    new_requested = Signal()
    delete_confirmed = Signal(object)

    def __init__(self, theme: Theme = LIGHT, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("TasksPanel")
        self.theme = theme
        self._shown = False
        self.confirm: QMessageBox | None = None
        self.tasks_page = TaskListPage(theme, self)
        self.model = self.tasks_page.model
        self.table = self.tasks_page.table
        self.detail = self.tasks_page.detail
        self.schedules = SchedulesPage(self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("TaskTabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.tasks_page, "&Tasks")
        self.tabs.addTab(self.schedules, "Schedu&les")
        self.tabs.tabBar().setAccessibleName("Task pages")
        self.tabs.setTabToolTip(0, "Every task, its progress and result")
        self.tabs.setTabToolTip(1, "Schedules that make tasks when they are due")
        self.banner = QLabel(self)
        self.banner.setObjectName("TasksBanner")
        self.banner.setTextFormat(Qt.TextFormat.PlainText)
        self.banner.setWordWrap(True)
        self.banner.setAccessibleName("Who runs the tasks")
        self.banner.hide()
        self.notice = InlineNotice(theme, self)
        self.notice.label.setTextFormat(Qt.TextFormat.PlainText)  # errors may quote a task
        self.notice.close_button.setAccessibleName("Dismiss")
        self.note = QLabel(self)
        self.note.setObjectName("PlaceholderText")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.hide()
        self._note_timer = QTimer(self)
        self._note_timer.setSingleShot(True)
        self._note_timer.timeout.connect(self.note.hide)
        inner = QWidget(self)
        inner.setObjectName("TasksInner")
        top = QVBoxLayout()
        top.setContentsMargins(16, 8, 16, 0)
        top.setSpacing(6)
        for widget in (self.banner, self.notice, self.note):
            top.addWidget(widget)
        inner_layout = QVBoxLayout(inner)
        inner_layout.setContentsMargins(0, 0, 0, 0)
        inner_layout.setSpacing(0)
        inner_layout.addLayout(top)
        inner_layout.addWidget(self.tabs, 1)
        # Scrolls only in a window narrower than the page needs: the page's own minimum
        # never widens the window (the stack of pages takes the widest one's), as on Agents.
        self.scroller = QScrollArea(self)
        self.scroller.setObjectName("TasksScroll")
        self.scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        self.scroller.setWidgetResizable(True)
        self.scroller.setWidget(inner)
        self.scroller.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.scroller)

        self.new_action = QAction("New task", self)
        self.new_action.setShortcut(QKeySequence(NEW_TASK_KEYS))
        self.new_action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.addAction(self.new_action)
        self.new_action.triggered.connect(self.new_requested)
        self.tasks_page.new_requested.connect(self.new_requested)
        self.tasks_page.delete_requested.connect(self._on_tasks_page_delete_requested)
        self.notice.close_button.clicked.connect(self.clear_error)
        self.set_theme(theme)

    # ------------------------------------------------------------------ setters
    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setStyleSheet(tasks_style(theme))
        self.tasks_page.set_theme(theme)
        self.notice.set_theme(theme)

    def set_kinds(self, kinds: Sequence[tuple[str, str]]) -> None:
        self.tasks_page.set_kinds(kinds)

    def set_tasks(self, tasks: Sequence[TaskRecord]) -> None:
        self.tasks_page.set_tasks(tasks)

    def select_task(self, task_id: int) -> bool:
        """Show the Tasks tab with ``task_id`` selected; False when it is not known."""
        self.tabs.setCurrentWidget(self.tasks_page)
        return self.tasks_page.select_task(task_id)

    def set_owner_text(self, text: str) -> None:
        """The banner: who runs the tasks when it is not this window ("" hides it)."""
        self.banner.setText(one_line(text, 300))
        self.banner.setVisible(bool(text))

    def show_error(self, message: str, hint: str = "") -> None:
        self.note.hide()
        self.notice.show_message(printable(message), printable(hint))

    def clear_error(self) -> None:
        self.notice.hide()

    def show_note(self, text: str) -> None:
        """A line of news (deleted, scheduled), for ``NOTE_SECONDS`` or until the next one
        or an error."""
        self.notice.hide()
        self.note.setText(one_line(text, 300))
        self.note.show()
        self._note_timer.start(int(NOTE_SECONDS * 1000))

    def escape(self) -> bool:
        """Esc on the page: clear the search, else the notice (True if it did either)."""
        if self.tasks_page.clear_search():
            return True
        if not self.notice.isHidden():
            self.clear_error()
            return True
        return False

    # ------------------------------------------------------------------ queries
    @property
    def current_id(self) -> int | None:
        return self.tasks_page.current_id

    @property
    def error_text(self) -> str:
        """The notice's text ("" when none is shown)."""
        return self.notice.label.text() if not self.notice.isHidden() else ""

    # ------------------------------------------------------------------ events
    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802
        super().showEvent(event)
        if not self._shown:
            self._shown = True
            self.first_shown.emit()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802
        # Ctrl+Shift+N reaches the page as a key press when no shortcut took it (a window Qt
        # does not count as active, see ui/shortcuts.py): do what the shortcut would have.
        if QKeySequence(event.keyCombination()) == QKeySequence(NEW_TASK_KEYS):
            self.new_requested.emit()
            return
        super().keyPressEvent(event)

    # ------------------------------------------------------------------ slots
    def _on_tasks_page_delete_requested(self, ids: list[int]) -> None:
        if len(ids) == 1:
            self.delete_confirmed.emit(ids)
            return
        self._confirm(
            "Delete tasks?",
            f"Delete the {len(ids)} selected tasks, with their results and subtasks?",
            "Delete",
            lambda result: self._on_delete_confirm_finished(result, ids),
        )

    def _on_delete_confirm_finished(self, result: int, ids: list[int]) -> None:
        self._close_confirm()
        if result == QMessageBox.StandardButton.Yes.value:
            self.delete_confirmed.emit(ids)

    # ------------------------------------------------------------------ internals
    def _confirm(self, title: str, text: str, yes: str, done: Callable[[int], None]) -> None:
        self._close_confirm()
        self.confirm = question_box(self, title, text, yes, done)

    def _close_confirm(self) -> None:
        box, self.confirm = self.confirm, None
        if box is not None:
            box.deleteLater()
