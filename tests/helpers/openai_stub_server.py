"""A real local HTTP server that speaks just enough of the OpenAI API, scripted per test.

It runs its own asyncio loop in a thread (so a test's loop can hang on it, or be cut off by it,
without the server depending on that loop) and answers on 127.0.0.1 at a free port. Each path
gets a queue of replies (``on``); the last one repeats. A reply is JSON with any status and
headers, an SSE stream (chunked) that may stop after N events without ``[DONE]``, be cut off
mid-body (no final chunk), or wait between events, or a hang (no answer at all). Every request
is recorded (method, path, headers, JSON body), and the server notes when a client went away
mid-stream::

    with openai_stub() as stub:
        stub.on("/v1/chat/completions", sse_reply(text_chunks(["Hel", "lo"])))
        endpoint = Endpoint("stub", stub.url)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Reply:
    """What the server sends for one request."""

    kind: str  # "json", "raw", "sse", "hang" or "drop"
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    events: tuple[str, ...] = ()
    done: bool = True
    cut_after: int | None = None
    """SSE: stop after this many events and drop the connection mid-body (no final chunk)."""
    end_after: int | None = None
    """SSE: end the body cleanly after this many events, without ``[DONE]``."""
    delay: float = 0.0
    """SSE: seconds between events."""
    hang_after: int | None = None
    """SSE: after this many events send nothing more (until the client goes)."""


def json_reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    return Reply("json", status, body, dict(headers or {}))


def raw_reply(text: str, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A body sent as it is (not JSON-encoded)."""
    return Reply("raw", status, text, dict(headers or {}))


def sse_reply(
    events: Sequence[dict[str, Any] | str],
    *,
    done: bool = True,
    cut_after: int | None = None,
    end_after: int | None = None,
    delay: float = 0.0,
    hang_after: int | None = None,
) -> Reply:
    """A stream of ``data:`` events (dicts are JSON-encoded, strings sent as they are)."""
    encoded = tuple(e if isinstance(e, str) else json.dumps(e) for e in events)
    return Reply(
        "sse",
        events=encoded,
        done=done,
        cut_after=cut_after,
        end_after=end_after,
        delay=delay,
        hang_after=hang_after,
    )


def hang() -> Reply:
    """Read the request and never answer."""
    return Reply("hang")


def drop() -> Reply:
    """Read the request and close the connection without an answer (a kept-alive connection
    the server closed as the client reused it)."""
    return Reply("drop")


def models_reply(*ids: str) -> Reply:
    return json_reply({"object": "list", "data": [{"id": i, "object": "model"} for i in ids]})


