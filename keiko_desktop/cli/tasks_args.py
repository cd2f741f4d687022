"""The arguments of `keiko tasks ...`: built without importing the task engine, the store or
anything of the core, so every other command (`keiko ask` above all) starts without them.

The priority and status names are spelled here rather than imported from
``core.tasks.records`` for that reason; a test keeps them equal to ``PRIORITIES`` and
``TASK_STATUSES``.
"""

from __future__ import annotations

import argparse
from typing import Any

PRIORITY_CHOICES = ("low", "normal", "high", "critical")
STATUS_CHOICES = ("pending", "running", "completed", "failed", "cancelled")
SCHEDULE_FLAGS = ("at", "every", "daily", "weekly", "cron")
"""The ``add`` options that make a schedule instead of a task (at most one)."""


def add_tasks_parser(sub: Any) -> None:
    """Register ``keiko tasks ...`` on the top-level subparsers."""
    tasks = sub.add_parser(
        "tasks",
        help="background tasks: add, list, show, cancel, retry, delete, schedules, worker",
    )
    actions = tasks.add_subparsers(dest="tasks_command", metavar="ACTION")

    add = actions.add_parser(
        "add",
        help="add a task of KIND (see `keiko tasks kinds`); with --at/--every/--daily/"
        "--weekly/--cron, a schedule that adds one each time",
    )
    add.add_argument("kind", help="the task's kind, e.g. reminder")
    add.add_argument("--name", default="", help="a name to show (default: from the kind)")
    add.add_argument("--priority", choices=PRIORITY_CHOICES, default="normal")
    add.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="K=V",
        type=_param,
        help="a parameter of the kind (repeatable); K=@FILE reads V from a text file",
    )
    add.add_argument(
        "--key", default=None, metavar="KEY", help="idempotency key: a task with it is added once"
    )
    add.add_argument(
        "--timeout", type=float, default=None, metavar="S", help="seconds one attempt may take"
    )
    add.add_argument(
        "--retries", type=int, default=None, metavar="N", help="attempts after a failed one"
    )
    when = add.add_mutually_exclusive_group()
    when.add_argument(
        "--at", metavar="T", help='once, at T: "2030-01-31 09:00", "tomorrow 09:00", "+10m"'
    )
    when.add_argument("--every", metavar="D", help='repeatedly: "15m", "1h30m", "1d"')
    when.add_argument("--daily", metavar="HH:MM", help="every day at HH:MM (local time)")
    when.add_argument("--weekly", metavar='"DAYS HH:MM"', help='e.g. "mon,wed 09:00"')
    when.add_argument("--cron", metavar="EXPR", help='a 5-field cron expression, "0 9 * * 1-5"')
    add.add_argument("--json", action="store_true", help="print the task or schedule as JSON")

    listing = actions.add_parser("list", help="the tasks, newest first (default)")
    listing.add_argument("--status", choices=STATUS_CHOICES, default=None)
    listing.add_argument("--kind", default=None)
    listing.add_argument("--search", metavar="TEXT", default="", help="every word in the task")
    listing.add_argument("--limit", type=_positive, default=100)
    listing.add_argument("--json", action="store_true")

    show = actions.add_parser("show", help="one task: its attempts, children and run")
    show.add_argument("task_id", type=int, metavar="ID")
    show.add_argument("--json", action="store_true")

    cancel = actions.add_parser("cancel", help="cancel a pending or running task")
    cancel.add_argument("task_id", type=int, metavar="ID")
    cancel.add_argument(
        "--wait", action="store_true", help="wait (up to 30 s) until a running one has stopped"
    )

    retry = actions.add_parser("retry", help="run a failed or cancelled task again")
    retry.add_argument("task_id", type=int, metavar="ID")

    delete = actions.add_parser("delete", help="delete tasks (and their children)")
    delete.add_argument("task_ids", type=int, nargs="+", metavar="ID")

    kinds = actions.add_parser("kinds", help="the kinds of task and their parameters")
    kinds.add_argument("--json", action="store_true")

    schedules = actions.add_parser("schedules", help="the schedules and when each runs next")
    schedules.add_argument("--json", action="store_true")

    unschedule = actions.add_parser("unschedule", help="delete a schedule (its tasks stay)")
    unschedule.add_argument("schedule_id", type=int, metavar="ID")

    worker = actions.add_parser(
        "worker", help="run the tasks here, without the window (Ctrl+C stops; none is lost)"
    )
    worker.add_argument(
        "--until-idle", action="store_true", help="exit once nothing is pending or running"
    )
    worker.add_argument(
        "--workers", type=int, default=None, metavar="N", help="tasks at once (task_workers)"
    )


def _param(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"{text[:60]!r} is not K=V (e.g. --param text=hello)")
    return name, value


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and 100000")
    return value
