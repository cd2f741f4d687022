"""TaskActions: what the Tasks panel's buttons do — the task dialog (and adding what it
returns), cancel, retry, duplicate, delete, and the Schedules tab (list, switch, delete).

Each action goes through the ``TaskService``; a record it returns is shown only if the table
does not have the task yet (its events, which may already be newer, keep the row current).
What fails is said once, after the rest of a multi-task action was done. The
``TasksPresenter`` owns this.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.records import NewSchedule, NewTask, TaskRecord
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.dialogs.task_dialog import TaskDialog
from keiko_desktop.ui.panels.tasks_panel import TasksPanel
from keiko_desktop.ui.task_runner import TaskRunner

if TYPE_CHECKING:
    from keiko_desktop.core.tasks.service import TaskService

Act = Callable[["TaskService", int], Awaitable[TaskRecord]]


class TaskActions(QObject):
    """The panel's actions (see the module docs).

    Signals:
        dialog_opened(object): the ``TaskDialog`` is on screen.
    """

    dialog_opened = Signal(object)

    def __init__(
        self,
        panel: TasksPanel,
        core: CoreHandle,
        service: Callable[[], Awaitable[TaskService]],
        tasks: TaskRunner,
        known: Callable[[TaskRecord], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.panel = panel
        self.dialog: TaskDialog | None = None
        self._core = core
        self._service = service
        self._tasks = tasks
        self._known = known
        page = panel.tasks_page
        page.cancel_requested.connect(self._on_page_cancel_requested)
        page.retry_requested.connect(self._on_page_retry_requested)
        page.duplicate_requested.connect(self._on_page_duplicate_requested)
        panel.new_requested.connect(self._on_panel_new_requested)
        panel.delete_confirmed.connect(self._on_panel_delete_confirmed)
        panel.schedules.new_requested.connect(self._on_schedules_new_requested)
        panel.schedules.enabled_changed.connect(self._on_schedules_enabled_changed)
        panel.schedules.delete_requested.connect(self._on_schedules_delete_requested)

    # ------------------------------------------------------------------ public
    def open_dialog(self, schedule: bool = False) -> None:
        self._tasks.spawn(self._open_dialog(schedule), "open the task dialog")

    async def list_schedules(self) -> None:
        service = await self._service()
        schedules = await service.list_schedules()
        self.panel.schedules.set_schedules(schedules, self.panel.model.kind_label)

    def close(self) -> None:
        if self.dialog is not None:
            self.dialog.reject()

    # ------------------------------------------------------------------ the dialog
    async def _open_dialog(self, schedule: bool) -> TaskDialog:
        service = await self._service()
        if self.dialog is None:
            self.dialog = TaskDialog(service.kinds, self.panel.theme, self.panel.window())
            self.dialog.task_requested.connect(self._on_dialog_task_requested)
            self.dialog.schedule_requested.connect(self._on_dialog_schedule_requested)
        core = await self._core.get()
        if core.agents is not None:
            names = [profile.name for profile in await core.agents.list_agents()]
            self.dialog.set_suggestions("agent", names)
        self.dialog.start()
        if schedule:
            self.dialog.when.set_mode("daily")
        self.dialog.open()
        self.dialog_opened.emit(self.dialog)
        return self.dialog

    async def _add(self, dialog: TaskDialog, new: NewTask | NewSchedule) -> None:
        service = await self._service()
        try:
            if isinstance(new, NewTask):
                task = await service.add(new)
            else:
                schedule = await service.add_schedule(new)
        except KeikoError as exc:
            dialog.show_error(exc)  # the field it names is focused
            return
        dialog.accept()
        if isinstance(new, NewTask):
            self._known(task)
            self.panel.select_task(task.id)
        else:
            await self.list_schedules()
            self.panel.tabs.setCurrentWidget(self.panel.schedules)
            self.panel.show_note(f"Scheduled “{one_line(schedule.name, 64)}”.")

    # ------------------------------------------------------------------ tasks
    async def _each(self, ids: Sequence[int], act: Act, done: str) -> list[TaskRecord]:
        """``act`` on each task; what failed is said once, after the rest were done."""
        service = await self._service()
        errors: list[KeikoError] = []
        made: list[TaskRecord] = []
        for task_id in ids:
            try:
                result = await act(service, task_id)
            except KeikoError as exc:
                errors.append(exc)
                continue
            made.append(result)
            self._known(result)
        if errors:
            first = errors[0]
            more = f" ({len(errors) - 1} more like it)" if len(errors) > 1 else ""
            self.panel.show_error(first.message + more, first.hint)
        else:
            n = len(ids)
            self.panel.show_note(done.format(n=n, s="" if n == 1 else "s"))
        return made

    async def _duplicate(self, ids: Sequence[int]) -> None:
        made = await self._each(ids, lambda s, i: s.duplicate(i), "Duplicated {n} task{s}.")
        if made:
            self.panel.select_task(made[-1].id)

    async def _delete(self, ids: Sequence[int]) -> None:
        service = await self._service()
        gone = await service.delete(list(ids))  # TaskError when one is running
        self.panel.model.remove(ids)
        self.panel.show_note(f"Deleted {gone} task{'' if gone == 1 else 's'}.")

    # ------------------------------------------------------------------ schedules
    async def _set_enabled(self, schedule_id: int, enabled: bool) -> None:
        service = await self._service()
        try:
            await service.set_schedule_enabled(schedule_id, enabled)
        finally:
            await self.list_schedules()  # also when it failed: the box shows the truth

    async def _delete_schedule(self, schedule_id: int) -> None:
        service = await self._service()
        await service.delete_schedule(schedule_id)
        await self.list_schedules()

    # ------------------------------------------------------------------ slots
    def _on_panel_new_requested(self) -> None:
        self.open_dialog()

    def _on_schedules_new_requested(self) -> None:
        self.open_dialog(schedule=True)

    def _on_page_cancel_requested(self, ids: list[int]) -> None:
        work = self._each(ids, lambda s, i: s.cancel(i), "Cancelling {n} task{s}.")
        self._tasks.spawn(work, "cancel tasks")

    def _on_page_retry_requested(self, ids: list[int]) -> None:
        work = self._each(ids, lambda s, i: s.retry(i), "Queued {n} task{s} again.")
        self._tasks.spawn(work, "retry tasks")

    def _on_page_duplicate_requested(self, ids: list[int]) -> None:
        self._tasks.spawn(self._duplicate(ids), "duplicate tasks")

    def _on_panel_delete_confirmed(self, ids: list[int]) -> None:
        self._tasks.spawn(self._delete(ids), "delete tasks")

    def _on_schedules_enabled_changed(self, schedule_id: int, enabled: bool) -> None:
        self._tasks.spawn(self._set_enabled(schedule_id, enabled), "switch a schedule")

    def _on_schedules_delete_requested(self, schedule_id: int) -> None:
        self._tasks.spawn(self._delete_schedule(schedule_id), "delete a schedule")

    def _on_dialog_task_requested(self, new: NewTask) -> None:
        if self.dialog is not None:
            self._tasks.spawn(self._add(self.dialog, new), "add a task")

    def _on_dialog_schedule_requested(self, new: NewSchedule) -> None:
        if self.dialog is not None:
            self._tasks.spawn(self._add(self.dialog, new), "add a schedule")
