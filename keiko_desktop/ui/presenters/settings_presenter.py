"""SettingsPresenter: opens the Settings dialog, applies and saves what the user chose.

The theme applies at once; a different model, context size or thread count reloads the model in
the background (a message sent meanwhile waits for it). Its Tools… button opens Settings > Tools
(``ToolsDialog`` with its ``ToolsPresenter``) once the tool servers have started.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from keiko_desktop.core.config import Settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.dialogs.settings_dialog import SettingsDialog
from keiko_desktop.ui.dialogs.tools_dialog import ToolsDialog, ToolsPresenter
from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.tasks import TaskRunner
from keiko_desktop.ui.theme import ThemeManager

RELOAD_KEYS = ("model", "context_size", "threads")


def needs_reload(old: Settings, new: Settings) -> bool:
    return any(getattr(old, key) != getattr(new, key) for key in RELOAD_KEYS)


class SettingsPresenter(QObject):
    """Owns the settings dialog (made on first use).

    Signals:
        settings_applied(Settings): new settings were saved (and applied).
        tools_opened(ToolsDialog): Settings > Tools is on screen.
    """

    settings_applied = Signal(object)
    tools_opened = Signal(object)

    def __init__(
        self,
        window: MainWindow,
        core: CoreHandle,
        themes: ThemeManager,
        parent: QObject | None = None,
        *,
        bridge: EventBridge | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._core = core
        self._themes = themes
        self._bridge = bridge
        self.dialog: SettingsDialog | None = None
        self.tools_dialog: ToolsDialog | None = None
        self.tools_presenter: ToolsPresenter | None = None
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
        self.dialog.set_values(core.settings, core.registry.list_models())
        self.dialog.open()
        return self.dialog

    def _on_window_settings_requested(self) -> None:
        self.open()

    def _on_dialog_add_model_requested(self, path: str) -> None:
        core = self._core.current
        if core is None or self.dialog is None:
            return
        try:
            info = core.registry.add(path)
        except KeikoError as exc:
            self.dialog.show_error(exc)
            return
        self.dialog.add_model(info)

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
            self.tools_presenter = ToolsPresenter(self.tools_dialog, core.tools)
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
        old = core.settings
        try:
            core.update_settings(settings)
        except KeikoError as exc:
            self.dialog.show_error(exc)
            return
        self._themes.set_preference(core.settings.theme)
        if core.settings.tools_in_chat:
            core.start_tools()  # once; a no-op when they run already
        if needs_reload(old, core.settings):
            core.models.start_loading(core.settings.model)
        self.dialog.accept()
        self.settings_applied.emit(core.settings)

    def _show_error(self, error: KeikoError) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.show_error(error)
        else:
            self._window.chat_panel.show_error(error.message, error.hint)
