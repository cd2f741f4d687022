"""EndpointsPresenter: feeds Settings > Endpoints from the ``EndpointManager`` and carries out
Add / Edit (``EndpointDialog``), Remove and Test.

Every manager call runs in a task of this presenter's ``TaskRunner``. Saving hands the API key
to ``EndpointManager.save`` once (the dialog has emptied its field by then) and shows the status
the manager returns: an endpoint that answered closes the dialog; one that did not leaves it
open with what the server said, to fix the URL or key. ``changed`` tells the Settings dialog
to regroup its model chooser.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from keiko_desktop.core.endpoints import (
    Endpoint,
    EndpointManager,
    EndpointStatus,
    EndpointStatusChanged,
)
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.dialogs.endpoint_dialog import EndpointDialog, status_text
from keiko_desktop.ui.dialogs.endpoints_page import EndpointsPage
from keiko_desktop.ui.task_runner import TaskRunner


class EndpointsPresenter(QObject):
    """Connects an ``EndpointsPage`` to an ``EndpointManager``; lives with the page.

    Signals:
        changed(): an endpoint was saved, removed or checked (its models may differ).
    """

    changed = Signal()

    def __init__(
        self, page: EndpointsPage, manager: EndpointManager, bridge: EventBridge | None = None
    ) -> None:
        super().__init__(page)
        self.page = page
        self.manager = manager
        self.dialog: EndpointDialog | None = None
        self.tasks = TaskRunner(self._show_error)
        page.add_requested.connect(self._on_page_add_requested)
        page.edit_requested.connect(self._on_page_edit_requested)
        page.remove_requested.connect(self._on_page_remove_requested)
        page.test_requested.connect(self._on_page_test_requested)
        if bridge is not None:
            bridge.endpoint_status_changed.connect(self._on_bridge_endpoint_status_changed)

    def statuses(self) -> list[EndpointStatus]:
        return [self.manager.status(e.name) for e in self.manager.endpoints()]

    def refresh(self) -> None:
        endpoints = self.manager.endpoints()
        self.page.set_endpoints(endpoints, {s.name: s for s in self.statuses()})

    def close(self) -> None:
        self.tasks.close()
        if self.dialog is not None:
            self.dialog.close()

    # ------------------------------------------------------------------ events
    def _on_bridge_endpoint_status_changed(self, event: EndpointStatusChanged) -> None:
        name = event.status.name
        if event.removed or name in self.page.endpoints:
            self.page.update_status(event.status, event.removed)
        else:
            self.refresh()  # added elsewhere (the CLI, another window)
        self.changed.emit()

    # ------------------------------------------------------------------ the dialog
    def open_dialog(self, endpoint: Endpoint | None) -> EndpointDialog:
        if self.dialog is not None:
            self.dialog.close()
            self.dialog.deleteLater()
        dialog = EndpointDialog(endpoint, self.page.window())
        dialog.save_requested.connect(self._on_dialog_save_requested)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _on_page_add_requested(self) -> None:
        self.open_dialog(None)

    def _on_page_edit_requested(self, name: str) -> None:
        endpoint = self.page.endpoints.get(name)
        if endpoint is not None:
            self.open_dialog(endpoint)

    def _on_dialog_save_requested(self, endpoint: Endpoint, api_key: str | None) -> None:
        dialog = self.dialog
        if dialog is not None:
            self.tasks.spawn(self._save(dialog, endpoint, api_key), "save an endpoint")

    async def _save(self, dialog: EndpointDialog, endpoint: Endpoint, api_key: str | None) -> None:
        try:
            status = await self.manager.save(endpoint, api_key)
        except KeikoError as exc:
            dialog.show_error(exc)
            return
        saved = next((e for e in self.manager.endpoints() if e.name == endpoint.name), endpoint)
        self.refresh()
        self.page.update_status(status)
        self.page.show_status(f"Saved {endpoint.name}: {status_text(status)}.")
        self.changed.emit()
        if dialog is not self.dialog:
            return
        dialog.set_endpoint(saved)
        dialog.show_status(status)
        if status.state == "online":
            dialog.accept()

    # ------------------------------------------------------------------ remove, test
    def _on_page_remove_requested(self, name: str) -> None:
        self.tasks.spawn(self._remove(name), "remove an endpoint")

    async def _remove(self, name: str) -> None:
        await self.manager.remove(name)
        self.refresh()
        self.page.show_status(f"Removed the endpoint {name}.")
        self.changed.emit()

    def _on_page_test_requested(self, name: str) -> None:
        self.tasks.spawn(self._test(name), "check an endpoint")

    async def _test(self, name: str) -> None:
        status = await self.manager.check(name)
        self.page.update_status(status)
        self.page.show_status(f"{name} is {status_text(status)}.")
        self.changed.emit()

    def _show_error(self, error: KeikoError) -> None:
        self.page.show_error(error)
