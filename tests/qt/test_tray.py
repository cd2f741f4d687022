"""The tray and Keiko's lifetime, in the real window over a real database and a scripted model.

Without a tray (the offscreen platform has none) closing the window quits, exactly as before.
With one (its availability faked at the boundary, ``tray_available``; the QSystemTrayIcon,
menu and window are real) closing hides the window, the hint comes once ever, the menu's
entries do their thing, the badge follows a reply and a recording, and Quit (or Ctrl+Q) quits
and shuts down cleanly. The real tray on X11 is ``tests/e2e/test_tray_x11.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest

from keiko_desktop.app import Core
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.instance_protocol import InstanceRequest
from keiko_desktop.core.tasks.builtin import builtin_kinds
from keiko_desktop.core.tasks.kinds import TaskServices
from keiko_desktop.core.tasks.records import NewTask
from keiko_desktop.core.tasks.service import TaskService
from keiko_desktop.core.voice.types import WHISPER_RATE, AudioClip
from keiko_desktop.ui.controller import PAUSED_TEXT, AppController
from keiko_desktop.ui.lifetime import HINT_TEXT, TOAST_TEXT
from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.theme import ThemeManager
from keiko_desktop.ui.tray import (
    BADGE_COLORS,
    PAUSE_TIP,
    TOOLTIPS,
    TrayIcon,
    badge_color,
    state_icon,
)
from keiko_desktop.ui.voice.capture import ClipSource, Recorder
from keiko_desktop.ui.window_state import WindowState
from tests.helpers.fake_model import FakeChatModel
from tests.qt.conftest import IGNORED_QT_MESSAGES, Runner, make_fake_core, wait_until

# A QSystemTrayIcon shown on a platform without trays (offscreen) says this once: Qt's, not ours.
NO_TRAY_SIGNAL = "No such signal QPlatformNativeInterface::systemTrayWindowChanged"
tray_warnings = pytest.mark.qt_log_ignore(*IGNORED_QT_MESSAGES, NO_TRAY_SIGNAL)


class Desktop:
    """The window, its controller (with or without a tray) and the Core."""

    def __init__(self, window: MainWindow, controller: AppController, core: Core) -> None:
        self.window = window
        self.controller = controller
        self.core = core
        self.messages: list[tuple[str, str]] = []
        tray = controller.tray._tray
        if tray is not None:  # the balloon: recorded, still shown by the real icon
            real = tray.showMessage

            def show_message(title: str, text: str, *args: Any) -> None:
                self.messages.append((title, text))
                real(title, text, *args)

            tray.showMessage = show_message  # type: ignore[method-assign,assignment]

    @property
    def tray(self) -> TrayIcon:
        return self.controller.tray

    @property
    def quitting(self) -> bool:
        return self.controller._closed.is_set()


@pytest.fixture
def make_desktop(
    qtbot: Any, run: Runner, paths: Paths, themes: ThemeManager
) -> Iterator[Callable[..., Desktop]]:
    made: list[Desktop] = []

    def factory(
        *,
        tray: bool,
        settings: Settings | None = None,
        model: FakeChatModel | None = None,
        tasks: bool = False,
        start: bool = True,
    ) -> Desktop:
        state = WindowState(paths.config_dir)
        window = MainWindow(themes, state)
        window.resize(900, 640)
        window.show()
        silence = AudioClip(b"\0\0" * WHISPER_RATE * 30, WHISPER_RATE)
        controller = AppController(
            window,
            themes,
            state,
            recorder=Recorder(lambda: ClipSource(silence)),
            tray_available=(lambda: True) if tray else (lambda: False),
        )
        core: Core = run(
            make_fake_core(paths, model or FakeChatModel(delay=0.005), settings or Settings())
        )
        if tasks:
            services = TaskServices(lambda: core.settings)
            core.tasks = TaskService(
                core.database.tasks,  # type: ignore[attr-defined]
                builtin_kinds(services),
                services,
                core.bus,
                lambda: core.settings,
            )
        if start:
            run(controller.start(core))
        desktop = Desktop(window, controller, core)
        made.append(desktop)
        return desktop

    yield factory
    for desktop in made:
        run(desktop.controller.shutdown(), timeout=30)
        desktop.window.close()
        desktop.window.deleteLater()


def close_window(window: MainWindow) -> None:
    """What the window manager's close button does: a close event to the window."""
    window.close()
    QTest.qWait(20)


