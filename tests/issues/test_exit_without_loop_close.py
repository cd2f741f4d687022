"""Regression: leaving the process without closing the loop aborted it (exit -6).

The tool system is started with ``asyncio.to_thread``; qasync's default executor is made of
QThreads, and Qt aborts ("QThread: Destroyed while thread is still running") when the process
exits with them alive, as any exit path that skips ``loop.close()`` does (the window benchmark
did). The window's loop now uses a plain thread pool (``ui/event_loop.py``).

The script spies on the loop's ``run_in_executor`` and reports what reached the default executor,
so the test fails if the tool start never got there (tools off, started elsewhere, cancelled
first) or if the process ended with no executor thread left alive: then it would prove nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio
    import functools
    import importlib
    import json
    import threading
    from PySide6.QtWidgets import QApplication
    from keiko_desktop.core.config import Settings
    from keiko_desktop.ui.controller import AppController
    from keiko_desktop.ui.event_loop import create_event_loop
    from keiko_desktop.ui.main_window import MainWindow
    from keiko_desktop.ui.theme import ThemeManager

    app = QApplication([])
    loop = create_event_loop(app)
    asyncio.set_event_loop(loop)

    # The spy: what asyncio.to_thread hands the loop's default executor, and the thread it ran on.
    ran = []  # (module imported, thread name)
    run_in_executor = loop.run_in_executor

    def spy(executor, fn, *args):
        if executor is not None or not isinstance(fn, functools.partial):
            return run_in_executor(executor, fn, *args)
        # to_thread submits partial(context.run, func, *args)
        func, *func_args = fn.args
        module = func_args[0] if func is importlib.import_module else getattr(func, "__name__", "?")

        def recorded():
            ran.append((module, threading.current_thread().name))
            return fn()

        return run_in_executor(None, recorded, *args)

    loop.run_in_executor = spy
    themes = ThemeManager(app, "light")
    window = MainWindow(themes)
    window.show()
    controller = AppController(window, themes)

    async def main():
        # tool use on: the tool system starts on a thread of the loop's default executor
        await controller.start(settings=Settings(tools_in_chat=True), start_model=False)
        await controller.shutdown()
        window.close()

    loop.run_until_complete(main())
    alive = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    report = {"ran": ran, "alive": alive, "loop_closed": loop.is_closed()}
    print("report " + json.dumps(report), flush=True)
    print("clean exit", flush=True)  # and no loop.close(): the process just ends
    """
)

TOOL_SETUP = "keiko_desktop.mcp_tools.setup"  # what Core._start_tools imports off the loop


def test_exit_without_closing_the_loop_is_clean(keiko_home: Path) -> None:
    env = dict(os.environ, KEIKO_HOME=str(keiko_home), QT_QPA_PLATFORM="offscreen")
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "clean exit" in result.stdout
    assert "QThread: Destroyed" not in result.stderr
    [line] = [x for x in result.stdout.splitlines() if x.startswith("report ")]
    report = json.loads(line.removeprefix("report "))
    # The path this test is about was taken: the tool system's start (the MCP SDK import) ran
    # on a thread of the loop's default executor, the pool create_event_loop() gives it...
    setup_threads = [name for module, name in report["ran"] if module == TOOL_SETUP]
    assert setup_threads, f"the tool start never reached the default executor: {report}"
    assert all(name.startswith("keiko-io") for name in setup_threads), report
    # ...and the process ended with that executor's threads still there, the loop not closed.
    assert not report["loop_closed"]
    assert any(name.startswith("keiko-io") for name in report["alive"]), report
