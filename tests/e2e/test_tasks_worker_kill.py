"""`keiko tasks worker` killed with -9 mid-queue loses no task and runs none twice; of two
workers started together exactly one runs the tasks, and the other takes over when it dies.

The tasks are calls of ``slow.sleep`` (``tests/helpers/mcp_servers/slow.py``, allowed
Always), so each takes long enough to be caught running. The server logs each call's start
and end, so a test sees what ran and how often.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

import pytest

from tests.helpers.cli import db_rows, keiko_env, run_keiko
from tests.helpers.mcp_servers.slow import configure, sleep_params
from tests.helpers.processes import stop

SECONDS = 2.0
"""How long each task's call takes."""


def add_sleeps(home: Path, count: int) -> dict[int, str]:
    """``count`` tasks calling ``slow.sleep``: task id -> the text it returns."""
    made: dict[int, str] = {}
    for n in range(count):
        text = f"sleep {n}"
        done = run_keiko(home, "tasks", "add", "tool", *sleep_params(SECONDS, text), "--json")
        assert done.returncode == 0, done.stderr
        made[int(json.loads(done.stdout)["id"])] = text
    return made


def statuses(home: Path) -> dict[int, str]:
    return {int(i): str(s) for i, s in db_rows(home, "SELECT id, status FROM tasks")}


def detail(home: Path, task_id: int) -> dict[str, Any]:
    shown = run_keiko(home, "tasks", "show", str(task_id), "--json", timeout=60)
    assert shown.returncode == 0, shown.stderr
    return dict(json.loads(shown.stdout))


@contextmanager
def worker(home: Path, log: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """`keiko tasks worker ARGS` running, its stderr going to ``log``; stopped on exit."""
    handle: TextIO = log.open("w", encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "keiko_desktop", "tasks", "worker", *args],
        env=keiko_env(home),
        stdout=subprocess.DEVNULL,
        stderr=handle,
        text=True,
    )
    try:
        yield proc
    finally:
        stop(proc)
        handle.close()


def wait_until(what: str, check: Any, limit: float, *procs: subprocess.Popen[str]) -> Any:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        for proc in procs:
            assert proc.poll() is None, f"a worker exited (code {proc.returncode}) before {what}"
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {limit:g} s")


def mid_queue(
    home: Path, made: dict[int, str], log: Path, completed: int = 0
) -> dict[int, str] | None:
    """The statuses once more than ``completed`` tasks completed and some are running with
    their call under way in the server (so a task has just started), else None."""
    now = statuses(home)
    counts = Counter(now.values())
    if counts["completed"] <= completed or not counts["running"]:
        return None
    calls = Counter(log.read_text(encoding="utf-8").splitlines()) if log.exists() else Counter()
    busy = [made[i] for i, s in now.items() if s == "running"]
    return now if all(calls[f"start {t}"] > calls[f"done {t}"] for t in busy) else None


def running(home: Path) -> set[int]:
    return {i for i, s in statuses(home).items() if s == "running"}


def check_all_done_once(home: Path, made: dict[int, str], interrupted: set[int], log: Path) -> None:
    """Each task completed with its text, with exactly one completed attempt; those running
    at the kill have an interrupted attempt first, counted."""
    calls = Counter(log.read_text(encoding="utf-8").splitlines())
    for task_id, text in made.items():
        task = detail(home, task_id)
        assert (task["status"], task["result"]) == ("completed", text), task
        outcomes = [a["outcome"] for a in task["attempt_log"]]
        if task_id in interrupted:
            assert outcomes == ["interrupted", "completed"], task
            assert task["attempts"] == 2, task
            assert calls[f"start {text}"] == 2, calls
        else:
            assert outcomes == ["completed"], task
            assert task["attempts"] == 1, task
            assert calls[f"start {text}"] == 1, calls
            assert calls[f"done {text}"] == 1, calls
        assert calls[f"done {text}"] >= 1, calls


