"""The ASGI app of `keiko serve`: GET /v1/models and POST /v1/chat/completions.

    app = build_app(ServeOptions(token, port, models, default_model, lease, defaults))

- **Guarded first.** ``Guard`` wraps everything: the Host header must be ``127.0.0.1:PORT`` or
  ``localhost:PORT`` (a page whose DNS name was rebound to 127.0.0.1 sends its own name), then
  ``Authorization: Bearer TOKEN`` must match, compared with ``hmac.compare_digest``. A wrong
  or missing token is a 401 that says nothing about the token; unknown paths are 401 too
  before they are 404. No CORS headers are ever sent, so a browser page cannot read a reply.
- **Models** are names the caller lists (``models()``); ``""`` is ``default_model()``; any
  other name is a 404 ``model_not_found`` (never a file path). The model comes from
  ``lease(name)``, an async context manager yielding a ``ChatModel`` (the Core's
  ``AgentService.lease``).
- **One request at a time per model** (``ModelGate``): a model's worker runs one generation
  at a time anyway; later requests wait their turn, at most ``max_waiting`` of them, and one
  more is a 429 at once.
- **Streaming** (``stream: true``): Server-Sent Events, ``data: {chunk}`` per piece (the first
  carries the role), a last chunk with the finish reason, a usage chunk with
  ``stream_options.include_usage``, then ``data: [DONE]``. A failure after the first byte is
  an ``data: {"error": ...}`` event and the stream ends. A client that goes away cancels the
  generation (and ends the lease), streaming or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from keiko_desktop.core.agents.errors import AgentError
from keiko_desktop.core.errors import KeikoError, ModelLoadError, ModelUnavailableError
from keiko_desktop.core.ports import ChatModel, Generation, GenerationParams, GenerationStats
from keiko_desktop.openai_api.schema import (
    MAX_BODY_BYTES,
    ApiError,
    ChatRequest,
    parse_chat_request,
)

log = logging.getLogger(__name__)

Lease = Callable[[str], AbstractAsyncContextManager[ChatModel]]
DONE = b"data: [DONE]\n\n"
DEFAULT_MAX_WAITING = 4


@dataclass(frozen=True)
class ServeOptions:
    """What the app serves and how. ``models``, ``default_model`` and ``defaults`` are read
    at every request, so a changed setting applies at once."""

    token: str
    port: int
    models: Callable[[], Sequence[str]]
    default_model: Callable[[], str]
    lease: Lease
    defaults: Callable[[], GenerationParams] = GenerationParams
    max_waiting: int = DEFAULT_MAX_WAITING


class ModelGate:
    """One turn at a time per model name; at most ``max_waiting`` wait, more is a 429."""

    def __init__(self, max_waiting: int) -> None:
        self.max_waiting = max_waiting
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def turn(self, name: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        if lock.locked() and self._waiting.get(name, 0) >= self.max_waiting:
            raise ApiError(
                429,
                f"The model {name} is busy and {self.max_waiting} requests already wait "
                "for it; try again shortly.",
                type="rate_limit_error",
                code="rate_limit_exceeded",
            )
        self._waiting[name] = self._waiting.get(name, 0) + 1
        try:
            await lock.acquire()
        finally:
            self._waiting[name] -= 1
        try:
            yield
        finally:
            lock.release()


# ---------------------------------------------------------------------- encoding
def sse(data: dict[str, Any]) -> bytes:
    """One Server-Sent Event carrying ``data`` as JSON (ASCII: no raw line breaks or
    surrogates can reach the wire)."""
    return b"data: " + json.dumps(data, separators=(",", ":")).encode("ascii") + b"\n\n"


def usage(stats: GenerationStats) -> dict[str, int]:
    return {
        "prompt_tokens": stats.prompt_tokens,
        "completion_tokens": stats.completion_tokens,
        "total_tokens": stats.prompt_tokens + stats.completion_tokens,
    }


def finish_reason(stats: GenerationStats) -> str:
    return "length" if stats.finish_reason == "length" else "stop"


def chunk(
    ident: str, created: int, model: str, delta: dict[str, str], reason: str | None
) -> dict[str, Any]:
    return {
        "id": ident,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": reason}],
    }


def _error_response(error: ApiError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=headers)


def api_error_of(exc: BaseException) -> ApiError:
    """What the client is told about ``exc`` (Keiko's own messages are for people; anything
    else is logged and reported without detail)."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ModelUnavailableError | AgentError | ModelLoadError):
        return ApiError(503, exc.message, type="server_error", code="model_unavailable")
    if isinstance(exc, KeikoError):
        return ApiError(500, exc.message, type="server_error", code="generation_failed")
    log.error("serve: a request failed", exc_info=exc)
    return ApiError(500, "Keiko failed to answer; see its log.", type="server_error")


