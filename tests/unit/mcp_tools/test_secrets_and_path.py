"""Keychain references, moving secrets, no-backend errors; the login-shell PATH."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
import time
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from keiko_desktop.core.tools.errors import SecretStoreError, ServerUnavailableError
from keiko_desktop.core.tools.redaction import Redactor
from keiko_desktop.mcp_tools.config import HttpServerConfig, StdioServerConfig
from keiko_desktop.mcp_tools.secrets import (
    SecretStore,
    move_secrets_to_keychain,
    plain_secrets,
)
from keiko_desktop.mcp_tools.shell_env import LoginShellPath, merge_paths, resolve_command
from tests.helpers.memory_keyring import MemoryKeyring


def test_references_resolve_and_feed_the_redactor(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()
    store.set("gh.TOKEN", "ghp_abcdef123456")
    redactor = Redactor()
    value = store.resolve("Bearer ${keyring:gh.TOKEN}", redactor)
    assert value == "Bearer ghp_abcdef123456"
    assert memory_keyring.store[("keiko-desktop", "gh.TOKEN")] == "ghp_abcdef123456"
    assert redactor.redact_text("log: ghp_abcdef123456") == "log: [redacted]"


def test_missing_secret_says_how_to_add_it() -> None:
    with pytest.raises(SecretStoreError, match="'nope' is not in the keychain") as info:
        SecretStore().resolve("${keyring:nope}")
    assert "keyring set keiko-desktop nope" in info.value.hint


def test_no_keychain_backend_is_a_clear_error() -> None:
    keyring.set_keyring(fail.Keyring())
    with pytest.raises(SecretStoreError, match="No system keychain is available") as info:
        SecretStore().set("x", "y")
    assert "keyrings.alt" in info.value.hint
    assert "--plain-secrets" in info.value.hint
    with pytest.raises(SecretStoreError, match="No system keychain"):
        SecretStore().get("x")


def test_moving_secrets_leaves_references(memory_keyring: MemoryKeyring) -> None:
    server = StdioServerConfig(
        "gh", "npx", env={"GITHUB_TOKEN": "ghp_1", "LOG_LEVEL": "debug", "DB_PASSWORD": "pw12"}
    )
    assert sorted(plain_secrets(server)) == ["DB_PASSWORD", "GITHUB_TOKEN"]
    moved, names = move_secrets_to_keychain(server, SecretStore())
    assert isinstance(moved, StdioServerConfig)
    assert moved.env == {
        "GITHUB_TOKEN": "${keyring:gh.GITHUB_TOKEN}",
        "LOG_LEVEL": "debug",
        "DB_PASSWORD": "${keyring:gh.DB_PASSWORD}",
    }
    assert sorted(names) == ["gh.DB_PASSWORD", "gh.GITHUB_TOKEN"]
    assert plain_secrets(moved) == []
    http = HttpServerConfig("web", "http://127.0.0.1/mcp", {"Authorization": "Bearer t0ken"})
    moved_http, _ = move_secrets_to_keychain(http, SecretStore())
    assert isinstance(moved_http, HttpServerConfig)
    assert moved_http.headers == {"Authorization": "${keyring:web.Authorization}"}
    assert memory_keyring.store[("keiko-desktop", "web.Authorization")] == "Bearer t0ken"


def test_merge_paths_keeps_order_and_drops_duplicates() -> None:
    sep = os.pathsep
    assert merge_paths(f"/a{sep}/b", f"/b{sep}/c{sep}{sep}/a") == f"/a{sep}/b{sep}/c"


def fake_shell(tmp_path: Path, body: str) -> str:
    script = tmp_path / "fakeshell"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


@pytest.mark.skipif(sys.platform == "win32", reason="login shells are POSIX")
async def test_login_shell_path_comes_first_and_noise_is_ignored(tmp_path: Path) -> None:
    shell = fake_shell(
        tmp_path,
        'echo "Welcome, motd noise"; '
        "printf '%s' '__KEIKO_PATH_START__/opt/node/bin:/usr/bin__KEIKO_PATH_END__'",
    )
    finder = LoginShellPath(shell=shell)
    path = await finder.get()
    entries = path.split(os.pathsep)
    assert entries[:2] == ["/opt/node/bin", "/usr/bin"]
    assert set(os.environ["PATH"].split(os.pathsep)) - {""} <= set(entries)
    assert await finder.get() is path  # cached


@pytest.mark.skipif(sys.platform == "win32", reason="login shells are POSIX")
async def test_a_hanging_login_shell_falls_back_in_time(tmp_path: Path) -> None:
    shell = fake_shell(tmp_path, "sleep 30")
    started = time.monotonic()
    path = await LoginShellPath(shell=shell, time_limit=0.5).get()
    assert time.monotonic() - started < 3
    assert path == merge_paths("", os.environ["PATH"])


async def test_missing_shell_falls_back() -> None:
    path = await LoginShellPath(shell="/nonexistent/shell").get()
    assert path == merge_paths("", os.environ["PATH"])
    await asyncio.sleep(0)


def test_resolve_command(tmp_path: Path) -> None:
    tool = tmp_path / "bin" / "mytool"
    tool.parent.mkdir()
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    assert resolve_command("mytool", str(tool.parent)) == str(tool)
    with pytest.raises(ServerUnavailableError, match="'npx' was not found on PATH") as info:
        resolve_command("npx", str(tmp_path / "empty"))
    assert "Node.js" in info.value.hint