def chunk(
    content: str | None = None,
    *,
    finish: str | None = None,
    tool_calls: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if content is not None:
        delta["content"] = content
    if tool_calls is not None:
        delta["tool_calls"] = tool_calls
    return {
        "id": "chatcmpl-stub",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def text_chunks(
    pieces: Sequence[str], *, finish: str = "stop", usage: tuple[int, int] | None = None
) -> list[dict[str, Any]]:
    """A role chunk, one chunk per piece, the finish chunk and (``usage``: prompt and
    completion tokens) a usage chunk, as OpenAI sends them."""
    events: list[dict[str, Any]] = [
        {"id": "chatcmpl-stub", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}
    ]
    events += [chunk(p) for p in pieces]
    events.append(chunk(finish=finish))
    if usage is not None:
        events.append(
            {
                "id": "chatcmpl-stub",
                "choices": [],
                "usage": {
                    "prompt_tokens": usage[0],
                    "completion_tokens": usage[1],
                    "total_tokens": sum(usage),
                },
            }
        )
    return events


def call_chunks(calls: Sequence[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """A turn with tool calls (id, wire name, arguments JSON), each call's arguments sent in
    two deltas as OpenAI does, then ``finish_reason: tool_calls``."""
    events: list[dict[str, Any]] = []
    for index, (call_id, name, arguments) in enumerate(calls):
        half = len(arguments) // 2
        events.append(
            chunk(
                tool_calls=[
                    {
                        "index": index,
                        "id": call_id,
                        "type": "function",
                        "function": {"name": name, "arguments": arguments[:half]},
                    }
                ]
            )
        )
        events.append(
            chunk(tool_calls=[{"index": index, "function": {"arguments": arguments[half:]}}])
        )
    events.append(chunk(finish="tool_calls"))
    return events


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def refused_url() -> str:
    """A base URL where nothing listens (the connection is refused)."""
    return f"http://127.0.0.1:{free_port()}/v1"


_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden"}


class StubServer:
    """The server; use ``openai_stub()``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self.requests: list[Recorded] = []
        self.disconnects = 0
        """Streams the client closed before the server ended them."""
        self._replies: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def on(self, path: str, *replies: Reply) -> None:
        """Answer ``path`` (``/v1/models``) with ``replies`` in turn; the last repeats."""
        with self._lock:
            self._replies[path] = list(replies)

    def chat_requests(self) -> list[Recorded]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _next(self, path: str) -> Reply:
        with self._lock:
            queue = self._replies.get(path)
            if not queue:
                return json_reply({"error": {"message": f"no route {path}"}}, 404)
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def start(self) -> StubServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(10)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    def stop(self) -> None:
        async def _stop() -> None:
            if self._server is not None:
                self._server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(_stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Serve one request; False to close the connection."""
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        raw = await reader.readexactly(int(headers.get("content-length", "0")))
        body = json.loads(raw) if raw else None
        self.requests.append(Recorded(method, path, headers, body))
        reply = self._next(path)
        if reply.kind == "hang":
            await asyncio.Event().wait()
        if reply.kind == "drop":
            writer.transport.abort()
            return False
        if reply.kind in ("json", "raw"):
            data = reply.body.encode() if reply.kind == "raw" else json.dumps(reply.body).encode()
            extra = "".join(f"{k}: {v}\r\n" for k, v in reply.headers.items())
            status = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
            length = f"Content-Type: application/json\r\nContent-Length: {len(data)}\r\n"
            writer.write(f"{status}{length}{extra}\r\n".encode() + data)
            await writer.drain()
            return True
        await self._stream(reply, reader, writer)
        return False

    async def _stream(
        self, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        gone = asyncio.ensure_future(reader.read(1))  # b"" when the client closes

        def on_gone(future: asyncio.Future[bytes]) -> None:
            if not future.cancelled():
                self.disconnects += 1
                self.disconnected_at = time.monotonic()

        gone.add_done_callback(on_gone)
        try:
            await self._send_events(reply, writer)
        finally:
            gone.cancel()

    async def _send_events(self, reply: Reply, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
            b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )

        def piece(data: bytes) -> bytes:
            return f"{len(data):x}\r\n".encode() + data + b"\r\n"

        try:
            await writer.drain()
            for n, event in enumerate(reply.events):
                if n == reply.cut_after:
                    writer.transport.abort()  # mid-body: no final chunk
                    return
                if n == reply.end_after:
                    writer.write(b"0\r\n\r\n")
                    await writer.drain()
                    return
                if n == reply.hang_after:
                    await asyncio.Event().wait()
                if reply.delay and n:
                    await asyncio.sleep(reply.delay)
                writer.write(piece(f"data: {event}\n\n".encode()))
                await writer.drain()
            if reply.cut_after is not None and reply.cut_after >= len(reply.events):
                writer.transport.abort()
                return
            if reply.done:
                writer.write(piece(b"data: [DONE]\n\n"))
            writer.write(b"0\r\n\r\n")
            await writer.drain()
        except (ConnectionError, RuntimeError):
            pass  # the client went away (noted by on_gone)

    disconnected_at: float = 0.0


@contextlib.contextmanager
def openai_stub() -> Iterator[StubServer]:
    server = StubServer().start()
    try:
        yield server
    finally:
        server.stop()
