"""`keiko tasks`: add tasks and schedules, list and show them, cancel, retry, delete; list the
kinds. Running the engine headless (`keiko tasks worker`) is ``cli/tasks_worker.py``.

Every command opens the same database as the window, so a task added here is run by whichever
process holds the task lease (the window, or a worker), and a cancel reaches it there. Exit
codes: 0 done, 1 failed (or Keiko did), 2 bad input (an unknown kind or task, a bad
``--param`` or schedule: the error names the field and nothing is stored), 130 Ctrl+C.
Everything that is not Keiko's own (names, parameters, results, errors) is printed escaped.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keiko_desktop.cli.common import error, run_async, show
from keiko_desktop.cli.tasks_args import SCHEDULE_FLAGS
from keiko_desktop.cli.tasks_output import (
    attempt_json,
    describe,
    dump,
    local_time,
    param_json,
    print_kinds,
    print_task,
    schedule_json,
    task_json,
    task_line,
)
from keiko_desktop.core.errors import KeikoError, SettingsError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.errors import TaskError, TaskParamError
from keiko_desktop.core.tasks.records import (
    NewSchedule,
    NewTask,
    ScheduleSpec,
    TaskFilter,
)

if TYPE_CHECKING:
    from keiko_desktop.app import Core
    from keiko_desktop.core.tasks.service import TaskService

BAD_INPUT = 2
CANCEL_WAIT = 30.0
"""Seconds `cancel --wait` waits for a running task to stop."""
MAX_PARAM_FILE = 1024 * 1024


def run_tasks(args: argparse.Namespace) -> int:
    action = args.tasks_command or "list"
    if action == "worker":
        from keiko_desktop.cli.tasks_worker import run_worker

        return run_worker(args)
    if action == "add":
        try:  # before the database: bad input stores nothing
            new = _new_item(args)
        except (TaskError, SettingsError) as exc:
            error(exc)
            return BAD_INPUT
        return run_async(lambda: _add(new, args.json))
    return run_async(lambda: _command(args, action))


@asynccontextmanager
async def tasks_core(changes: Mapping[str, tuple[str, Any]] | None = None) -> AsyncIterator[Core]:
    """The Core without its model (a task that needs one loads it) and with its task service;
    closed on exit. ``changes``: settings given as flags (``Settings.with_flags``)."""
    from keiko_desktop.app import build_core
    from keiko_desktop.core.config import Paths, load_settings

    paths = Paths.from_env()
    settings = load_settings(paths)
    if changes:
        settings = settings.with_flags(changes)  # a bad value's error names its flag
    core = await build_core(paths, settings, start_model=False)
    try:
        if core.tasks is None:
            raise KeikoError("The tasks could not start.", "See the log (keiko doctor).")
        yield core
    finally:
        await core.aclose()


def service_of(core: Core) -> TaskService:
    assert core.tasks is not None  # tasks_core checked
    return core.tasks


# ----------------------------------------------------------------------------- add


def _new_item(args: argparse.Namespace) -> NewTask | NewSchedule:
    """The task or schedule ``add`` describes, checked as far as possible without the store."""
    from keiko_desktop.core.config import SETTINGS

    params: dict[str, str] = {}
    for key, value in args.param:
        if key in params:
            raise TaskParamError(key, "is given twice", "Give each --param once.")
        params[key] = _param_value(key, value)
    name = _utf8("--name", args.name.strip())
    max_attempts = None
    if args.retries is not None:
        max_attempts = SETTINGS["task_retries"].coerce(args.retries, flag="--retries") + 1
    timeout = None
    if args.timeout is not None:
        timeout = SETTINGS["task_timeout"].coerce(args.timeout, flag="--timeout")
    spec = _schedule_spec(args)
    if spec is None:
        key = None if args.key is None else _utf8("--key", args.key.strip()) or None
        return NewTask(
            kind=args.kind,
            params=params,
            name=name,
            priority=args.priority,
            max_attempts=max_attempts,
            timeout=timeout,
            idempotency_key=key,
        )
    if args.key is not None:
        raise TaskError("--key is for a task, not a schedule.", "Leave out --key, or the schedule.")
    return NewSchedule(
        name=name,
        kind=args.kind,
        spec=spec,
        params=params,
        priority=args.priority,
        max_attempts=max_attempts,
        timeout=timeout,
    )


def _param_value(name: str, value: str) -> str:
    """A ``--param`` value: its text, or with ``@FILE`` the text of that file (``@@`` is a
    literal ``@``)."""
    _utf8("--param", name)
    if value.startswith("@@"):
        value = value[1:]
    elif value.startswith("@"):
        value = _read_param_file(name, Path(value[1:]).expanduser())
    return _utf8(name, value, param=True)


def _read_param_file(name: str, path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_PARAM_FILE + 1)
    except OSError as exc:
        raise TaskParamError(name, f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_PARAM_FILE:
        raise TaskParamError(name, f"{path} is over {MAX_PARAM_FILE:,} bytes")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TaskParamError(name, f"{path} is not UTF-8 text (byte {exc.start + 1})") from None


def _utf8(field: str, text: str, *, param: bool = False) -> str:
    """Refuse argv text that was not UTF-8 (Python keeps such bytes as lone surrogates);
    ``field`` is a flag, or with ``param`` the parameter's name."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        hint = "Pass it as UTF-8: check the terminal's encoding (LANG=C.UTF-8)."
        if param:
            raise TaskParamError(field, "is not valid UTF-8 text", hint) from None
        raise TaskError(f"{field} is not valid UTF-8 text.", hint) from None
    return text


