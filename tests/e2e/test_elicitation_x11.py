"""Elicitation in the real `keiko` window under Xvfb: a chat turn calls a tool that asks the
user for input, and the person fills the form with the keyboard.

Tools in chat are on and the only server is the elicit test server offering one tool,
``quick`` (allowed Always, as a person would set it), which asks for a note (default
"hello") and a count (1 to 9, default 3). The bundled model is asked to call it; the form
opens over the window, naming the server; the person replaces the note, tabs to the count,
types 7 and presses Enter. The tool's result, stored with the turn, holds exactly that.
Screenshots go to ``screenshots/x11-elicitation/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.mcp_servers.elicit_server import configure
from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

FORM = "elicit asks for input"
ASK = "Call elicit.quick now."


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    (keiko_home / "config").mkdir(parents=True)
    (keiko_home / "config" / "settings.toml").write_text(
        "schema_version = 2\n[chat]\ntemperature = 0.0\nmax_tokens = 48\n"
        "[tools]\ntools_in_chat = true\ntool_max_steps = 1\n",
        encoding="utf-8",
    )
    configure(keiko_home, "--only", "quick", always="quick")
    shots = fresh_shots("x11-elicitation")
    with launched(xserver, keiko_home, tmp_path / "keiko.log", shots) as p:
        yield p


def _tool_results(p: Person) -> list[str]:
    rows = p.rows("SELECT content FROM messages WHERE role = 'tool' ORDER BY id")
    return [str(json.loads(str(r[0])).get("result", "")) for r in rows]


def test_a_person_fills_the_servers_form_with_the_keyboard(person: Person) -> None:
    p = person
    window = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    left, top, width, height = p.x.geometry(window)
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    p.wait("the tool server", lambda: p.logged("MCP server elicit: ready"), timeout=90)
    p.shot("window with the tool")

    p.type(ASK)
    p.key("Return")
    dialog = p.wait("the form", lambda: p.x.visible_windows(FORM), timeout=120)[0]
    time.sleep(0.5)
    d_left, d_top, d_width, d_height = p.x.geometry(dialog)
    p.x.pointer_into(d_left + d_width // 2, d_top + d_height // 3)  # keys go to the form
    p.shot("the form with its defaults")

    p.key("ctrl+a")  # the note field has the focus, with its default
    p.type("typed by a person")
    p.key("Tab", "ctrl+a")
    p.type("7")
    p.shot("the form filled in")
    p.key("Return")  # Enter accepts
    p.wait("the form closed", lambda: not p.x.visible_windows(FORM), timeout=15)
    result = p.wait(
        "the tool's result", lambda: [r for r in _tool_results(p) if "accept" in r], timeout=60
    )[0]
    assert json.loads(result.removeprefix("accept ")) == {"count": 7, "note": "typed by a person"}
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    p.wait("the reply", p.reply_done, timeout=120)
    p.shot("the reply after the answer")
    assert p.proc.poll() is None, p.output()
