"""TasksPresenter: drives the Tasks panel with the TaskService (``core.tasks``).

It lists the tasks when the page is first shown and then keeps the table current from the
bridge's events, a row at a time (``TaskUpdated``, ``TasksRemoved``; live progress is applied
at most every ``FRAME_MS``; ``TasksReloaded`` reads everything again). It shows the selected
task's attempts, subtasks and agent trace (read again when the task changes, and every
``LIVE_MS`` while it runs and the page is on screen: spans are stored in batches and have no
event of their own), and says who runs the tasks when it is another process. The buttons'
work (the dialog, cancel, retry, duplicate, delete, the schedules) is ``TaskActions``'s, in
``self.actions``. A finished or failed top-level task is announced in a toast (``task_notify``)
whether the page was ever opened or not; "Show" opens the page at the task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.events import (
    SchedulesChanged,
    TaskFinished,
    TaskOwnerChanged,
    TaskProgressed,
    TasksReloaded,
    TasksRemoved,
    TaskUpdated,
)
from keiko_desktop.core.tasks.records import (
    LeaseHolder,
    TaskFilter,
    TaskRecord,
)
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.dialogs.task_dialog import TaskDialog
from keiko_desktop.ui.panels.tasks_panel import TasksPanel
from keiko_desktop.ui.presenters.task_actions import TaskActions
from keiko_desktop.ui.task_runner import TaskRunner
from keiko_desktop.ui.widgets.toast import Toast, ToastOverlay

if TYPE_CHECKING:
    from keiko_desktop.core.tasks.service import TaskService

FRAME_MS = 33
LIVE_MS = 1000
LISTED = 10_000


class TasksUnavailableError(KeikoError):
    """This Core has no task service."""


def owner_text(holder: LeaseHolder | None) -> str:
    """The banner when another process runs the tasks ("" when nobody holds the lease)."""
    if holder is None:
        return ""
    if holder.role == "worker":
        where = f"`keiko tasks worker` (pid {holder.pid})"
    else:
        where = f"another Keiko window (pid {holder.pid})"
    return f"Tasks run in {where}; this window shows them and can add and cancel."


def finished_text(task: TaskRecord) -> tuple[str, str] | None:
    """The toast for a task that ended, and its tone (None: no toast, e.g. cancelled)."""
    name = one_line(task.name, 80) or f"Task {task.id}"
    if task.status == "completed":
        return f"Task “{name}” completed.", "ok"
    if task.status == "failed":
        reason = one_line(task.error or "it failed", 160)
        return f"Task “{name}” failed: {reason}", "error"
    return None


class TasksPresenter(QObject):
    """Owns the async work behind the Tasks panel (see the module docs).

    Signals:
        tasks_listed(): the table was (re)filled from the store.
        detail_shown(int): the detail pane shows this task's attempts, subtasks and trace.
        (``dialog_opened`` is ``actions``'s: the ``TaskDialog`` is on screen.)
    """

    tasks_listed = Signal()
    detail_shown = Signal(int)

    def __init__(
        self,
        panel: TasksPanel,
        toasts: ToastOverlay,
        core: CoreHandle,
        bridge: EventBridge,
        show_page: Callable[[], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self.toasts = toasts
        self._core = core
        self._show_page = show_page
        self.tasks = TaskRunner(self._show_error)
        self.actions = TaskActions(panel, core, self._service, self.tasks, self._known, self)
        self.dialog_opened = self.actions.dialog_opened
        self.loaded = asyncio.Event()
        self._pending: list[Callable[[], None]] | None = None
        """Events that arrived while the tasks were being read (None: not reading)."""
        self._relist = False
        self._detail_seq = 0
        self._progress: dict[int, tuple[float, str]] = {}
        self._frame = self._timer(FRAME_MS, self._on_frame_timeout, single=True)
        self._live = self._timer(LIVE_MS, self._on_live_timeout)

        panel.first_shown.connect(self._on_panel_first_shown)
        panel.tasks_page.task_selected.connect(self._on_page_task_selected)
        toasts.show_requested.connect(self._on_toasts_show_requested)
        bridge.task_updated.connect(self._on_bridge_task_updated)
        bridge.task_finished.connect(self._on_bridge_task_finished)
        bridge.task_progressed.connect(self._on_bridge_task_progressed)
        bridge.tasks_removed.connect(self._on_bridge_tasks_removed)
        bridge.tasks_reloaded.connect(self._on_bridge_tasks_reloaded)
        bridge.schedules_changed.connect(self._on_bridge_schedules_changed)
        bridge.task_owner_changed.connect(self._on_bridge_task_owner_changed)

    # ------------------------------------------------------------------ public
    async def load(self) -> None:
        """List the kinds, tasks and schedules, and who runs the tasks."""
        service = await self._service()
        self.panel.set_kinds([(k.name, k.label) for k in service.kinds])
        await self.list_tasks()
        await self.actions.list_schedules()
        await self.show_owner()

    async def list_tasks(self) -> None:
        """Read every task again. Events that arrive meanwhile are kept and replayed, in
        order, on top of what was read (each stored change has its event, so the last one
        wins); a listing asked for during another makes that one read again."""
        if self._pending is not None:
            self._relist = True
            return
        service = await self._service()
        self._pending = []
        try:
            while True:
                self._relist = False
                self._pending.clear()
                tasks = await service.list_tasks(TaskFilter(limit=LISTED))
                if not self._relist:
                    break
            self.panel.set_tasks(tasks)
            for replay in self._pending:
                replay()
        finally:
            self._pending = None
        self.loaded.set()
        self.tasks_listed.emit()

    async def show_owner(self) -> None:
        service = await self._service()
        holder = None if service.is_owner else await service.holder()
        self.panel.set_owner_text(owner_text(holder))

    async def show_detail(self, task_id: int) -> None:
        """The attempts, subtasks and trace of ``task_id`` (what the record alone lacks)."""
        self._detail_seq += 1
        seq = self._detail_seq
        service = await self._service()
        task = self.panel.model.task(task_id) or await service.get(task_id)
        attempts = await service.attempts(task_id)
        children = await service.children(task_id) if task.children else []
        spans = None
        core = await self._core.get()
        if task.run_id is not None and core.agents is not None:
            spans = await core.agents.spans(task.run_id)
        if seq != self._detail_seq or self.panel.current_id != task_id:
            return
        detail = self.panel.detail
        detail.set_task(self.panel.model.task(task_id) or task, self._label(task.kind))
        detail.set_attempts(attempts)
        detail.set_children(children)
        if spans is not None and task.run_id is not None:
            detail.set_spans(task.run_id, spans, live=task.status == "running")
        if task.status == "running" or task.waiting:
            self._live.start()
        else:
            self._live.stop()
        self.detail_shown.emit(task_id)

    async def open_task(self, task_id: int | None) -> None:
        """The Tasks page, at ``task_id`` (None: the page only)."""
        self._show_page()
        async with asyncio.timeout(30):
            await self.loaded.wait()
        if task_id is not None and not self.panel.select_task(task_id):
            self.panel.show_note("That task is gone.")

    @property
    def dialog(self) -> TaskDialog | None:
        """The task dialog, once it was opened."""
        return self.actions.dialog

    def open_dialog(self, schedule: bool = False) -> None:
        self.actions.open_dialog(schedule)

    def escape(self) -> None:
        """Esc on the Tasks page: dismiss a toast, else clear the search."""
        if self.toasts.current is not None:
            self.toasts.dismiss()
            return
        self.panel.escape()

    def close(self) -> None:
        for timer in (self._frame, self._live):
            timer.stop()
        self.tasks.close()
        self.actions.close()

    # ------------------------------------------------------------------ internals
    async def _service(self) -> TaskService:
        core = await self._core.get()
        if core.tasks is None:
            raise TasksUnavailableError(
                "Tasks are not available in this window.", "Start Keiko again to use them."
            )
        return core.tasks

    def _label(self, kind: str) -> str:
        return self.panel.model.kind_label(kind)

    def _apply(self, task: TaskRecord) -> None:
        """A stored change of ``task`` (its event): into the table, and the detail if shown."""
        self._progress.pop(task.id, None)  # the record's progress is newer
        self.panel.model.upsert(task)
        if self.panel.current_id == task.id:
            self.panel.detail.set_task(task, self._label(task.kind))
            self.tasks.spawn(self.show_detail(task.id), "show a task")

    def _known(self, task: TaskRecord) -> None:
        """What an action returned: shown if the table does not have it yet (else its
        events, which may already be newer, keep the row current)."""
        if self.loaded.is_set() and self.panel.model.task(task.id) is None:
            self._apply(task)

    def _on_event(self, replay: Callable[[], None]) -> None:
        if self._pending is not None:
            self._pending.append(replay)
        elif self.loaded.is_set():
            replay()

    def _show_error(self, error: KeikoError) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.show_error(error)
        else:
            self.panel.show_error(error.message, error.hint)

    def _timer(self, ms: int, slot: Callable[[], None], single: bool = False) -> QTimer:
        timer = QTimer(self)
        timer.setInterval(ms)
        timer.setSingleShot(single)
        timer.timeout.connect(slot)
        return timer

    def _notify(self, task: TaskRecord) -> None:
        core = self._core.current
        if core is None or not core.settings.task_notify or task.parent_id is not None:
            return
        said = finished_text(task)
        if said is not None:
            text, tone = said
            self.toasts.notify(Toast(text, task.id, tone))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ slots
    def _on_panel_first_shown(self) -> None:
        self.tasks.spawn(self.load(), "list the tasks")

    def _on_page_task_selected(self, task_id: int | None) -> None:
        self._live.stop()
        if task_id is None:
            self.panel.detail.set_task(None)
            return
        task = self.panel.model.task(task_id)
        if task is not None:
            self.panel.detail.set_task(task, self._label(task.kind))
        self.tasks.spawn(self.show_detail(task_id), "show a task")

    def _on_toasts_show_requested(self, task_id: int | None) -> None:
        self.tasks.spawn(self.open_task(task_id), "show a task")

    def _on_bridge_task_updated(self, event: TaskUpdated) -> None:
        self._on_event(lambda: self._apply(event.task))

    def _on_bridge_task_finished(self, event: TaskFinished) -> None:
        self._notify(event.task)

    def _on_bridge_task_progressed(self, event: TaskProgressed) -> None:
        if self.loaded.is_set():
            self._progress[event.task_id] = (event.progress, event.text)
            if not self._frame.isActive():
                self._frame.start()

    def _on_frame_timeout(self) -> None:
        updates, self._progress = self._progress, {}
        for task_id, (progress, text) in updates.items():
            self.panel.model.set_progress(task_id, progress, text)
            if task_id == self.panel.current_id:
                self.panel.detail.set_progress(progress, text)

    def _on_bridge_tasks_removed(self, event: TasksRemoved) -> None:
        self._on_event(lambda: self.panel.model.remove(event.task_ids))

    def _on_bridge_tasks_reloaded(self, _event: TasksReloaded) -> None:
        if self.loaded.is_set() or self._pending is not None:
            self.tasks.spawn(self.list_tasks(), "list the tasks")

    def _on_bridge_schedules_changed(self, _event: SchedulesChanged) -> None:
        if self.loaded.is_set():
            self.tasks.spawn(self.actions.list_schedules(), "list the schedules")

    def _on_bridge_task_owner_changed(self, event: TaskOwnerChanged) -> None:
        if event.owner:
            self.panel.set_owner_text("")
        else:
            self.tasks.spawn(self.show_owner(), "say who runs the tasks")

    def _on_live_timeout(self) -> None:
        task_id = self.panel.current_id
        if task_id is not None and self.panel.isVisible():
            self.tasks.spawn(self.show_detail(task_id), "show a task")