# ---------------------------------------------------------------------- no tray
def test_without_a_tray_closing_quits_as_before(make_desktop: Callable[..., Desktop]) -> None:
    d = make_desktop(tray=False)
    assert not d.tray.available
    assert not d.tray.visible
    assert d.tray._tray is None  # nothing was put anywhere
    close_window(d.window)
    assert not d.window.isVisible()
    assert d.quitting
    assert not d.messages


def test_without_a_tray_the_tray_entries_cannot_hide_the_window(
    make_desktop: Callable[..., Desktop],
) -> None:
    d = make_desktop(tray=False)
    d.controller.lifetime.hide_window()  # no way back without a tray: refused
    assert d.window.isVisible()
    assert not d.quitting


@tray_warnings
def test_with_the_setting_off_closing_quits_even_with_a_tray(
    make_desktop: Callable[..., Desktop],
) -> None:
    d = make_desktop(tray=True, settings=Settings(close_to_tray=False))
    assert d.tray.visible
    close_window(d.window)
    assert d.quitting
    assert not d.messages


# ---------------------------------------------------------------------- with a tray
@tray_warnings
def test_closing_hides_into_the_tray_and_hints_once_ever(
    make_desktop: Callable[..., Desktop], paths: Paths
) -> None:
    d = make_desktop(tray=True)
    assert d.tray.visible
    assert d.tray.window_action.text() == "Hide Keiko"
    close_window(d.window)
    assert not d.window.isVisible()
    assert not d.quitting  # still running: tasks and Quick ask go on
    assert d.messages == [("Keiko is still running", HINT_TEXT)]
    assert d.tray.window_action.text() == "Show Keiko"
    assert WindowState(paths.config_dir).tray_hint_shown

    d.tray.window_action.trigger()  # Show Keiko
    wait_until(d.window.isVisible)
    assert d.window.toasts.text == TOAST_TEXT  # said again in the window, which was hidden
    assert d.tray.window_action.text() == "Hide Keiko"

    close_window(d.window)  # again: hidden, no second hint
    assert not d.window.isVisible()
    assert not d.quitting
    assert len(d.messages) == 1


@tray_warnings
def test_the_hint_is_remembered_across_starts(
    make_desktop: Callable[..., Desktop], paths: Paths
) -> None:
    state = WindowState(paths.config_dir)
    state.tray_hint_shown = True  # a former start said it
    d = make_desktop(tray=True)
    close_window(d.window)
    assert not d.window.isVisible()
    assert not d.quitting
    assert d.messages == []


@tray_warnings
def test_a_click_on_the_icon_toggles_the_window(make_desktop: Callable[..., Desktop]) -> None:
    from PySide6.QtWidgets import QSystemTrayIcon

    d = make_desktop(tray=True)
    tray = d.tray._tray
    assert tray is not None
    tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)  # what a left click sends
    assert not d.window.isVisible()
    tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)
    assert d.window.isVisible()
    d.window.showMinimized()
    tray.activated.emit(QSystemTrayIcon.ActivationReason.Trigger)  # minimized: brought back
    wait_until(lambda: d.window.isVisible() and not d.window.isMinimized())
    assert not d.quitting


@tray_warnings
def test_new_chat_from_the_tray_shows_the_window_with_a_new_chat(
    make_desktop: Callable[..., Desktop],
) -> None:
    d = make_desktop(tray=True)
    d.window.show_page("tasks")
    close_window(d.window)
    d.tray.new_chat_action.trigger()
    wait_until(d.window.isVisible)
    assert d.window.page == "chat"
    assert d.controller.chat.conversation_id is None


@tray_warnings
def test_the_menu_entries_have_names_and_tips() -> None:
    tray = TrayIcon(available=lambda: False)
    texts = [a.text() for a in tray.menu.actions() if not a.isSeparator()]
    assert texts == ["Quick ask", "New chat", "Hide Keiko", "Push-to-talk", "Pause tasks", "Quit"]
    assert all(a.toolTip() for a in tray.menu.actions() if not a.isSeparator())
    assert tray.menu.accessibleName() == "Keiko tray menu"
    assert tray.pause_action.isCheckable()
    assert tray.pause_action.toolTip() == PAUSE_TIP  # says the pause is not remembered
    assert "or Keiko restarts" in PAUSE_TIP
    assert not tray.show()  # no tray: nothing shown
    tray.close()
    tray.deleteLater()


