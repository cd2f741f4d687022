"""Quick ask: from the hotkey to the popup on screen, against a bare-Qt popup in the same run.

    .venv/bin/python -m benchmarks.bench_quick_ask        (Xvfb and xdotool: `make system-deps`)

On a private X server (Xvfb, no window manager) the real ``keiko`` runs with the bundled model,
``KEIKO_BENCH_QUICK_ASK`` set: it prints ``{"quick_…_at": time.time()}`` lines when the key is
grabbed, when the popup is built, when the key arrives and when the popup is exposed. Each
round: ``t0 = time.time()``, ``xdotool key ctrl+alt+space`` (a process spawn, in both arms), and
the popup's Expose; then the key again hides it. Both processes are warm (the first rounds are
reported apart). The baseline is a ~40-line PySide6 script: the same ``GlobalHotkey`` class
grabs Ctrl+Alt+B (one key cannot be grabbed twice) and shows a frameless always-on-top
``QWidget`` of the same width with one line edit. Both run at once and the arms alternate
round by round, so both see the same machine. Writes
``benchmarks/results/quick_ask.json``.
"""

from __future__ import annotations

import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from benchmarks.common import summary, write_results

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROUNDS = int(os.environ.get("KEIKO_BENCH_ROUNDS", "12"))
WARMUP = 2
KEY, BARE_KEY = "ctrl+alt+space", "ctrl+alt+b"
BASELINE = r"""
import json, sys, time
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QVBoxLayout, QWidget
from keiko_desktop.ui.voice.global_hotkey import GlobalHotkey

app = QApplication(sys.argv)
popup = QWidget(None, Qt.WindowType.Tool | Qt.WindowType.FramelessWindowHint
                | Qt.WindowType.WindowStaysOnTopHint)
popup.setWindowTitle("Baseline popup")
QVBoxLayout(popup).addWidget(QLineEdit(popup))
popup.setFixedWidth(640)
popup.winId()

class Exposed(QObject):
    def eventFilter(self, watched, event):
        if event.type() == QEvent.Type.Expose and popup.windowHandle().isExposed():
            print(json.dumps({"quick_exposed_at": time.time()}), flush=True)
        return False

watcher = Exposed()
popup.windowHandle().installEventFilter(watcher)

def toggle():
    if popup.isVisible():
        popup.hide()
        return
    popup.move(320, 144)
    popup.show()
    popup.raise_()
    popup.activateWindow()

hotkey = GlobalHotkey()
hotkey.pressed.connect(lambda: print(json.dumps({"quick_pressed_at": time.time()}), flush=True))
hotkey.pressed.connect(toggle)
hotkey.started.connect(lambda: print(json.dumps({"quick_hotkey_at": time.time()}), flush=True))
hotkey.failed.connect(lambda why: (print(why, file=sys.stderr), app.exit(1)))
hotkey.start("Ctrl+Alt+B")
sys.exit(app.exec())
"""


