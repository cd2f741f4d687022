"""Settings round trip, theme, window state, and the error safety net."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QLineEdit, QMessageBox, QSpinBox

from keiko_desktop.core.config import SECTIONS, SETTINGS, Paths, load_settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.ui.error_reporter import ErrorReporter
from keiko_desktop.ui.task_runner import TaskRunner
from keiko_desktop.ui.window_state import WindowState
from tests.qt.conftest import Harness


def open_settings(h: Harness) -> Any:
    h.controller.settings.open()
    h.wait(lambda: h.controller.settings.dialog is not None)
    dialog = h.controller.settings.dialog
    h.wait(dialog.isVisible)
    return dialog


def test_settings_round_trip_dialog_file_dialog(harness: Harness, paths: Paths) -> None:
    dialog = open_settings(harness)
    assert dialog.max_tokens.value() == 48
    dialog.temperature.setValue(1.25)
    dialog.max_tokens.setValue(200)
    dialog.context_size.setValue(2048)
    dialog.threads.setValue(2)
    dialog.system_prompt.setPlainText("Answer in one sentence.")
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    harness.wait(lambda: not dialog.isVisible())
    saved = load_settings(paths)
    assert (saved.temperature, saved.max_tokens, saved.context_size, saved.threads) == (
        1.25,
        200,
        2048,
        2,
    )
    assert saved.system_prompt == "Answer in one sentence."
    assert saved.theme == "dark"
    assert harness.controller.themes.theme.is_dark  # the theme applied live
    harness.wait(lambda: harness.core.models.state == "ready")  # context change: reloaded
    again = open_settings(harness)
    assert again.temperature.value() == 1.25
    assert again.max_tokens.value() == 200
    assert again.context_size.value() == 2048
    assert again.threads.value() == 2
    assert again.system_prompt.toPlainText() == "Answer in one sentence."
    assert again.theme.currentData() == "dark"
    again.reject()


def test_adding_a_model_lists_and_selects_it(harness: Harness) -> None:
    dialog = open_settings(harness)
    dialog.add_model_requested.emit("/models/Other-Model.gguf")  # added in a worker thread
    harness.wait(lambda: dialog.model.currentData() == "/models/Other-Model.gguf")
    assert dialog.values().extra_models == ("/models/Other-Model.gguf",)
    dialog.reject()


def test_window_state_is_saved_and_the_last_chat_reopens(
    harness: Harness, paths: Paths, make_harness: Any, fake_model: Any
) -> None:
    from tests.qt.conftest import make_fake_core

    harness.panel.composer.set_text("remember me")
    QTest.keyClick(harness.panel.composer.editor, Qt.Key.Key_Return)
    harness.wait(lambda: harness.controller.chat.conversation_id is not None)
    cid = harness.controller.chat.conversation_id
    harness.window.resize(760, 560)  # the offscreen screen is 800x600
    harness.window.close()
    state = WindowState(paths.config_dir)
    assert state.path.exists()
    assert state.last_conversation == cid
    harness.run(harness.controller.shutdown())
    second = make_harness(lambda: make_fake_core(paths, fake_model))
    second.wait(lambda: second.controller.chat.conversation_id == cid)
    assert second.window.width() == 760


def test_an_unexpected_error_is_logged_and_shown_once(qtbot: Any, caplog: Any) -> None:
    reporter = ErrorReporter(None)
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        reporter.report(exc)
    dialog = reporter.dialog
    assert dialog is not None
    assert dialog.isVisible()
    qtbot.addWidget(dialog)
    assert "RuntimeError: boom" in dialog.details.toPlainText()
    dialog.copy_button.click()
    assert "boom" in QGuiApplication.clipboard().text()
    reporter.report(RuntimeError("boom"))  # the same error is not shown again
    assert reporter.dialog is dialog
    assert "boom" in caplog.text


def test_task_errors_reach_the_reporter_and_the_app_keeps_going(
    qtbot: Any, loop: asyncio.AbstractEventLoop, run: Any
) -> None:
    reporter = ErrorReporter(None)
    reporter.install(loop)
    shown: list[KeikoError] = []
    try:
        runner = TaskRunner(shown.append)

        async def crash() -> None:
            raise ValueError("unexpected")

        async def user_error() -> None:
            raise KeikoError("Plain words.", "What to do.")

        with qtbot.waitSignal(reporter.reported, timeout=2000) as blocker:
            runner.spawn(crash(), "crash")
        assert blocker.args == ["ValueError: unexpected"]
        runner.spawn(user_error(), "user error")
        run(asyncio.sleep(0.05))
        assert [e.message for e in shown] == ["Plain words."]
        assert reporter.dialog is not None
        qtbot.addWidget(reporter.dialog)
    finally:
        reporter.uninstall()
        loop.set_exception_handler(lambda _l, _c: None)


def test_dialog_bounds_and_names_come_from_the_declaration(harness: Harness) -> None:
    dialog = open_settings(harness)
    shown = set(dialog.fields)
    # extra_models: edited through the model list; agent_middleware: an expert's, in the file
    assert shown == set(SETTINGS) - {"extra_models", "agent_middleware"}
    for key, field in dialog.fields.items():
        spec = SETTINGS[key]
        widget = field.widget
        assert widget.accessibleName() == spec.label, key
        assert widget.toolTip().startswith(spec.description), key
        assert widget.focusPolicy() & Qt.FocusPolicy.TabFocus, key  # reachable with Tab
        if isinstance(widget, QSpinBox | QDoubleSpinBox):
            assert (widget.minimum(), widget.maximum()) == spec.bounds, key
        elif spec.choices:
            assert isinstance(widget, QComboBox), key
            items = [widget.itemData(i) for i in range(widget.count())]
            assert items == list(spec.choices), key
        elif isinstance(widget, QLineEdit) and spec.kind is not tuple:  # a tuple's is a count
            assert widget.maxLength() == spec.maximum, key
        if spec.numeric:
            assert isinstance(widget, QSpinBox | QDoubleSpinBox), key
    backend = dialog.cpu_backend.lineEdit()
    assert backend is not None
    assert backend.maxLength() == SETTINGS["cpu_backend"].maximum
    pages = [dialog.pages.tabText(i) for i in range(dialog.pages.count())]
    sections = [s.title for s in SECTIONS if any(k in shown for k in _keys_in(s.name))]
    assert pages == [*sections[:2], "Models", *sections[2:]]  # the model library after Model
    dialog.reject()


def _keys_in(section: str) -> list[str]:
    return [s.key for s in SETTINGS.values() if s.section == section]


def test_every_page_is_reachable_by_keyboard(harness: Harness) -> None:
    dialog = open_settings(harness)
    dialog.pages.tabBar().setFocus()
    for index in range(1, dialog.pages.count()):
        QTest.keyClick(dialog.pages.tabBar(), Qt.Key.Key_Right)
        assert dialog.pages.currentIndex() == index
    dialog.reject()


def test_every_tab_shows_without_scroll_arrows(harness: Harness) -> None:
    dialog = open_settings(harness)
    dialog.show()
    bar = dialog.pages.tabBar()
    shown = bar.rect()
    for index in range(bar.count()):  # Desktop, the last, once hid behind the arrows
        assert shown.contains(bar.tabRect(index)), bar.tabText(index)
    dialog.reject()


def test_cpu_backend_offers_the_choices_it_is_given(harness: Harness) -> None:
    dialog = open_settings(harness)
    assert dialog.cpu_backend.isEditable()  # nothing probed: any name
    assert dialog.cpu_backend.currentText() == "auto"
    dialog.set_cpu_backends(["avx2", "avx512"])
    assert not dialog.cpu_backend.isEditable()
    names = [dialog.cpu_backend.itemText(i) for i in range(dialog.cpu_backend.count())]
    assert names == ["auto", "avx2", "avx512"]
    dialog.cpu_backend.setCurrentIndex(1)
    assert dialog.values().cpu_backend == "avx2"
    dialog.reject()


class _Cpu:
    """The Core's CpuBackends port, as the llama.cpp planner answers it."""

    def choices(self) -> tuple[str, ...]:
        return ("zen4", "x64", "zen4:no-repack", "x64:no-repack")

    def describe(self) -> str:
        return "zen4 (chosen by the probe)"


