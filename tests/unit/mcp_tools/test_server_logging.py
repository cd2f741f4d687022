"""ServerLogging: the level filter, the text of a log notification, the file's bounds."""

from __future__ import annotations

from pathlib import Path

import mcp.types as types

from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.call_events import ToolCallLogged
from keiko_desktop.core.tools.live_calls import LiveCalls
from keiko_desktop.core.tools.models import ToolCall
from keiko_desktop.core.tools.redaction import Redactor
from keiko_desktop.mcp_tools.server_log import MAX_LOG_BYTES
from keiko_desktop.mcp_tools.server_logging import (
    MAX_FILE_LINES_PER_SECOND,
    ServerLogging,
    log_text,
)
from tests.helpers.events import EventRecorder


def note(
    level: str, data: object, logger: str | None = None
) -> types.LoggingMessageNotificationParams:
    return types.LoggingMessageNotificationParams(level=level, data=data, logger=logger)  # type: ignore[arg-type]


def test_log_text_of_text_and_of_json() -> None:
    assert log_text(note("info", "plain")) == "plain"
    assert log_text(note("info", {"k": [1, 2]}, "db")) == 'db: {"k": [1, 2]}'
    assert "\n" not in log_text(note("info", "two\nlines\x1b"))


async def test_lines_below_the_level_are_dropped_and_the_rest_reach_file_and_call(
    bus: EventBus, tmp_path: Path
) -> None:
    recorder = EventRecorder(bus, ToolCallLogged)
    live_calls = LiveCalls(bus)
    redactor = Redactor({"hunter2-secret"})
    path = tmp_path / "logs" / "mcp-srv.log"
    logs = ServerLogging(
        live_calls, redactor, lambda name: tmp_path / "logs" / f"mcp-{name}.log", "warning"
    )
    kwargs = logs.client_kwargs("srv")
    assert kwargs["log_level"] == "warning"
    assert callable(kwargs["logging_callback"])
    async with live_calls.running(ToolCall("srv", "t", {}), {}):
        await kwargs["logging_callback"](note("info", "chatty"))
        await kwargs["logging_callback"](note("error", "pass hunter2-secret"))
        logs.received("other", note("error", "not this call's server"))
    texts = [e.text for e in recorder.events if isinstance(e, ToolCallLogged)]
    assert texts == ["pass [redacted]"]
    assert path.read_text() == "[log error] pass [redacted]\n"
    assert (tmp_path / "logs" / "mcp-other.log").exists()


def test_the_file_takes_a_bounded_number_of_lines_a_second(bus: EventBus, tmp_path: Path) -> None:
    logs = ServerLogging(LiveCalls(bus), Redactor(), lambda name: tmp_path / f"{name}.log")
    for i in range(MAX_FILE_LINES_PER_SECOND * 3):
        logs.received("srv", note("info", f"line {i}"))
    lines = (tmp_path / "srv.log").read_text().splitlines()
    assert len(lines) == MAX_FILE_LINES_PER_SECOND
    assert ServerLogging(LiveCalls(bus), Redactor(), lambda _n: None, "bogus").level == "info"


def test_the_file_is_rotated_like_the_stderr_copy(bus: EventBus, tmp_path: Path) -> None:
    """A server that logs for ever cannot fill the disk: past ``MAX_LOG_BYTES`` the log moves
    to ``.log.1`` (an HTTP server has no stderr copy to rotate it)."""
    path = tmp_path / "srv.log"
    path.write_text("x" * (MAX_LOG_BYTES + 1))
    logs = ServerLogging(LiveCalls(bus), Redactor(), lambda _name: path)
    logs.received("srv", note("info", "after the rotation"))
    assert path.read_text() == "[log info] after the rotation\n"
    assert path.with_suffix(".log.1").stat().st_size == MAX_LOG_BYTES + 1