def test_kill_9_mid_queue_then_restart_completes_each_task_once(
    keiko_home: Path, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.log"
    configure(keiko_home, calls)
    made = add_sleeps(keiko_home, 6)
    with worker(keiko_home, tmp_path / "first.log", "--workers", "2") as first:
        seen = wait_until("mid-queue", lambda: mid_queue(keiko_home, made, calls), 40, first)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    interrupted = running(keiko_home)  # as the kill left them: nobody looked since
    assert interrupted == {i for i, s in seen.items() if s == "running"}
    assert "pending" in statuses(keiko_home).values(), "the queue was over before the kill"

    second = run_keiko(keiko_home, "tasks", "worker", "--until-idle", "--workers", "2", timeout=60)
    assert second.returncode == 0, second.stderr
    assert "owns the task lease" in second.stderr
    assert "Traceback" not in second.stderr
    assert set(statuses(keiko_home).values()) == {"completed"}
    check_all_done_once(keiko_home, made, interrupted, calls)


def test_two_workers_one_owns_and_the_other_takes_over(keiko_home: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    configure(keiko_home, calls)
    made = add_sleeps(keiko_home, 5)
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    owns = "owns the task lease"
    waits = "runs the tasks; this worker waits"
    with (
        worker(keiko_home, logs[0], "--until-idle", "--workers", "1") as a,
        worker(keiko_home, logs[1], "--until-idle", "--workers", "1") as b,
    ):
        procs = [a, b]

        def roles() -> tuple[int, int] | None:
            text = [log.read_text(encoding="utf-8") for log in logs]
            owner = [owns in t for t in text]
            waiting = [waits in t for t in text]
            if owner.count(True) == 1 and waiting.count(True) == 1:
                return owner.index(True), waiting.index(True)
            return None

        owner, follower = wait_until("one owner, one waiting", roles, 40, a, b)
        assert owner != follower
        said = logs[follower].read_text(encoding="utf-8")
        assert re.search(rf"\(pid {procs[owner].pid}\) {waits}", said), said
        done = Counter(statuses(keiko_home).values())["completed"]
        wait_until("mid-queue", lambda: mid_queue(keiko_home, made, calls, done), 40, a, b)
        procs[owner].send_signal(signal.SIGKILL)
        procs[owner].wait(10)
        interrupted = running(keiko_home)  # the follower waits 2 s between tries: not yet
        assert len(interrupted) == 1, statuses(keiko_home)  # one at a time
        assert "pending" in statuses(keiko_home).values(), "the queue was over before the kill"
        assert procs[follower].wait(60) == 0, logs[follower].read_text(encoding="utf-8")
    took_over = logs[follower].read_text(encoding="utf-8")
    assert owns in took_over, took_over
    assert "Nothing is pending or running" in took_over
    assert "Traceback" not in took_over
    check_all_done_once(keiko_home, made, interrupted, calls)


def test_ctrl_c_gives_the_running_task_back(keiko_home: Path, tmp_path: Path) -> None:
    calls = tmp_path / "calls.log"
    configure(keiko_home, calls)
    made = add_sleeps(keiko_home, 1)
    [task_id] = made
    with worker(keiko_home, tmp_path / "worker.log") as proc:
        wait_until("the call", lambda: mid_queue(keiko_home, made, calls, -1), 40, proc)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 130
    said = (tmp_path / "worker.log").read_text(encoding="utf-8")
    assert "Stopping: running tasks go back to pending." in said
    assert "Traceback" not in said
    task = detail(keiko_home, task_id)
    assert (task["status"], task["attempts"]) == ("pending", 0), task  # not counted
    again = run_keiko(keiko_home, "tasks", "worker", "--until-idle", timeout=60)
    assert again.returncode == 0, again.stderr
    task = detail(keiko_home, task_id)
    assert (task["status"], task["result"], task["attempts"]) == ("completed", "sleep 0", 1)
    assert [a["outcome"] for a in task["attempt_log"]][-1] == "completed"
