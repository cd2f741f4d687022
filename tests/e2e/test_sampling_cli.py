"""`keiko mcp call` and `keiko mcp sampling` as subprocesses, against the sampling server
(tests/helpers/mcp_servers/sampling_server.py) and the real bundled model.

The tool itself is set to Always (its own policy), so what is asked is the sampling. Without a
terminal and without --yes the request is refused and says why; --yes allows it; a person on a
terminal (a pty) edits the message and allows it once; Never refuses at once; the policy is
kept in the database between commands.
"""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from keiko_desktop.core.tools.sampling import NOT_ALLOWED
from tests.helpers.cli import db_rows, keiko_env, run_keiko
from tests.helpers.mcp_servers.sampling_server import entry

pytestmark = pytest.mark.model

ARGS = json.dumps({"prompt": "Name a fruit.", "max_tokens": 12})


@pytest.fixture
def home(keiko_home: Path) -> Path:
    config = keiko_home / "config"
    config.mkdir(parents=True)
    (config / "settings.toml").write_text("schema_version = 2\n", encoding="utf-8")
    servers = {
        "mcpServers": {"sampler": entry()},
        "builtinServers": {n: {"disabled": True} for n in ("files", "notes", "clock")},
    }
    (config / "mcp.json").write_text(json.dumps(servers), encoding="utf-8")
    result = run_keiko(keiko_home, "mcp", "policy", "sampler.ask", "always")
    assert result.returncode == 0, result.stderr
    return keiko_home


def test_policy_yes_and_refusals_on_the_command_line(home: Path) -> None:
    shown = run_keiko(home, "mcp", "sampling", "sampler")
    assert (shown.returncode, shown.stdout.strip()) == (0, "sampler: sampling ask")

    nobody = run_keiko(home, "mcp", "call", "sampler.ask", "--args", ARGS, stdin="")
    assert nobody.returncode == 1
    assert "stdin is not a terminal" in nobody.stderr
    assert "the user declined this sampling request" in nobody.stderr

    allowed = run_keiko(home, "mcp", "call", "sampler.ask", "--args", ARGS, "--yes")
    assert allowed.returncode == 0, allowed.stderr
    model, stop, text = allowed.stdout.strip().split("|", 2)
    assert model != "claude-3-opus"
    assert "smollm2" in model.lower()
    assert stop in ("endTurn", "maxTokens")
    assert text.strip()

    never = run_keiko(home, "mcp", "sampling", "sampler", "never")
    assert never.stdout.strip() == "sampler: sampling never"
    refused = run_keiko(home, "mcp", "call", "sampler.ask", "--args", ARGS, "--yes")
    assert refused.returncode == 1
    assert NOT_ALLOWED in refused.stderr

    bad = run_keiko(home, "mcp", "sampling", "nosuch", "always")
    assert bad.returncode == 2
    assert "no server named 'nosuch'" in bad.stderr


def test_a_person_at_a_terminal_edits_and_allows(home: Path) -> None:
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "mcp", "call", "sampler.ask", "--args", ARGS],
        env=keiko_env(home),
        stdin=slave,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    os.close(slave)
    try:
        # e: edit; the new text of message 1; the token limit; then y: allow once.
        os.write(master, b"e\nSay only the word: banana\n6\ny\n")
        out, err = proc.communicate(timeout=180)
    finally:
        os.close(master)
    assert proc.returncode == 0, err
    assert "The MCP server 'sampler' asks Keiko's model to write:" in out
    assert "Name a fruit." in out  # what the server sent, shown before the edit
    assert "Say only the word: banana" in out  # shown again, edited
    assert "at most 6 tokens" in out
    assert "|" in out.strip().splitlines()[-1]


def test_a_chat_turn_with_tools_samples_when_yes_allows_it(home: Path) -> None:
    (home / "config" / "settings.toml").write_text(
        "schema_version = 2\n[chat]\ntemperature = 0.0\nmax_tokens = 48\n"
        "[tools]\ntool_max_steps = 1\n",
        encoding="utf-8",
    )
    ask = "Call sampler.ask with prompt set to: Name a fruit."
    done = run_keiko(home, "ask", "--tools", "--yes", ask)
    assert done.returncode == 0, done.stderr
    [(content,)] = db_rows(home, "SELECT content FROM messages WHERE role = 'tool'")
    call = json.loads(str(content))
    assert call["tool"] == "sampler.ask"  # the model chose the tool (temperature 0)
    assert call["result"].startswith("smollm2-135m-instruct|")
    assert not call["is_error"]
