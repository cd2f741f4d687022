"""`keiko mcp ...` end to end in-process: import, list, tools, call with policies."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from keiko_desktop.cli import main
from keiko_desktop.core.config import Paths
from keiko_desktop.mcp_tools.config import config_path, load_config
from tests.helpers.mcp_servers import MISBEHAVING
from tests.helpers.memory_keyring import MemoryKeyring


@pytest.fixture
def claude_file(tmp_path: Path) -> Path:
    path = tmp_path / "claude_desktop_config.json"
    path.write_text(
        json.dumps(
            {
                "mcpServers": {
                    "bad": {
                        "command": sys.executable,
                        "args": [str(MISBEHAVING)],
                        "env": {"API_TOKEN": "tok-123456", "MODE": "test"},
                    }
                }
            }
        )
    )
    return path


@pytest.fixture
def no_tty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))


def audit_rows(paths: Paths) -> list[tuple[str, str, str]]:
    with sqlite3.connect(paths.database) as con:
        return list(con.execute("SELECT tool, decision, arguments FROM tool_audit ORDER BY id"))


def test_import_moves_secrets_to_the_keychain(
    claude_file: Path,
    paths: Paths,
    memory_keyring: MemoryKeyring,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["mcp", "import", str(claude_file)]) == 0
    out = capsys.readouterr().out
    assert "Imported 1 server(s)" in out
    assert "bad.API_TOKEN" in out
    text = config_path(paths).read_text()
    assert "tok-123456" not in text
    assert "${keyring:bad.API_TOKEN}" in text
    assert memory_keyring.store[("keiko-desktop", "bad.API_TOKEN")] == "tok-123456"
    assert main(["mcp", "import", str(claude_file)]) == 0
    assert "Skipped (already configured; use --replace): bad" in capsys.readouterr().out


def test_import_without_a_keychain_explains_the_fix(
    claude_file: Path, paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    keyring.set_keyring(fail.Keyring())
    assert main(["mcp", "import", str(claude_file)]) == 1
    err = capsys.readouterr().err
    assert "No system keychain is available" in err
    assert "--plain-secrets" in err
    assert not config_path(paths).exists()
    assert main(["mcp", "import", "--plain-secrets", str(claude_file)]) == 0
    assert "stay in plain text" in capsys.readouterr().out
    assert load_config(paths).servers["bad"].env["API_TOKEN"] == "tok-123456"  # type: ignore[union-attr]


def test_list_and_tools(
    claude_file: Path, paths: Paths, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["mcp", "import", str(claude_file)])
    capsys.readouterr()
    assert main(["mcp", "list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()}
    assert set(lines) == {"files", "notes", "clock", "bad"}
    assert "ready" in lines["bad"]
    assert "stdio" in lines["bad"]
    assert main(["mcp", "tools", "bad"]) == 0
    out = capsys.readouterr().out
    assert "bad.echo" in out
    assert "[ask]" in out
    assert "clock.now" not in out


def test_tools_of_an_ad_hoc_stdio_server(capsys: pytest.CaptureFixture[str]) -> None:
    command = f"{sys.executable} -m mcp_server_time --local-timezone UTC"
    assert main(["mcp", "tools", "--stdio", command, "--json"]) == 0
    tools = {t["name"]: t for t in json.loads(capsys.readouterr().out)}
    assert "stdio.get_current_time" in tools
    assert tools["stdio.get_current_time"]["policy"] == "ask"


def test_call_a_read_only_builtin(paths: Paths, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mcp", "call", "clock.now", "--args", '{"timezone": "UTC"}']) == 0
    assert json.loads(capsys.readouterr().out)["timezone"] == "UTC"
    assert [(t, d) for t, d, _ in audit_rows(paths)] == [("now", "auto")]


def test_ask_without_a_tty_is_denied_with_a_hint(
    claude_file: Path, paths: Paths, no_tty: None, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["mcp", "import", str(claude_file)])
    capsys.readouterr()
    assert main(["mcp", "call", "bad.echo", "--args", '{"text": "hi"}']) == 1
    err = capsys.readouterr().err
    assert "needs your approval" in err
    assert "Pass --yes" in err
    assert [(t, d) for t, d, _ in audit_rows(paths)] == [("echo", "denied")]
    assert main(["mcp", "call", "bad.echo", "--args", '{"text": "hi"}', "--yes"]) == 0
    assert capsys.readouterr().out.strip() == "hi"
    assert [(t, d) for t, d, _ in audit_rows(paths)][-1] == ("echo", "approved")


def test_plain_words_for_bad_input(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mcp", "call", "clock.now", "--args", "{timezone: UTC}"]) == 2
    assert "--args is not valid JSON" in capsys.readouterr().err
    assert main(["mcp", "call", "clocknow"]) == 2
    assert "is not SERVER.TOOL" in capsys.readouterr().err
    assert main(["mcp", "call", "nosuch.tool"]) == 1
    assert "not ready (or not configured)" in capsys.readouterr().err


def test_policy_shows_and_sets_so_a_headless_call_runs(
    claude_file: Path, paths: Paths, no_tty: None, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["mcp", "import", str(claude_file)])
    capsys.readouterr()
    assert main(["mcp", "policy", "bad.echo"]) == 0
    assert capsys.readouterr().out.strip() == "bad.echo: ask"
    assert main(["mcp", "policy", "bad.echo", "always"]) == 0
    assert capsys.readouterr().out.strip() == "bad.echo: always"
    assert main(["mcp", "call", "bad.echo", "--args", '{"text": "hi"}']) == 0  # nobody asked
    assert capsys.readouterr().out.strip() == "hi"
    assert main(["mcp", "policy", "bad.nosuch", "never"]) == 2
    assert "has no tool 'nosuch'" in capsys.readouterr().err
