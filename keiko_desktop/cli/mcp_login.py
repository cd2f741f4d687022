"""`keiko mcp login SERVER` / `keiko mcp logout SERVER`: OAuth sign-in to a remote server.

``login`` runs the authorization code flow with PKCE in the system browser (the URL is printed
too, for a machine where no browser opens) and a loopback redirect, or the client-credentials
grant when the server's ``oauth`` block says so; the tokens go to the system keychain.
``logout`` deletes the tokens and the registered client from the keychain.
"""

from __future__ import annotations

import argparse

from keiko_desktop.cli.common import error, run_async, show
from keiko_desktop.core.config import Paths
from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line


def run_login(args: argparse.Namespace) -> int:
    return run_async(lambda: _run(args.server, logout=args.mcp_command == "logout"))


async def _run(server: str, logout: bool) -> int:
    from keiko_desktop.core.tools.redaction import Redactor, redact_logs, stop_redacting_logs
    from keiko_desktop.mcp_tools.config import HttpServerConfig, load_config
    from keiko_desktop.mcp_tools.oauth.manager import OAuthManager

    try:
        config = load_config(Paths.from_env()).servers.get(server)
    except KeikoError as exc:
        error(exc)
        return 1
    if not isinstance(config, HttpServerConfig):
        kind = "not configured" if config is None else "not a remote (HTTP) server"
        error(
            f"'{one_line(server, 64)}' is {kind}; only servers with a URL sign in.\n"
            "  → See `keiko mcp list`."
        )
        return 2
    redactor = Redactor()
    redact_logs(redactor)
    manager = OAuthManager(redactor)
    try:
        if logout:
            deleted = await manager.logout(config)
            if deleted:
                show(f"Signed out of {server}: deleted {', '.join(deleted)} from the keychain.")
            else:
                show(f"No tokens were stored for {server}; nothing to do.")
            return 0

        def show_url(url: str) -> None:
            show(f"Opening your browser to sign in to {server}. If it does not open, visit:")
            print(f"  {one_line(url, 8000)}", flush=True)

        outcome = await manager.login(config, show_url)
    except KeikoError as exc:
        error(exc)
        return 1
    finally:
        stop_redacting_logs(redactor)
    if not outcome.asked:
        show(f"{server} did not ask for a sign-in; it works without one ({outcome.tools} tools).")
        return 0
    show(f"Signed in to {server} ({outcome.tools} tools). Tokens are kept in {outcome.where}.")
    show("A running Keiko uses them when the server restarts (Settings > Tools: Sign in).")
    return 0
