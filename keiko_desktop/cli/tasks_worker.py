"""`keiko tasks worker`: the task engine without the window, on the same database.

One process at a time runs tasks: the one holding the task lease. A worker that finds another
process holding it says who and waits; the engine takes the lease over when that process ends
(its running tasks are recovered as interrupted and run again). While it owns the lease the
worker prints one stderr line per task state change. Ctrl+C (or SIGTERM) stops it cleanly:
running tasks go back to pending, so none is lost, and it exits 130 (143). ``--until-idle``
exits 0 once nothing is pending or running.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from keiko_desktop.cli.common import error, run_async
from keiko_desktop.cli.tasks import BAD_INPUT, service_of, tasks_core
from keiko_desktop.cli.tasks_output import MARKS
from keiko_desktop.core.errors import SettingsError
from keiko_desktop.core.safe_text import one_line, printable
from keiko_desktop.core.tasks.events import TaskOwnerChanged, TaskUpdated
from keiko_desktop.core.tasks.records import TaskRecord

if TYPE_CHECKING:
    from keiko_desktop.core.tasks.service import TaskService

OWNER_WAIT = 5.0
"""Seconds to wait for the engine's first word on the lease before reading it ourselves."""
EXIT_ON_SIGNAL: dict[int, int] = {int(signal.SIGINT): 130, int(signal.SIGTERM): 143}


def note(line: str) -> None:
    """A progress line on stderr (escaped: it quotes task names and errors)."""
    print(printable(line), file=sys.stderr, flush=True)


def run_worker(args: argparse.Namespace) -> int:
    changes: dict[str, tuple[str, Any]] = {}
    if args.workers is not None:
        from keiko_desktop.core.config import SETTINGS

        try:  # before the database: a bad flag starts nothing
            SETTINGS["task_workers"].coerce(args.workers, flag="--workers")
        except SettingsError as exc:
            error(exc)
            return BAD_INPUT
        changes["task_workers"] = ("--workers", args.workers)
    return run_async(lambda: _work(changes, args.until_idle))


async def _work(changes: dict[str, tuple[str, Any]], until_idle: bool) -> int:
    stop = _Stop()
    with stop.installed():
        async with tasks_core(changes) as core:
            service = service_of(core)
            reporter = _Reporter(service)
            core.bus.subscribe(TaskUpdated, reporter.on_task_updated)
            core.bus.subscribe(TaskOwnerChanged, reporter.on_owner_changed)
            try:
                if stop.signum is None:  # not stopped while the core opened
                    service.start("worker")
                    await reporter.first_word(stop)
                workers = core.settings.task_workers
                if until_idle:
                    note(f"Worker {os.getpid()}: {workers} at once; exits when idle.")
                    idle = asyncio.ensure_future(service.wait_idle())
                    await stop.wait_or(idle)
                    if idle.done() and not stop.signum:
                        note("Nothing is pending or running: done.")
                        return 0
                else:
                    note(f"Worker {os.getpid()}: {workers} at once; Ctrl+C stops it.")
                    await stop.wait_or(None)
                note("Stopping: running tasks go back to pending.")
            finally:
                core.bus.unsubscribe(TaskUpdated, reporter.on_task_updated)
                core.bus.unsubscribe(TaskOwnerChanged, reporter.on_owner_changed)
        # Closed: the engine gave its running tasks back and released the lease.
        note("Stopped.")
        return EXIT_ON_SIGNAL.get(stop.signum or int(signal.SIGINT), 130)


