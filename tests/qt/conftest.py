"""Qt test fixtures: a qasync loop, a Core on a real database, and the real window.

Any Qt warning fails a test (qutebrowser style): every test here is marked
``qt_log_level_fail("WARNING")`` and its teardown checks the messages captured then too. An
unexpected exception in an asyncio task or callback fails the test as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from keiko_desktop.app import Core
from keiko_desktop.core.chat.models import ModelManager
from keiko_desktop.core.chat.service import ChatService
from keiko_desktop.core.config import Paths, Settings
from keiko_desktop.core.ports import ChatModel
from keiko_desktop.store import open_database
from keiko_desktop.ui.controller import AppController
from keiko_desktop.ui.event_loop import create_event_loop
from keiko_desktop.ui.main_window import MainWindow
from keiko_desktop.ui.theme import ThemeManager
from keiko_desktop.ui.window_state import WindowState
from tests.helpers.events import running_loop_bus
from tests.helpers.fake_model import FakeChatModel
from tests.helpers.fake_provider import FakeProvider
from tests.helpers.qt_main_window import main_window_fixture, other_window_active  # noqa: F401 (fixtures)

T = TypeVar("T")
Runner = Callable[..., Any]
QT_DIR = Path(__file__).parent
# Said by the offscreen platform plugin itself (top-level windows, tooltips): not our doing.
IGNORED_QT_MESSAGES = (
    "This plugin does not support propagateSizeHints",
    "This plugin does not support raise",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if QT_DIR in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.qt_log_level_fail("WARNING"))
            item.add_marker(pytest.mark.qt_log_ignore(*IGNORED_QT_MESSAGES))


@pytest.fixture(autouse=True)
def _no_qt_warnings_in_teardown(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    capture = getattr(request.node, "qt_log_capture", None)
    if capture is None:
        return
    bad = [r for r in capture.records if r.matches_level("WARNING") and not r.ignored]
    assert not bad, "Qt warnings: " + "; ".join(r.message for r in bad)


def _kill_loop_timers(event_loop: asyncio.AbstractEventLoop) -> None:
    """qasync keeps a Qt timer per call_later (wait_for, sleep) until it fires, even after close.

    Destroying its timer object with timers alive, on whichever thread the garbage collector
    happens to run, makes Qt warn; kill them here.
    """
    timer = getattr(event_loop, "_timer", None)
    callbacks = getattr(timer, "_SimpleTimer__callbacks", None)
    if timer is None or callbacks is None:
        return
    for timer_id in list(callbacks):
        timer.killTimer(timer_id)
    callbacks.clear()


@pytest.fixture
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop that is *running* for the whole test, driven by Qt's event processing.

    This is how the app runs (Qt's event loop drives asyncio), so slots can start tasks at any
    time. Tests wait by spinning Qt (``run``, ``Harness.wait``). Unexpected task errors fail the
    test.
    """
    event_loop = create_event_loop(qapp, already_running=True)
    asyncio.set_event_loop(event_loop)
    errors: list[dict[str, Any]] = []
    event_loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield event_loop
    QTest.qWait(30)
    # Not stop(): it calls app.exit(), which outside exec() leaves Qt quitting every later
    # local event loop at once (layouts then never settle in the following tests).
    event_loop._QEventLoop__is_running = False  # type: ignore[attr-defined]
    with contextlib.suppress(RuntimeError):
        qapp.aboutToQuit.disconnect(event_loop._after_run_forever)  # type: ignore[attr-defined]
    event_loop._after_run_forever()  # type: ignore[attr-defined]
    asyncio.events._set_running_loop(None)
    event_loop.close()
    asyncio.set_event_loop(None)
    _kill_loop_timers(event_loop)
    del event_loop
    gc.collect()  # here, on the GUI thread, not later on some worker thread
    assert not errors, f"unexpected errors in the loop: {errors}"


@pytest.fixture
def run(loop: asyncio.AbstractEventLoop) -> Runner:
    """``run(coro, timeout=30)``: run a coroutine to its end while Qt keeps processing events."""

    def runner(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        task = loop.create_task(coro)
        deadline = time.monotonic() + timeout
        while not task.done():
            if time.monotonic() > deadline:
                task.cancel()
                raise TimeoutError(f"{coro!r} did not finish in {timeout} s")
            QTest.qWait(5)
        return task.result()

    return runner


def wait_until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Spin Qt (and so the loop) until ``predicate()`` is true; TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not met in {timeout} s")
        QTest.qWait(5)


async def make_fake_core(
    paths: Paths, model: ChatModel, settings: Settings | None = None, load_delay: float = 0.0
) -> Core:
    settings = settings or Settings(max_tokens=48)
    bus = running_loop_bus()
    database = await open_database(paths.database)
    repo = database.conversations
    provider = FakeProvider(model, load_delay)
    models = ModelManager(provider, bus)
    holder: dict[str, Core] = {}
    chat = ChatService(repo, models, bus, lambda: holder["core"].settings)
    core = Core(paths, settings, bus, database, repo, provider, models, chat)  # type: ignore[arg-type]
    holder["core"] = core
    core.recovered = await chat.recover()
    models.start_loading()
    return core


@pytest.fixture
def fake_model() -> FakeChatModel:
    return FakeChatModel(delay=0.005)


@pytest.fixture
def themes(qapp: QApplication) -> Iterator[ThemeManager]:
    manager = ThemeManager(qapp, "light")
    yield manager
    manager.deleteLater()


class Harness:
    """The real window and its controller, on a Core given by the test."""

    def __init__(self, window: MainWindow, controller: AppController, run: Runner) -> None:
        self.window = window
        self.controller = controller
        self.run = run

    @property
    def core(self) -> Core:
        core = self.controller.core
        assert core is not None
        return core

    @property
    def panel(self) -> Any:
        return self.window.chat_panel

    def wait(self, predicate: Callable[[], object], timeout: float = 10.0) -> None:
        wait_until(predicate, timeout)

    def settle(self, seconds: float = 0.05) -> None:
        QTest.qWait(int(seconds * 1000))


@pytest.fixture
def make_harness(
    qtbot: Any, run: Runner, paths: Paths, themes: ThemeManager
) -> Iterator[Callable[..., Harness]]:
    made: list[Harness] = []

    def factory(core_factory: Callable[[], Coroutine[Any, Any, Core]]) -> Harness:
        state = WindowState(paths.config_dir)
        fresh = not state.path.exists()
        window = MainWindow(themes, state)
        if fresh:
            window.resize(1100, 760)
        window.show()
        controller = AppController(window, themes, WindowState(paths.config_dir))
        core = run(core_factory())
        run(controller.start(core))
        harness = Harness(window, controller, run)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        run(harness.controller.shutdown(), timeout=30)
        harness.window.close()
        harness.window.deleteLater()


@pytest.fixture
def harness(
    make_harness: Callable[..., Harness], paths: Paths, fake_model: FakeChatModel
) -> Harness:
    """The window on a real database and a scripted model."""
    return make_harness(lambda: make_fake_core(paths, fake_model))
