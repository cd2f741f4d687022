"""How `keiko tasks` prints tasks, attempts, schedules and kinds: the text for people
(everything that is not Keiko's own escaped, through ``cli.common.show``) and the JSON for
scripts (every non-ASCII character escaped)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from keiko_desktop.cli.common import show
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tasks.kinds import Param, TaskKind
from keiko_desktop.core.tasks.records import ScheduleRecord, ScheduleSpec, TaskAttempt, TaskRecord

MARKS = {"pending": "·", "running": "…", "completed": "✓", "failed": "✗", "cancelled": "■"}


def describe(spec: ScheduleSpec) -> str:
    from keiko_desktop.core.tasks.schedule import describe as describe_spec

    return describe_spec(spec)


def task_line(t: TaskRecord) -> str:
    created = local_time(t.created_at, seconds=False)
    detail = ""
    if t.status == "running":
        detail = f"  {t.progress:.0f}%" + (f" {t.progress_text}" if t.progress_text else "")
    elif t.status == "failed" and t.error:
        detail = f"  {t.error}"
    elif t.status == "pending" and t.attempts:
        detail = f"  (after {t.attempts} attempt{'s' * (t.attempts != 1)})"
    child = f"  ↳ #{t.parent_id}" if t.parent_id else ""
    line = (
        f"#{t.id:<5} {created}  {t.status:<9} {t.priority:<8} {t.kind:<12} {t.name}{child}{detail}"
    )
    return one_line(line, 200)


def print_task(
    task: TaskRecord, attempts: Sequence[TaskAttempt], children: Sequence[TaskRecord]
) -> None:
    """`keiko tasks show ID`: the task, its parameters, result, attempts, children and run."""
    rows = [
        ("Name", task.name),
        ("Status", task.status + " (stopping)" * (task.cancel_requested and not task.finished)),
        ("Priority", task.priority),
        (
            "Progress",
            f"{task.progress:.0f}%" + (f" {task.progress_text}" * bool(task.progress_text)),
        ),
        ("Attempts", f"{task.attempts} of {task.max_attempts}"),
        ("Time limit", f"{task.timeout:g} s" if task.timeout else "none"),
        ("Created", local_time(task.created_at)),
        ("Started", local_time(task.started_at) if task.started_at else "not yet"),
        ("Finished", local_time(task.finished_at) if task.finished_at else "not yet"),
    ]
    if task.duration is not None:
        rows.append(("Took", f"{task.duration:.1f} s"))
    if task.not_before is not None and task.status == "pending":
        rows.append(("Not before", local_time(task.not_before)))
    for label, value in [
        ("Key", task.idempotency_key),
        ("Parent", f"#{task.parent_id}" if task.parent_id else None),
        ("Schedule", f"#{task.schedule_id}" if task.schedule_id else None),
    ]:
        if value:
            rows.append((label, value))
    show(f"Task #{task.id}  {task.kind}  {MARKS.get(task.status, '')} {task.status}")
    for label, value in rows:
        show(f"{label + ':':<13}{one_line(str(value), 500)}")
    show("Parameters:" + " none" * (not task.params))
    for key, value in task.params.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        show(f"  {key}: {one_line(shown, 500)}")
    if task.result:
        show(f"Result:\n{task.result}")
    if task.error:
        show(f"Error: {task.error}")
    if attempts:
        show("Attempt log:")
        for a in attempts:
            took = f"  {(a.ended_at - a.started_at).total_seconds():.1f} s" if a.ended_at else ""
            why = f"  {one_line(a.error, 300)}" if a.error else ""
            show(f"  {a.number:>2}  {local_time(a.started_at)}  {a.outcome}{took}{why}")
    if children:
        show(f"Children ({len(children)}):")
        for c in children:
            show(f"  {task_line(c)}")
    if task.run_id is not None:
        show(f"Run: #{task.run_id}; its trace: `keiko agents runs {task.run_id}`")


def print_kinds(kinds: Sequence[TaskKind]) -> None:
    """`keiko tasks kinds`: each kind and its parameters with their types and defaults."""
    for k in kinds:
        show(f"{k.name}: {k.label}. {k.description}")
        for p in k.params:
            need = "required" if p.required and p.default is None else "optional"
            default = f", default {json.dumps(p.default)}" if p.default not in (None, "") else ""
            choices = f", one of {', '.join(p.choices)}" if p.choices else ""
            limits = _bounds(p.minimum, p.maximum)
            show(f"  --param {p.name}=…  {p.type}, {need}{default}{choices}{limits}")
            if p.help:
                show(f"      {one_line(p.help, 300)}")


def _bounds(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f", {low:g} to {high:g}"
    if low is not None:
        return f", at least {low:g}"
    return f", at most {high:g}" if high is not None else ""


def param_json(p: Param) -> dict[str, Any]:
    return {
        "name": p.name,
        "type": p.type,
        "label": p.label,
        "required": p.required and p.default is None,
        "default": p.default,
        "help": p.help,
        "minimum": p.minimum,
        "maximum": p.maximum,
        "choices": list(p.choices),
        "multiline": p.multiline,
    }


def dump(data: object) -> None:
    """JSON on stdout, every non-ASCII character escaped: nothing in it can drive a terminal."""
    print(json.dumps(data, indent=2, default=str))


def iso(when: datetime | None) -> str | None:
    return None if when is None else when.isoformat()


def local_time(when: datetime | None, *, seconds: bool = True) -> str:
    """A stored (UTC) time in local time, for people."""
    if when is None:
        return ""
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def task_json(t: TaskRecord) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "kind": t.kind,
        "status": t.status,
        "priority": t.priority,
        "progress": t.progress,
        "progress_text": t.progress_text,
        "attempts": t.attempts,
        "max_attempts": t.max_attempts,
        "timeout": t.timeout,
        "params": dict(t.params),
        "created_at": iso(t.created_at),
        "updated_at": iso(t.updated_at),
        "started_at": iso(t.started_at),
        "finished_at": iso(t.finished_at),
        "not_before": iso(t.not_before),
        "result": t.result,
        "error": t.error,
        "idempotency_key": t.idempotency_key,
        "parent_id": t.parent_id,
        "schedule_id": t.schedule_id,
        "run_id": t.run_id,
        "children": t.children,
        "cancel_requested": t.cancel_requested,
    }


def attempt_json(a: TaskAttempt) -> dict[str, Any]:
    return {
        "number": a.number,
        "outcome": a.outcome,
        "started_at": iso(a.started_at),
        "ended_at": iso(a.ended_at),
        "error": a.error,
    }


def schedule_json(s: ScheduleRecord) -> dict[str, Any]:
    spec = s.spec
    return {
        "id": s.id,
        "name": s.name,
        "kind": s.kind,
        "params": dict(s.params),
        "priority": s.priority,
        "spec": {
            "kind": spec.kind,
            "at": iso(spec.at),
            "minutes": spec.minutes,
            "time": spec.time,
            "weekdays": list(spec.weekdays),
            "cron": spec.cron,
            "timezone": spec.timezone,
        },
        "description": describe(spec),
        "enabled": s.enabled,
        "created_at": iso(s.created_at),
        "next_run": iso(s.next_run),
        "last_run": iso(s.last_run),
        "max_attempts": s.max_attempts,
        "timeout": s.timeout,
    }