class _Stop:
    """Ctrl+C and SIGTERM ask for a clean stop (a second Ctrl+C stops at once)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._event = asyncio.Event()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        previous: dict[int, Any] = {s: signal.getsignal(s) for s in EXIT_ON_SIGNAL}
        installed: list[int] = []

        def restore(signum: int) -> None:
            if signum in installed:
                installed.remove(signum)
                loop.remove_signal_handler(signum)
                with contextlib.suppress(TypeError, ValueError):
                    signal.signal(signum, previous[signum])

        def asked(signum: int) -> None:
            if self.signum is None:
                self.signum = signum
                self._event.set()
            restore(signum)  # the next one is what it was before

        for signum in EXIT_ON_SIGNAL:
            try:
                loop.add_signal_handler(signum, asked, signum)
                installed.append(signum)
            except (NotImplementedError, RuntimeError, ValueError):  # Windows
                pass
        try:
            yield
        finally:
            for signum in list(installed):
                restore(signum)

    async def wait_or(self, other: asyncio.Future[Any] | None) -> None:
        """Until a stop is asked for or ``other`` is done (which it then cancels if not)."""
        stopped = asyncio.ensure_future(self._event.wait())
        waiting: set[asyncio.Future[Any]] = {stopped} | ({other} if other is not None else set())
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for future in waiting:
                if not future.done():
                    future.cancel()
            for future in waiting:
                with contextlib.suppress(asyncio.CancelledError):
                    await future
        if other is not None and other.done() and not other.cancelled():
            other.result()  # its error, if any


class _Reporter:
    """Says who runs the tasks, and, while this process does, each task's state change."""

    def __init__(self, service: TaskService) -> None:
        self._service = service
        self._owner: bool | None = None
        self._spoke = asyncio.Event()
        self._seen: dict[int, tuple[str, int]] = {}

    def on_owner_changed(self, event: TaskOwnerChanged) -> None:
        self._say_owner(event.owner, event.holder)

    def _say_owner(self, owner: bool, holder: str) -> None:
        self._spoke.set()
        if owner == self._owner:
            return
        self._owner = owner
        if owner:
            note(f"This worker (pid {os.getpid()}) owns the task lease and runs the tasks.")
        else:
            who = holder or "another process"
            note(f"{who} runs the tasks; this worker waits and takes over when it ends.")

    async def first_word(self, stop: _Stop) -> None:
        """Wait (bounded) for the engine to say whether it owns the lease; if it says
        nothing, read the lease."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(OWNER_WAIT):
                await stop.wait_or(asyncio.ensure_future(self._spoke.wait()))
        if self._owner is None and not stop.signum:
            holder = await self._service.holder()
            text = f"pid {holder.pid} ({holder.role})" if holder is not None else ""
            self._say_owner(self._service.is_owner, text)

    def on_task_updated(self, event: TaskUpdated) -> None:
        task = event.task
        key = (task.status, task.attempts)
        before = self._seen.get(task.id)
        if before == key:
            return
        self._seen[task.id] = key
        if not self._service.is_owner:
            return  # another process's work, seen by polling
        line = _change(task, before)
        if line:
            note(line)


def _change(task: TaskRecord, before: tuple[str, int] | None) -> str:
    """The stderr line for ``task`` now that it is in its state (empty: nothing to say)."""
    label = f"{MARKS.get(task.status, ' ')} #{task.id} {task.kind} {one_line(task.name, 80)}"
    tries = f"{task.attempts} attempt{'s' * (task.attempts != 1)}"
    if task.status == "running":
        again = f" (attempt {task.attempts} of {task.max_attempts})" * (task.attempts > 1)
        return f"{label}: started{again}"
    if task.status == "completed":
        took = f" in {task.duration:.1f} s" if task.duration is not None else ""
        result = f": {one_line(task.result, 120)}" if task.result else ""
        return f"{label}: completed{took}{result}"
    if task.status == "failed":
        return f"{label}: failed after {tries}: {one_line(task.error or '?', 300)}"
    if task.status == "cancelled":
        return f"{label}: cancelled"
    if before is not None and before[0] == "running":  # pending again
        why = f": {one_line(task.error, 300)}" if task.error else ""
        return f"{label}: attempt {before[1]} ended{why}; it will run again"
    return ""
