"""Settings › Endpoints in the real `keiko` window under Xvfb, driven by keyboard with xdotool.

A real ``llama_cpp.server`` serving the bundled model wants an API key. A person opens Settings
(Ctrl+,), goes to the Endpoints tab (Ctrl+Tab), adds the endpoint (Alt+A; name, URL and key
typed into the dialog; Enter saves), sees it online, picks its model on the Model tab (Alt+M,
the list, Enter), names the bundled model as the fallback (Alt+F), and asks a question: the
endpoint answers. The server is then stopped, and the next question is answered by the bundled
model with a note saying why. The key went into the keychain (a file keyring shared with the
app) and into no file Keiko wrote. Screenshots go to ``screenshots/x11-endpoints/``.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import file_keyring
from tests.helpers.cli import write_settings
from tests.helpers.llama_server import LlamaServer, llama_server
from tests.helpers.processes import stop
from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

KEY = "sk-x11-endpoint-5b1f0c"
SETTINGS = "^Settings$"
ADD = "^Add an endpoint$"
ENDPOINTS_TAB = 10  # Chat, Model, Models, Tools, …, Desktop, Endpoints
BUNDLED = "smollm2-135m-instruct"


@pytest.fixture
def server() -> Iterator[LlamaServer]:
    with llama_server(api_key=KEY) as s:
        yield s


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    write_settings(keiko_home, schema_version=2, chat={"temperature": 0.0, "max_tokens": 24})
    shots = fresh_shots("x11-endpoints")
    env = file_keyring.env(tmp_path / "keyring.json")
    with launched(xserver, keiko_home, tmp_path / "keiko.log", shots, env=env) as p:
        yield p


def _settings(p: Person) -> None:
    p.key("ctrl+comma")
    p.wait("the settings dialog", lambda: p.window_open(SETTINGS), timeout=30)
    time.sleep(0.5)


def _ok(p: Person) -> None:
    p.key("Return")  # OK is the default button
    p.wait("the settings dialog closed", lambda: not p.window_open(SETTINGS), timeout=30)
    time.sleep(0.5)


def _model_settings(p: Person) -> dict[str, object]:
    settings = tomllib.loads((p.home / "config" / "settings.toml").read_text())
    return {k: settings["model"].get(k) for k in ("model", "model_fallbacks")}


def _last_reply(p: Person) -> tuple[str, str, str | None] | None:
    rows = p.rows(
        "SELECT status, model, note FROM messages WHERE role = 'assistant' ORDER BY id DESC LIMIT 1"
    )
    return (str(rows[0][0]), str(rows[0][1]), rows[0][2]) if rows else None


def test_a_person_adds_an_endpoint_asks_its_model_and_falls_back_when_it_dies(
    person: Person, server: LlamaServer, tmp_path: Path
) -> None:
    p = person
    window = p.x.geometry(p.wait("the main window", lambda: p.x.visible_windows(MAIN), 60)[0])
    left, top, width, height = window
    p.x.pointer_into(left + width // 2, top + height // 2)  # keys go to the window under it
    _settings(p)
    p.key(*["ctrl+Tab"] * ENDPOINTS_TAB)
    time.sleep(0.3)
    p.shot("endpoints tab")

    p.key("alt+a")
    p.wait("the endpoint dialog", lambda: p.window_open(ADD), timeout=15)
    p.type("box")
    p.key("Tab")
    p.type(server.url)
    p.key("Tab")
    p.type(KEY)
    p.shot("endpoint dialog")
    p.key("Return")  # Save
    p.wait("the endpoint dialog closed", lambda: not p.window_open(ADD), timeout=15)
    endpoints = p.home / "config" / "endpoints.toml"
    p.wait("endpoints.toml written", endpoints.exists, timeout=15)
    assert "box" in endpoints.read_text()
    assert KEY not in endpoints.read_text()
    keyring = (tmp_path / "keyring.json").read_text()
    assert KEY in keyring  # the key is in the keychain
    p.wait("the endpoint online", lambda: p.logged("endpoint box is online"), timeout=30)
    time.sleep(0.5)
    p.shot("endpoint online")

    # The Model tab is two tabs on (they wrap); Alt+M reaches the model list.
    p.key("ctrl+Tab", "ctrl+Tab")
    time.sleep(0.3)
    p.key("alt+m")
    time.sleep(0.3)
    p.key("alt+Down")
    time.sleep(0.6)
    p.shot("model list")
    p.key("Down", "Return")  # past the "box — online" header to box/smollm2-135m
    time.sleep(0.3)
    p.key("alt+f")
    p.type(BUNDLED)
    p.shot("remote model chosen")
    _ok(p)
    chosen = {"model": f"box/{server.model_id}", "model_fallbacks": [BUNDLED]}
    p.wait("the settings saved", lambda: _model_settings(p) == chosen)

    p.type("What is the capital of France?")
    p.key("Return")
    p.wait("the endpoint's reply", p.reply_done, timeout=120)
    assert _last_reply(p) == ("complete", f"box/{server.model_id}", None)
    time.sleep(0.5)
    p.shot("remote reply")

    assert server.process is not None
    stop(server.process, grace=5)  # the endpoint dies between two turns
    p.type("And of Italy?")
    p.key("Return")
    p.wait("the fallback's reply", p.reply_done, timeout=120)
    status, model, note = _last_reply(p) or ("", "", None)
    assert (status, model) == ("complete", BUNDLED), p.output()
    assert note is not None
    assert BUNDLED in note, note
    assert "box" in note, note
    time.sleep(0.5)
    p.shot("fallback reply")

    for path in p.home.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert p.proc.poll() is None, p.output()
