"""A server's log notifications (``notifications/message``): its log file and the card of the
call it is running.

``ServerLogging.client_kwargs`` is a client hook (``ClientFactory.hooks``): each server's SDK
``Client`` gets a ``logging_callback`` and ``log_level``. On 2026-07-28 connections the level
is the per-request opt-in (``io.modelcontextprotocol/logLevel`` in every request's ``_meta``),
so the server sends nothing below it; on the 2025 handshake ``opened`` (a client hook called
once the session is up) sends ``logging/setLevel`` to a server that offers logging, and lines
below the level are dropped here as well, since a server may send every level.

Each line is redacted (``Redactor``: the server's secrets never reach the file or the window),
written to ``logs/mcp-NAME.log`` (owner-only, beside the server's stderr, marked ``[log
LEVEL]``; cut to ``MAX_FILE_LINE_CHARS``; at most ``MAX_FILE_LINES_PER_SECOND`` a second, the
rest counted and noted) and handed to every call running on that server (``LiveCalls``), which
publishes it, escaped and bounded, for its card.
"""

from __future__ import annotations

import json
import logging
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
from mcp import Client, MCPError
from mcp.shared.exceptions import MCPDeprecationWarning
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.live_calls import LOG_LEVELS, LiveCalls
from keiko_desktop.core.tools.redaction import Redactor
from keiko_desktop.mcp_tools.server_log import open_server_log

log = logging.getLogger(__name__)

DEFAULT_LOG_LEVEL = "info"
MAX_FILE_LINE_CHARS = 2_000
MAX_FILE_LINES_PER_SECOND = 50
_MAX_DATA_CHARS = 8_000
SET_LEVEL_TIMEOUT = 5.0


def log_text(params: types.LoggingMessageNotificationParams) -> str:
    """The line a log notification says: its logger and its data (text as is, anything
    else as compact JSON), escaped onto one line."""
    data = params.data
    if isinstance(data, str):
        text = data[:_MAX_DATA_CHARS]
    else:
        try:
            text = json.dumps(data, ensure_ascii=False, default=str)[:_MAX_DATA_CHARS]
        except (TypeError, ValueError):
            text = repr(data)[:_MAX_DATA_CHARS]
    if params.logger:
        text = f"{one_line(params.logger, 60)}: {text}"
    return one_line(text, MAX_FILE_LINE_CHARS)


class ServerLogging:
    """Routes every server's log notifications; one per tool system."""

    def __init__(
        self,
        live_calls: LiveCalls,
        redactor: Redactor,
        log_path: Callable[[str], Path | None],
        level: str = DEFAULT_LOG_LEVEL,
    ) -> None:
        self.level = level if level in LOG_LEVELS else DEFAULT_LOG_LEVEL
        self._live_calls = live_calls
        self._redactor = redactor
        self._log_path = log_path
        self._window_start = 0.0
        self._window_lines: dict[str, int] = {}
        self._dropped: dict[str, int] = {}

    def client_kwargs(self, server: str) -> dict[str, Any]:
        async def on_log(params: types.LoggingMessageNotificationParams) -> None:
            self.received(server, params)

        return {"logging_callback": on_log, "log_level": self.level}

    async def opened(self, server: str, client: Client) -> None:
        """On the 2025 handshake, ask a server that offers logging for this level and up
        (``logging/setLevel``); it may still send more, which ``received`` drops."""
        if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
            return
        if client.server_capabilities.logging is None:
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", MCPDeprecationWarning)
                with anyio.fail_after(SET_LEVEL_TIMEOUT):
                    await client.set_logging_level(self.level)  # type: ignore[arg-type]
        except (MCPError, TimeoutError) as exc:
            log.info("server %s did not take the log level %s: %s", server, self.level, exc)

    def received(self, server: str, params: types.LoggingMessageNotificationParams) -> None:
        level = str(params.level)
        if level not in LOG_LEVELS or LOG_LEVELS.index(level) < LOG_LEVELS.index(self.level):
            return
        text = self._redactor.redact_text(log_text(params))
        self._write(server, level, text)
        for call in self._live_calls.on_server(server):
            call.logged(level, text)

    def _write(self, server: str, level: str, text: str) -> None:
        path = self._log_path(server)
        if path is None:
            return
        now = time.monotonic()
        if now - self._window_start >= 1.0:
            self._window_start = now
            self._window_lines.clear()
        lines = [f"[log {level}] {text}"]
        dropped = self._dropped.pop(server, 0)
        if dropped:
            lines.insert(
                0, f"[log] {dropped} lines dropped (more than {MAX_FILE_LINES_PER_SECOND} a second)"
            )
        count = self._window_lines.get(server, 0)
        if count >= MAX_FILE_LINES_PER_SECOND:
            self._dropped[server] = dropped + 1
            return
        self._window_lines[server] = count + len(lines)
        try:
            with open_server_log(path) as out:  # rotated past 1 MB, as the stderr copy
                out.write("".join(line + "\n" for line in lines))
        except OSError as exc:
            log.warning("cannot write %s: %s", path, exc)