# ---------------------------------------------------------------------- the badge
def test_each_state_has_its_badge_and_tooltip() -> None:
    colors = {state: badge_color(state_icon(state)) for state in ("idle", "thinking", "listening")}
    assert colors["thinking"] == QColor(BADGE_COLORS["thinking"])
    assert colors["listening"] == QColor(BADGE_COLORS["listening"])
    assert colors["idle"] not in (colors["thinking"], colors["listening"])
    assert TOOLTIPS == {
        "idle": "Keiko — idle",
        "thinking": "Keiko — thinking…",
        "listening": "Keiko — listening…",
    }


@tray_warnings
def test_the_badge_follows_a_reply(make_desktop: Callable[..., Desktop]) -> None:
    model = FakeChatModel(delay=0.05)
    model.enqueue(["One ", "two ", "three ", "four ", "five."])
    d = make_desktop(tray=True, model=model)
    assert d.tray.state == "idle"
    composer = d.window.chat_panel.composer
    composer.set_text("count to five")
    QTest.keyClick(composer.editor, Qt.Key.Key_Return)
    wait_until(lambda: d.tray.state == "thinking")
    tray = d.tray._tray
    assert tray is not None
    assert tray.toolTip() == "Keiko — thinking…"
    assert badge_color(tray.icon()) == QColor(BADGE_COLORS["thinking"])
    wait_until(lambda: d.tray.state == "idle", timeout=10)
    assert tray.toolTip() == "Keiko — idle"


@tray_warnings
def test_the_badge_follows_a_recording(make_desktop: Callable[..., Desktop]) -> None:
    d = make_desktop(tray=True)
    recorder = d.controller.recorder
    recorder.start()
    wait_until(lambda: d.tray.state == "listening")
    tray = d.tray._tray
    assert tray is not None
    assert tray.toolTip() == "Keiko — listening…"
    recorder.cancel()
    wait_until(lambda: d.tray.state == "idle")


# ---------------------------------------------------------------------- pause tasks
@tray_warnings
def test_pause_tasks_from_the_tray(make_desktop: Callable[..., Desktop], run: Runner) -> None:
    d = make_desktop(tray=True, tasks=True)
    tasks = d.core.tasks
    assert tasks is not None
    run(tasks.wait_owner(), timeout=10)
    d.tray.pause_action.trigger()  # checked
    assert tasks.paused
    wait_until(lambda: d.window.tasks_panel.banner.text() == PAUSED_TEXT)
    task = run(tasks.add(NewTask("reminder", {"text": "later"})))
    QTest.qWait(1300)  # past the engine's idle poll
    assert run(tasks.get(task.id)).status == "pending"

    d.tray.pause_action.trigger()  # unchecked: resumed at once
    assert not tasks.paused
    wait_until(lambda: run(tasks.get(task.id)).status == "completed", timeout=10)
    wait_until(lambda: d.window.tasks_panel.banner.text() == "")


# ---------------------------------------------------------------------- quitting
@tray_warnings
def test_quit_from_the_tray_quits_and_shuts_down_cleanly(
    make_desktop: Callable[..., Desktop],
    run: Runner,
    loop: asyncio.AbstractEventLoop,
    paths: Paths,
) -> None:
    d = make_desktop(tray=True, start=False)
    served = loop.create_task(d.controller.run_until_closed(core=d.core))
    wait_until(lambda: d.controller.core is not None)
    close_window(d.window)  # into the tray
    assert not served.done()
    d.tray.quit_action.trigger()
    wait_until(served.done, timeout=30)
    assert served.result() == 0
    assert d.core.database.closed  # type: ignore[attr-defined]
    assert not d.tray.visible  # the icon left the tray
    assert WindowState(paths.config_dir).path.exists()  # the window's state was saved


@tray_warnings
def test_ctrl_q_quits_even_with_a_tray(make_desktop: Callable[..., Desktop]) -> None:
    d = make_desktop(tray=True)
    QTest.keyClick(
        d.window.chat_panel.composer.editor, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier
    )
    wait_until(lambda: d.quitting)
    assert not d.window.isVisible()


