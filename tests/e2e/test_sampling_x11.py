"""A server's sampling request in the real `keiko` window under Xvfb, answered by keyboard.

How the request is made to come: a background task of kind ``tool`` (added with `keiko tasks
add`, as a person or a script would, while the window runs the tasks) calls ``sampler.ask``
(tests/helpers/mcp_servers/sampling_server.py), whose tool policy is Always; so what shows is
the sampling dialog itself, not a tool approval, and nothing depends on the model choosing to
call a tool. The dialog opens over the window; Esc denies it (the task fails with the refusal);
the second time the person replaces the message by typing and allows it once with Alt+O, and
the task's result is what the bundled model (temperature 0) writes for the edited message, the
same as `keiko mcp call` gives for it. Screenshots go to ``screenshots/x11-sampling/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import run_keiko
from tests.helpers.mcp_servers.sampling_server import entry
from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

DIALOG = "let a server use the model"
ORIGINAL = "Name a fruit."
EDITED = "What colour is a banana?"


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    config = keiko_home / "config"
    config.mkdir(parents=True)
    (config / "settings.toml").write_text(
        "schema_version = 2\n[chat]\ntemperature = 0.0\n", encoding="utf-8"
    )
    servers = {
        "mcpServers": {"sampler": entry()},
        "builtinServers": {n: {"disabled": True} for n in ("files", "notes", "clock")},
    }
    (config / "mcp.json").write_text(json.dumps(servers), encoding="utf-8")
    allowed = run_keiko(keiko_home, "mcp", "policy", "sampler.ask", "always")
    assert allowed.returncode == 0, allowed.stderr
    with launched(xserver, keiko_home, tmp_path / "keiko.log", fresh_shots("x11-sampling")) as p:
        yield p


def _add_task(p: Person) -> int:
    arguments = json.dumps({"prompt": ORIGINAL, "max_tokens": 16})
    done = run_keiko(
        p.home,
        "tasks",
        "add",
        "tool",
        "--param",
        "server=sampler",
        "--param",
        "tool=ask",
        "--param",
        f"arguments={arguments}",
        "--retries",
        "0",
        "--json",
    )
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["id"])


def _task(p: Person, task_id: int) -> tuple[str, str, str]:
    rows = p.rows(f"SELECT status, result, error FROM tasks WHERE id = {task_id}")
    return (str(rows[0][0]), str(rows[0][1] or ""), str(rows[0][2] or "")) if rows else ("", "", "")


def _dialog(p: Person) -> None:
    dialog = p.wait("the sampling dialog", lambda: p.x.visible_windows(DIALOG), timeout=90)[0]
    time.sleep(0.5)
    left, top, width, height = p.x.geometry(dialog)
    p.x.pointer_into(left + width // 2, top + height // 4)  # keys go to the window under it


def test_a_person_denies_then_edits_and_allows_by_keyboard(person: Person) -> None:
    p = person
    window = p.wait("the main window", lambda: p.x.visible_windows(MAIN), timeout=60)[0]
    left, top, width, height = p.x.geometry(window)
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    p.shot("window")

    first = _add_task(p)
    _dialog(p)
    p.shot("sampling dialog")
    p.key("Escape")
    p.wait("the dialog closed", lambda: not p.x.visible_windows(DIALOG), timeout=15)
    status, _result, error = p.wait(
        "the denied task", lambda: _task(p, first)[0] == "failed" and _task(p, first), timeout=60
    )
    assert "the user declined this sampling request" in error
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)  # off the place of the next one

    second = _add_task(p)
    _dialog(p)
    p.key("ctrl+a")  # the message box has the focus
    p.type(EDITED)
    p.shot("edited")
    p.key("alt+o")  # Allow once
    p.wait("the dialog closed", lambda: not p.x.visible_windows(DIALOG), timeout=15)
    status, result, error = p.wait(
        "the sampled task",
        lambda: _task(p, second)[0] in ("completed", "failed") and _task(p, second),
        timeout=90,
    )
    p.x.pointer_into(left + width * 2 // 3, top + height // 3)
    p.shot("done")
    assert status == "completed", error
    assert p.proc.poll() is None, p.output()
    model, _stop, written = result.split("|", 2)
    assert "smollm2" in model.lower()

    # The same model at temperature 0, given the edited message on the command line.
    arguments = json.dumps({"prompt": EDITED, "max_tokens": 16})
    direct = run_keiko(p.home, "mcp", "call", "sampler.ask", "--yes", "--args", arguments)
    assert direct.returncode == 0, direct.stderr
    assert written == direct.stdout.strip().split("|", 2)[2]
