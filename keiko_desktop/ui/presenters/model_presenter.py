"""ModelPresenter: the model's state in the status bar, its context length in the composer, and
a plain-words notice when the chosen model failed and Keiko fell back to the bundled one."""

from __future__ import annotations

from PySide6.QtCore import QObject

from keiko_desktop.core.events import ModelStateChanged
from keiko_desktop.core.ports import DEFAULT_BACKEND
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.main_window import MainWindow


class ModelPresenter(QObject):
    """Reflects ModelStateChanged events in the window."""

    def __init__(
        self,
        window: MainWindow,
        core: CoreHandle,
        bridge: EventBridge,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._window = window
        self._core = core
        bridge.model_state_changed.connect(self._on_bridge_model_state_changed)

    def sync(self) -> None:
        """Show the state the model is in now (after the core is built)."""
        core = self._core.current
        if core is None:
            return
        info = core.models.info
        name = info.name if info is not None else (core.settings.model or "the model")
        self._window.model_status.set_state(core.models.state, name)
        self._window.chat_panel.composer.set_context_length(self._context_length())
        self._show_location()

    def _show_location(self) -> None:
        """The empty chat says the model is local only when it is."""
        core = self._core.current
        info = core.models.info if core is not None else None
        remote = info is not None and info.backend != DEFAULT_BACKEND
        self._window.chat_panel.empty_state.set_model_location(
            info.backend if info is not None and remote else None
        )

    def _context_length(self) -> int:
        core = self._core.current
        if core is None:
            return 0
        model = core.models.current
        return model.context_length if model is not None else core.settings.context_size

    def _on_bridge_model_state_changed(self, event: ModelStateChanged) -> None:
        self._window.model_status.set_state(event.state, event.model_name, event.detail)
        if event.state == "ready":
            self._window.chat_panel.composer.set_context_length(self._context_length())
            self._show_location()
            core = self._core.current
            error = core.models.last_error if core is not None else None
            if event.detail == "fallback" and error is not None:
                self._window.chat_panel.show_error(
                    f"{error.message} Keiko is using the bundled model instead.",
                    error.hint or "Pick another model in Settings (Ctrl+,).",
                )
        elif event.state == "error":
            core = self._core.current
            error = core.models.last_error if core is not None else None
            message, _, hint = event.detail.partition("\n")
            hint = hint.strip().lstrip("→").strip()
            if error is not None:
                message, hint = error.message, error.hint
            self._window.chat_panel.show_error(
                message or f"{event.model_name} could not be loaded.",
                hint or "Pick another model in Settings (Ctrl+,).",
            )
