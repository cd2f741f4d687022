"""The empty chat says Keiko runs on this computer only while the model does: with a model on
an endpoint it says what is sent where."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from keiko_desktop.core.events import ModelStateChanged
from keiko_desktop.core.ports import ModelInfo
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.core_handle import CoreHandle
from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.presenters.model_presenter import ModelPresenter
from tests.helpers.qt_main_window import main_window_fixture

__all__ = ["main_window_fixture"]

LOCAL = ModelInfo("smollm2-135m-instruct", "/models/smollm2.gguf", 1, bundled=True)
REMOTE = ModelInfo("llama3.2", "ollama/llama3.2", 0, backend="ollama")


def _core(info: ModelInfo) -> Any:
    models = SimpleNamespace(info=info, state="ready", current=None, last_error=None)
    return SimpleNamespace(models=models, settings=SimpleNamespace(model="", context_size=4096))


def test_the_subtitle_follows_where_the_model_runs(window: MainWindow) -> None:
    core = _core(LOCAL)
    bridge = EventBridge()
    presenter = ModelPresenter(window, CoreHandle(core), bridge)
    subtitle = window.chat_panel.empty_state.subtitle
    presenter.sync()
    assert subtitle.text().startswith("Keiko runs entirely on this computer")

    core.models.info = REMOTE
    bridge.model_state_changed.emit(ModelStateChanged("llama3.2", "ready"))
    assert "Nothing you type leaves it" not in subtitle.text()
    assert subtitle.text() == "Replies come from ollama: what you type is sent to that server."

    core.models.info = LOCAL
    bridge.model_state_changed.emit(ModelStateChanged(LOCAL.name, "ready"))
    assert subtitle.text().startswith("Keiko runs entirely on this computer")
