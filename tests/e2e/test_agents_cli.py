"""`keiko agents` as a real subprocess with the bundled model and a temp KEIKO_HOME."""

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

SHIPPED = {"General assistant", "Researcher", "Writer", "Summarizer", "Coder"}
QUICK = {
    "name": "Quick",
    "description": "Answers in a few words (a test agent).",
    "system_prompt": "Answer in one short sentence.",
    "tools": [],
    "temperature": 0.0,
    "max_tokens": 24,
}
NARRATOR = {
    "name": "Narrator",
    "description": "Tells long stories (a test agent).",
    "system_prompt": "You write long, detailed stories.",
    "tools": [],
    "temperature": 0.8,
    "max_tokens": 400,
}


def agents_file(path: Path, *agents: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"format": "keiko-agent", "version": 1, "agents": list(agents)}))
    return path


def listed(home: Path) -> list[dict[str, Any]]:
    result = run_keiko(home, "agents", "list", "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def imported(home: Path, tmp_path: Path, *agents: dict[str, Any]) -> None:
    result = run_keiko(home, "agents", "import", str(agents_file(tmp_path / "in.json", *agents)))
    assert result.returncode == 0, result.stderr


def test_list_shows_the_shipped_agents(keiko_home: Path) -> None:
    agents = listed(keiko_home)
    assert {a["name"] for a in agents} == SHIPPED
    assert all(a["builtin"] and a["status"] in ("inactive", "ready") for a in agents)
    plain = run_keiko(keiko_home, "agents")
    assert plain.returncode == 0, plain.stderr
    for name in SHIPPED:
        assert name in plain.stdout
    shown = run_keiko(keiko_home, "agents", "show", "researcher")  # any case
    assert shown.returncode == 0, shown.stderr
    assert "files.read_file" in shown.stdout
    assert "careful researcher" in shown.stdout
    missing = run_keiko(keiko_home, "agents", "show", "Nobody")
    assert missing.returncode == 2
    assert "Nobody" in missing.stderr


def test_export_import_round_trips_into_another_home(keiko_home: Path, tmp_path: Path) -> None:
    poet = {**QUICK, "name": "Poet", "tags": ["verse"], "retries": 3, "step_timeout": 30.0}
    imported(keiko_home, tmp_path, poet)
    out = tmp_path / "agents.json"
    exported = run_keiko(keiko_home, "agents", "export", "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert "6 agent" in exported.stdout
    assert {a["name"] for a in json.loads(out.read_text())["agents"]} == SHIPPED | {"Poet"}

    other = tmp_path / "other-home"
    clash = run_keiko(other, "agents", "import", str(out))  # the shipped names exist there
    assert clash.returncode == 2
    assert ".name" in clash.stderr
    assert "--replace" in clash.stderr
    assert "Poet" not in {a["name"] for a in listed(other)}, "a refused file imported some"

    done = run_keiko(other, "agents", "import", "--replace", str(out))
    assert done.returncode == 0, done.stderr
    assert "Poet" in done.stdout
    again = run_keiko(other, "agents", "export")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == json.loads(out.read_text())

    def poet_in(home: Path) -> dict[str, Any]:
        shown = run_keiko(home, "agents", "show", "Poet", "--json")
        assert shown.returncode == 0, shown.stderr
        data = dict(json.loads(shown.stdout))
        del data["id"]
        return data

    assert poet_in(other) == poet_in(keiko_home)
    assert poet_in(other)["retries"] == 3

    deleted = run_keiko(other, "agents", "delete", "poet")
    assert deleted.returncode == 0, deleted.stderr
    assert "Poet" in deleted.stdout
    assert "Poet" not in {a["name"] for a in listed(other)}
    assert run_keiko(other, "agents", "delete", "Poet").returncode == 2


def test_a_bad_file_names_the_field_and_imports_nothing(keiko_home: Path, tmp_path: Path) -> None:
    bad = agents_file(tmp_path / "bad.json", {**QUICK, "name": "Fine"}, {**QUICK, "temperature": 9})
    result = run_keiko(keiko_home, "agents", "import", str(bad))
    assert result.returncode == 2
    assert "agents[1].temperature" in result.stderr
    assert "Traceback" not in result.stderr
    assert {a["name"] for a in listed(keiko_home)} == SHIPPED
    missing = run_keiko(keiko_home, "agents", "import", str(tmp_path / "nowhere.json"))
    assert missing.returncode == 2
    assert "nowhere.json" in missing.stderr


def test_run_streams_an_answer_and_json_has_the_trace(keiko_home: Path) -> None:
    result = run_keiko(keiko_home, "agents", "run", "General assistant", "Say hi")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
    traced = run_keiko(keiko_home, "agents", "run", "--json", "General assistant", "Say hi")
    assert traced.returncode == 0, traced.stderr
    out = json.loads(traced.stdout)
    assert out["status"] == "completed"
    assert out["text"].strip()
    assert out["agent"] == "General assistant"
    kinds = {s["kind"] for s in out["spans"]}
    assert "model" in kinds, out["spans"]
    assert all(s["run_id"] == out["run_id"] and s["duration"] is not None for s in out["spans"])
    assert any(s["completion_tokens"] > 0 for s in out["spans"])

    runs = run_keiko(keiko_home, "agents", "runs")
    assert runs.returncode == 0, runs.stderr
    assert "Say hi" in runs.stdout
    assert "completed" in runs.stdout
    listing = json.loads(run_keiko(keiko_home, "agents", "runs", "--json").stdout)
    assert [r["id"] for r in listing][:2] == [out["run_id"], out["run_id"] - 1]
    assert listing[0]["kind"] == "agent"
    assert listing[0]["agent"] == "General assistant"
    one = run_keiko(keiko_home, "agents", "runs", str(out["run_id"]))
    assert one.returncode == 0, one.stderr
    assert "Spans:" in one.stdout
    assert "model" in one.stdout
    assert run_keiko(keiko_home, "agents", "runs", "999").returncode == 2
    unknown = run_keiko(keiko_home, "agents", "run", "Nobody", "Say hi")
    assert unknown.returncode == 2
    assert "Nobody" in unknown.stderr


def test_plan_names_only_real_agents(keiko_home: Path) -> None:
    result = run_keiko(
        keiko_home, "agents", "plan", "--seed", "1", "Find my notes about taxes and summarise them"
    )
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["steps"]
    assert {s["agent"] for s in plan["steps"]} <= SHIPPED
    ids = [s["id"] for s in plan["steps"]]
    assert len(set(ids)) == len(ids)
    for step in plan["steps"]:
        assert step["instruction"].strip()
        assert set(step["depends_on"]) <= set(ids)


def test_plan_file_runs_with_progress_on_stderr(keiko_home: Path, tmp_path: Path) -> None:
    imported(keiko_home, tmp_path, QUICK)
    plan: dict[str, Any] = {
        "goal": "Two quick answers",
        "steps": [
            {"id": "a", "agent": "Quick", "instruction": "Name a fruit.", "depends_on": []},
            {"id": "b", "agent": "Quick", "instruction": "Name its colour.", "depends_on": ["a"]},
        ],
    }
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    checked = run_keiko(keiko_home, "agents", "plan", "--file", str(path))
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout) == plan

    result = run_keiko(keiko_home, "agents", "plan", "--file", str(path), "--run")
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    progress = [line for line in lines if line.startswith(("… ", "✓ ", "✗ ", "■ "))]
    expected = [
        "… a (Quick): running",
        "✓ a (Quick): done",
        "… b (Quick): running",
        "✓ b (Quick): done",
    ]
    # In order, nothing else; a "running" polled too late to be seen may be missing.
    assert progress == [line for line in expected if line in progress], result.stderr
    assert expected[1] in progress, result.stderr
    assert expected[3] in progress, result.stderr
    assert "a (Quick)" in result.stdout  # the report
    assert "b (Quick)" in result.stdout
    stored = json.loads(run_keiko(keiko_home, "agents", "runs", "--json").stdout)[0]
    assert stored["kind"] == "plan"
    assert stored["status"] == "completed"
    assert {k: v["status"] for k, v in stored["checkpoint"].items()} == {"a": "done", "b": "done"}

    plan["steps"][1]["agent"] = "Nobody"
    path.write_text(json.dumps(plan))
    bad = run_keiko(keiko_home, "agents", "plan", "--file", str(path), "--run")
    assert bad.returncode == 2
    assert "Nobody" in bad.stderr
    path.write_text("{not json")
    assert run_keiko(keiko_home, "agents", "plan", "--file", str(path)).returncode == 2
    assert len(json.loads(run_keiko(keiko_home, "agents", "runs", "--json").stdout)) == 1


def test_ctrl_c_cancels_the_run_and_stores_it_cancelled(keiko_home: Path, tmp_path: Path) -> None:
    imported(keiko_home, tmp_path, NARRATOR)
    proc = subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "agents", "run", "Narrator", "Tell a long story."],
        env=keiko_env(keiko_home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not db_rows(keiko_home, "SELECT id FROM runs WHERE status='running'"):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never started"
            time.sleep(0.1)
        time.sleep(1.5)  # into the answer
        assert proc.poll() is None, "the run ended before it could be stopped"
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    finally:
        stop(proc)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert db_rows(keiko_home, "SELECT status FROM runs") == [("cancelled",)]


def test_batch_runs_one_agent_over_each_text_file_of_a_folder(
    keiko_home: Path, tmp_path: Path
) -> None:
    imported(keiko_home, tmp_path, QUICK)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("The meeting moved to Friday.")
    (folder / "b.txt").write_text("Buy milk and bread.")
    (folder / "c.bin").write_bytes(b"\0\1binary")
    result = run_keiko(
        keiko_home,
        "agents",
        "batch",
        "Quick",
        "--folder",
        str(folder),
        "--instruction",
        "Say in five words what this is about:",
        "--concurrency",
        "2",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert "Skipped c.bin: not a text file." in result.stderr
    outcome = json.loads(result.stdout)
    assert outcome["status"] == "completed"
    steps = outcome["checkpoint"]
    assert sorted(steps) == ["1", "2"]
    assert all(s["status"] == "done" and s["output"].strip() for s in steps.values())
    [row] = db_rows(keiko_home, "SELECT kind, title FROM runs")
    assert row[0] == "batch"
    assert row[1].startswith("Quick over 2 inputs")
    bad = run_keiko(keiko_home, "agents", "batch", "Quick", "--concurrency", "99")
    assert bad.returncode == 2
    assert "between 1 and 16" in bad.stderr
    empty = run_keiko(keiko_home, "agents", "batch", "Quick")
    assert empty.returncode == 2
    assert "--folder DIR" in empty.stderr
