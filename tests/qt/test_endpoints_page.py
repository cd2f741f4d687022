"""Settings > Endpoints: the list and its states, the endpoint dialog's checks, saving with a
key (handed over once, never shown again), Test and Remove, and the grouped model chooser."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QWidget,
)

from keiko_desktop.core.config import Settings
from keiko_desktop.core.endpoints import (
    Endpoint,
    EndpointStatus,
    EndpointStatusChanged,
    check_endpoint,
)
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.ports import ModelInfo
from keiko_desktop.ui.bridge import EventBridge
from keiko_desktop.ui.dialogs.endpoint_dialog import KEEP_KEY, EndpointDialog
from keiko_desktop.ui.dialogs.endpoints_page import MODELS, STATE, EndpointsPage
from keiko_desktop.ui.dialogs.model_choices import fill_model_combo, is_header, select_model
from keiko_desktop.ui.dialogs.settings_dialog import SettingsDialog
from keiko_desktop.ui.presenters.endpoints_presenter import EndpointsPresenter
from tests.qt.conftest import wait_until

SECRET = "sk-test-0123456789abcdef"


class FakeEndpoints:
    """An ``EndpointManager`` in memory: ``answers`` is what ``save``/``check`` find out."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self.items: list[Endpoint] = [Endpoint("ollama", "http://127.0.0.1:11434/v1")]
        self.state: dict[str, EndpointStatus] = {
            "ollama": EndpointStatus("ollama", "online", "", ("llama3.2", "qwen2.5"))
        }
        self.answers: dict[str, EndpointStatus] = {}
        self.keys: list[tuple[str, str | None]] = []
        self.calls: list[tuple[str, str]] = []

    def endpoints(self) -> list[Endpoint]:
        return list(self.items)

    def status(self, name: str) -> EndpointStatus:
        return self.state.get(name, EndpointStatus(name))

    async def save(self, endpoint: Endpoint, api_key: str | None = None) -> EndpointStatus:
        self.keys.append((endpoint.name, api_key))
        endpoint = check_endpoint(endpoint)
        self.items = [e for e in self.items if e.name != endpoint.name] + [endpoint]
        status = self.answers.get(endpoint.name, EndpointStatus(endpoint.name, "online"))
        self.state[endpoint.name] = status
        self.bus.publish(EndpointStatusChanged(status))
        return status

    async def remove(self, name: str) -> None:
        self.calls.append(("remove", name))
        self.items = [e for e in self.items if e.name != name]
        self.bus.publish(EndpointStatusChanged(EndpointStatus(name), removed=True))

    async def check(self, name: str) -> EndpointStatus:
        self.calls.append(("check", name))
        await asyncio.sleep(0.05)
        status = self.answers.get(name, self.status(name))
        self.state[name] = status
        self.bus.publish(EndpointStatusChanged(status))
        return status

    async def check_all(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


class Page:
    def __init__(self, qtbot: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.bus = EventBus(loop)
        self.bridge = EventBridge()
        self.bridge.attach(self.bus)
        self.manager = FakeEndpoints(self.bus)
        self.page = EndpointsPage()
        qtbot.addWidget(self.page)
        self.presenter = EndpointsPresenter(self.page, self.manager, self.bridge)
        self.presenter.refresh()
        self.page.show()

    def cell(self, row: int, column: int) -> str:
        item = self.page.table.item(row, column)
        return item.text() if item is not None else ""


def all_widget_text() -> str:
    """Every text a widget of the app shows or says (labels, fields, tips, names, titles)."""
    parts: list[str] = []
    for widget in QApplication.allWidgets():
        parts += [widget.toolTip(), widget.accessibleName(), widget.accessibleDescription()]
        parts.append(widget.windowTitle())
        if isinstance(widget, QLineEdit):
            parts += [widget.text(), widget.displayText(), widget.placeholderText()]
        elif isinstance(widget, QLabel | QAbstractButton):
            parts.append(widget.text())
        elif isinstance(widget, QPlainTextEdit):
            parts.append(widget.toPlainText())
    return "\n".join(parts)


def test_the_dialog_checks_name_and_url_and_says_why_under_each(qtbot: Any) -> None:
    dialog = EndpointDialog()
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.api_key.echoMode() == QLineEdit.EchoMode.Password
    for widget in (dialog.name, dialog.base_url, dialog.api_key, dialog.timeout):
        assert widget.accessibleName()
        assert widget.toolTip()
    with qtbot.assertNotEmitted(dialog.save_requested):
        QTest.keyClicks(dialog.name, "My Server!")
        QTest.keyClicks(dialog.base_url, "ftp://example.com")
        dialog.save_button.click()
    assert dialog.name_error.isVisible()
    assert "cannot name an endpoint" in dialog.name_error.text()
    assert dialog.url_error.isVisible()
    assert "not an endpoint URL" in dialog.url_error.text()
    dialog.name.setText("local")  # reserved
    dialog.base_url.setText("http://127.0.0.1:11434/v1/")
    with qtbot.assertNotEmitted(dialog.save_requested):
        dialog.save_button.click()
    assert dialog.name_error.isVisible()
    assert not dialog.url_error.isVisible()
    dialog.name.setText("ollama")
    with qtbot.waitSignal(dialog.save_requested) as sent:
        dialog.save_button.click()
    assert sent.args == [Endpoint("ollama", "http://127.0.0.1:11434/v1", False, 60.0), None]
    assert not dialog.name_error.isVisible()


def test_saving_hands_the_key_over_once_and_it_never_shows_again(qtbot: Any, loop: Any) -> None:
    p = Page(qtbot, loop)
    p.manager.answers["openai"] = EndpointStatus(
        "openai", "unauthorized", "HTTP 401: the key was refused"
    )
    qtbot.mouseClick(p.page.add_button, Qt.MouseButton.LeftButton)
    dialog = p.presenter.dialog
    assert dialog is not None
    assert dialog.isVisible()
    QTest.keyClicks(dialog.name, "openai")
    QTest.keyClicks(dialog.base_url, "https://api.example.com/v1")
    QTest.keyClicks(dialog.api_key, SECRET)
    assert dialog.api_key.displayText() != SECRET  # dots, not the key
    dialog.save_button.click()
    assert dialog.api_key.text() == ""  # gone from the field at once
    wait_until(lambda: p.manager.keys)
    assert p.manager.keys == [("openai", SECRET)]
    saved = p.manager.items[-1]
    assert saved.api_key  # the endpoint knows it has a key, not the key
    wait_until(lambda: "key refused" in dialog.status.text())
    assert dialog.isVisible()  # refused: left open to fix the key
    assert dialog.api_key.placeholderText() == KEEP_KEY
    assert SECRET not in all_widget_text()

    dialog.save_button.click()  # again, key field empty: keep the stored key
    wait_until(lambda: len(p.manager.keys) == 2)
    assert p.manager.keys[1] == ("openai", None)
    dialog.clear_key.setChecked(True)
    assert not dialog.api_key.isEnabled()
    p.manager.answers["openai"] = EndpointStatus("openai", "online", "", ("gpt-x",))
    dialog.save_button.click()
    wait_until(lambda: len(p.manager.keys) == 3)
    assert p.manager.keys[2] == ("openai", "")  # "": forget it
    assert not p.manager.items[-1].api_key
    wait_until(lambda: not dialog.isVisible())  # it answered: the dialog closes
    assert p.page.status.text() == "Saved openai: online · 1 model."
    assert SECRET not in all_widget_text()


def test_the_list_follows_status_events_and_test_and_remove(qtbot: Any, loop: Any) -> None:
    p = Page(qtbot, loop)
    assert p.page.table.rowCount() == 1
    assert (p.cell(0, STATE), p.cell(0, MODELS)) == ("online", "2")
    p.bus.publish(EndpointStatusChanged(EndpointStatus("ollama", "offline", "connection refused")))
    assert (p.cell(0, STATE), p.cell(0, MODELS)) == ("offline", "–")
    state = p.page.table.item(0, STATE)
    assert state is not None
    assert "connection refused" in state.toolTip()
    p.manager.answers["ollama"] = EndpointStatus("ollama", "online", "", ("a", "b", "c"))
    p.page.table.selectRow(0)
    qtbot.mouseClick(p.page.test_button, Qt.MouseButton.LeftButton)
    assert p.cell(0, STATE) == "checking…"  # at once, before the server answers
    wait_until(lambda: p.cell(0, STATE) == "online")
    assert p.cell(0, MODELS) == "3"
    assert p.page.status.text() == "ollama is online · 3 models."

    qtbot.mouseClick(p.page.remove_button, Qt.MouseButton.LeftButton)
    box = p.page.confirm
    assert isinstance(box, QMessageBox)
    assert "ollama" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    wait_until(lambda: p.page.table.rowCount() == 0)
    assert ("remove", "ollama") in p.manager.calls
    assert not p.page.edit_button.isEnabled()


def test_editing_keeps_the_name_and_offers_to_keep_or_forget_the_key(qtbot: Any) -> None:
    dialog = EndpointDialog(Endpoint("vllm", "http://10.0.0.2:8000/v1", True, 120.0))
    qtbot.addWidget(dialog)
    assert dialog.name.isReadOnly()
    assert dialog.base_url.text() == "http://10.0.0.2:8000/v1"
    assert dialog.timeout.value() == 120.0
    assert dialog.api_key.text() == ""
    assert dialog.api_key.placeholderText() == KEEP_KEY
    assert dialog.clear_key.isVisibleTo(dialog)
    assert not EndpointDialog(Endpoint("x", "http://h/v1")).clear_key.isVisibleTo(dialog)


LOCAL = [
    ModelInfo("smollm2-135m-instruct", "/b.gguf", 98_000_000, bundled=True),
    ModelInfo("mine", "/m/mine.gguf", 5_000_000),
]
REMOTE = [
    ModelInfo("ollama/llama3.2", "llama3.2", 0, backend="ollama"),
    ModelInfo("ollama/qwen2.5", "qwen2.5", 0, backend="ollama"),
]
STATUSES = [
    EndpointStatus("ollama", "online", "", ("llama3.2", "qwen2.5")),
    EndpointStatus("vllm", "offline", "connection refused"),
]


def texts(combo: QComboBox) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


def test_the_model_chooser_groups_remote_models_under_their_endpoint(qtbot: Any) -> None:
    combo = QComboBox()
    qtbot.addWidget(combo)
    fill_model_combo(combo, [REMOTE[0], *LOCAL, REMOTE[1]], STATUSES)
    assert texts(combo) == [
        "smollm2-135m-instruct (bundled) · 98 MB",
        "mine · 5 MB",
        "ollama — online",
        "  ollama/llama3.2",
        "  ollama/qwen2.5",
        "vllm — offline",
    ]
    assert [is_header(combo, i) for i in range(combo.count())] == [0, 0, 1, 0, 0, 1]
    assert combo.itemData(5, Qt.ItemDataRole.ToolTipRole) == "connection refused"
    select_model(combo, "ollama/qwen2.5")
    assert combo.currentIndex() == 4
    select_model(combo, "mine")  # a local model by name, as before
    assert combo.currentData() == "/m/mine.gguf"
    combo.show()
    combo.setFocus()
    QTest.keyClick(combo, Qt.Key.Key_Down)  # the header is skipped, never chosen
    assert combo.currentText() == "  ollama/llama3.2"
    select_model(combo, "vllm/mistral")  # saved, its endpoint down: kept, not changed
    assert combo.currentData() == "vllm/mistral"


def test_settings_keep_a_remote_model_and_the_fallback_list(qtbot: Any) -> None:
    dialog = SettingsDialog(microphones=lambda: (), hotkey=lambda: (True, ""))
    qtbot.addWidget(dialog)
    settings = Settings(model="ollama/llama3.2", model_fallbacks=("smollm2-135m-instruct",))
    dialog.set_values(settings, [*LOCAL, *REMOTE], STATUSES)
    assert dialog.model.currentText() == "  ollama/llama3.2"
    fallbacks = dialog.fields["model_fallbacks"].widget
    assert isinstance(fallbacks, QLineEdit)
    assert fallbacks.text() == "smollm2-135m-instruct"
    assert fallbacks.accessibleName() == "Fallback models"
    fallbacks.setText(" ollama/qwen2.5 , smollm2-135m-instruct,, ollama/qwen2.5")
    values = dialog.values()
    assert values.model == "ollama/llama3.2"
    assert values.model_fallbacks == ("ollama/qwen2.5", "smollm2-135m-instruct")
    dialog.set_model_choices([*LOCAL], [EndpointStatus("ollama", "offline", "down")])
    assert dialog.values().model == "ollama/llama3.2"  # regrouped, the choice kept
    assert "ollama — offline" in texts(dialog.model)
    tabs = [dialog.pages.tabText(i) for i in range(dialog.pages.count())]
    assert "Endpoints" in tabs
    page_parent: QWidget | None = dialog.endpoints_page.parentWidget()
    assert page_parent is not None
    assert dialog.pages.indexOf(page_parent) == tabs.index("Endpoints")


def test_a_bad_fallback_list_is_refused_saying_why(qtbot: Any) -> None:
    dialog = SettingsDialog(microphones=lambda: (), hotkey=lambda: (True, ""))
    qtbot.addWidget(dialog)
    dialog.set_values(Settings(), LOCAL)
    fallbacks = dialog.fields["model_fallbacks"].widget
    assert isinstance(fallbacks, QLineEdit)
    fallbacks.setText(", ".join(f"m{i}" for i in range(12)))
    with qtbot.assertNotEmitted(dialog.applied):
        dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    assert dialog.error.isVisibleTo(dialog)
    assert "Fallback models lists 12 names; at most 8 fit." in dialog.error.text()