# ---------------------------------------------------------------------- a second launch
@tray_warnings
def test_a_show_request_brings_the_hidden_window_back(
    make_desktop: Callable[..., Desktop],
) -> None:
    d = make_desktop(tray=True)
    close_window(d.window)
    d.controller.handle_request(InstanceRequest("show"))
    wait_until(d.window.isVisible)
    assert not d.quitting


def test_an_ask_request_asks_in_a_new_chat(make_desktop: Callable[..., Desktop]) -> None:
    model = FakeChatModel(delay=0.005)
    model.enqueue(["Paris."])
    d = make_desktop(tray=False, model=model)
    d.window.show_page("tasks")
    d.controller.handle_request(InstanceRequest("ask", "capital of France?"))
    assert d.window.page == "chat"
    wait_until(lambda: bool(model.calls), timeout=10)
    assert model.calls[-1][-1].content.endswith("capital of France?")
    assert d.controller.chat.conversation_id is not None


def test_requests_before_the_core_wait_for_it(
    make_desktop: Callable[..., Desktop], run: Runner
) -> None:
    model = FakeChatModel(delay=0.005)
    d = make_desktop(tray=False, model=model, start=False)
    d.controller.handle_request(InstanceRequest("ask", "early question"))
    assert not model.calls
    run(d.controller.start(d.core))
    wait_until(lambda: bool(model.calls), timeout=10)
    assert model.calls[-1][-1].content.endswith("early question")


# ---------------------------------------------------------------------- Quick ask
@tray_warnings
def test_quick_ask_from_the_tray_then_continue_in_keiko(
    make_desktop: Callable[..., Desktop],
) -> None:
    model = FakeChatModel(delay=0.005)
    model.enqueue(["A quick answer."])
    d = make_desktop(tray=True, model=model)
    quick = d.controller.quick
    assert d.controller.voice.keys_wanted() == (not quick.active)
    close_window(d.window)  # Keiko in the tray only
    d.tray.quick_ask_action.trigger()
    wait_until(quick.popup.isVisible)
    assert not d.window.isVisible()  # the popup alone, not the window
    d.tray.quick_ask_action.trigger()  # again: hidden
    wait_until(lambda: not quick.popup.isVisible())

    d.controller.handle_request(InstanceRequest("quick", "what is up?"))  # `keiko quick "…"`
    wait_until(quick.popup.isVisible)
    wait_until(lambda: bool(model.calls) and d.tray.state == "idle", timeout=10)
    assert model.calls[-1][-1].content.endswith("what is up?")
    conversation_id = quick.conversation_id
    assert conversation_id is not None

    quick.continue_requested.emit(conversation_id)  # "Continue in Keiko"
    wait_until(d.window.isVisible)
    assert not quick.popup.isVisible()
    assert d.window.page == "chat"
    wait_until(lambda: d.controller.chat.conversation_id == conversation_id)


@tray_warnings
def test_push_to_talk_from_the_tray_opens_quick_ask(make_desktop: Callable[..., Desktop]) -> None:
    d = make_desktop(tray=True)
    quick = d.controller.quick
    d.tray.talk_action.trigger()  # this Core has no speech: the popup opens and says so
    wait_until(quick.popup.isVisible)
    assert not d.controller.recorder.recording
    assert d.tray.state == "idle"


@tray_warnings
def test_a_task_ending_while_hidden_in_the_tray_is_a_balloon(
    make_desktop: Callable[..., Desktop], run: Runner, paths: Paths
) -> None:
    WindowState(paths.config_dir).tray_hint_shown = True  # (not the hint's balloon)
    d = make_desktop(tray=True, tasks=True)
    tasks = d.core.tasks
    assert tasks is not None
    run(tasks.wait_owner(), timeout=10)
    close_window(d.window)
    run(tasks.add(NewTask("reminder", {"text": "tea"}, name="Tea")))
    wait_until(lambda: bool(d.messages), timeout=10)
    assert d.messages == [("Keiko", "Task “Tea” completed.")]
    d.controller.lifetime.show_window()
    run(tasks.add(NewTask("reminder", {"text": "more tea"}, name="Tea 2")))
    wait_until(lambda: "Tea 2" in d.window.toasts.text, timeout=10)  # shown: the toast says it
    assert len(d.messages) == 1
