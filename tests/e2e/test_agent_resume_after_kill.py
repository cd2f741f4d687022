"""A plan run killed with -9 after its first step is stored as interrupted, and `keiko agents
resume` finishes it without redoing that step."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.cli import db_rows, keiko_env, run_keiko
from tests.helpers.processes import stop

pytestmark = pytest.mark.model

# max_tokens 400 at the bundled model's ~40 tokens a second: each step takes seconds, so the
# run is certainly inside s2 when s1 is seen done.
NARRATOR = {
    "name": "Narrator",
    "description": "Tells long stories (a test agent).",
    "system_prompt": "You write long, detailed stories with many chapters.",
    "tools": [],
    "temperature": 0.8,
    "max_tokens": 400,
}
PLAN = {
    "goal": "A story in four chapters",
    "steps": [
        {
            "id": "s1",
            "agent": "Narrator",
            "instruction": "Write the first chapter of a long story about a lighthouse keeper.",
            "depends_on": [],
        },
        {
            "id": "s2",
            "agent": "Narrator",
            "instruction": "Write a long second chapter that continues the story.",
            "depends_on": ["s1"],
        },
        {
            "id": "s3",
            "agent": "Narrator",
            "instruction": "Write a long third chapter that continues the story.",
            "depends_on": ["s2"],
        },
        {
            "id": "s4",
            "agent": "Narrator",
            "instruction": "Write a long last chapter that ends the story.",
            "depends_on": ["s3"],
        },
    ],
}


def _checkpoint(home: Path) -> tuple[int, str, dict[str, Any]] | None:
    rows = db_rows(home, "SELECT id, status, checkpoint FROM runs WHERE kind='plan'")
    if not rows:
        return None
    run_id, status, checkpoint = rows[0]
    return int(run_id), str(status), dict(json.loads(checkpoint or "{}"))


def _wait_for_s1(home: Path, proc: subprocess.Popen[str]) -> tuple[int, dict[str, Any]]:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        found = _checkpoint(home)
        if found is not None and found[2].get("s1", {}).get("status") == "done":
            return found[0], found[2]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail("s1 was never checkpointed as done")


def test_resume_after_kill_9_skips_the_done_step(keiko_home: Path, tmp_path: Path) -> None:
    agents = tmp_path / "narrator.json"
    agents.write_text(json.dumps({"format": "keiko-agent", "version": 1, "agents": [NARRATOR]}))
    assert run_keiko(keiko_home, "agents", "import", str(agents)).returncode == 0
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(PLAN))
    proc = subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "agents", "plan", "--file", str(plan), "--run"],
        env=keiko_env(keiko_home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        run_id, checkpoint = _wait_for_s1(keiko_home, proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        stop(proc)
    s1 = checkpoint["s1"]["output"]
    assert s1.strip()
    after = _checkpoint(keiko_home)
    assert after is not None
    assert after[1] == "running"  # nobody has looked yet
    assert after[2]["s1"]["output"] == s1
    assert all(after[2].get(s, {}).get("status") != "done" for s in ("s2", "s3", "s4"))

    listing = run_keiko(keiko_home, "agents", "runs")
    assert listing.returncode == 0, listing.stderr
    line = next(x for x in listing.stdout.splitlines() if x.startswith(f"#{run_id} "))
    assert "interrupted" in line

    resumed = run_keiko(keiko_home, "agents", "resume", str(run_id), "--json", timeout=400)
    assert resumed.returncode == 0, resumed.stderr
    assert "s1 (Narrator): done before, kept" in resumed.stderr
    out = json.loads(resumed.stdout)
    assert out["status"] == "completed", out
    new_id = out["run_id"]
    assert new_id != run_id

    shown = run_keiko(keiko_home, "agents", "runs", str(new_id), "--json")
    assert shown.returncode == 0, shown.stderr
    record = json.loads(shown.stdout)
    assert record["status"] == "completed"
    assert record["resumed_from"] == run_id
    assert record["checkpoint"]["s1"]["output"] == s1
    assert {k: v["status"] for k, v in record["checkpoint"].items()} == dict.fromkeys(
        ("s1", "s2", "s3", "s4"), "done"
    )
    assert all(record["checkpoint"][s]["output"].strip() for s in ("s2", "s3", "s4"))
    steps = [s for s in record["spans"] if s["kind"] == "step"]
    named = {s["name"].split()[0].strip(":()") for s in steps}
    assert named == {"s2", "s3", "s4"}, steps
    assert all(s["status"] == "ok" for s in steps)
    models = [s for s in record["spans"] if s["kind"] == "model"]
    assert len(models) >= 3
