"""The qasync event loop the window runs on.

qasync's default executor (used by ``asyncio.to_thread`` and ``run_in_executor(None, …)``) is made
of QThreads, and Qt aborts the process ("QThread: Destroyed while thread is still running") when
one is still busy as the app quits, e.g. the MCP SDK import started a moment before the user
closed the window. Plain Python threads have no such rule, so the loop gets a standard pool.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import qasync
from PySide6.QtWidgets import QApplication


def create_event_loop(app: QApplication, *, already_running: bool = False) -> qasync.QEventLoop:
    loop = qasync.QEventLoop(app, already_running=already_running)
    loop.set_default_executor(ThreadPoolExecutor(thread_name_prefix="keiko-io"))
    return loop
