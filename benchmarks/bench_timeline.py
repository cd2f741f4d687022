"""The run timeline under a live run: how long the GUI thread stalls while 2,000 spans arrive.

    .venv/bin/python -m benchmarks.bench_timeline        (offscreen unless a DISPLAY is set)

A run of 20 plan steps, each with its model calls, tool calls and middleware (2,000 spans in
all), reaches a ``RunTimeline`` the way the tracer writes it: in batches of 50 records (new
spans, still running, and the same spans again once they end), one batch every 15 ms, with
the timeline live (running spans reach to now, their stripes move) and scrolled to follow the
newest span. Measured:

- stall: the longest gap between ticks of a 1 ms QTimer heartbeat on the GUI thread while
  the spans arrive (a gap is what the user waits for the window to answer). Target < 30 ms.
- batch: each ``add_spans`` with the repaint it causes, timed on its own (``repaint()``).
- replace: ``set_spans`` of all 2,000 at once (opening a finished run) and its paint.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import replace

if not os.environ.get("DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from benchmarks.common import summary, write_results
from keiko_desktop.core.agents.records import Span

SPANS = 2000
BATCH = 50
BATCH_INTERVAL_MS = 15
HEARTBEAT_MS = 1
TARGET_MS = 30.0


def live_records(t0: float) -> list[Span]:
    """The records a tracer sends for a 20-step plan: each span once when it starts (running)
    and once when it ends, in time order."""
    events: list[tuple[float, Span]] = []
    key = 0

    def add(kind: str, name: str, start: float, duration: float, parent: str | None) -> str:
        nonlocal key
        key += 1
        opened = Span(1, str(key), kind, name, t0 + start, None, "running", parent)  # type: ignore[arg-type]
        closed = replace(
            opened,
            duration=duration,
            status="error" if key % 97 == 0 else "ok",
            completion_tokens=key % 300,
        )
        events.append((start, opened))
        events.append((start + duration, closed))
        return opened.key

    root = add("run", "Research and write", 0.0, 200.0, None)
    plan = add("plan", "plan: 20 steps", 0.01, 199.9, root)
    clock = 0.02
    for step in range(20):
        sid = add("step", f"s{step + 1} · Researcher", clock, 9.9, plan)
        inner = clock + 0.01
        for call in range(
            33
        ):  # 1 + 33 * 3 = 100 spans a step (2,002 in all; the last two are left out)
            mid = add("middleware", "budget", inner, 0.28, sid)
            add("model", f"model call {call}", inner + 0.01, 0.2, mid)
            add("tool", f"web.search #{call}", inner + 0.22, 0.05, sid)
            inner += 0.29
        clock += 10.0
    events.sort(key=lambda e: (e[0], e[1].duration is not None))
    return [span for _, span in events if int(span.key) <= SPANS]


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from keiko_desktop.ui.theme import LIGHT, ThemeManager
    from keiko_desktop.ui.widgets.run_timeline import RunTimeline

    app = QApplication(sys.argv[:1])
    ThemeManager(app, "light")
    view = RunTimeline(LIGHT)
    view.resize(1100, 700)
    view.show()
    app.processEvents()
    records = live_records(time.time())
    batches = [records[i : i + BATCH] for i in range(0, len(records), BATCH)]

    gaps: list[float] = []
    batch_ms: list[float] = []
    last = [time.perf_counter()]

    def beat() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000)
        last[0] = now

    heartbeat = QTimer()
    heartbeat.setInterval(HEARTBEAT_MS)
    heartbeat.timeout.connect(beat)
    feeder = QTimer()
    feeder.setInterval(BATCH_INTERVAL_MS)
    pending = list(batches)

    def feed() -> None:
        if not pending:
            feeder.stop()
            return
        batch = pending.pop(0)
        started = time.perf_counter()
        view.add_spans(batch)
        view.select_key(batch[-1].key)  # follow the newest span, as a watching user would
        view.viewport().repaint()
        batch_ms.append((time.perf_counter() - started) * 1000)

    feeder.timeout.connect(feed)
    view.set_live(True)
    heartbeat.start()
    feeder.start()
    deadline = time.monotonic() + 60
    while (pending or feeder.isActive()) and time.monotonic() < deadline:
        app.processEvents()
        time.sleep(0.0002)
    heartbeat.stop()
    view.set_live(False)
    rows = view.row_count()

    started = time.perf_counter()
    view.set_spans(view.spans())
    view.viewport().repaint()
    replace_ms = (time.perf_counter() - started) * 1000
    view.select_key(view.spans()[-1].key)
    started = time.perf_counter()
    view.viewport().repaint()
    paint_ms = (time.perf_counter() - started) * 1000

    stall = max(gaps)
    result = {
        "spans": rows,
        "records": len(records),
        "batch": BATCH,
        "batch_interval_ms": BATCH_INTERVAL_MS,
        "heartbeat_ms": HEARTBEAT_MS,
        "gaps_ms": summary(gaps),
        "p99_gap_ms": statistics.quantiles(gaps, n=100)[98],
        "add_spans_and_repaint_ms": summary(batch_ms),
        "add_spans_and_repaint_each_ms": [round(ms, 2) for ms in batch_ms],
        "set_spans_2000_and_repaint_ms": replace_ms,
        "repaint_at_the_end_ms": paint_ms,
        "target_ms": TARGET_MS,
        "headline": {
            "spans": rows,
            "max_gui_stall_ms": round(stall, 1),
            "max_add_spans_and_repaint_ms": round(max(batch_ms), 1),
            "set_spans_2000_and_repaint_ms": round(replace_ms, 1),
            "target_ms": TARGET_MS,
            "met": stall < TARGET_MS,
        },
    }
    write_results("timeline", result)
    view.deleteLater()
    app.processEvents()
    return 0 if stall < TARGET_MS and rows == SPANS else 1


if __name__ == "__main__":
    raise SystemExit(main())
