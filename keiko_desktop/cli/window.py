"""Opening the main window. Qt is imported only here, only when the window is wanted."""

from __future__ import annotations

import os
import sys

from keiko_desktop.cli.common import error


def _has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_window() -> int:
    """Start the desktop window; with no display at all, the terminal chat instead."""
    if not _has_display():
        error("no display found, so the window cannot open; starting the terminal chat instead")
        error("(run under a desktop session or `xvfb-run keiko` for the window)")
        from keiko_desktop.cli import build_parser
        from keiko_desktop.cli.chat import run_chat

        return run_chat(build_parser().parse_args(["chat"]))
    from keiko_desktop.ui.application import run

    return run(sys.argv[:1])
