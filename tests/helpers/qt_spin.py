"""Waiting in Qt tests while other threads work.

``spin(ms)`` runs Qt's loop through a ``QEventLoop``, which lets Python threads run;
``QTest.qWait`` keeps the GIL in PySide6 6.11, so a worker or X thread starves during it.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from PySide6.QtCore import QEventLoop, QTimer


def spin(ms: int) -> None:
    """Run Qt's loop for ``ms`` milliseconds."""
    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def spin_until(check: Callable[[], object], timeout: float = 5.0) -> None:
    """Run Qt's loop until ``check()`` is true; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("not in time")
        spin(10)