def _schedule_spec(args: argparse.Namespace) -> ScheduleSpec | None:
    """The schedule of ``--at/--every/--daily/--weekly/--cron`` (None: a plain task); a bad
    one raises ``ScheduleError`` naming its flag."""
    flag = next((f for f in SCHEDULE_FLAGS if getattr(args, f) is not None), None)
    if flag is None:
        return None
    from keiko_desktop.core.tasks import schedule
    from keiko_desktop.core.tasks.clock import utc_now
    from keiko_desktop.core.tasks.errors import ScheduleError

    text = _utf8(f"--{flag}", str(getattr(args, flag)).strip())
    try:
        if flag == "at":
            now = utc_now()
            at = schedule.parse_at(text, now, schedule.local_zone())
            if at <= now:
                raise ScheduleError(f"{text!r} has passed", "Give a time to come.")
            spec = ScheduleSpec("once", at=at)
        elif flag == "every":
            spec = ScheduleSpec("every", minutes=schedule.parse_every(text))
        elif flag == "daily":
            spec = ScheduleSpec("daily", time=text)
        elif flag == "weekly":
            days, time = schedule.parse_weekly(text)
            spec = ScheduleSpec("weekly", weekdays=tuple(days), time=time)
        else:
            spec = ScheduleSpec("cron", cron=" ".join(text.split()))
        spec = schedule.check_spec(spec)
    except ScheduleError as exc:
        raise ScheduleError(f"--{flag}: {exc.message}", exc.hint) from None
    return spec


async def _add(new: NewTask | NewSchedule, as_json: bool) -> int:
    async with tasks_core() as core:
        service = service_of(core)
        try:
            if isinstance(new, NewSchedule):
                record = await service.add_schedule(new)
                if as_json:
                    dump(schedule_json(record))
                    return 0
                show(f"Added schedule #{record.id}: {describe(record.spec)}.")
                show(f"Next run: {local_time(record.next_run) if record.next_run else 'never'}.")
                return 0
            task, created = await service.add_new(new)
        except TaskError as exc:
            error(exc)
            return BAD_INPUT
        existed = not created
        if as_json:
            dump({**task_json(task), "existed": existed})
        elif existed:
            show(
                f"Task #{task.id} has the key {new.idempotency_key!r} already ({task.status});"
                " nothing added."
            )
        else:
            show(f"Added task #{task.id}: {one_line(task.name, 100)} ({task.kind}).")
        return 0


# ----------------------------------------------------------------------------- the rest


