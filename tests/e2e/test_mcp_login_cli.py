"""`keiko mcp login` / `logout` as a subprocess, end to end: the real command, its loopback
listener and ``webbrowser`` (``BROWSER`` runs tests/helpers/oauth_browser.py, which follows the
local authorization server's redirect back to Keiko), the tokens in the (file) keychain, then
`keiko mcp list` using them without a browser, then logout deleting them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.helpers import file_keyring
from tests.helpers.cli import keiko_env
from tests.helpers.oauth_server import oauth_world


def _keiko(home: Path, keys: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = keiko_env(home, **file_keyring.env(keys), **extra)
    return subprocess.run(
        [sys.executable, "-m", "keiko_desktop", "mcp", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_login_list_logout(tmp_path: Path) -> None:
    home, keys = tmp_path / "home", tmp_path / "keys.json"
    (home / "config").mkdir(parents=True)
    browser = f"{sys.executable} -m tests.helpers.oauth_browser %s"
    with oauth_world() as world:
        servers = {"mcpServers": {"remote": {"url": world.mcp_url}}, "builtinServers": {}}
        (home / "config" / "mcp.json").write_text(json.dumps(servers))

        before = _keiko(home, keys, "list")
        assert "needs sign-in" in before.stdout
        assert "keiko mcp login remote" in before.stdout

        login = _keiko(home, keys, "login", "remote", BROWSER=browser)
        assert login.returncode == 0, login.stderr
        assert "If it does not open, visit:" in login.stdout
        assert f"{world.issuer}/authorize?" in login.stdout
        assert "Signed in to remote (2 tools)" in login.stdout
        assert "FileKeyring" in login.stdout
        stored = json.loads(keys.read_text())
        assert any(k.endswith(".tokens") for k in stored)
        assert any(t in "".join(stored.values()) for t in world.tokens)

        after = _keiko(home, keys, "list")
        assert "ready" in after.stdout, after.stdout
        assert len(world.kinds("authorize")) == 1  # list opened no browser

        logout = _keiko(home, keys, "logout", "remote")
        assert logout.returncode == 0
        assert "Signed out of remote" in logout.stdout
        assert json.loads(keys.read_text()) == {}
        again = _keiko(home, keys, "logout", "remote")
        assert "nothing to do" in again.stdout

        unknown = _keiko(home, keys, "login", "nope")
        assert unknown.returncode == 2
        assert "not configured" in unknown.stderr
