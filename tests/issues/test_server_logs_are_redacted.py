"""Regression (issue 9, item 8): a server's stderr log held its secrets in clear.

A token passed to a server through its env (resolved from the keychain) appeared in
``logs/mcp-NAME.log`` because stderr was saved as it came. The stderr now passes through the
redactor (every configured secret value: keychain values and secret-looking env values given
in plain text) into an owner-only log, and the app's own log redacts them too.
"""

from __future__ import annotations

import json
import logging
import stat
import time
from pathlib import Path

import keyring

from keiko_desktop.core.config import Paths
from keiko_desktop.core.logs import LOG_FILE, setup_logging
from keiko_desktop.mcp_tools.secrets import KEYRING_SERVICE
from tests.helpers.mcp_servers import hostile_entry
from tests.helpers.tool_system import real_tool_system

KEYCHAIN_TOKEN = "ghs_keychain_0123456789abcdef"
PLAIN_TOKEN = "plain-secret-9876543210"


def _write_config(paths: Paths, env: dict[str, str]) -> None:
    paths.config_dir.mkdir(parents=True, exist_ok=True)
    config = {"mcpServers": {"evil": hostile_entry(env=env)}}
    (paths.config_dir / "mcp.json").write_text(json.dumps(config), encoding="utf-8")


def _wait_for(path: Path, text: str) -> str:
    deadline = time.monotonic() + 20
    content = ""
    while time.monotonic() < deadline:
        content = path.read_text(encoding="utf-8") if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never reached {path}: {content!r}")


async def test_a_keychain_token_never_reaches_the_server_log(paths: Paths) -> None:
    keyring.set_password(KEYRING_SERVICE, "evil.HOSTILE_TOKEN", KEYCHAIN_TOKEN)
    _write_config(paths, {"HOSTILE_TOKEN": "${keyring:evil.HOSTILE_TOKEN}"})
    async with real_tool_system(["evil"]) as system:
        assert system.service.servers()[0].status == "ready"
        log = paths.log_dir / "mcp-evil.log"
        content = _wait_for(log, "starting with token")
    assert KEYCHAIN_TOKEN not in content
    assert "starting with token [redacted]" in content
    assert stat.S_IMODE(log.stat().st_mode) == 0o600


async def test_a_plain_secret_env_value_is_redacted_from_every_log(paths: Paths) -> None:
    _write_config(paths, {"HOSTILE_TOKEN": PLAIN_TOKEN})
    setup_logging(paths)
    root = logging.getLogger()
    try:
        async with real_tool_system(["evil"]):
            content = _wait_for(paths.log_dir / "mcp-evil.log", "starting with token")
            logging.getLogger("keiko_desktop.test").warning("the server said %s", PLAIN_TOKEN)
        assert PLAIN_TOKEN not in content
        for handler in root.handlers:
            handler.flush()
        app_log = (paths.log_dir / LOG_FILE).read_text(encoding="utf-8")
        assert "the server said [redacted]" in app_log
        assert PLAIN_TOKEN not in app_log
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "baseFilename", "").startswith(str(paths.log_dir)):
                root.removeHandler(handler)
                handler.close()