# ---------------------------------------------------------------------- the guard
class Guard:
    """Host check, then bearer token, before anything else sees a request."""

    def __init__(self, app: ASGIApp, token: str, port: int) -> None:
        self.app = app
        self._token = token.encode("utf-8")
        self._hosts = {f"127.0.0.1:{port}".encode(), f"localhost:{port}".encode()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":  # websockets: none here
            await send({"type": "websocket.close", "code": 1008})
            return
        hosts = [v for k, v in scope["headers"] if k == b"host"]
        if len(hosts) != 1 or hosts[0].lower() not in self._hosts:
            error = ApiError(
                421, "This server answers only 127.0.0.1 and localhost.", code="invalid_host"
            )
            await _error_response(error)(scope, receive, send)
            return
        if not self._authorized(scope):
            error = ApiError(401, "Missing or wrong bearer token.", code="invalid_api_key")
            headers = {"WWW-Authenticate": "Bearer"}
            await _error_response(error, headers)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        values = [v for k, v in scope["headers"] if k == b"authorization"]
        if len(values) != 1:
            return False
        scheme, _, credential = values[0].strip().partition(b" ")
        ok = hmac.compare_digest(credential.strip(), self._token)
        return ok and scheme.lower() == b"bearer"


# ---------------------------------------------------------------------- the routes
class _Api:
    def __init__(self, options: ServeOptions) -> None:
        self.options = options
        self.gate = ModelGate(options.max_waiting)

    def _names(self) -> list[str]:
        names = list(dict.fromkeys([*self.options.models(), self.options.default_model()]))
        return [n for n in names if n]

    def _model_name(self, requested: str) -> str:
        if not requested:
            return self.options.default_model()
        if requested in self._names():
            return requested
        raise ApiError(
            404,
            f"The model {requested[:80]!r} does not exist here; GET /v1/models lists them.",
            code="model_not_found",
            param="model",
        )

    async def models(self, request: Request) -> Response:
        data = [_model_entry(name) for name in self._names()]
        return JSONResponse({"object": "list", "data": data})

    async def model(self, request: Request) -> Response:
        name = request.path_params["model"]
        if name not in self._names():
            error = ApiError(404, "No such model.", code="model_not_found", param="model")
            return _error_response(error)
        return JSONResponse(_model_entry(name))

    async def chat(self, request: Request) -> Response:
        try:
            return await self._chat(request)
        except Exception as exc:  # noqa: BLE001 - every failure is an OpenAI-style error
            return _error_response(api_error_of(exc))

    async def _chat(self, request: Request) -> Response:
        parsed = parse_chat_request(await _read_body(request), self.options.defaults())
        name = self._model_name(parsed.model)
        stack = AsyncExitStack()
        try:
            await stack.enter_async_context(self.gate.turn(name))
            model = await stack.enter_async_context(self.options.lease(parsed.model))
            generation = model.generate(parsed.messages, parsed.params)
            stack.callback(generation.cancel)  # a no-op once it ended
        except BaseException:
            await stack.aclose()
            raise
        if parsed.stream:
            return _LeasedStream(stack, _events(generation, name, parsed))
        async with stack:
            text = await _unless_disconnected(request.receive, _collect(generation))
        if text is None:
            return Response(status_code=499)  # nobody is listening
        return JSONResponse(_completion(name, text, generation.stats))


def _model_entry(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "keiko"}


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ApiError(413, f"The request body is over {MAX_BODY_BYTES:,} bytes.")
    parts, size = [], 0
    async for part in request.stream():
        size += len(part)
        if size > MAX_BODY_BYTES:
            raise ApiError(413, f"The request body is over {MAX_BODY_BYTES:,} bytes.")
        parts.append(part)
    return b"".join(parts)


async def _collect(generation: Generation) -> str:
    try:
        return "".join([piece async for piece in generation])
    finally:
        generation.cancel()


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _unless_disconnected(receive: Receive, work: Awaitable[str]) -> str | None:
    """``work``'s result, or None (``work`` cancelled) when the client disconnects first."""
    task = asyncio.ensure_future(work)
    watch = asyncio.ensure_future(_wait_disconnect(receive))
    try:
        await asyncio.wait({task, watch}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        watch.cancel()
        if not task.done():
            task.cancel()
        await asyncio.gather(task, watch, return_exceptions=True)
    if task.cancelled():
        return None
    return task.result()


def _completion(name: str, text: str, stats: GenerationStats) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{secrets.token_hex(12)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": name,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason(stats),
            }
        ],
        "usage": usage(stats),
    }


async def _events(generation: Generation, name: str, request: ChatRequest) -> AsyncIterator[bytes]:
    """The SSE stream of one completion (see the module docs). Cancelled when the client
    disconnects; the generation is cancelled with it."""
    ident, created = f"chatcmpl-{secrets.token_hex(12)}", int(time.time())
    try:
        yield sse(chunk(ident, created, name, {"role": "assistant", "content": ""}, None))
        async for piece in generation:
            if piece:
                yield sse(chunk(ident, created, name, {"content": piece}, None))
        stats = generation.stats
        yield sse(chunk(ident, created, name, {}, finish_reason(stats)))
        if request.include_usage:
            yield sse(
                {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": name,
                    "choices": [],
                    "usage": usage(stats),
                }
            )
        yield DONE
    except Exception as exc:  # noqa: BLE001 - the client is told, in the stream
        yield sse(api_error_of(exc).body())
    finally:
        generation.cancel()


class _LeasedStream(StreamingResponse):
    """A streamed reply that ends its turn and lease however it ends (finished, failed, or
    the client gone before the first byte)."""

    def __init__(self, stack: AsyncExitStack, events: AsyncIterator[bytes]) -> None:
        super().__init__(
            events,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._stack = stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._stack.aclose()


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code)
    return _error_response(ApiError(exc.status_code, str(exc.detail), code=code))


def build_app(options: ServeOptions) -> ASGIApp:
    """The guarded app (see the module docs)."""
    api = _Api(options)
    app = Starlette(
        routes=[
            Route("/v1/models", api.models, methods=["GET"]),
            Route("/v1/models/{model:path}", api.model, methods=["GET"]),
            Route("/v1/chat/completions", api.chat, methods=["POST"]),
        ],
        exception_handlers={HTTPException: _on_http_error},
    )
    return Guard(app, options.token, options.port)
