"""Settings › Models in the real `keiko` window under Xvfb, driven by keyboard with xdotool.

A real local HTTP server (tests/helpers/file_server.py) serves the bundled model's bytes at a
catalog model's path, and ``model_download_mirror`` points there. A person opens Settings
(Ctrl+,), goes to the Models tab (Ctrl+Tab), tabs to the Llama row's Download and presses
Space; presses Space again to pause (the focus moved to Pause), and again to resume (HTTP
Range, from where it stopped); when it is done, Space on Use and Enter (OK) make it the chat
model, and a question is answered by it, listed by its catalog name. Screenshots go to
``screenshots/x11-models/``.
"""

from __future__ import annotations

import json
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from keiko_desktop.llm.catalog import load_catalog
from keiko_desktop.llm.registry import locate_bundled_model
from tests.helpers.cli import write_settings
from tests.helpers.file_server import FileServer, Script
from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

SETTINGS = "^Settings$"
NAME = "llama-3.2-1b-instruct"  # the catalog's second row, after the bundled model
ENTRY = next(e for e in load_catalog() if e.name == NAME)
SERVED = ENTRY.url.removeprefix("https://huggingface.co")


@pytest.fixture
def server() -> Iterator[FileServer]:
    with FileServer() as s:
        s.add(SERVED, locate_bundled_model().read_bytes(), Script(delay=0.05))
        yield s


@pytest.fixture
def person(
    xserver: XServer, keiko_home: Path, tmp_path: Path, server: FileServer
) -> Iterator[Person]:
    write_settings(
        keiko_home,
        schema_version=2,
        chat={"temperature": 0.0, "max_tokens": 24},
        model={"model_download_mirror": server.base},
    )
    shots = fresh_shots("x11-models")
    with launched(xserver, keiko_home, tmp_path / "keiko.log", shots) as p:
        yield p


def _status(p: Person) -> str | None:
    """The download's status in downloads.json (what survives a restart)."""
    try:
        items = json.loads((p.home / "data" / "models" / "downloads.json").read_text())
    except (FileNotFoundError, ValueError):
        return None
    return next((str(i["status"]) for i in items["downloads"] if i["name"] == NAME), None)


def _chosen_model(p: Person) -> str:
    settings = tomllib.loads((p.home / "config" / "settings.toml").read_text())
    return str(settings.get("model", {}).get("model", ""))


def test_a_person_downloads_pauses_resumes_and_uses_a_model(
    person: Person, server: FileServer
) -> None:
    p = person
    window = p.x.geometry(p.wait("the main window", lambda: p.x.visible_windows(MAIN), 60)[0])
    left, top, width, height = window
    p.x.pointer_into(left + width // 2, top + height // 2)  # keys go to the window under it
    p.key("ctrl+comma")
    p.wait("the settings dialog", lambda: p.window_open(SETTINGS), timeout=30)
    time.sleep(0.5)
    p.key("ctrl+Tab", "ctrl+Tab")  # Chat, Model, Models
    time.sleep(0.5)
    p.shot("models tab")

    # The focus starts on the bundled model's Use; its Options…, then Llama's Download.
    p.key("Tab", "Tab", "space")
    p.wait("the download running", lambda: _status(p) == "downloading", timeout=30)
    part = p.home / "data" / "models" / f"{ENTRY.filename}.part"
    p.wait("a megabyte fetched", lambda: part.exists() and part.stat().st_size > 1 << 20)
    p.shot("downloading")

    p.key("space")  # the focus followed to Pause
    p.wait("the download paused", lambda: _status(p) == "paused", timeout=30)
    kept = part.stat().st_size
    time.sleep(0.3)
    p.shot("paused")

    server.script(SERVED, Script())  # full speed for the rest
    p.key("space")  # Resume
    final = p.home / "data" / "models" / ENTRY.filename
    p.wait("the download done", lambda: _status(p) == "done" and final.exists(), timeout=120)
    assert final.read_bytes() == locate_bundled_model().read_bytes()
    assert f"bytes={kept}-" in [s.range for s in server.log]  # resumed, not started over
    time.sleep(0.5)
    p.shot("downloaded")

    p.key("space")  # the focus followed to Use
    time.sleep(0.3)
    p.shot("chosen")
    p.key("Return")  # OK
    p.wait("the settings dialog closed", lambda: not p.window_open(SETTINGS), timeout=30)
    p.wait("the model chosen", lambda: Path(_chosen_model(p)) == final)

    p.type("What is the capital of France?")
    p.key("Return")
    p.wait("the reply", p.reply_done, timeout=120)
    [(model,)] = p.rows("SELECT model FROM messages WHERE role = 'assistant'")
    assert model == NAME  # listed by its catalog name, not its file name
    time.sleep(0.5)
    p.shot("reply")
    assert p.proc.poll() is None, p.output()
