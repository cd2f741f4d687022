"""Opening the main window. Qt is imported only here, only when the window is wanted.

A Keiko already running for this home gets the request instead (``cli/instance_client.py``,
without Qt): a second ``keiko`` raises the first window and exits.
"""

from __future__ import annotations

import os
import sys

from keiko_desktop.cli.common import error
from keiko_desktop.core.instance_protocol import InstanceRequest


def has_display() -> bool:
    if sys.platform != "linux" or os.environ.get("QT_QPA_PLATFORM"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def forward_to_running(request: InstanceRequest) -> bool:
    """True when a running Keiko took ``request`` (``ValueError`` when it is out of bounds)."""
    from keiko_desktop.cli.instance_client import forward
    from keiko_desktop.core.config import Paths

    return forward(Paths.from_env(), request)


def open_window(request: InstanceRequest | None = None) -> int:
    """Start the desktop window (with ``request`` to act on once it is up), or hand the
    request to the Keiko already running; with no display at all, the terminal chat."""
    if forward_to_running(request or InstanceRequest("show")):
        return 0
    if not has_display():
        error("no display found, so the window cannot open; starting the terminal chat instead")
        error("(run under a desktop session or `xvfb-run keiko` for the window)")
        from keiko_desktop.cli import build_parser
        from keiko_desktop.cli.chat import run_chat

        return run_chat(build_parser().parse_args(["chat"]))
    from keiko_desktop.ui.application import run

    return run(sys.argv[:1], request)