def test_settings_offer_the_builds_cpu_variants_and_name_the_one_in_use(
    harness: Harness,
) -> None:
    harness.core.cpu = _Cpu()
    dialog = open_settings(harness)
    box = dialog.cpu_backend
    assert not box.isEditable()
    assert box.itemText(0) == "auto: zen4 (chosen by the probe)"
    assert [box.itemData(i) for i in range(box.count())] == ["auto", *_Cpu().choices()]
    assert dialog.values().cpu_backend == "auto"
    box.setCurrentIndex(box.findData("x64:no-repack"))
    assert dialog.values().cpu_backend == "x64:no-repack"
    dialog.reject()


def test_only_a_reload_setting_reloads_the_model(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    reloads: list[str] = []
    monkeypatch.setattr(harness.core.models, "start_loading", reloads.append)
    dialog = open_settings(harness)
    dialog.temperature.setValue(0.4)
    dialog.tool_max_steps.setValue(2)
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    harness.wait(lambda: not dialog.isVisible())
    assert harness.core.settings.tool_max_steps == 2
    assert reloads == []
    dialog = open_settings(harness)
    dialog.cpu_backend.setEditText("avx2")  # a process holds one CPU variant: next start
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    harness.wait(lambda: not dialog.isVisible())
    assert harness.core.settings.cpu_backend == "avx2"
    assert reloads == []
    dialog = open_settings(harness)
    dialog.context_size.setValue(2048)
    dialog.buttons.button(dialog.buttons.StandardButton.Ok).click()
    harness.wait(lambda: not dialog.isVisible())
    assert harness.core.settings.context_size == 2048
    assert reloads == [harness.core.settings.model]


def _trash_one_chat(harness: Harness) -> int:
    async def make() -> int:
        conversation = await harness.core.conversations.create_conversation("old")
        await harness.core.conversations.add_message(conversation.id, "user", "bye")
        await harness.core.conversations.delete_conversation(conversation.id)
        return conversation.id

    cid: int = harness.run(make())
    return cid


def test_empty_trash_asks_first_then_purges(harness: Harness) -> None:
    cid = _trash_one_chat(harness)
    count = harness.core.conversations.count_messages
    dialog = open_settings(harness)
    dialog.pages.setCurrentIndex(0)
    dialog.empty_trash_button.click()
    confirm = dialog.trash_confirm
    assert isinstance(confirm, QMessageBox)
    harness.wait(confirm.isVisible)
    confirm.button(QMessageBox.StandardButton.Cancel).click()  # changed my mind
    harness.settle()
    assert harness.run(count(cid)) == 1
    dialog.empty_trash_button.click()
    confirm = dialog.trash_confirm
    assert confirm is not None
    harness.wait(confirm.isVisible)
    confirm.button(QMessageBox.StandardButton.Yes).click()
    harness.wait(dialog.trash_status.isVisible)
    assert dialog.trash_status.text() == "Deleted 1 chat for good."
    assert dialog.empty_trash_button.isEnabled()
    assert harness.run(count(cid)) == 0
    dialog.reject()
