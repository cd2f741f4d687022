"""`keiko doctor`'s tasks line: how many wait, and whether any process runs them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import psutil
import pytest
from sqlalchemy import update

from keiko_desktop.cli.doctor import check_tasks
from keiko_desktop.core.config import Paths
from keiko_desktop.core.tasks.records import NewTask
from keiko_desktop.store import open_database
from keiko_desktop.store.tables import task_lease
from tests.helpers.processes import SLEEPER, stop


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(SLEEPER)
    try:
        yield proc
    finally:
        stop(proc)


async def test_pending_tasks_nobody_runs_are_a_warning_a_live_worker_is_named(
    paths: Paths, child: subprocess.Popen[bytes]
) -> None:
    assert check_tasks(paths).detail == "none yet"
    db = await open_database(paths.database)
    try:
        await db.tasks.add_task(NewTask("reminder", {"text": "x"}, max_attempts=1, timeout=0))
        warned = check_tasks(paths)
        assert warned.level == "warn"
        assert "1 pending, 0 running, and no process runs them" in warned.detail
        assert "keiko tasks worker" in warned.fix
        await db.tasks.acquire_lease("t", "worker", 30)
        started = psutil.Process(child.pid).create_time()
        await db.write(
            lambda s: s.execute(
                update(task_lease).values(owner_pid=child.pid, owner_started=started)
            )
        )
    finally:
        await db.aclose()
    ok = check_tasks(paths)
    assert ok.level == "ok"
    assert ok.detail == f"1 pending, 0 running; run by keiko tasks worker (pid {child.pid})"
