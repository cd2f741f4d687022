"""LiveCalls: ids and outcomes, the progress throttle, and what a server sends made safe."""

from __future__ import annotations

import asyncio
import math

import pytest

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.call_events import (
    ToolCallEnded,
    ToolCallLogged,
    ToolCallProgressed,
    ToolCallStarted,
)
from keiko_desktop.core.tools.live_calls import (
    MAX_LOG_CHARS,
    MAX_LOG_LINES,
    MAX_MESSAGE_CHARS,
    LiveCalls,
    ProgressThrottle,
    ProgressUpdate,
    current_live_call,
    progress_update,
)
from keiko_desktop.core.tools.models import ToolCall
from tests.helpers.events import EventRecorder

CALL = ToolCall("srv", "tool", {"a": 1}, 3, None)


def test_progress_update_escapes_and_bounds() -> None:
    update = progress_update(2, 4, "line one\nline two\x1b[2J\u202e" + "x" * 1000)
    assert update is not None
    assert "\n" not in update.message
    assert "\x1b" not in update.message
    assert "\u202e" not in update.message
    assert len(update.message) <= MAX_MESSAGE_CHARS
    assert progress_update(math.nan, 4, "") is None
    assert progress_update("3", 4, "") is None
    assert progress_update(True, 4, "") is None
    assert progress_update(1, math.inf, None) == ProgressUpdate(1.0, None, "")
    assert progress_update(1, -5, 7) == ProgressUpdate(1.0, None, "")


def test_throttle_lets_one_through_per_interval_and_keeps_the_newest() -> None:
    now = [0.0]
    throttle = ProgressThrottle(0.1, clock=lambda: now[0])
    first, second, third = (ProgressUpdate(float(i), None, "") for i in range(3))
    assert throttle.offer(first)
    now[0] = 0.05
    assert not throttle.offer(second)
    assert not throttle.offer(third)
    assert throttle.pending == third
    assert throttle.take_due() is None
    assert throttle.wait() == pytest.approx(0.05)
    now[0] = 0.1
    assert throttle.take_due() == third
    assert throttle.pending is None
    now[0] = 0.15
    assert not throttle.offer(first)
    now[0] = 0.3
    assert throttle.offer(second)
    assert throttle.pending is None


async def test_a_burst_is_throttled_and_its_last_update_arrives(bus: EventBus) -> None:
    recorder = EventRecorder(bus, ToolCallProgressed)
    calls = LiveCalls(bus)
    async with calls.running(CALL, {}) as live:
        for i in range(1, 201):
            live.progressed(i, 200, f"at {i}")
            if i % 20 == 0:
                await asyncio.sleep(0.02)  # 0.2 s of updates in all
        await asyncio.sleep(0.15)
        shown = [e.progress for e in recorder.events if isinstance(e, ToolCallProgressed)]
        assert shown[-1] == 200, "the trailing update is published once the interval passed"
        assert 2 <= len(shown) <= 5, shown
        live.progressed(201, 201, "the very last")  # held back, then the call ends
        live.progressed(202, 202, "the very last")
    last = recorder.events[-1]
    assert isinstance(last, ToolCallProgressed)
    assert last.progress == 202
    live.progressed(300, 300, "after the end")
    live.logged("info", "after the end")
    assert recorder.events[-1] is last, "nothing is published for a call that ended"


async def test_started_and_ended_carry_one_id_and_the_outcome(bus: EventBus) -> None:
    recorder = EventRecorder(bus, ToolCallStarted, ToolCallEnded)
    calls = LiveCalls(bus)
    assert current_live_call() is None
    async with calls.running(CALL, {"a": "[redacted]"}) as live:
        assert current_live_call() is live
        assert calls.on_server("srv") == [live]
        live.outcome = "error"
    assert current_live_call() is None
    assert calls.on_server("srv") == []

    async def stopped() -> None:
        async with calls.running(CALL, {}):
            await asyncio.sleep(10)

    task = asyncio.create_task(stopped())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    started = [e for e in recorder.events if isinstance(e, ToolCallStarted)]
    ended = [e for e in recorder.events if isinstance(e, ToolCallEnded)]
    assert [s.call_id for s in started] == [e.call_id for e in ended] == [1, 2]
    assert started[0].arguments == {"a": "[redacted]"}
    assert started[0].conversation_id == 3
    assert [e.outcome for e in ended] == ["error", "cancelled"]


async def test_log_lines_are_one_escaped_line_and_bounded(bus: EventBus) -> None:
    recorder = EventRecorder(bus, ToolCallLogged)
    calls = LiveCalls(bus)
    async with calls.running(CALL, {}) as live:
        live.logged("weird", "a\nb\x07" + "y" * 1000)
        for _ in range(MAX_LOG_LINES + 10):
            live.logged("info", "again")
    logged = [e for e in recorder.events if isinstance(e, ToolCallLogged)]
    assert logged[0].level == "info"
    assert "\n" not in logged[0].text
    assert "\x07" not in logged[0].text
    assert len(logged[0].text) <= MAX_LOG_CHARS
    assert len(logged) == MAX_LOG_LINES
    assert live.dropped_log_lines == 11
