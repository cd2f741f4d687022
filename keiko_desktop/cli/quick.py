"""``keiko quick ["question"]`` and ``keiko ask --gui``: ask through the window.

The request goes to the Keiko already running for this home (``cli/instance_client.py``, no
Qt). When none runs: ``quick`` with a question answers here, like ``keiko ask``; without one
(and ``ask --gui`` always) the window starts with the request (Quick ask open, or a new chat).
"""

from __future__ import annotations

import argparse
import os
import sys

from keiko_desktop.cli.common import error
from keiko_desktop.core.instance_protocol import InstanceAction, InstanceRequest, check


def _request(
    action: InstanceAction, words: list[str], attachments: tuple[str, ...] = ()
) -> InstanceRequest:
    """The request, checked (``ValueError``: too long, too many files, not UTF-8 text). Not
    through ``cli.chat``: forwarding must not pay for importing the core."""
    return check(InstanceRequest(action, " ".join(words).strip(), attachments))


def run_quick(args: argparse.Namespace) -> int:
    from keiko_desktop.cli.window import forward_to_running, open_window

    try:
        request = _request("quick", list(args.question))
    except ValueError as exc:
        error(exc)
        return 2
    if forward_to_running(request):
        print("Sent to the running Keiko: Quick ask is open.")
        return 0
    if not request.text:
        return open_window(request)
    from keiko_desktop.cli import build_parser
    from keiko_desktop.cli.chat import run_ask

    return run_ask(build_parser().parse_args(["ask", "--", request.text]))


GUI_ONLY_CONFLICTS = ("json", "conversation", "model", "temperature", "max_tokens", "tools")


def run_ask_gui(args: argparse.Namespace) -> int:
    """``keiko ask --gui``: a new chat in the window asking the question with the files."""
    from keiko_desktop.cli.window import forward_to_running, has_display

    given = [f"--{n.replace('_', '-')}" for n in GUI_ONLY_CONFLICTS if getattr(args, n, None)]
    if given:
        error(f"--gui asks in the window, where these do not apply: {', '.join(given)}")
        return 2
    files = tuple(os.path.abspath(f) for f in (args.attach or ()))
    missing = [f for f in files if not os.path.exists(f)]
    if missing:
        error(f"no such file: {missing[0]}")
        return 2
    try:
        request = _request("ask", list(args.question), files)
    except ValueError as exc:
        error(exc)
        return 2
    if forward_to_running(request):
        print("Sent to the running Keiko: asked in a new chat.")
        return 0
    if not has_display():
        error("no display found, so the window cannot open; answering here instead")
        from keiko_desktop.cli.chat import run_ask

        args.gui = False
        return run_ask(args)
    from keiko_desktop.ui.application import run

    return run(sys.argv[:1], request)