class Child:
    """A process whose stdout JSON lines (``{"name": time}``) are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            args, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT
        )
        self.lines: queue.Queue[dict[str, float]] = queue.Queue()
        self.seen: dict[str, float] = {}
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, out: IO[bytes]) -> None:
        for raw in out:
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if isinstance(line, dict):
                self.lines.put(line)

    def wait_for(self, name: str, after: float = 0.0, timeout: float = 60.0) -> float:
        deadline = time.monotonic() + timeout
        if self.seen.get(name, -1.0) > after:
            return self.seen[name]
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the process exited ({self.proc.returncode})")
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            self.seen.update(line)
            if self.seen.get(name, -1.0) > after:
                return self.seen[name]
        raise TimeoutError(f"no {name} after {timeout} s")

    def stop(self) -> None:
        from tests.helpers.processes import stop

        stop(self.proc, grace=20)


def one_press(x: Any, child: Child, key: str, title: str) -> tuple[float, float | None]:
    """Press ``key``; (t0 to exposed, key heard to exposed) in ms; then hide the popup."""
    t0 = time.time()
    x.xdotool("key", "--delay", "0", key)
    exposed = child.wait_for("quick_exposed_at", after=t0, timeout=10)
    heard = child.seen.get("quick_pressed_at")
    x.xdotool("key", "--delay", "0", key)  # hide it
    deadline = time.monotonic() + 10
    while x.visible_windows(title) and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.15)  # let both processes settle before the next round
    shown = (exposed - heard) * 1000 if heard is not None and heard > t0 else None
    return (exposed - t0) * 1000, shown


def stats(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {**summary(values), "p95": p95, "mean": statistics.fmean(values)}


def main() -> int:
    from tests.helpers.cli import write_settings
    from tests.helpers.models import bundled_gguf
    from tests.helpers.xvfb import XServer, missing_tools

    missing = missing_tools()
    if missing or bundled_gguf() is None:
        why = f"missing {', '.join(missing)}" if missing else "no bundled model"
        write_results("quick_ask", {"skipped": why, "headline": {"skipped": why}})
        return 0
    with XServer() as x, tempfile.TemporaryDirectory(prefix="keiko-bench-") as home:
        write_settings(Path(home), max_tokens=16)
        env = dict(os.environ, KEIKO_HOME=home, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        env.update(x.env)
        env.pop("WAYLAND_DISPLAY", None)
        keiko = Child([sys.executable, "-m", "keiko_desktop"], dict(env, KEIKO_BENCH_QUICK_ASK="1"))
        bare = Child([sys.executable, "-c", BASELINE], env)
        try:
            keiko.wait_for("quick_hotkey_at", timeout=90)
            keiko.wait_for("quick_ready_at", timeout=60)
            bare.wait_for("quick_hotkey_at", timeout=30)
            time.sleep(3.0)  # the model and the rest of start-up, out of the way
            keiko_ms, keiko_shown, bare_ms, bare_shown = [], [], [], []
            for _ in range(ROUNDS):
                exposed, shown = one_press(x, keiko, KEY, "^Quick ask")
                keiko_ms.append(exposed)
                keiko_shown += [shown] if shown is not None else []
                exposed, shown = one_press(x, bare, BARE_KEY, "^Baseline popup")
                bare_ms.append(exposed)
                bare_shown += [shown] if shown is not None else []
        finally:
            keiko.stop()
            bare.stop()
    warm_keiko, warm_bare = keiko_ms[WARMUP:], bare_ms[WARMUP:]
    headline = {
        "hotkey_to_popup_ms_median": round(statistics.median(warm_keiko), 1),
        "hotkey_to_popup_ms_p95": round(stats(warm_keiko)["p95"], 1),
        "bare_qt_ms_median": round(statistics.median(warm_bare), 1),
        "bare_qt_ms_p95": round(stats(warm_bare)["p95"], 1),
        "ratio_median": round(statistics.median(warm_keiko) / statistics.median(warm_bare), 2),
        "key_heard_to_popup_ms_median": round(statistics.median(keiko_shown[WARMUP:]), 2),
        "bare_key_heard_to_popup_ms_median": round(statistics.median(bare_shown[WARMUP:]), 2),
        "first_press_ms": round(keiko_ms[0], 1),
        "rounds": ROUNDS,
    }
    write_results(
        "quick_ask",
        {
            "headline": headline,
            "keiko_ms": [round(v, 2) for v in keiko_ms],
            "bare_qt_ms": [round(v, 2) for v in bare_ms],
            "keiko_key_heard_to_popup_ms": [round(v, 2) for v in keiko_shown],
            "bare_key_heard_to_popup_ms": [round(v, 2) for v in bare_shown],
            "keiko_warm": stats(warm_keiko),
            "bare_warm": stats(warm_bare),
            "note": "t0 is before spawning xdotool (both arms pay it); 'key heard' is the "
            "GUI thread's hotkey slot; Xvfb, no window manager",
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
