"""Tool calls while they run: an id each, and what their server reports on the way.

``ToolService`` runs every call that passed approval inside ``LiveCalls.running``: the call
gets an id, ``ToolCallStarted`` is published, the ``LiveCall`` is the current one in its task
(a context variable, so the MCP connection several awaits down can find it without being
handed it) and is listed under its server (so a server's log lines, which name no request on
the 2025 handshake, reach the calls running on it). When the call returns, fails or is
cancelled, ``ToolCallEnded`` says which.

What a server sends is untrusted: a progress message is escaped onto one line and cut to
``MAX_MESSAGE_CHARS``, a log line to ``MAX_LOG_CHARS``, numbers that are not finite are
dropped, and one call publishes at most ``MAX_LOG_LINES`` log lines. Progress is throttled to
one event per ``PROGRESS_INTERVAL`` seconds per call; the newest update held back is published
when the interval has passed, so the last word is never lost.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.call_events import (
    CallOutcome,
    ToolCallEnded,
    ToolCallLogged,
    ToolCallProgressed,
    ToolCallStarted,
)
from keiko_desktop.core.tools.models import ToolCall, ToolResult

PROGRESS_INTERVAL = 0.1
MAX_MESSAGE_CHARS = 200
MAX_LOG_CHARS = 300
MAX_LOG_LINES = 200
LOG_LEVELS = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")
"""RFC 5424 severities, least severe first, as MCP names them."""

_current: ContextVar[LiveCall | None] = ContextVar("keiko_live_tool_call", default=None)


def current_live_call() -> LiveCall | None:
    """The call running in this task (None outside ``LiveCalls.running``)."""
    return _current.get()


@dataclass(frozen=True)
class ProgressUpdate:
    progress: float
    total: float | None
    message: str


def progress_update(progress: Any, total: Any, message: Any) -> ProgressUpdate | None:
    """A server's progress made safe to show, or None when it is not a number."""
    if isinstance(progress, bool) or not isinstance(progress, int | float):
        return None
    if not math.isfinite(progress):
        return None
    shown_total: float | None = None
    if (
        not isinstance(total, bool)
        and isinstance(total, int | float)
        and math.isfinite(total)
        and total > 0
    ):
        shown_total = float(total)
    text = one_line(message, MAX_MESSAGE_CHARS) if isinstance(message, str) else ""
    return ProgressUpdate(float(progress), shown_total, text)


class ProgressThrottle:
    """At most one update per ``interval``: ``offer`` says whether to send one now; one held
    back waits in ``pending`` until ``take_due`` hands it out."""

    def __init__(
        self, interval: float = PROGRESS_INTERVAL, clock: Callable[[], float] | None = None
    ):
        self.interval = interval
        self._clock = clock or time.monotonic
        self._last: float | None = None
        self.pending: ProgressUpdate | None = None

    def offer(self, update: ProgressUpdate) -> bool:
        now = self._clock()
        if self._last is None or now - self._last >= self.interval:
            self._last = now
            self.pending = None
            return True
        self.pending = update
        return False

    def wait(self) -> float:
        """Seconds until a held-back update may go."""
        if self._last is None:
            return 0.0
        return max(0.0, self.interval - (self._clock() - self._last))

    def take_due(self) -> ProgressUpdate | None:
        if self.pending is None or self.wait() > 0:
            return None
        update, self.pending = self.pending, None
        self._last = self._clock()
        return update


class LiveCall:
    """One running call: where its server's progress and log lines go."""

    def __init__(self, call_id: int, server: str, tool: str, bus: EventBus) -> None:
        self.call_id = call_id
        self.server = server
        self.tool = tool
        self._bus = bus
        self._throttle = ProgressThrottle()
        self._timer: asyncio.TimerHandle | None = None
        self.log_lines = 0
        self.dropped_log_lines = 0
        self.outcome: CallOutcome = "ok"
        self.closed = False

    async def on_progress(self, progress: float, total: float | None, message: str | None) -> None:
        """The SDK's ``progress_callback`` (``ProgressFnT``)."""
        self.progressed(progress, total, message)

    def progressed(self, progress: Any, total: Any, message: Any) -> None:
        update = progress_update(progress, total, message)
        if update is None or self.closed:  # a late notification after the end is dropped
            return
        if self._throttle.offer(update):
            self._publish(update)
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._throttle.wait(), self._flush)

    def logged(self, level: str, text: str) -> None:
        """A log line of the call's server (already redacted by the caller)."""
        if self.closed:
            return
        if self.log_lines >= MAX_LOG_LINES:
            self.dropped_log_lines += 1
            return
        self.log_lines += 1
        shown_level = level if level in LOG_LEVELS else "info"
        self._bus.publish(
            ToolCallLogged(
                self.call_id, self.server, self.tool, shown_level, one_line(text, MAX_LOG_CHARS)
            )
        )

    def close(self) -> None:
        """The call ended: an update still held back is published now (the last word)."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        update, self._throttle.pending = self._throttle.pending, None
        if update is not None:
            self._publish(update)

    def _flush(self) -> None:
        self._timer = None
        update = self._throttle.take_due()
        if update is not None:
            self._publish(update)
        elif self._throttle.pending is not None:  # woke a little early
            self._timer = asyncio.get_running_loop().call_later(self._throttle.wait(), self._flush)

    def _publish(self, update: ProgressUpdate) -> None:
        self._bus.publish(
            ToolCallProgressed(
                self.call_id,
                self.server,
                self.tool,
                update.progress,
                update.total,
                update.message,
            )
        )


class LiveCalls:
    """The calls running now, by id and by server."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._next_id = 0
        self._calls: dict[int, LiveCall] = {}

    def on_server(self, server: str) -> list[LiveCall]:
        return [call for call in self._calls.values() if call.server == server]

    @asynccontextmanager
    async def running(
        self, call: ToolCall, redacted_arguments: dict[str, Any]
    ) -> AsyncIterator[LiveCall]:
        """Run the body as the live call ``call``. Set ``live.outcome = "error"`` for a
        result that is an error; an exception or a cancellation sets it here."""
        self._next_id += 1
        live = LiveCall(self._next_id, call.server, call.tool, self._bus)
        self._calls[live.call_id] = live
        token = _current.set(live)
        self._bus.publish(
            ToolCallStarted(
                live.call_id,
                call.server,
                call.tool,
                dict(redacted_arguments),
                call.conversation_id,
                call.agent,
            )
        )
        try:
            yield live
        except asyncio.CancelledError:
            live.outcome = "cancelled"
            raise
        except BaseException:
            live.outcome = "error"
            raise
        finally:
            _current.reset(token)
            live.close()
            del self._calls[live.call_id]
            self._bus.publish(ToolCallEnded(live.call_id, call.server, call.tool, live.outcome))


def outcome_of(result: ToolResult) -> CallOutcome:
    return "error" if result.is_error else "ok"
