"""`keiko --selftest`: every part of Keiko run once for real, in a temporary home, offscreen.

It is what an installed bundle runs to prove itself (docs §2n): the window builds on Qt's
offscreen platform; the default model loads and writes tokens; the reply and its question are
in the database, read back through the store and found by full-text search; the built-in
``clock`` MCP server answers a tool call; the bundled speech model transcribes the bundled WAV
(``resources/selftest.wav``, the bundled voice saying "The quick brown fox jumps over the lazy
dog."); and the bundled voice synthesises a sentence. One line per check, with how long it
took; the exit status is 0 only if every check passed. Nothing of the user's is read or
written: KEIKO_HOME is a fresh temporary folder, removed after.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

from keiko_desktop.core.safe_text import one_line

if TYPE_CHECKING:
    from keiko_desktop.app import Core
    from keiko_desktop.core.config import Paths

CHECK_LIMIT = 180.0
"""Seconds one check may take (a cold model load on a slow disk included)."""
EXPECTED_WORDS = ("quick", "brown", "fox", "lazy", "dog")
"""What the bundled WAV says; the transcript must have most of them."""


@dataclass(frozen=True)
class Outcome:
    name: str
    ok: bool
    detail: str
    seconds: float

    def line(self) -> str:
        mark = "ok  " if self.ok else "FAIL"
        return f"{mark} {self.name:<11} {self.detail} ({self.seconds:.1f} s)"


def run_selftest() -> int:
    """Run every check; print one line each and a summary; 0 only if all passed."""
    home = Path(tempfile.mkdtemp(prefix="keiko-selftest-"))
    saved = {k: os.environ.get(k) for k in ("KEIKO_HOME", "QT_QPA_PLATFORM")}
    os.environ["KEIKO_HOME"] = str(home)
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    outcomes: list[Outcome] = []

    def report(outcome: Outcome) -> None:
        outcomes.append(outcome)
        print(outcome.line(), flush=True)

    try:
        report(_timed("window", _window))
        asyncio.run(_core_checks(report))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        shutil.rmtree(home, ignore_errors=True)
    failed = [o.name for o in outcomes if not o.ok]
    if failed:
        print(f"Self-test failed: {', '.join(failed)}.", file=sys.stderr)
        return 1
    print(f"Self-test passed: {len(outcomes)} checks.")
    return 0


def _timed(name: str, check: Callable[[], str]) -> Outcome:
    started = time.monotonic()
    try:
        detail = check()
    except Exception as exc:  # noqa: BLE001 - a check's failure is its line, never a crash
        return Outcome(name, False, _why(exc), time.monotonic() - started)
    return Outcome(name, True, detail, time.monotonic() - started)


async def _atimed(name: str, check: Callable[[], Awaitable[str]]) -> Outcome:
    started = time.monotonic()
    try:
        detail = await asyncio.wait_for(check(), CHECK_LIMIT)
    except TimeoutError:
        return Outcome(name, False, f"no answer within {CHECK_LIMIT:g} s", CHECK_LIMIT)
    except Exception as exc:  # noqa: BLE001 - the same
        return Outcome(name, False, _why(exc), time.monotonic() - started)
    return Outcome(name, True, detail, time.monotonic() - started)


def _why(exc: BaseException) -> str:
    message = getattr(exc, "message", "") or str(exc) or exc.__class__.__name__
    hint = getattr(exc, "hint", "")
    return one_line(f"{message} {hint}".strip(), 400)


# ---------------------------------------------------------------------- the checks
def _window() -> str:
    from keiko_desktop.core.config import Paths
    from keiko_desktop.ui.selftest_window import show_main_window

    paths = Paths.from_env()
    paths.ensure()
    return show_main_window(paths.config_dir)


async def _core_checks(report: Callable[[Outcome], None]) -> None:
    from keiko_desktop.app import build_core
    from keiko_desktop.core.config import Paths, Settings

    paths = Paths.from_env()  # the temporary home
    settings = Settings(temperature=0.0, max_tokens=12)
    try:
        core = await build_core(paths, settings, with_tasks=False, with_voice=False)
    except Exception as exc:  # noqa: BLE001 - no core: its own failed line
        report(Outcome("core", False, _why(exc), 0.0))
        return
    try:
        conversation: list[int] = []
        report(await _atimed("model", lambda: _model(core, conversation)))
        report(await _atimed("database", lambda: _database(core, paths, conversation)))
        report(await _atimed("mcp tool", lambda: _mcp_tool(core)))
    finally:
        await core.aclose()
    report(await _atimed("transcribe", _transcribe))
    report(await _atimed("synthesise", _synthesise))


async def _model(core: Core, conversation: list[int]) -> str:
    reply = await core.chat.send(None, "Say hello in five words.")
    conversation.append(reply.conversation_id)
    result = await reply.result()
    if result.status != "complete":
        raise RuntimeError(f"the reply ended {result.status}: {result.error or 'no reason'}")
    tokens = result.stats.completion_tokens
    if tokens <= 0 or not result.text.strip():
        raise RuntimeError("the model wrote nothing")
    speed = result.stats.tokens_per_second
    cpu = core.cpu.describe() if core.cpu is not None else "llama.cpp"
    rate = f" at {speed:.0f} tok/s" if speed else ""
    return f"{result.model}: {tokens} tokens{rate}; {one_line(cpu, 120)}"


async def _database(core: Core, paths: Paths, conversation: list[int]) -> str:
    import sqlite3

    if not conversation:
        raise RuntimeError("no conversation was written (the model check failed)")
    stored = await core.conversations.list_messages(conversation[0])
    roles = [m.role for m in stored]
    if roles[-2:] != ["user", "assistant"]:
        raise RuntimeError(f"the messages read back are {roles}, not a question and its reply")
    hits = await core.conversations.search("hello")
    if not any(h.conversation_id == conversation[0] for h in hits):
        raise RuntimeError("full-text search did not find the question")

    def count() -> int:
        with sqlite3.connect(f"file:{paths.database}?mode=ro", uri=True) as db:
            return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])

    rows = await asyncio.to_thread(count)
    return f"{rows} messages written, read back and found by search in {paths.database.name}"


async def _mcp_tool(core: Core) -> str:
    from keiko_desktop.app import TOOLS_SETTLE

    core.start_tools()
    await core.wait_tools(settle=TOOLS_SETTLE)
    if core.tool_system is None:
        raise RuntimeError("the tool system did not start")
    result = await core.tool_system.pool.call_tool("clock", "now", {}, 30.0)
    if result.is_error:
        raise RuntimeError(f"clock.now failed: {one_line(result.text, 200)}")
    structured = result.structured if isinstance(result.structured, dict) else {}
    when = structured.get("datetime") or result.text
    return f"clock.now answered {one_line(str(when), 80)}"


def _wav() -> Path:
    return Path(str(files("keiko_desktop").joinpath("resources", "selftest.wav")))


async def _transcribe() -> str:
    from keiko_desktop.core.voice.types import TranscribeOptions
    from keiko_desktop.speech.whisper import WhisperTranscriber

    engine = WhisperTranscriber()
    try:
        transcript = await engine.transcribe_file(_wav(), TranscribeOptions())
    finally:
        await engine.aclose()
    heard = transcript.text.lower()
    found = [w for w in EXPECTED_WORDS if w in heard]
    if len(found) < len(EXPECTED_WORDS) - 1:
        raise RuntimeError(f"heard {one_line(transcript.text, 120)!r}")
    return f"{engine.info().name}: {one_line(transcript.text, 80)!r}"


async def _synthesise() -> str:
    from keiko_desktop.core.voice.types import SpeakOptions
    from keiko_desktop.speech.piper_voice import PiperSynthesizer

    engine = PiperSynthesizer()
    try:
        clip = await engine.synthesize("Keiko is ready.", SpeakOptions())
    finally:
        await engine.aclose()
    if clip.duration < 0.3:
        raise RuntimeError(f"only {clip.duration:.2f} s of sound")
    return f"{engine.info().name}: {clip.duration:.1f} s at {clip.sample_rate} Hz"
