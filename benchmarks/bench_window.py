"""The desktop window: start-up, idle memory, GUI stalls while a reply streams, opening a big chat.

    .venv/bin/python -m benchmarks.bench_window        (offscreen unless a DISPLAY is set)

- start-up: process start (``python -m keiko_desktop``) to main window on screen, before any
  model load; the window prints a timestamp and quits (KEIKO_BENCH_EXIT_ON_SHOW). Target < 1.0 s.
- idle memory: resident set of the real window with its core (database open) and no model,
  after it has settled. Target < 200 MB.
- stall: the longest gap seen by a 5 ms QTimer probe on the GUI thread while a 2,000-token
  Markdown reply (paragraphs, lists, code) streams through the real ChatPresenter and chat view.
- open: time from opening a conversation of 5,000 messages to its last page laid out on screen.
  Target < 300 ms.

Each measurement that needs the window runs in a child process of its own, so none pays for
another's imports or caches.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.common import summary, write_results

ROOT = Path(__file__).resolve().parents[1]
STARTUP_ROUNDS = int(os.environ.get("KEIKO_BENCH_ROUNDS", "5"))
REPLY_TOKENS = 2000
BIG_CHAT = 5000


def child_env(home: str) -> dict[str, str]:
    env = dict(os.environ, KEIKO_HOME=home, PYTHONPATH=str(ROOT))
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    return env


# ---------------------------------------------------------------- start-up (parent side)
def startup_once() -> float:
    with tempfile.TemporaryDirectory(prefix="keiko-bench-") as home:
        env = child_env(home)
        env["KEIKO_BENCH_EXIT_ON_SHOW"] = "1"
        start = time.time()
        proc = subprocess.run(
            [sys.executable, "-m", "keiko_desktop"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"window did not report: {proc.returncode} {proc.stderr[-800:]}")
        return float(json.loads(lines[-1])["shown_at"]) - start


def run_child(mode: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="keiko-bench-") as home:
        proc = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_window", "--child", mode],
            env=child_env(home),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=ROOT,
        )
        lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"{mode} failed: {proc.returncode} {proc.stderr[-1500:]}")
        result: dict[str, Any] = json.loads(lines[-1])
        return result


# ---------------------------------------------------------------- children
def reply_text(tokens: int) -> list[str]:
    """About ``tokens`` pieces of realistic Markdown: paragraphs, lists and code blocks."""
    block = [
        "## Step {n}\n\n",
        "Here ",
        "is ",
        "a ",
        "paragraph ",
        "that ",
        "explains ",
        "the ",
        "next ",
        "part ",
        "with ",
        "`inline` ",
        "code.\n\n",
        "- first ",
        "point\n",
        "- second ",
        "point\n\n",
        "```python\n",
        "def step_{n}(x):\n",
        "    return ",
        "x * {n}\n",
        "```\n\n",
    ]
    pieces: list[str] = []
    n = 0
    while len(pieces) < tokens:
        n += 1
        pieces.extend(p.replace("{n}", str(n)) for p in block)
    return pieces[:tokens]


class ScriptedGeneration:
    def __init__(self, pieces: list[str], interval: float) -> None:
        self._pieces = pieces
        self._interval = interval
        self._cancelled = False
        from keiko_desktop.core.ports import GenerationStats

        self._stats = GenerationStats()

    def cancel(self) -> None:
        self._cancelled = True

    @property
    def stats(self) -> Any:
        return self._stats

    def __aiter__(self) -> AsyncIterator[str]:
        return self._run()

    async def _run(self) -> AsyncIterator[str]:
        from keiko_desktop.core.ports import GenerationStats

        start = time.perf_counter()
        for piece in self._pieces:
            if self._cancelled:
                break
            await asyncio.sleep(self._interval)
            yield piece
        self._stats = GenerationStats(
            completion_tokens=len(self._pieces),
            time_to_first_token=self._interval,
            total_time=time.perf_counter() - start,
        )


class ScriptedModel:
    name = "scripted"
    supports_tools = False
    context_length = 8192

    def __init__(self, interval: float = 0.004) -> None:
        self.interval = interval

    def generate(self, messages: Sequence[Any], params: Any) -> ScriptedGeneration:
        return ScriptedGeneration(reply_text(REPLY_TOKENS), self.interval)

    async def aclose(self) -> None:
        return None


class ScriptedProvider:
    def __init__(self) -> None:
        from keiko_desktop.core.ports import ModelInfo

        self.info = ModelInfo("scripted", "/scripted.gguf", 0, bundled=True)

    def list_models(self) -> list[Any]:
        return [self.info]

    def default_model(self) -> Any:
        return self.info

    def resolve(self, name_or_path: str) -> Any:
        return self.info

    async def load(self, info: Any) -> ScriptedModel:
        return ScriptedModel()


async def scripted_core() -> Any:
    from keiko_desktop.app import Core
    from keiko_desktop.core.chat.models import ModelManager
    from keiko_desktop.core.chat.service import ChatService
    from keiko_desktop.core.config import Paths, Settings
    from keiko_desktop.core.events import EventBus
    from keiko_desktop.store import open_database

    paths = Paths.from_env()
    paths.ensure()
    settings = Settings(max_tokens=REPLY_TOKENS)
    bus = EventBus(asyncio.get_running_loop())
    database = await open_database(paths.database)
    provider = ScriptedProvider()
    models = ModelManager(provider, bus)  # type: ignore[arg-type]
    holder: dict[str, Any] = {}
    chat = ChatService(database.conversations, models, bus, lambda: holder["core"].settings)
    core = Core(paths, settings, bus, database, database.conversations, provider, models, chat)  # type: ignore[arg-type]
    holder["core"] = core
    models.start_loading()
    return core


async def seed_big_chat(core: Any, n: int) -> int:
    from sqlalchemy import insert

    from keiko_desktop.store.tables import messages

    conversation = await core.conversations.create_conversation("Five thousand messages")
    now = datetime.now(UTC)
    rows = [
        {
            "conversation_id": conversation.id,
            "role": "user" if i % 2 == 0 else "assistant",
            "content": (
                f"Question {i}?"
                if i % 2 == 0
                else f"Answer {i} with **bold**, `code` and a list:\n"
                "\n- one\n- two\n\n```python\nprint('hello')\n```\n"
            ),
            "status": "complete",
            "model": None if i % 2 == 0 else "smollm2-135m-instruct",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    await core.database.write(lambda session: session.execute(insert(messages), rows))
    return int(conversation.id)


async def child_main(mode: str) -> dict[str, Any]:
    import psutil
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from keiko_desktop.ui.controller import AppController
    from keiko_desktop.ui.main_window import MainWindow
    from keiko_desktop.ui.theme import ThemeManager

    app = QApplication.instance()
    assert isinstance(app, QApplication)
    themes = ThemeManager(app, "light")
    window = MainWindow(themes)
    window.resize(1200, 800)
    window.show()
    controller = AppController(window, themes)
    result: dict[str, Any] = {}
    if mode == "idle":
        await controller.start(start_model=False)
        await asyncio.sleep(2.0)
        result["rss_mb"] = psutil.Process().memory_info().rss / 2**20
    else:
        core = await scripted_core()
        await controller.start(core)
        if mode == "stall":
            gaps: list[float] = []
            stamps: list[float] = []
            last = time.perf_counter()

            def probe() -> None:
                nonlocal last
                now = time.perf_counter()
                gaps.append((now - last) * 1000 - 5)
                stamps.append(now)
                last = now

            timer = QTimer()
            timer.setInterval(5)
            timer.timeout.connect(probe)
            done = asyncio.Event()
            controller.chat.reply_finished.connect(lambda *_: done.set())
            window.chat_panel.composer.set_text("Write a long answer.")
            started = time.perf_counter()
            timer.start()
            window.chat_panel.composer.send_button.click()
            await asyncio.wait_for(done.wait(), 300)
            timer.stop()
            text = window.chat_panel.view.last_widget().text  # type: ignore[union-attr]
            worst = max(range(len(gaps)), key=gaps.__getitem__)
            ended = time.perf_counter() - started
            streaming = [g for g, t in zip(gaps, stamps, strict=True) if t - started < ended - 0.25]
            result.update(
                max_stall_ms=max(gaps),
                max_stall_while_streaming_ms=max(streaming),
                max_stall_at_s=stamps[worst] - started,
                p99_stall_ms=statistics.quantiles(gaps, n=100)[98],
                median_gap_ms=statistics.median(gaps),
                stream_seconds=time.perf_counter() - started,
                reply_chars=len(text),
                reply_tokens=REPLY_TOKENS,
            )
        else:  # open
            cid = await seed_big_chat(core, BIG_CHAT)
            times = []
            view = window.chat_panel.view
            for _ in range(5):
                controller.chat.new_chat()
                await asyncio.sleep(0.2)
                start = time.perf_counter()
                controller.chat.open_conversation(cid)
                bar = view.verticalScrollBar()
                while not (  # noqa: ASYNC110 - polls layout state, which has no event
                    len(view.message_ids()) == 50
                    and bar.maximum() > 0
                    and bar.value() == bar.maximum()
                ):
                    await asyncio.sleep(0)
                app.processEvents()
                times.append((time.perf_counter() - start) * 1000)
            result.update(open_ms=summary(times), messages=BIG_CHAT)
    await controller.shutdown()
    window.close()
    return result


def child(mode: str) -> int:
    from PySide6.QtWidgets import QApplication

    from keiko_desktop.ui.event_loop import create_event_loop

    app = QApplication(sys.argv[:1])
    loop = create_event_loop(app)
    asyncio.set_event_loop(loop)
    result = loop.run_until_complete(child_main(mode))
    print(json.dumps(result), flush=True)
    return 0


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        return child(sys.argv[2])
    startup_s = [startup_once() for _ in range(STARTUP_ROUNDS)]
    idle = run_child("idle")
    stall = run_child("stall")
    opened = run_child("open")
    headline = {
        "startup_to_window_s": round(statistics.median(startup_s), 3),
        "idle_rss_mb": round(idle["rss_mb"], 1),
        "max_gui_stall_ms_2000_tokens": round(stall["max_stall_ms"], 1),
        "max_gui_stall_while_streaming_ms": round(stall["max_stall_while_streaming_ms"], 1),
        "open_5000_messages_ms": round(opened["open_ms"]["median"], 1),
        "targets": {"startup_s": 1.0, "idle_rss_mb": 200, "open_ms": 300},
    }
    write_results(
        "window",
        {
            "headline": headline,
            "startup_s": summary(startup_s),
            "idle": idle,
            "stall": stall,
            "open": opened,
            "platform": os.environ.get("QT_QPA_PLATFORM") or "display",
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
