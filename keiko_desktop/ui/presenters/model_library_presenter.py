"""ModelLibraryPresenter: feeds Settings > Models from the ``ModelLibrary`` and carries out what
the user asks there (download, pause, resume, remove, per-model options).

Every library call runs in a task of this presenter's ``TaskRunner``, never on the GUI thread's
time; a failure about one model is shown in its row. Progress arrives as
``ModelDownloadChanged`` through the ``EventBridge``, whether or not the page is on screen, so a
download that went on while Settings was closed shows where it is when it opens again.
"""

from __future__ import annotations

from PySide6.QtCore import QObject

from keiko_desktop.core.downloads import ModelDownloadChanged, ModelLibrary, ModelOptions
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.dialogs.model_library_page import ModelLibraryPage
from keiko_desktop.ui.dialogs.model_options_dialog import ModelOptionsDialog
from keiko_desktop.ui.task_runner import TaskRunner


class ModelLibraryPresenter(QObject):
    """Connects a ``ModelLibraryPage`` to a ``ModelLibrary``; lives with the page."""

    def __init__(
        self, page: ModelLibraryPage, library: ModelLibrary, bridge: EventBridge | None = None
    ) -> None:
        super().__init__(page)
        self.page = page
        self.library = library
        self.options_dialog: ModelOptionsDialog | None = None
        self.tasks = TaskRunner(self._show_error)
        page.download_requested.connect(self._on_page_download_requested)
        page.pause_requested.connect(self._on_page_pause_requested)
        page.remove_requested.connect(self._on_page_remove_requested)
        page.options_requested.connect(self._on_page_options_requested)
        if bridge is not None:
            bridge.model_download_changed.connect(self._on_bridge_model_download_changed)

    def refresh(self) -> None:
        """List the catalog as the library knows it now (installed files, downloads)."""
        self.page.set_models(self.library.catalog())

    # ------------------------------------------------------------------ events
    def _on_bridge_model_download_changed(self, event: ModelDownloadChanged) -> None:
        if event.state.status == "done":
            self.refresh()  # the model is installed now: its row offers Use and Remove
        self.page.update_download(event.state)

    # ------------------------------------------------------------------ requests
    def _on_page_download_requested(self, name: str) -> None:
        self.tasks.spawn(self._download(name), "download a model")

    async def _download(self, name: str) -> None:
        try:
            state = await self.library.download(name)
        except KeikoError as exc:
            self.page.show_error(exc, name)
            return
        self.page.update_download(state)

    def _on_page_pause_requested(self, name: str) -> None:
        self.tasks.spawn(self._pause(name), "pause a download")

    async def _pause(self, name: str) -> None:
        try:
            await self.library.pause(name)
        except KeikoError as exc:
            self.page.show_error(exc, name)

    def _on_page_remove_requested(self, name: str) -> None:
        self.tasks.spawn(self._remove(name), "remove a model")

    async def _remove(self, name: str) -> None:
        try:
            await self.library.remove(name)
        except KeikoError as exc:
            self.page.show_error(exc, name)
            return
        self.refresh()
        row = self.page.rows.get(name)
        self.page.show_status(f"Removed {row.model.title if row else name}.")

    def _on_page_options_requested(self, name: str) -> None:
        row = self.page.rows.get(name)
        title = row.model.title if row is not None else name
        if self.options_dialog is not None:
            self.options_dialog.close()
            self.options_dialog.deleteLater()
        dialog = ModelOptionsDialog(name, title, self.library.gpu_offload, self.page.window())
        dialog.set_options(self.library.options(name))
        dialog.saved.connect(self._on_options_dialog_saved)
        self.options_dialog = dialog
        dialog.open()

    def _on_options_dialog_saved(self, options: ModelOptions) -> None:
        dialog = self.options_dialog
        if dialog is None:
            return
        try:
            self.library.set_options(dialog.model, options)
        except KeikoError as exc:
            dialog.show_error(exc)
            return
        dialog.accept()
        self.page.show_status("Saved the model's options; they apply the next time it loads.")

    def _show_error(self, error: KeikoError) -> None:
        self.page.show_error(error)

    def close(self) -> None:
        self.tasks.close()
