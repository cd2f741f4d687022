"""Agents and tasks on a remote model, like local ones: `keiko agents run` of an agent whose model
is ``box/<id>`` and a `keiko tasks` summary with ``box/<id>`` as the chosen model, as real
subprocesses against a real ``llama_cpp.server`` that wants an API key (in a file keychain the
processes share). The server's own access log shows the requests reached it."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from keiko_desktop.core.endpoints import Endpoint, endpoint_key_name, save_endpoints
from tests.helpers import file_keyring
from tests.helpers.cli import db_rows, keiko_env, write_settings
from tests.helpers.llama_server import LlamaServer, llama_server

pytestmark = pytest.mark.model

KEY = "sk-remote-agents-41d7"


@pytest.fixture
def server() -> Iterator[LlamaServer]:
    with llama_server(api_key=KEY) as s:
        yield s


def _keiko(home: Path, keyring: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keiko_desktop", *args],
        env=keiko_env(home, **file_keyring.env(keyring)),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _completions(server: LlamaServer) -> int:
    return server.log.read_text(errors="replace").count("POST /v1/chat/completions")


def test_an_agent_and_a_task_run_on_an_endpoints_model(
    keiko_home: Path, tmp_path: Path, server: LlamaServer
) -> None:
    remote = f"box/{server.model_id}"
    keyring = tmp_path / "keyring.json"
    (keiko_home / "config").mkdir(parents=True)
    save_endpoints(keiko_home / "config", [Endpoint("box", server.url, api_key=True)])
    keyring.write_text(json.dumps({f"keiko-desktop\t{endpoint_key_name('box')}": KEY}))
    write_settings(keiko_home, schema_version=2, chat={"temperature": 0.0, "max_tokens": 24})

    agent = {
        "name": "Remote poet",
        "description": "Writes on the endpoint's model.",
        "system_prompt": "You write one short line.",
        "model": remote,
        "max_tokens": 24,
    }
    exported = tmp_path / "agent.json"
    exported.write_text(json.dumps({"format": "keiko-agent", "version": 1, "agents": [agent]}))
    imported = _keiko(keiko_home, keyring, "agents", "import", str(exported))
    assert imported.returncode == 0, imported.stderr

    before = _completions(server)
    ran = _keiko(keiko_home, keyring, "agents", "run", "--json", "Remote poet", "The sea")
    assert ran.returncode == 0, ran.stderr[-3000:]
    out = json.loads(ran.stdout)
    assert out["status"] == "completed", out
    assert out["text"].strip()
    assert _completions(server) > before  # the endpoint answered, not the bundled model

    write_settings(
        keiko_home, schema_version=2, chat={"temperature": 0.0, "max_tokens": 24},
        model={"model": remote},
    )  # fmt: skip
    note = tmp_path / "note.txt"
    note.write_text("The meeting moved to Friday at ten. Bring the budget figures.")
    added = _keiko(keiko_home, keyring, "tasks", "add", "summarise", "--param", f"path={note}")
    assert added.returncode == 0, added.stderr
    before = _completions(server)
    worker = _keiko(keiko_home, keyring, "tasks", "worker", "--until-idle")
    assert worker.returncode == 0, worker.stderr[-3000:]
    [(status, result)] = db_rows(keiko_home, "SELECT status, result FROM tasks")
    assert status == "completed", result
    assert str(result).strip()
    assert _completions(server) > before
