"""The stdio transport with a bound on each message, enforced while it is read.

The SDK's ``stdio_client`` gathers a server's stdout line by line and parses each line whole, so
a server that answers with a 100 MB line makes Keiko hold and parse 100 MB before any limit on
the result applies. ``bounded_stdio_client`` is the same transport (it starts and stops the
process with the SDK's own helpers) with a reader that stops gathering a line past
``max_message_bytes``: the rest of the line is skipped as it arrives, and the request it
answered gets a JSON-RPC error instead ("the reply was larger than … and was dropped"), so the
call ends at once with that error rather than waiting out its time limit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TextIO

import anyio
import anyio.lowlevel
import mcp_types as types
from mcp import StdioServerParameters
from mcp.client import stdio as sdk_stdio
from mcp.shared.message import SessionMessage

log = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 16_000_000
_HEAD_BYTES = 4_096
_ID = re.compile(rb'"id"\s*:\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,20})')
TOO_LARGE = types.INTERNAL_ERROR  # not -32001: the SDK reads that as a timeout


class LineBounder:
    """Splits a byte stream into lines of at most ``limit`` bytes; longer lines are reported
    by their first bytes only (``feed`` yields ``(line, None)`` or ``(None, head)``)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._buffer = bytearray()
        self._head: bytes | None = None  # set while skipping an oversized line

    def feed(self, chunk: bytes) -> list[tuple[bytes | None, bytes | None]]:
        out: list[tuple[bytes | None, bytes | None]] = []
        start = 0
        while start <= len(chunk):
            end = chunk.find(b"\n", start)
            piece = chunk[start:] if end < 0 else chunk[start:end]
            if self._head is None:
                self._buffer += piece
                if len(self._buffer) > self.limit:
                    self._head = bytes(self._buffer[:_HEAD_BYTES])
                    self._buffer.clear()
            if end < 0:
                break
            if self._head is not None:
                out.append((None, self._head))
                self._head = None
            else:
                out.append((bytes(self._buffer), None))
                self._buffer.clear()
            start = end + 1
        return out


def oversized_reply(head: bytes, limit: int) -> SessionMessage | Exception:
    """The error that answers the request an oversized line was for (found by its id)."""
    match = _ID.search(head)
    text = f"the server's reply was larger than {limit // 1_000_000} MB and was dropped"
    if match is None:
        return ValueError(f"{text} (it answered no request Keiko could tell)")
    raw = match.group(1).decode("utf-8", "replace")
    request_id: str | int = raw[1:-1] if raw.startswith('"') else int(raw)
    error = types.JSONRPCError(
        jsonrpc="2.0", id=request_id, error=types.ErrorData(code=TOO_LARGE, message=text)
    )
    return SessionMessage(error)


@asynccontextmanager
async def bounded_stdio_client(
    server: StdioServerParameters,
    errlog: TextIO,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> AsyncIterator[tuple[Any, Any]]:
    """Start ``server`` and yield (read stream, write stream), like the SDK's ``stdio_client``."""
    command = await sdk_stdio._get_executable_command(server.command)
    process = await sdk_stdio._create_platform_compatible_process(
        command=command,
        args=server.args,
        env=sdk_stdio.get_default_environment() | (server.env or {}),
        errlog=errlog,
        cwd=server.cwd,
    )
    reader_writer, read_stream = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_stream, writer_reader = anyio.create_memory_object_stream[SessionMessage](0)
    writer_done = anyio.Event()

    async def read_stdout() -> None:
        assert process.stdout is not None
        lines = LineBounder(max_message_bytes)
        try:
            async with reader_writer:
                try:
                    async for chunk in process.stdout:
                        for line, head in lines.feed(chunk):
                            if head is not None:
                                log.warning("a server reply over %d bytes dropped", lines.limit)
                                message = oversized_reply(head, max_message_bytes)
                            else:
                                assert line is not None
                                text = line.decode(server.encoding, server.encoding_error_handler)
                                message = sdk_stdio._parse_line(text)
                            try:
                                await reader_writer.send(message)
                            except (anyio.ClosedResourceError, anyio.BrokenResourceError):
                                return
                finally:
                    await sdk_stdio._drain_stdout(process)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, ConnectionError):
            pass  # the transport is closing

    async def write_stdin() -> None:
        assert process.stdin is not None
        try:
            async with writer_reader:
                async for message in writer_reader:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    await process.stdin.send((data + "\n").encode(server.encoding))
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            await reader_writer.aclose()  # the server stopped reading: end the session
        finally:
            writer_done.set()

    async def shut_down() -> None:
        read_stream.close()
        write_stream.close()
        with anyio.move_on_after(0.5):
            await writer_done.wait()
        await sdk_stdio._stop_server_process(process)
        for stream in (read_stream, write_stream, reader_writer, writer_reader):
            await stream.aclose()
        await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        tg.start_soon(read_stdout)
        tg.start_soon(write_stdin)
        try:
            yield read_stream, write_stream
        finally:
            with anyio.CancelScope(shield=True):  # the process must not outlive a cancel
                await shut_down()
            tg.cancel_scope.cancel()
