"""Settings round trip, theme, window state, and the error safety net."""

from __future__ import annotations

import asyncio
from typing import Any

from PySide6.QtGui import QGuiApplication

from keiko_desktop.core.config import Paths, load_settings
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.ui.error_reporter import ErrorReporter
from keiko_desktop.ui.tasks import TaskRunner
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
    dialog.add_model_requested.emit("/models/Other-Model.gguf")
    assert dialog.model.currentData() == "/models/Other-Model.gguf"
    assert dialog.values().extra_models == ("/models/Other-Model.gguf",)
    dialog.reject()


def test_window_state_is_saved_and_the_last_chat_reopens(
    harness: Harness, paths: Paths, make_harness: Any, fake_model: Any
) -> None:
    from tests.qt.conftest import make_fake_core

    harness.panel.composer.set_text("remember me")
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

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