async def _command(args: argparse.Namespace, action: str) -> int:
    async with tasks_core() as core:
        service = service_of(core)
        try:
            if action == "show":
                return await _show(service, args.task_id, args.json)
            if action == "cancel":
                return await _cancel(service, args.task_id, args.wait)
            if action == "retry":
                task = await service.retry(args.task_id)
                show(f"Task #{task.id} is pending again ({one_line(task.name, 100)}).")
                return 0
            if action == "delete":
                return await _delete(service, list(dict.fromkeys(args.task_ids)))
            if action == "kinds":
                return _kinds(service, args.json)
            if action == "schedules":
                return await _schedules(service, args.json)
            if action == "unschedule":
                await service.delete_schedule(args.schedule_id)
                show(f"Deleted schedule #{args.schedule_id} (the tasks it added stay).")
                return 0
        except TaskError as exc:
            error(exc)
            return BAD_INPUT
        return await _list(service, args)


async def _list(service: TaskService, args: argparse.Namespace) -> int:
    listing = TaskFilter(
        status=getattr(args, "status", None),
        kind=getattr(args, "kind", None),
        search=getattr(args, "search", ""),
        limit=getattr(args, "limit", 100),
    )
    tasks = await service.list_tasks(listing)
    if getattr(args, "json", False):  # `keiko tasks` alone has no flags
        dump([task_json(t) for t in tasks])
        return 0
    if not tasks:
        print("No tasks. Add one with `keiko tasks add reminder --param text=hello`.")
    for t in tasks:
        show(task_line(t))
    return 0


async def _show(service: TaskService, task_id: int, as_json: bool) -> int:
    task = await service.get(task_id)
    attempts = await service.attempts(task_id)
    children = await service.children(task_id) if task.children else []
    if as_json:
        dump(
            {
                **task_json(task),
                "attempt_log": [attempt_json(a) for a in attempts],
                "child_tasks": [task_json(c) for c in children],
            }
        )
        return 0
    print_task(task, attempts, children)
    return 0


async def _cancel(service: TaskService, task_id: int, wait: bool) -> int:
    task = await service.cancel(task_id)
    if task.status == "cancelled":
        show(f"Cancelled task #{task.id}.")
        return 0
    show(f"Task #{task.id} is running: cancel requested; the process running it stops it.")
    holder = await service.holder()
    if holder is None:  # nobody, or a holder that is gone
        show("No process runs tasks now: it stops as soon as one starts (a window or a worker).")
    if not wait:
        return 0
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CANCEL_WAIT
    while not task.finished:
        if loop.time() > deadline:
            error(f"task #{task.id} is still {task.status} after {CANCEL_WAIT:g} s")
            return 1
        await asyncio.sleep(0.1)
        task = await service.get(task_id)
    if task.status == "cancelled":
        show(f"Cancelled task #{task.id}.")
        return 0
    error(f"task #{task.id} {task.status} before it could be cancelled")
    return 1


async def _delete(service: TaskService, task_ids: list[int]) -> int:
    """Delete the tasks that exist (and their children); an unknown id is bad input (2),
    said after the others are gone."""
    missing = [i for i in task_ids if not await _exists(service, i)]
    found = [i for i in task_ids if i not in missing]
    if found:
        count = await service.delete(found)
        show(f"Deleted {count} task{'s' * (count != 1)}.")
    if missing:
        error(f"there is no task {', '.join(map(str, missing))}; see `keiko tasks list`")
        return BAD_INPUT
    return 0


async def _exists(service: TaskService, task_id: int) -> bool:
    try:
        await service.get(task_id)
    except TaskError:
        return False
    return True


def _kinds(service: TaskService, as_json: bool) -> int:
    kinds = list(service.kinds)
    if as_json:
        dump(
            [
                {
                    "name": k.name,
                    "label": k.label,
                    "description": k.description,
                    "params": [param_json(p) for p in k.params],
                }
                for k in kinds
            ]
        )
        return 0
    print_kinds(kinds)
    return 0


async def _schedules(service: TaskService, as_json: bool) -> int:
    schedules = await service.list_schedules()
    if as_json:
        dump([schedule_json(s) for s in schedules])
        return 0
    if not schedules:
        print("No schedules. Add one with `keiko tasks add reminder --param text=hi --every 1h`.")
    for s in schedules:
        state = "" if s.enabled else "  (off)"
        after = f"next {local_time(s.next_run, seconds=False)}" if s.next_run else "done"
        line = f"#{s.id:<4} {s.kind:<12} {describe(s.spec)}; {after}{state}  {s.name}"
        show(one_line(line, 200))
    return 0
