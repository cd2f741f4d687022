"""SettingsPresenter: opens the Settings dialog, applies and saves what the user chose.

``Core.update_settings`` saves them and publishes ``SettingsChanged``; what follows is each
setting's declared effect (``core.config.Effect``): a setting that reloads the model does so in
the background (a message sent meanwhile waits for it), the theme applies here at once. Its
Tools… button opens Settings > Tools (``ToolsDialog`` with its ``ToolsPresenter``) once the tool
servers have started; "Empty trash now" (confirmed in the dialog) calls ``Core.empty_trash``.
Settings > Models and Settings > Endpoints get their own presenters (``ModelLibraryPresenter``,
``EndpointsPresenter``) when the Core has a model library and an endpoint manager; a GGUF file
added there or with "Add GGUF file…" is checked in a worker thread (it reads the file's header).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from keiko_desktop.core.config import Settings
from keiko_desktop.core.endpoints import EndpointStatus
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.dialogs.settings_dialog import SettingsDialog
from keiko_desktop.ui.dialogs.tools_dialog import ToolsDialog
from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.presenters.endpoints_presenter import EndpointsPresenter
from keiko_desktop.ui.presenters.model_library_presenter import ModelLibraryPresenter
from keiko_desktop.ui.presenters.tools_presenter import ToolsPresenter
from keiko_desktop.ui.task_runner import TaskRunner
from keiko_desktop.ui.theme import ThemeManager

if TYPE_CHECKING:
    from keiko_desktop.app import Core

NO_LIBRARY = "The model manager is not available in this run; Import GGUF… still works."
NO_ENDPOINTS = "Remote endpoints are not available in this run."


class SettingsPresenter(QObject):
    """Owns the settings dialog (made on first use).

    ``cpu_backends`` gives the llama.cpp CPU variants to offer for ``cpu_backend`` (none: the
    field takes any name).

    Signals:
        settings_applied(Settings): new settings were saved (and applied).
        tools_opened(ToolsDialog): Settings > Tools is on screen.
        trash_emptied(int): the trash was emptied; how many chats went.
    """

    settings_applied = Signal(object)
    tools_opened = Signal(object)
    trash_emptied = Signal(int)

    def __init__(
        self,
        window: MainWindow,
        core: CoreHandle,
        themes: ThemeManager,
        parent: QObject | None = None,
        *,
        bridge: EventBridge | None = None,
        cpu_backends: Callable[[], Sequence[str]] | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._core = core
        self._themes = themes
        self._bridge = bridge
        self._cpu_backends = cpu_backends
        self.dialog: SettingsDialog | None = None
        self.tools_dialog: ToolsDialog | None = None
        self.tools_presenter: ToolsPresenter | None = None
        self.library_presenter: ModelLibraryPresenter | None = None
        self.endpoints_presenter: EndpointsPresenter | None = None
        self.tasks = TaskRunner(self._show_error)
        window.settings_requested.connect(self._on_window_settings_requested)

    def open(self) -> None:
        self.tasks.spawn(self._open(), "open settings")

    async def _open(self) -> SettingsDialog:
        core = await self._core.get()
        if self.dialog is None:
            self.dialog = SettingsDialog(self._window)
            self.dialog.applied.connect(self._on_dialog_applied)
            self.dialog.add_model_requested.connect(self._on_dialog_add_model_requested)
            self.dialog.tools_requested.connect(self._on_dialog_tools_requested)
            self.dialog.empty_trash_requested.connect(self._on_dialog_empty_trash_requested)
            self._make_page_presenters(core, self.dialog)
        if self._cpu_backends is not None:
            self.dialog.set_cpu_backends(self._cpu_backends())
        elif core.cpu is not None:
            self.dialog.set_cpu_backends(core.cpu.choices(), core.cpu.describe())
        self.dialog.set_values(core.settings, core.registry.list_models(), self._statuses())
        if self.library_presenter is not None:
            self.library_presenter.refresh()
        if self.endpoints_presenter is not None:
            self.endpoints_presenter.refresh()
        self.dialog.open()
        return self.dialog

    def _make_page_presenters(self, core: Core, dialog: SettingsDialog) -> None:
        if core.library is not None:
            self.library_presenter = ModelLibraryPresenter(
                dialog.models_page, core.library, self._bridge
            )
        else:
            dialog.models_page.set_unavailable(NO_LIBRARY)
        if core.endpoints is not None:
            self.endpoints_presenter = EndpointsPresenter(
                dialog.endpoints_page, core.endpoints, self._bridge
            )
            self.endpoints_presenter.changed.connect(self._on_endpoints_presenter_changed)
        else:
            dialog.endpoints_page.setEnabled(False)
            dialog.endpoints_page.show_status(NO_ENDPOINTS)

    def _statuses(self) -> list[EndpointStatus]:
        presenter = self.endpoints_presenter
        return presenter.statuses() if presenter is not None else []

    def _on_endpoints_presenter_changed(self) -> None:
        core = self._core.current
        if core is not None and self.dialog is not None:
            self.dialog.set_model_choices(core.registry.list_models(), self._statuses())

    def _on_window_settings_requested(self) -> None:
        self.open()

    def _on_dialog_add_model_requested(self, path: str) -> None:
        self.tasks.spawn(self._add_model(path), "add a model")

    async def _add_model(self, path: str) -> None:
        """Check the file in a worker thread (it reads its header), then list and select it;
        OK keeps it in ``extra_models``."""
        core = await self._core.get()
        dialog = self.dialog
        if dialog is None:
            return
        page = dialog.models_page
        on_page = dialog.pages.currentWidget() is page
        try:
            info = await asyncio.to_thread(core.registry.add_model, path)
        except KeikoError as exc:
            if on_page:
                page.show_error(exc)
            else:
                dialog.show_error(exc)
            return
        dialog.add_model(info)
        page.show_status(f"Added {info.name}; it is chosen as the model: press OK to keep it.")

    def open_tools(self) -> ToolsDialog | None:
        """Settings > Tools. The tool servers start on first use: until they are up this
        returns None and the dialog opens by itself once they are (``tools_opened``)."""
        core = self._core.current
        if core is None:
            return None
        if core.tools is None:
            core.start_tools()
            self.tasks.spawn(self._open_tools_when_started(), "start the tools")
            return None
        if self.tools_presenter is None or self.tools_presenter.service is not core.tools:
            parent = self.dialog if self.dialog is not None else self._window
            self.tools_dialog = ToolsDialog(parent)
            self.tools_presenter = ToolsPresenter(self.tools_dialog, core.tools, core.sampling)
            if self._bridge is not None:
                self._bridge.mcp_server_status_changed.connect(self.tools_presenter.request_refresh)
        assert self.tools_dialog is not None
        self.tools_presenter.request_refresh()
        self.tools_dialog.open()
        self.tools_opened.emit(self.tools_dialog)
        return self.tools_dialog

    async def _open_tools_when_started(self) -> None:
        core = await self._core.get()
        if await core.wait_tools() is None:
            self._show_error(
                KeikoError("The tools could not start.", "See the log file for the reason.")
            )
            return
        self.open_tools()

    def _on_dialog_tools_requested(self) -> None:
        self.open_tools()

    def _on_dialog_applied(self, settings: Settings) -> None:
        self.tasks.spawn(self._apply(settings), "apply settings")

    async def _apply(self, settings: Settings) -> None:
        core = await self._core.get()
        if self.dialog is None:
            return
        try:
            core.update_settings(settings)  # reloads the model, starts the tools, if need be
        except KeikoError as exc:
            self.dialog.show_error(exc)
            return
        self._themes.set_preference(core.settings.theme)
        self.dialog.accept()
        self.settings_applied.emit(core.settings)

    def _on_dialog_empty_trash_requested(self) -> None:
        self.tasks.spawn(self._empty_trash(), "empty the trash")

    async def _empty_trash(self) -> None:
        core = await self._core.get()
        try:
            count = await core.empty_trash()
        finally:
            if self.dialog is not None:
                self.dialog.empty_trash_button.setEnabled(True)
        if self.dialog is not None:
            self.dialog.show_trash_emptied(count)
        self.trash_emptied.emit(count)

    def _show_error(self, error: KeikoError) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.show_error(error)
        else:
            self._window.chat_panel.show_error(error.message, error.hint)
