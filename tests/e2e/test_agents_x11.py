"""The Agents page in the real `keiko` window under Xvfb, driven like a person with xdotool.

A person opens the Agents page from the rail, makes a new agent in the editor (typing its name
and instructions, Enter saves), types a goal, has a plan proposed, edits the first step's
instruction in the plan table, runs the plan, and opens its timeline on the Runs tab. What the
app stored is read from its database: the agent, the plan as edited, the run and its spans.
Screenshots go to ``screenshots/x11-agents/``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cli import write_settings
from tests.helpers.x11_app import MAIN, Person, fresh_shots, launched
from tests.helpers.xvfb import XServer

pytestmark = pytest.mark.model

EDITOR = "^New agent$"
NAME = "Haiku poet"
EDITED = "Write a haiku about the sea."

# Where things are, from the window's top-left corner (the page is laid out from there; the
# agent list's buttons from its bottom-left).
RAIL_AGENTS = (28, 76)
GOAL_BOX = (600, 150)
PLAN = (570, 225)
RUN_PLAN = (648, 225)
FIRST_STEP_INSTRUCTION = (700, 309)
RUNS_TAB = (403, 13)
FIRST_RUN = (457, 95)
NEW_FROM_BOTTOM = (124, 107)


@pytest.fixture
def person(xserver: XServer, keiko_home: Path, tmp_path: Path) -> Iterator[Person]:
    write_settings(keiko_home, schema_version=2, chat={"temperature": 0.0, "max_tokens": 48})
    shots = fresh_shots("x11-agents")
    with launched(xserver, keiko_home, tmp_path / "keiko.log", shots) as p:
        yield p


def _click(p: Person, window: tuple[int, int, int, int], at: tuple[int, int]) -> None:
    left, top, _width, _height = window
    p.x.xdotool("mousemove", "--sync", str(left + at[0]), str(top + at[1]), "click", "1")
    time.sleep(0.3)


def _plans(p: Person) -> list[tuple[str, str]]:
    return [(str(r[0]), str(r[1])) for r in p.rows("SELECT status, plan FROM runs ORDER BY id")]


def test_a_person_makes_an_agent_plans_edits_runs_and_sees_the_timeline(person: Person) -> None:
    p = person
    window = p.x.geometry(p.wait("the main window", lambda: p.x.visible_windows(MAIN), 60)[0])
    left, top, width, height = window
    _click(p, window, RAIL_AGENTS)
    p.wait("the shipped agents", lambda: len(p.rows("SELECT id FROM agents")) == 5, timeout=30)
    p.shot("agents page")

    _click(p, window, (NEW_FROM_BOTTOM[0], height - NEW_FROM_BOTTOM[1]))
    dialog = p.wait("the agent editor", lambda: p.x.visible_windows(EDITOR), timeout=15)[0]
    d_left, d_top, d_width, _ = p.x.geometry(dialog)
    p.x.pointer_into(d_left + d_width // 2, d_top + 12)  # keys go to the window under it
    p.type(NAME)
    p.shot("editor")
    p.key("Return")  # Save is the default button
    p.wait("the editor closed", lambda: not p.x.visible_windows(EDITOR), timeout=15)
    p.wait("the new agent stored", lambda: p.rows(f"SELECT id FROM agents WHERE name = '{NAME}'"))
    p.x.pointer_into(left + width // 2, top + height // 2)

    _click(p, window, GOAL_BOX)
    p.type("Write a poem about the sea, then a title for it.")
    _click(p, window, PLAN)
    p.wait("a plan proposed", lambda: p.logged("proposed a plan of"), timeout=120)
    time.sleep(0.5)
    p.shot("plan proposed")

    _click(p, window, FIRST_STEP_INSTRUCTION)
    p.x.xdotool("click", "--repeat", "2", "1")
    time.sleep(0.3)
    p.key("ctrl+a")
    p.type(EDITED)
    p.key("Return")
    p.shot("plan edited")
    _click(p, window, RUN_PLAN)
    done = p.wait(
        "the plan run stored",
        lambda: [r for r in _plans(p) if r[0] in ("completed", "failed")],
        timeout=240,
    )
    status, plan_json = done[-1]
    p.shot("plan run")
    plan = json.loads(plan_json)
    assert plan["steps"][0]["instruction"] == EDITED  # what ran is the plan as edited
    assert status == "completed", p.output()

    _click(p, window, RUNS_TAB)
    _click(p, window, FIRST_RUN)
    time.sleep(1.0)
    p.shot("timeline")
    [run_id] = p.rows("SELECT max(id) FROM runs")[0]
    kinds = {str(r[0]) for r in p.rows(f"SELECT kind FROM spans WHERE run_id = {run_id}")}
    assert {"plan", "step", "model"} <= kinds
    assert p.proc.poll() is None, p.output()
