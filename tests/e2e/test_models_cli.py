"""`keiko models` as a real subprocess: a download through the mirror setting from a real local
HTTP server (the bundled model's bytes served as a catalog model), Ctrl+C pausing it and a
second run resuming with Range, listing, using the file to answer, removing it, bad names."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from keiko_desktop.llm.catalog import load_catalog
from tests.helpers.cli import keiko_env, run_keiko, write_settings
from tests.helpers.file_server import FileServer, Script
from tests.helpers.processes import stop
from tests.unit.llm.conftest import _bundled

NAME = "llama-3.2-1b-instruct"
ENTRY = next(e for e in load_catalog() if e.name == NAME)
SERVED = ENTRY.url.removeprefix("https://huggingface.co")


@pytest.fixture(scope="module")
def model_bytes() -> bytes:
    return _bundled().read_bytes()


@pytest.fixture
def server(model_bytes: bytes) -> Iterator[FileServer]:
    with FileServer() as s:
        s.add(SERVED, model_bytes)
        yield s


def test_download_pause_resume_list_use_and_remove(
    keiko_home: Path, server: FileServer, model_bytes: bytes
) -> None:
    write_settings(keiko_home, model_download_mirror=server.base, max_tokens=16, temperature=0.0)
    final = keiko_home / "data" / "models" / ENTRY.filename
    part = final.with_name(final.name + ".part")

    server.script(SERVED, Script(delay=0.05))  # slow, so Ctrl+C lands mid-download
    proc = subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "models", "download", NAME],
        env=keiko_env(keiko_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size >= 1 << 20):
            assert time.monotonic() < deadline, "the download never started"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=30)
    finally:
        stop(proc)
    assert proc.returncode == 130, err
    assert f"Run `keiko models download {NAME}` to resume." in err
    assert f"{NAME}: " in err  # progress went to stderr
    kept = part.stat().st_size
    assert 0 < kept < len(model_bytes)
    assert not final.exists()

    listing = run_keiko(keiko_home, "models", "list", timeout=60)
    assert listing.returncode == 0, listing.stderr
    assert "paused" in listing.stdout

    server.script(SERVED, Script())
    done = run_keiko(keiko_home, "models", "download", NAME, timeout=120)
    assert done.returncode == 0, done.stderr
    assert f"Downloaded {NAME}: {final}" in done.stdout
    assert server.log[-1].range == f"bytes={kept}-"  # resumed, not started over
    assert server.log[-1].body_bytes == len(model_bytes) - kept
    assert final.read_bytes() == model_bytes
    assert not part.exists()

    again = run_keiko(keiko_home, "models", "download", NAME, timeout=60)
    assert again.returncode == 0
    assert "already installed" in again.stdout

    listing = run_keiko(keiko_home, "models", timeout=60)
    assert listing.returncode == 0, listing.stderr
    line = next(x for x in listing.stdout.splitlines() if str(final) in x)
    assert NAME in line
    assert "download" in line
    catalog = listing.stdout.split("Recommended models", 1)[1].splitlines()
    recommended = next(x for x in catalog if x.strip().startswith(NAME))
    assert "installed" in recommended

    used = run_keiko(keiko_home, "models", "use", NAME, timeout=60)
    assert used.returncode == 0, used.stderr
    answer = run_keiko(keiko_home, "ask", "Say hello.", "--json", timeout=180)
    assert answer.returncode == 0, answer.stderr
    reply = json.loads(answer.stdout)
    assert reply["status"] == "complete", reply
    assert reply["text"].strip(), reply
    assert reply["model"] == NAME  # the downloaded file answered, listed by its catalog name

    removed = run_keiko(keiko_home, "models", "remove", NAME, timeout=60)
    assert removed.returncode == 0, removed.stderr
    assert not final.exists()
    assert str(final) not in (keiko_home / "config" / "settings.toml").read_text()


def test_bad_names_and_a_refused_mirror(keiko_home: Path) -> None:
    unknown = run_keiko(keiko_home, "models", "download", "no-such-model", timeout=60)
    assert unknown.returncode == 2
    assert "no model 'no-such-model'" in unknown.stderr
    assert NAME in unknown.stderr
    gone = run_keiko(keiko_home, "models", "remove", "/nowhere/x.gguf", timeout=60)
    assert gone.returncode == 2
    assert "No downloaded or added model" in gone.stderr
    write_settings(keiko_home, model_download_mirror="http://mirror.example.com")
    refused = run_keiko(keiko_home, "models", "download", NAME, timeout=60)
    assert refused.returncode == 1
    assert "is not a usable URL" in refused.stderr
    assert "Traceback" not in refused.stderr
