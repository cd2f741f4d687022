"""`keiko endpoints` and `keiko ask --model ENDPOINT/MODEL` as a person types them, against a
real llama_cpp.server that wants an API key; the keychain is a file backend the child
processes share (tests/helpers/file_keyring.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import file_keyring
from tests.helpers.cli import keiko_env
from tests.helpers.llama_server import llama_server

pytestmark = pytest.mark.model

KEY = "sk-cli-3c1d9e7a5b2f4d6e8a0b"


def _keiko(home: Path, keys: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "keiko_desktop", *args],
        env=keiko_env(home, **file_keyring.env(keys), **env),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_add_test_use_and_remove_an_endpoint(tmp_path: Path) -> None:
    home, keys = tmp_path / "home", tmp_path / "keys.json"
    with llama_server(api_key=KEY) as server:
        missing = _keiko(home, keys, "endpoints", "add", "box", server.url, "--api-key-env", "K")
        assert missing.returncode == 2
        assert "K is not set" in missing.stderr

        added = _keiko(
            home, keys, "endpoints", "add", "box", server.url, "--api-key-env", "K", K=KEY
        )
        assert added.returncode == 0, added.stderr
        assert "box is online (1 models)" in added.stdout
        assert KEY in keys.read_text()  # the keychain has it ...
        for run in (missing, added):
            assert KEY not in run.stdout + run.stderr  # ... and no output shows it

        tested = _keiko(home, keys, "endpoints", "test", "box")
        assert tested.returncode == 0, tested.stderr
        assert f"box/{server.model_id}" in tested.stdout
        listed = _keiko(home, keys, "models", "list")
        assert listed.returncode == 0, listed.stderr
        assert f"box/{server.model_id}" in listed.stdout

        model = f"box/{server.model_id}"
        asked = _keiko(
            home, keys, "ask", "--json", "--max-tokens", "16", "--model", model, "Name a colour."
        )
        assert asked.returncode == 0, asked.stderr
        answer = json.loads(asked.stdout)
        assert answer["model"] == model
        assert answer["text"].strip()

        removed = _keiko(home, keys, "endpoints", "remove", "box")
        assert removed.returncode == 0, removed.stderr
        assert KEY not in keys.read_text()
        gone = _keiko(home, keys, "endpoints", "test", "box")
        assert gone.returncode == 2
        assert "no endpoint named 'box'" in gone.stderr

    written = sorted(p for p in home.rglob("*") if p.is_file())
    assert written
    for path in written:
        assert KEY.encode() not in path.read_bytes(), path
