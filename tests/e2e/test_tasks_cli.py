"""`keiko tasks` as a real subprocess against a temp KEIKO_HOME: adding tasks and schedules,
listing, showing, cancelling (here and in a worker), retrying, deleting; bad input; and a
headless worker running reminders to completion."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from keiko_desktop.cli.tasks_args import PRIORITY_CHOICES, STATUS_CHOICES
from keiko_desktop.core.tasks.records import PRIORITIES, TASK_STATUSES
from tests.helpers.cli import db_rows, keiko_env, run_keiko
from tests.helpers.mcp_servers.slow import configure, sleep_params
from tests.helpers.processes import stop


def tasks(home: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return run_keiko(home, "tasks", *args, timeout=timeout)


def added(home: Path, *args: str) -> dict[str, Any]:
    """`keiko tasks add ARGS --json`, which must succeed: the task (or schedule)."""
    done = tasks(home, "add", *args, "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def listed(home: Path, *args: str) -> list[dict[str, Any]]:
    done = tasks(home, "list", "--json", *args)
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def shown(home: Path, task_id: int) -> dict[str, Any]:
    done = tasks(home, "show", str(task_id), "--json")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_the_argument_names_match_the_core() -> None:
    assert PRIORITY_CHOICES == PRIORITIES
    assert STATUS_CHOICES == TASK_STATUSES


def test_add_list_show_and_an_idempotency_key(keiko_home: Path) -> None:
    first = added(
        keiko_home, "reminder", "--name", "Call Ann", "--priority", "high",
        "--param", "text=Call Ann back", "--key", "ann-1", "--retries", "0", "--timeout", "30",
    )  # fmt: skip
    assert first["existed"] is False
    assert (first["kind"], first["status"], first["priority"]) == ("reminder", "pending", "high")
    assert first["params"] == {"text": "Call Ann back"}
    assert (first["max_attempts"], first["timeout"]) == (1, 30.0)
    again = tasks(keiko_home, "add", "reminder", "--param", "text=Other", "--key", "ann-1")
    assert again.returncode == 0, again.stderr
    assert f"Task #{first['id']} has the key 'ann-1' already" in again.stdout
    plain = tasks(keiko_home, "add", "reminder", "--param", "text=Buy milk")
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.startswith(f"Added task #{first['id'] + 1}")

    every = listed(keiko_home)
    assert [t["id"] for t in every] == [first["id"] + 1, first["id"]]  # newest first
    keys = {"id", "name", "kind", "status", "priority", "progress", "attempts", "created_at"}
    keys |= {"started_at", "finished_at", "result", "error", "parent_id", "run_id"}
    assert keys <= set(every[0])
    assert every[1]["created_at"].endswith("+00:00")
    assert [t["id"] for t in listed(keiko_home, "--search", "Ann")] == [first["id"]]
    assert [t["id"] for t in listed(keiko_home, "--limit", "1")] == [first["id"] + 1]
    assert len(listed(keiko_home, "--status", "pending", "--kind", "reminder")) == 2
    assert listed(keiko_home, "--status", "completed") == []

    text = tasks(keiko_home)  # `keiko tasks` alone lists
    assert text.returncode == 0, text.stderr
    assert "Call Ann" in text.stdout
    assert "Reminder" in text.stdout  # the default name
    one = tasks(keiko_home, "show", str(first["id"]))
    assert one.returncode == 0, one.stderr
    assert f"Task #{first['id']}  reminder" in one.stdout
    assert "text: Call Ann back" in one.stdout
    assert "Key:" in one.stdout
    detail = shown(keiko_home, first["id"])
    assert detail["attempt_log"] == []
    assert detail["child_tasks"] == []
    missing = tasks(keiko_home, "show", "999")
    assert missing.returncode == 2
    assert "999" in missing.stderr


def test_bad_input_names_the_field_and_stores_nothing(keiko_home: Path, tmp_path: Path) -> None:
    cases: list[tuple[list[str], str]] = [
        (["nosuchkind", "--param", "text=x"], "kind"),
        (["reminder", "--param", "colour=red"], "colour"),
        (["reminder"], "text"),
        (["reminder", "--param", "text"], "--param"),
        (["reminder", "--param", "text=a", "--param", "text=b"], "'text': is given twice"),
        (["reminder", "--param", "text=x", "--priority", "urgent"], "--priority"),
        (["reminder", "--param", "text=x", "--retries", "99"], "--retries"),
        (["reminder", "--param", "text=x", "--timeout", "-1"], "--timeout"),
        (["reminder", "--param", f"text=@{tmp_path / 'nowhere.txt'}"], "nowhere.txt"),
        (["reminder", "--param", "text=x", "--every", "soon"], "--every"),
        (["reminder", "--param", "text=x", "--daily", "25:00"], "--daily"),
        (["reminder", "--param", "text=x", "--weekly", "someday 09:00"], "--weekly"),
        (["reminder", "--param", "text=x", "--cron", "99 * * * *"], "--cron"),
        (["reminder", "--param", "text=x", "--at", "the day after never"], "--at"),
        (["reminder", "--param", "text=x", "--every", "1h", "--key", "k"], "--key"),
        (["reminder", "--param", "text=x", "--every", "1h", "--daily", "09:00"], "--daily"),
        (["tool", "--param", "server=s", "--param", "tool=t", "--param", "arguments=[1"], "arg"),
    ]
    for argv, field in cases:
        result = tasks(keiko_home, "add", *argv)
        assert result.returncode == 2, (argv, result.stdout, result.stderr)
        assert field in result.stderr, (argv, result.stderr)
        assert "Traceback" not in result.stderr
    assert listed(keiko_home) == []
    schedules = tasks(keiko_home, "schedules", "--json")
    assert schedules.returncode == 0, schedules.stderr
    assert json.loads(schedules.stdout) == []
    assert tasks(keiko_home, "worker", "--workers", "0").returncode == 2


def test_a_param_from_a_file(keiko_home: Path, tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_text("Water the plants\nand the garden", encoding="utf-8")
    task = added(keiko_home, "reminder", "--param", f"text=@{note}")
    assert task["params"]["text"] == "Water the plants\nand the garden"
    at = added(keiko_home, "reminder", "--param", "text=@@home")
    assert at["params"]["text"] == "@home"


def test_cancel_retry_and_delete_a_pending_task(keiko_home: Path) -> None:
    task = added(keiko_home, "reminder", "--param", "text=Later")
    cancelled = tasks(keiko_home, "cancel", str(task["id"]))
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"Cancelled task #{task['id']}" in cancelled.stdout
    assert shown(keiko_home, task["id"])["status"] == "cancelled"
    assert tasks(keiko_home, "cancel", str(task["id"])).returncode == 2  # finished already

    retried = tasks(keiko_home, "retry", str(task["id"]))
    assert retried.returncode == 0, retried.stderr
    assert "pending again" in retried.stdout
    assert shown(keiko_home, task["id"])["status"] == "pending"
    assert tasks(keiko_home, "retry", str(task["id"])).returncode == 2  # pending: nothing to retry

    deleted = tasks(keiko_home, "delete", str(task["id"]))
    assert deleted.returncode == 0, deleted.stderr
    assert "Deleted 1 task" in deleted.stdout
    assert listed(keiko_home) == []
    assert tasks(keiko_home, "show", str(task["id"])).returncode == 2


def test_kinds_lists_each_kind_and_its_params(keiko_home: Path) -> None:
    result = tasks(keiko_home, "kinds", "--json")
    assert result.returncode == 0, result.stderr
    kinds = {k["name"]: k for k in json.loads(result.stdout)}
    assert {"reminder", "agent", "goal", "agent_folder", "agent_file", "summarise", "tool"} <= set(
        kinds
    )
    text = {p["name"]: p for p in kinds["reminder"]["params"]}["text"]
    assert (text["type"], text["required"]) == ("text", True)
    arguments = {p["name"]: p for p in kinds["tool"]["params"]}["arguments"]
    assert (arguments["type"], arguments["required"], arguments["default"]) == ("json", False, {})
    plain = tasks(keiko_home, "kinds")
    assert plain.returncode == 0, plain.stderr
    assert "reminder:" in plain.stdout
    assert "--param text=…  text, required" in plain.stdout


def test_schedules_are_added_listed_and_removed(keiko_home: Path) -> None:
    made = [
        added(keiko_home, "reminder", "--param", "text=Stretch", "--every", "90m"),
        added(keiko_home, "reminder", "--param", "text=Stand-up", "--daily", "09:30"),
        added(keiko_home, "reminder", "--param", "text=Gym", "--weekly", "mon,wed 18:00"),
        added(keiko_home, "reminder", "--param", "text=Report", "--cron", "0 9 * * 1-5"),
        added(keiko_home, "reminder", "--param", "text=Once", "--at", "2099-01-31 09:00"),
    ]
    specs = [m["spec"] for m in made]
    assert [s["kind"] for s in specs] == ["every", "daily", "weekly", "cron", "once"]
    assert specs[0]["minutes"] == 90
    assert (specs[2]["weekdays"], specs[2]["time"]) == ([0, 2], "18:00")
    assert all(m["next_run"] for m in made)
    assert made[4]["next_run"].startswith("2099-01-3")
    assert listed(keiko_home) == []  # a schedule adds tasks when it fires, not before

    text = tasks(keiko_home, "add", "reminder", "--param", "text=Tea", "--every", "2h")
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("Added schedule #")
    assert "Next run: " in text.stdout
    listing = tasks(keiko_home, "schedules", "--json")
    assert listing.returncode == 0, listing.stderr
    schedules = json.loads(listing.stdout)
    assert len(schedules) == 6
    assert all(s["description"] for s in schedules)
    plain = tasks(keiko_home, "schedules")
    assert plain.returncode == 0, plain.stderr
    assert len(plain.stdout.splitlines()) == 6

    gone = tasks(keiko_home, "unschedule", str(made[0]["id"]))
    assert gone.returncode == 0, gone.stderr
    left = json.loads(tasks(keiko_home, "schedules", "--json").stdout)
    assert made[0]["id"] not in {s["id"] for s in left}
    assert len(left) == 5


def test_a_worker_runs_reminders_until_idle(keiko_home: Path) -> None:
    ids = [added(keiko_home, "reminder", "--param", f"text=note {n}")["id"] for n in range(4)]
    result = tasks(keiko_home, "worker", "--until-idle", "--workers", "2")
    assert result.returncode == 0, result.stderr
    assert "owns the task lease" in result.stderr
    assert "Nothing is pending or running" in result.stderr
    for task_id in ids:
        assert f"#{task_id} reminder" in result.stderr
    completions = [line for line in result.stderr.splitlines() if ": completed" in line]
    assert len(completions) == 4, result.stderr
    for n, task_id in enumerate(ids):
        task = shown(keiko_home, task_id)
        assert (task["status"], task["result"], task["progress"]) == ("completed", f"note {n}", 100)
        assert [a["outcome"] for a in task["attempt_log"]] == ["completed"]
        assert task["finished_at"] >= task["started_at"] >= task["created_at"]
    idle = tasks(keiko_home, "worker", "--until-idle")  # nothing to do: done at once
    assert idle.returncode == 0, idle.stderr


def test_cancel_reaches_a_task_running_in_a_worker(keiko_home: Path) -> None:
    configure(keiko_home)
    task = added(keiko_home, "tool", *sleep_params(60, "never"))
    worker = subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "tasks", "worker"],
        env=keiko_env(keiko_home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 40
        while db_rows(keiko_home, f"SELECT status FROM tasks WHERE id={task['id']}") != [
            ("running",)
        ]:
            assert worker.poll() is None, worker.communicate()
            assert time.monotonic() < deadline, "the task never started"
            time.sleep(0.1)
        started = time.monotonic()
        cancelled = tasks(keiko_home, "cancel", str(task["id"]), "--wait")
        assert cancelled.returncode == 0, cancelled.stderr
        assert "cancel requested" in cancelled.stdout
        assert f"Cancelled task #{task['id']}" in cancelled.stdout
        assert time.monotonic() - started < 15  # a process start, then within a second
        detail = shown(keiko_home, task["id"])
        assert detail["status"] == "cancelled"
        assert [a["outcome"] for a in detail["attempt_log"]] == ["cancelled"]
        assert worker.poll() is None, "the worker stopped with the task"
    finally:
        stop(worker)
    _, stderr = worker.communicate(timeout=10)
    assert f"#{task['id']} tool" in stderr
    assert ": cancelled" in stderr
    assert "Traceback" not in stderr
