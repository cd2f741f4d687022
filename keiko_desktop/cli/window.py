"""Opening the main window. Qt is imported only here, only when the window is wanted."""

from __future__ import annotations

import importlib.util
import sys


def open_window() -> int:
    """Start the desktop window, or the terminal chat where the window cannot be built."""
    if importlib.util.find_spec("keiko_desktop.ui.application") is None:
        import argparse

        from keiko_desktop.cli.chat import run_chat

        return run_chat(argparse.Namespace(conversation=None, model=None))
    from keiko_desktop.ui.application import run

    return run(sys.argv[:1])
