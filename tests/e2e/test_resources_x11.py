"""MCP prompts and resources in the real `keiko` window under Xvfb, by keyboard only.

Tools in chat are on and only the resources test server
(tests/helpers/mcp_servers/resources_server.py, as ``docs``) is configured. A person types
``/`` in the composer, sees the server's prompts, narrows to ``/docs.review``, takes it with
Tab, types the topic and Enter: the prompt's text is their message (and its embedded resource
is attached). Then Ctrl+Shift+R opens "Attach from server", they type ``readme``, Enter
attaches it as a chip, and their next message carries it. Screenshots go to
``screenshots/x11-resources/``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.mcp_servers.resources_server import configure
from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

PICKER = "^Attach from server$"


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    configure(keiko_home)
    (keiko_home / "config" / "settings.toml").write_text(
        "schema_version = 2\n[chat]\ntemperature = 0.0\nmax_tokens = 16\n"
        "[tools]\ntools_in_chat = true\ntool_max_steps = 1\n",
        encoding="utf-8",
    )
    shots = fresh_shots("x11-resources")
    with launched(xserver, keiko_home, tmp_path / "keiko.log", shots) as p:
        yield p


def _user_messages(p: Person) -> list[str]:
    return [str(r[0]) for r in p.rows("SELECT content FROM messages WHERE role = 'user'")]


def _attached(p: Person) -> list[str]:
    rows = p.rows(
        "SELECT a.name FROM message_attachments m JOIN attachments a ON a.id = m.attachment_id "
        "ORDER BY m.message_id, m.position"
    )
    return [str(r[0]) for r in rows]


def test_a_person_runs_a_prompt_and_attaches_a_resource(person: Person) -> None:
    p = person
    window = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    left, top, width, height = p.x.geometry(window)
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    p.wait("the docs server", lambda: p.logged("MCP server docs: ready"), timeout=90)
    time.sleep(0.5)

    p.type("/")
    time.sleep(1.5)  # the prompts are asked for in the background
    p.type("docs.rev")
    time.sleep(0.5)
    p.shot("slash commands")
    p.key("Tab")
    p.type("security")
    time.sleep(0.8)  # the server's completions
    p.shot("prompt arguments")
    p.key("Escape")  # close the suggestions; the text stays
    p.key("Return")
    p.wait(
        "the prompt's text as the user's message",
        lambda: any(m.startswith("Please review security") for m in _user_messages(p)),
        timeout=30,
    )
    p.wait("the embedded resource attached", lambda: "docs:docs://pages/intro" in _attached(p))
    p.wait("the reply", p.reply_done, timeout=180)
    p.shot("prompt sent")

    p.key("ctrl+shift+r")
    picker = p.wait("the picker", lambda: p.x.visible_windows(PICKER), timeout=15)[0]
    time.sleep(1.0)  # the servers' lists
    d_left, d_top, d_width, d_height = p.x.geometry(picker)
    p.x.pointer_into(d_left + d_width // 2, d_top + d_height // 3)  # keys go to the dialog
    p.type("readme")
    time.sleep(0.3)
    p.shot("picker")
    p.key("Return")
    p.wait("the picker closed", lambda: not p.x.visible_windows(PICKER), timeout=15)
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    time.sleep(1.0)  # the chip is read
    p.shot("resource chip")
    p.type("What does the manual explain?")
    p.key("Return")
    p.wait("the resource sent", lambda: "docs:docs://readme" in _attached(p), timeout=30)
    p.wait("the second reply", p.reply_done, timeout=180)
    p.shot("resource sent")
    assert p.proc.poll() is None, p.output()
