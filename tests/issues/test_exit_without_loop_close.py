"""Regression: leaving the process without closing the loop aborted it (exit -6).

The tool system is started with ``asyncio.to_thread``; qasync's default executor is made of
QThreads, and Qt aborts ("QThread: Destroyed while thread is still running") when the process
exits with them alive, as any exit path that skips ``loop.close()`` does (the window benchmark
did). The window's loop now uses a plain thread pool (``ui/event_loop.py``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import asyncio
    from PySide6.QtWidgets import QApplication
    from keiko_desktop.core.config import Settings
    from keiko_desktop.ui.controller import AppController
    from keiko_desktop.ui.event_loop import create_event_loop
    from keiko_desktop.ui.main_window import MainWindow
    from keiko_desktop.ui.theme import ThemeManager

    app = QApplication([])
    loop = create_event_loop(app)
    asyncio.set_event_loop(loop)
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
    print("clean exit", flush=True)  # and no loop.close(): the process just ends
    """
)


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
