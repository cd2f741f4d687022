"""Sign in to a remote MCP server from Settings > Tools in the real `keiko` window under Xvfb,
by keyboard with xdotool, against a local authorization server (tests/helpers/oauth_server.py).

The server needs OAuth and nobody is signed in: the Tools page says "needs sign-in". A person
selects it and presses Alt+I (Sign in); ``BROWSER`` runs tests/helpers/oauth_browser.py, which
follows the authorization server's redirect back to Keiko's loopback listener; the tokens land
in the (file) keychain and the server turns ready. Alt+O (Sign out) deletes them. Screenshots go
to ``screenshots/x11-oauth/``.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import file_keyring
from tests.helpers.oauth_server import World, oauth_world
from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

SETTINGS = "^Settings$"
TOOLS = "Tools$"
TOOLS_TAB = 3  # Chat, Model, Models, Tools


@pytest.fixture
def world() -> Iterator[World]:
    with oauth_world() as w:
        yield w


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path, world: World) -> Iterator[Person]:
    (keiko_home / "config").mkdir(parents=True)
    config = {
        "mcpServers": {"remote": {"url": world.mcp_url}},
        "builtinServers": {n: {"disabled": True} for n in ("files", "notes", "clock")},
    }
    (keiko_home / "config" / "mcp.json").write_text(json.dumps(config), encoding="utf-8")
    env = file_keyring.env(tmp_path / "keyring.json")
    env["BROWSER"] = f"{sys.executable} -m tests.helpers.oauth_browser %s"
    shots = fresh_shots("x11-oauth")
    with launched(xserver, keiko_home, tmp_path / "keiko.log", shots, env=env) as p:
        yield p


def _tokens(tmp_path: Path) -> list[str]:
    path = tmp_path / "keyring.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    return [k for k in data if k.endswith(".tokens")]


def test_a_person_signs_in_and_out_from_the_tools_page(
    person: Person, world: World, tmp_path: Path
) -> None:
    p = person
    window = p.x.geometry(p.wait("the main window", lambda: p.x.visible_windows(MAIN), 60)[0])
    left, top, width, height = window
    p.x.pointer_into(left + width // 2, top + height // 2)
    p.key("ctrl+comma")
    p.wait("the settings dialog", lambda: p.window_open(SETTINGS), timeout=30)
    time.sleep(0.5)
    p.key(*["ctrl+Tab"] * TOOLS_TAB)
    time.sleep(0.3)
    p.key("alt+l")  # Too&ls…
    p.wait("the tools dialog", lambda: p.window_open(TOOLS), timeout=60)
    p.wait("needs sign-in", lambda: p.logged("needs sign-in"), timeout=30)
    time.sleep(1.0)
    p.key("Tab")  # into the servers table; remote is the last row, after the built-in ones
    p.key("Down", "Down", "Down")
    time.sleep(0.3)
    p.shot("needs sign-in")
    assert not world.kinds("authorize")  # nothing opened a browser by itself

    p.key("alt+i")  # Sign &in
    p.wait("tokens in the keychain", lambda: _tokens(tmp_path), timeout=60)
    p.wait("the server ready", lambda: p.logged("MCP server remote: ready"), timeout=30)
    time.sleep(1.5)
    p.shot("signed in")
    assert len(world.kinds("authorize")) == 1

    p.key("alt+o")  # Sign &out
    p.wait("tokens gone", lambda: not _tokens(tmp_path), timeout=30)
    time.sleep(1.5)
    p.shot("signed out")
