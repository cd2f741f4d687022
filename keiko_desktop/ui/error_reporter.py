"""ErrorReporter: the last line of defence. Unexpected exceptions — from Qt slots (sys.excepthook)
or from asyncio tasks and callbacks (the loop's exception handler) — are logged and shown once in
an ``ErrorDialog``; the app keeps running."""

from __future__ import annotations

import asyncio
import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.ui.dialogs.error_dialog import ErrorDialog

log = logging.getLogger(__name__)


def _details(exc: BaseException) -> str:
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip()


class ErrorReporter(QObject):
    """Shows unexpected errors. One dialog at a time; an error already shown is not shown again.

    Signals:
        reported(str): an error was reported (its one-line summary).
    """

    reported = Signal(str)

    def __init__(self, parent_widget: QWidget | None, log_dir: Path | None = None) -> None:
        super().__init__(parent_widget)
        self._parent_widget = parent_widget
        self._log_dir = log_dir
        self._seen: set[tuple[str, str]] = set()
        self.dialog: ErrorDialog | None = None
        self._previous_hook = sys.excepthook
        self._loop: asyncio.AbstractEventLoop | None = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._previous_hook = sys.excepthook
        sys.excepthook = self._excepthook
        self._loop = loop
        loop.set_exception_handler(self._on_loop_exception)

    def uninstall(self) -> None:
        if sys.excepthook == self._excepthook:
            sys.excepthook = self._previous_hook
        if self._loop is not None:
            self._loop.set_exception_handler(None)
            self._loop = None

    def _excepthook(
        self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(kind, KeyboardInterrupt):
            self._previous_hook(kind, exc, tb)
            return
        self.report(exc.with_traceback(tb))

    def _on_loop_exception(self, _loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        exc = context.get("exception")
        if isinstance(exc, BaseException):
            self.report(exc, context.get("message", ""))
        else:
            log.error("asyncio: %s", context.get("message", context))

    def report(self, exc: BaseException, where: str = "") -> None:
        """Log ``exc`` and show it (unless the same error was shown before)."""
        summary = f"{type(exc).__name__}: {exc}"
        log.error("%s%s", f"{where}: " if where else "", summary, exc_info=exc)
        self.reported.emit(summary)
        key = (type(exc).__name__, str(exc))
        if key in self._seen:
            return
        self._seen.add(key)
        details = _details(exc)
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.append_details(details)
            return
        if isinstance(exc, KeikoError):
            title, text = exc.message, exc.hint or "Keiko kept running."
        else:
            title = "Something went wrong, but Keiko kept running."
            where_log = f" The log is in {self._log_dir}." if self._log_dir else ""
            text = (
                "You can carry on. If it happens again, copy the details below and report "
                f"them.{where_log}"
            )
        self.dialog = ErrorDialog(self._parent_widget)
        self.dialog.set_error(title, text, details)
        self.dialog.open()
