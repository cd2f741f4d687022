"""Quit cleanly on SIGTERM and SIGHUP (a session logging out, ``kill``, a service manager).

Python runs a signal handler only between bytecodes, and the GUI thread may sit in Qt's event
loop for a long time, so the handler does nothing itself: ``signal.set_wakeup_fd`` has the C
handler write the signal's number into a socket pair, whose read end a ``QSocketNotifier``
watches on the GUI thread; its slot calls ``quit`` (``AppLifetime.quit``: the replies stopped
and stored, the single-instance socket removed, exit 0). POSIX only; elsewhere a no-op.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType

from PySide6.QtCore import QObject, QSocketNotifier

log = logging.getLogger(__name__)

QUIT_SIGNALS = ("SIGTERM", "SIGHUP")


def _ignore(_signum: int, _frame: FrameType | None) -> None:
    """The Python-level handler: the wake-up byte does the work."""


class QuitSignals(QObject):
    """While installed, SIGTERM and SIGHUP call ``quit`` on the GUI thread (once each)."""

    def __init__(self, quit: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._quit = quit
        self._previous: dict[int, object] = {}
        self._old_fd = -1
        self._pair: tuple[socket.socket, socket.socket] | None = None
        self._notifier: QSocketNotifier | None = None

    def install(self) -> bool:
        """Take the signals; False where that cannot be done (not POSIX, not the main thread)."""
        if sys.platform == "win32" or self._pair is not None:
            return False
        reader, writer = socket.socketpair()
        reader.setblocking(False)
        writer.setblocking(False)
        try:
            self._old_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        except ValueError:  # not the main thread
            reader.close()
            writer.close()
            return False
        self._pair = (reader, writer)
        for name in QUIT_SIGNALS:
            number = getattr(signal, name)
            self._previous[number] = signal.signal(number, _ignore)
        self._notifier = QSocketNotifier(reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._on_notifier_activated)
        return True

    def uninstall(self) -> None:
        """Give the signals back as they were."""
        if self._pair is None:
            return
        for number, previous in self._previous.items():
            with contextlib.suppress(ValueError, TypeError):
                signal.signal(number, previous)  # type: ignore[arg-type]
        self._previous.clear()
        with contextlib.suppress(ValueError):
            signal.set_wakeup_fd(self._old_fd)
        if self._notifier is not None:
            self._notifier.setEnabled(False)
            self._notifier.deleteLater()
            self._notifier = None
        for end in self._pair:
            end.close()
        self._pair = None

    def _on_notifier_activated(self) -> None:
        if self._pair is None:
            return
        try:
            data = self._pair[0].recv(64)
        except (BlockingIOError, InterruptedError):
            return
        wanted = {getattr(signal, name) for name in QUIT_SIGNALS}
        got = [n for n in data if n in wanted]
        if got:
            log.info("quitting on %s", signal.Signals(got[0]).name)
            self._quit()
