"""The Tasks page with 10,000 tasks: how long the GUI thread stalls per live update.

    .venv/bin/python -m benchmarks.bench_task_table        (offscreen unless a DISPLAY is set)

The real ``TasksPanel`` (its ``TaskTableModel``, the progress delegate, the toolbar that
follows the selection) is filled with 10,000 tasks (40 running), shown at 1100x700, and then
gets 1,500 updates the way the presenter applies them: live progress of running tasks (60 %),
stored changes (a task started, finished or failed: 25 %) and new tasks inserted (15 %). Each
update is timed from the call to the end of the repaint it causes (the events it queued, then
the repaint of its row if it is in view, or of the whole viewport for an insert, done at once
rather than left for Qt to coalesce into the next frame): the GUI-thread stall the update
costs. Every tenth update the whole viewport is also repainted and timed on its own (a
screenful, as when scrolling). A 1 ms heartbeat QTimer measures the gaps the user would feel
while the updates arrive one every ``INTERVAL_MS``.

The same updates go, in the same run, to a bare ``QTableView`` over a ``QStandardItemModel``
(7 text columns; progress is a text cell, a stored change sets the changed cells, a new task
is ``insertRow(0)``): ``ratio`` is ours over the bare one. Also measured: filling the table,
sorting 10,000 rows by a column, and a search over them. Target: under 30 ms per update.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.common import summary, write_results
from keiko_desktop.core.tasks.records import PRIORITIES, TaskRecord

if TYPE_CHECKING:
    from PySide6.QtWidgets import QTableView

TASKS = 10_000
UPDATES = 1_500
RUNNING = 40
INTERVAL_MS = 4
FULL_EVERY = 10
HEARTBEAT_MS = 1
TARGET_MS = 30.0
KINDS = ("reminder", "agent", "summarise", "tool", "agent_file")
NOW = datetime.now(UTC)

Update = tuple[str, TaskRecord | tuple[int, float, str]]


def make_tasks(rng: random.Random) -> list[TaskRecord]:
    tasks = []
    for i in range(1, TASKS + 1):
        status = (
            "running"
            if i > TASKS - RUNNING
            else rng.choice(["completed"] * 6 + ["failed", "cancelled", "pending"])
        )
        started = NOW - timedelta(seconds=rng.randint(10, 90_000)) if status != "pending" else None
        finished = started + timedelta(seconds=rng.randint(1, 900)) if started else None
        tasks.append(
            TaskRecord(
                id=i,
                name=f"{rng.choice(['Summarise', 'Ask', 'Remind', 'Call'])} item {i}",
                kind=rng.choice(KINDS),
                params={},
                priority=rng.choice(PRIORITIES),
                status=status,  # type: ignore[arg-type]
                created_at=NOW - timedelta(seconds=TASKS - i),
                updated_at=NOW,
                progress=100.0 if status == "completed" else float(rng.randint(0, 99)),
                started_at=started,
                finished_at=finished if status not in ("running", "pending") else None,
                error="it broke" if status == "failed" else None,
            )
        )
    return tasks


def make_updates(rng: random.Random, tasks: list[TaskRecord]) -> list[Update]:
    """Progress of running tasks, stored changes (start, finish, fail), new tasks."""
    known = {t.id: t for t in tasks}
    running = [t.id for t in tasks if t.status == "running"]
    pending = [t.id for t in tasks if t.status == "pending"]
    next_id = TASKS + 1
    updates: list[Update] = []
    for _ in range(UPDATES):
        roll = rng.random()
        if roll < 0.60 and running:
            task_id = rng.choice(running)
            updates.append(("progress", (task_id, float(rng.randint(0, 100)), "working")))
        elif roll < 0.85:
            if running and (rng.random() < 0.5 or not pending):
                task_id = running.pop(rng.randrange(len(running)))
                status = "completed" if rng.random() < 0.8 else "failed"
                task = replace(known[task_id], status=status, finished_at=NOW, progress=100.0)
            else:
                task_id = pending.pop(rng.randrange(len(pending)))
                task = replace(known[task_id], status="running", started_at=NOW)
                running.append(task_id)
            known[task_id] = task
            updates.append(("update", task))
        else:
            task = replace(tasks[0], id=next_id, name=f"New task {next_id}", status="pending")
            known[next_id] = task
            pending.append(next_id)
            next_id += 1
            updates.append(("insert", task))
    return updates


class Feeder:
    """Applies updates one every ``INTERVAL_MS`` while a heartbeat measures the gaps.

    Per update, ``stalls``: the update, the events it queued, and the repaint of what it
    changed, done at once (``repaint_changed``: the row of the task, or the whole viewport
    for an insert, which moves the rows below it), not left for Qt to coalesce into the next
    frame. Every ``FULL_EVERY``-th update the whole viewport is also repainted and timed on
    its own (``full_repaints``: a screenful, as when scrolling)."""

    def __init__(
        self,
        apply: Callable[[Update], None],
        repaint_changed: Callable[[Update], None],
        repaint_all: Callable[[], None],
    ) -> None:
        self.apply = apply
        self.repaint_changed = repaint_changed
        self.repaint_all = repaint_all
        self.stalls: list[float] = []
        self.full_repaints: list[float] = []
        self.gaps: list[float] = []

    def run(self, updates: list[Update]) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        last = [time.perf_counter()]

        def beat() -> None:
            now = time.perf_counter()
            self.gaps.append((now - last[0]) * 1000)
            last[0] = now

        pending = list(updates)

        def feed() -> None:
            if not pending:
                feeder.stop()
                return
            update = pending.pop(0)
            started = time.perf_counter()
            self.apply(update)
            QApplication.processEvents()  # timers and layout the update queued
            self.repaint_changed(update)
            done = time.perf_counter()
            self.stalls.append((done - started) * 1000)
            if len(self.stalls) % FULL_EVERY == 0:
                self.repaint_all()
                self.full_repaints.append((time.perf_counter() - done) * 1000)

        heartbeat = QTimer()
        heartbeat.setInterval(HEARTBEAT_MS)
        heartbeat.timeout.connect(beat)
        feeder = QTimer()
        feeder.setInterval(INTERVAL_MS)
        feeder.timeout.connect(feed)
        heartbeat.start()
        feeder.start()
        deadline = time.monotonic() + 120
        while (pending or feeder.isActive()) and time.monotonic() < deadline:
            QApplication.processEvents()
            time.sleep(0.0002)
        heartbeat.stop()


def repaint_row(view: QTableView, row: int | None) -> None:
    """Repaint ``row`` if it is in view (None: the whole viewport, as after an insert)."""
    viewport = view.viewport()
    if row is None:
        viewport.repaint()
        return
    top = view.rowViewportPosition(row)
    if -view.rowHeight(row) < top < viewport.height():
        viewport.repaint(0, top, viewport.width(), view.rowHeight(row))


def run_ours(tasks: list[TaskRecord], updates: list[Update], sort_column: int) -> dict[str, object]:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    from keiko_desktop.ui.panels.tasks_panel import TasksPanel
    from keiko_desktop.ui.theme import LIGHT

    panel = TasksPanel(LIGHT)
    panel.set_kinds([(k, k.capitalize()) for k in KINDS])
    panel.resize(1100, 700)
    panel.show()
    QApplication.processEvents()
    started = time.perf_counter()
    panel.set_tasks(tasks)
    panel.table.viewport().repaint()
    fill_ms = (time.perf_counter() - started) * 1000
    if sort_column >= 0:
        panel.table.sortByColumn(sort_column, Qt.SortOrder.AscendingOrder)
    panel.select_task(tasks[-1].id)
    QApplication.processEvents()
    model = panel.model

    def apply(update: Update) -> None:
        kind, data = update
        if kind == "progress":
            assert isinstance(data, tuple)
            model.set_progress(*data)
        else:
            assert isinstance(data, TaskRecord)
            model.upsert(data)

    def repaint_changed(update: Update) -> None:
        kind, data = update
        task_id = data[0] if isinstance(data, tuple) else data.id
        row = model.row_of(task_id) if kind != "insert" else None
        repaint_row(panel.table, row)

    feeder = Feeder(apply, repaint_changed, panel.table.viewport().repaint)
    feeder.run(updates)
    timings: dict[str, float] = {"fill_10000_ms": fill_ms}
    for column, name in ((0, "name"), (2, "status"), (6, "duration")):
        started = time.perf_counter()
        panel.table.sortByColumn(column, Qt.SortOrder.DescendingOrder)
        panel.table.viewport().repaint()
        timings[f"sort_by_{name}_ms"] = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    panel.tasks_page.search.setText("item 99")
    panel.tasks_page._apply_query()
    panel.table.viewport().repaint()
    timings["search_ms"] = (time.perf_counter() - started) * 1000
    timings["search_rows"] = model.rowCount()
    started = time.perf_counter()
    model.tick()
    panel.table.viewport().repaint()
    timings["tick_ms"] = (time.perf_counter() - started) * 1000
    rows = model.total()
    panel.deleteLater()
    QApplication.processEvents()
    return {
        "stalls": feeder.stalls,
        "full": feeder.full_repaints,
        "gaps": feeder.gaps,
        "rows": rows,
        **timings,
    }


def run_bare(tasks: list[TaskRecord], updates: list[Update]) -> dict[str, object]:
    from PySide6.QtGui import QStandardItem, QStandardItemModel
    from PySide6.QtWidgets import QApplication, QTableView

    def cells(task: TaskRecord) -> list[str]:
        started = task.started_at.strftime("%H:%M") if task.started_at else ""
        return [
            task.name,
            task.kind,
            task.status.capitalize(),
            task.priority.capitalize(),
            f"{task.progress:.0f} %",
            started,
            "12 s",
        ]

    model = QStandardItemModel(0, 7)
    model.setHorizontalHeaderLabels(
        ["Name", "Kind", "Status", "Priority", "Progress", "Started", "Duration"]
    )
    view = QTableView()
    view.setModel(model)
    view.verticalHeader().hide()
    view.resize(1100, 700)
    view.show()
    QApplication.processEvents()
    started = time.perf_counter()
    rows: dict[int, QStandardItem] = {}
    for task in reversed(tasks):  # newest first
        items = [QStandardItem(text) for text in cells(task)]
        rows[task.id] = items[0]
        model.appendRow(items)
    view.viewport().repaint()
    fill_ms = (time.perf_counter() - started) * 1000

    def apply(update: Update) -> None:
        kind, data = update
        if kind == "progress":
            assert isinstance(data, tuple)
            row = rows[data[0]].row()
            model.item(row, 4).setText(f"{data[1]:.0f} %")
        elif kind == "update":
            assert isinstance(data, TaskRecord)
            row = rows[data.id].row()
            for column, text in enumerate(cells(data)):
                model.item(row, column).setText(text)
        else:
            assert isinstance(data, TaskRecord)
            items = [QStandardItem(text) for text in cells(data)]
            rows[data.id] = items[0]
            model.insertRow(0, items)

    def repaint_changed(update: Update) -> None:
        kind, data = update
        task_id = data[0] if isinstance(data, tuple) else data.id
        repaint_row(view, rows[task_id].row() if kind != "insert" else None)

    feeder = Feeder(apply, repaint_changed, view.viewport().repaint)
    feeder.run(updates)
    count = model.rowCount()
    view.deleteLater()
    QApplication.processEvents()
    return {
        "stalls": feeder.stalls,
        "full": feeder.full_repaints,
        "gaps": feeder.gaps,
        "rows": count,
        "fill_10000_ms": fill_ms,
    }


def stats(values: list[float]) -> dict[str, float]:
    return {**summary(values), "p99": statistics.quantiles(values, n=100)[98]}


def main() -> int:
    from PySide6.QtWidgets import QApplication

    from keiko_desktop.ui.theme import ThemeManager

    app = QApplication(sys.argv[:1])
    ThemeManager(app, "light")
    rng = random.Random(11)
    tasks = make_tasks(rng)
    updates = make_updates(rng, tasks)
    ours = run_ours(tasks, updates, sort_column=-1)
    by_status = run_ours(tasks, updates, sort_column=2)  # status changes move rows
    bare = run_bare(tasks, updates)
    app.processEvents()

    def part(run: dict[str, object]) -> dict[str, object]:
        stalls, full, gaps = run.pop("stalls"), run.pop("full"), run.pop("gaps")
        assert isinstance(stalls, list)
        assert isinstance(full, list)
        assert isinstance(gaps, list)
        return {
            "stall_per_update_ms": stats(stalls),
            "full_viewport_repaint_ms": stats(full),
            "heartbeat_gaps_ms": stats(gaps),
            **run,
        }

    ours_r, status_r, bare_r = part(ours), part(by_status), part(bare)
    ours_stall = ours_r["stall_per_update_ms"]
    status_stall = status_r["stall_per_update_ms"]
    bare_stall = bare_r["stall_per_update_ms"]
    assert isinstance(ours_stall, dict)
    assert isinstance(bare_stall, dict)
    assert isinstance(status_stall, dict)
    worst = max(ours_stall["max"], status_stall["max"])
    ours_full = ours_r["full_viewport_repaint_ms"]
    bare_full = bare_r["full_viewport_repaint_ms"]
    assert isinstance(ours_full, dict)
    assert isinstance(bare_full, dict)
    result = {
        "tasks": TASKS,
        "updates": UPDATES,
        "interval_ms": INTERVAL_MS,
        "ours_newest_first": ours_r,
        "ours_sorted_by_status": status_r,
        "bare_qstandarditemmodel": bare_r,
        "target_ms": TARGET_MS,
        "headline": {
            "tasks": TASKS,
            "updates": UPDATES,
            "median_stall_per_update_ms": round(ours_stall["median"], 2),
            "worst_stall_per_update_ms": round(ours_stall["max"], 2),
            "worst_stall_sorted_by_status_ms": round(status_stall["max"], 2),
            "bare_median_stall_ms": round(bare_stall["median"], 2),
            "bare_worst_stall_ms": round(bare_stall["max"], 2),
            "ratio_median_ours_over_bare": round(ours_stall["median"] / bare_stall["median"], 2),
            "ratio_worst_ours_over_bare": round(ours_stall["max"] / bare_stall["max"], 2),
            "full_viewport_repaint_median_ms": round(ours_full["median"], 2),
            "bare_full_viewport_repaint_median_ms": round(bare_full["median"], 2),
            "ratio_full_repaint_ours_over_bare": round(
                ours_full["median"] / bare_full["median"], 2
            ),
            "fill_10000_ms": round(float(ours_r["fill_10000_ms"]), 1),  # type: ignore[arg-type]
            "bare_fill_10000_ms": round(float(bare_r["fill_10000_ms"]), 1),  # type: ignore[arg-type]
            "target_ms": TARGET_MS,
            "met": worst < TARGET_MS,
        },
    }
    write_results("task_table", result)
    return 0 if worst < TARGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
