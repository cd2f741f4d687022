"""HTTP to an OpenAI-compatible endpoint: JSON requests, the SSE stream of a reply, and what
each failure means, on the event loop (``httpx2.AsyncClient``; nothing blocks).

Everything the server sends is data and bounded: a JSON body at most ``limit`` bytes, an SSE
line at most ``MAX_LINE_BYTES``, a whole stream at most ``MAX_STREAM_BYTES``; the endpoint's
timeout applies to connecting and to every wait for the next bytes. A failure is an
``EndpointRequestError`` whose ``kind`` says what happened (refused, dns, timeout, unauthorized, …)
and whose message is a plain sentence naming the endpoint; the callers turn it into the
``KeikoError`` their context needs.

The API key is read when a request is made and goes only into its ``Authorization`` header:
never into a message, a log line or an exception. Text the server sends back (an error
message) has the key cut out in case it echoes it, and is put on one line and shortened.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal

import httpx2

from keiko_desktop.core.endpoints import Endpoint
from keiko_desktop.core.safe_text import one_line

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 1 << 20
"""An SSE line longer than this (1 MiB) ends the stream as a bad reply."""
MAX_STREAM_BYTES = 64 << 20
"""A streamed reply of more than 64 MiB (SSE framing included) is cut."""
MAX_JSON_BYTES = 8 << 20
MAX_ERROR_BYTES = 64 << 10
RETRY_AFTER_LIMIT = 10.0
"""A 429 asking to wait at most this many seconds is waited for once, then retried."""
SERVER_TEXT_LIMIT = 300

FailureKind = Literal[
    "refused",
    "dns",
    "timeout",
    "network",
    "unauthorized",
    "not_found",
    "rate_limited",
    "server",
    "rejected",
    "bad_reply",
]
UNREACHABLE: frozenset[str] = frozenset(
    {"refused", "dns", "timeout", "network", "rate_limited", "server"}
)
"""Kinds that mean the model could not answer now (another model may)."""


class EndpointRequestError(Exception):
    """A request to an endpoint failed. ``message`` is a plain sentence without the API key."""

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: FailureKind = kind
        self.message = message
        self.status = status
        self.retry_after = retry_after


def scrub(text: str, key: str | None) -> str:
    """``text`` without ``key`` in it (a server may echo the key it refused)."""
    return text.replace(key, "***") if key else text


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); None if absent
    or unreadable."""
    if not value:
        return None
    value = value.strip()[:64]
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return max(0.0, min(seconds, 86_400.0))


def server_message(body: bytes, key: str | None) -> str:
    """The error text of an error response (``{"error": {"message": …}}``, ``{"detail": …}``
    or plain text), on one line, shortened, without the key."""
    text = body.decode("utf-8", "replace")
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        error = data.get("error", data.get("detail", data.get("message")))
        if isinstance(error, dict):
            error = error.get("message", error)
        if error is not None:
            text = error if isinstance(error, str) else json.dumps(error)[:2000]
    return one_line(scrub(text, key), SERVER_TEXT_LIMIT)


def _transport_failure(where: str, exc: Exception, timeout: float) -> EndpointRequestError:
    if isinstance(exc, httpx2.ConnectTimeout | httpx2.PoolTimeout):
        return EndpointRequestError(
            "timeout", f"{where} did not accept a connection within {timeout:g} s."
        )
    if isinstance(exc, httpx2.TimeoutException):
        return EndpointRequestError("timeout", f"{where} sent nothing for {timeout:g} s.")
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return EndpointRequestError("dns", f"{where}: its host name cannot be found (DNS).")
        if isinstance(cause, ConnectionRefusedError):
            return EndpointRequestError("refused", f"{where} refused the connection.")
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx2.ConnectError):
        return EndpointRequestError("network", f"{where} cannot be reached.")
    return EndpointRequestError("network", f"{where}: the connection broke.")


def status_failure(
    where: str, status: int, body: bytes, key: str | None, retry_after: float | None
) -> EndpointRequestError:
    """What an error status means; ``body`` is the (bounded) error response."""
    said = server_message(body, key)
    said_part = f": {said}" if said else "."
    if status in (401, 403):
        return EndpointRequestError(
            "unauthorized", f"{where} refused the API key (HTTP {status}).", status=status
        )
    if status == 404:
        return EndpointRequestError(
            "not_found", f"{where} answered HTTP 404{said_part}", status=status
        )
    if status == 429:
        return EndpointRequestError(
            "rate_limited",
            f"{where} is busy (HTTP 429, too many requests).",
            status=status,
            retry_after=retry_after,
        )
    if status >= 500:
        return EndpointRequestError(
            "server", f"{where} failed (HTTP {status}){said_part}", status=status
        )
    return EndpointRequestError(
        "rejected", f"{where} refused the request (HTTP {status}){said_part}", status=status
    )


class SSEStream:
    """The JSON events of one streamed reply. Iterate once; ``done`` is True when the server
    sent ``[DONE]``. Raises ``EndpointRequestError`` (status, transport, bad line)."""

    def __init__(self, client: OpenAIClient, path: str, body: dict[str, Any]) -> None:
        self._client = client
        self._path = path
        self._body = body
        self.done = False
        self.bytes_read = 0

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._events()

    async def _events(self) -> AsyncIterator[dict[str, Any]]:
        client = self._client
        where = client.where
        key = client.api_key()
        async with client.open_stream(self._path, self._body, key) as response:
            buffer = b""
            data: list[bytes] = []
            try:
                async for chunk in response.aiter_bytes():
                    self.bytes_read += len(chunk)
                    if self.bytes_read > MAX_STREAM_BYTES:
                        raise EndpointRequestError(
                            "bad_reply",
                            f"{where} sent more than {MAX_STREAM_BYTES >> 20} MiB in one reply.",
                        )
                    scan = len(buffer)  # what is held has no newline: search the new bytes
                    buffer += chunk
                    start = 0
                    while True:
                        end = buffer.find(b"\n", scan)
                        if end < 0 or end - start > MAX_LINE_BYTES:
                            break
                        line = buffer[start:end].rstrip(b"\r")
                        start = scan = end + 1
                        if line:
                            self._field(line, data)
                            continue
                        if data:  # a blank line ends an event
                            event = self._event(b"\n".join(data))
                            data.clear()
                            if event is None:
                                return
                            yield event
                    buffer = buffer[start:]
                    if len(buffer) > MAX_LINE_BYTES:
                        raise EndpointRequestError(
                            "bad_reply", f"{where} sent a line longer than 1 MiB."
                        )
            except httpx2.TransportError as exc:
                raise _transport_failure(where, exc, client.endpoint.timeout) from None
            if buffer.strip():
                self._field(buffer.rstrip(b"\r"), data)
            if data:  # the last event without its blank line: still an event
                event = self._event(b"\n".join(data))
                if event is not None:
                    yield event

    @staticmethod
    def _field(line: bytes, data: list[bytes]) -> None:
        if line.startswith(b"data:"):
            value = line[5:]
            data.append(value[1:] if value.startswith(b" ") else value)
        # "event:", "id:", "retry:" and ":" comments carry nothing a reply needs

    def _event(self, payload: bytes) -> dict[str, Any] | None:
        """The event's JSON; None for ``[DONE]``."""
        if payload.strip() == b"[DONE]":
            self.done = True
            return None
        where = self._client.where
        try:
            event = json.loads(payload)
        except ValueError:
            raise EndpointRequestError(
                "bad_reply", f"{where} sent an event that is not JSON."
            ) from None
        if not isinstance(event, dict):
            raise EndpointRequestError(
                "bad_reply", f"{where} sent an event that is not a JSON object."
            )
        error = event.get("error")
        if error is not None and "choices" not in event:
            said = server_message(json.dumps(event).encode(), self._client.api_key())
            raise EndpointRequestError("server", f"{where} reported an error mid-reply: {said}")
        return event


class OpenAIClient:
    """One endpoint's HTTP client. Its ``httpx2.AsyncClient`` is made on first use in the
    running loop (and again if a later call runs in another loop)."""

    def __init__(self, endpoint: Endpoint, api_key: Callable[[], str | None]) -> None:
        self.endpoint = endpoint
        self._api_key = api_key
        self._http: httpx2.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def where(self) -> str:
        return f"The endpoint {self.endpoint.name} ({self.endpoint.base_url})"

    def api_key(self) -> str | None:
        try:
            key = self._api_key()
        except Exception as exc:  # noqa: BLE001 - a failing keychain is no key, said in the log
            log.warning("no API key for endpoint %s: %s", self.endpoint.name, type(exc).__name__)
            return None
        return key or None

    def _client(self) -> httpx2.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._http is None or self._loop is not loop or self._http.is_closed:
            t = self.endpoint.timeout
            self._http = httpx2.AsyncClient(
                timeout=httpx2.Timeout(t, connect=t, read=t, write=t, pool=t),
                limits=httpx2.Limits(max_connections=16, max_keepalive_connections=4),
                follow_redirects=False,
            )
            self._loop = loop
        return self._http

    def _headers(self, key: str | None, stream: bool = False) -> dict[str, str]:
        headers = {"Accept": "text/event-stream" if stream else "application/json"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return headers

    def _url(self, path: str) -> str:
        return f"{self.endpoint.base_url}/{path.lstrip('/')}"

    async def get_json(self, path: str, limit: int = MAX_JSON_BYTES) -> Any:
        return await self._json("GET", path, None, limit)

    async def post_json(self, path: str, body: dict[str, Any], limit: int = MAX_JSON_BYTES) -> Any:
        return await self._json("POST", path, body, limit)

    async def _json(self, method: str, path: str, body: dict[str, Any] | None, limit: int) -> Any:
        key = self.api_key()
        for attempt in (0, 1):
            try:
                request = self._client().build_request(
                    method, self._url(path), json=body, headers=self._headers(key)
                )
                response = await self._send(request)
                try:
                    if response.status_code >= 400:
                        failure = await self._status_failure(response, key)
                    else:
                        raw = await _read_bounded(response, limit, self.where)
                        try:
                            return json.loads(raw)
                        except ValueError:
                            raise EndpointRequestError(
                                "bad_reply",
                                f"{self.where} answered with something that is not JSON.",
                            ) from None
                finally:
                    await response.aclose()
            except httpx2.TransportError as exc:
                raise _transport_failure(self.where, exc, self.endpoint.timeout) from None
            if not await _wait_for_retry(failure, attempt):
                raise failure
        raise AssertionError("unreachable")

    async def _send(self, request: httpx2.Request) -> httpx2.Response:
        """Send ``request``; once more when the connection closes or resets before any
        response: a kept-alive connection the server had closed as it was reused (llama.cpp's
        server does that after a failed stream; any server after its idle timeout)."""
        try:
            return await self._client().send(request, stream=True)
        except (httpx2.RemoteProtocolError, httpx2.ReadError) as exc:
            log.debug(
                "%s: connection closed before a response (%s); sending again",
                self.endpoint.name,
                type(exc).__name__,
            )
            return await self._client().send(request, stream=True)

    def open_stream(self, path: str, body: dict[str, Any], key: str | None) -> _StreamOpener:
        return _StreamOpener(self, path, body, key)

    def stream(self, path: str, body: dict[str, Any]) -> SSEStream:
        """The events of a streamed POST to ``path``."""
        return SSEStream(self, path, body)

    async def _status_failure(
        self, response: httpx2.Response, key: str | None
    ) -> EndpointRequestError:
        try:
            body = await _read_bounded(response, MAX_ERROR_BYTES, self.where, cut=True)
        except (EndpointRequestError, httpx2.TransportError):
            body = b""
        retry = parse_retry_after(response.headers.get("retry-after"))
        return status_failure(self.where, response.status_code, body, key, retry)

    async def aclose(self) -> None:
        http, self._http = self._http, None
        if http is not None and self._loop is asyncio.get_running_loop():
            await http.aclose()


class _StreamOpener:
    """``async with``: the response of a streamed POST, its status checked (a 429 that asks
    for a short wait is waited for and tried once more)."""

    def __init__(
        self, client: OpenAIClient, path: str, body: dict[str, Any], key: str | None
    ) -> None:
        self._client = client
        self._path = path
        self._body = body
        self._key = key
        self._response: httpx2.Response | None = None

    async def __aenter__(self) -> httpx2.Response:
        client = self._client
        for attempt in (0, 1):
            try:
                http = client._client()
                request = http.build_request(
                    "POST",
                    client._url(self._path),
                    json=self._body,
                    headers=client._headers(self._key, True),
                )
                response = await client._send(request)
            except httpx2.TransportError as exc:
                raise _transport_failure(client.where, exc, client.endpoint.timeout) from None
            if response.status_code < 400:
                self._response = response
                return response
            try:
                failure = await client._status_failure(response, self._key)
            finally:
                await response.aclose()
            if not await _wait_for_retry(failure, attempt):
                raise failure
        raise AssertionError("unreachable")

    async def __aexit__(self, *exc: object) -> None:
        if self._response is not None:
            await self._response.aclose()


async def _wait_for_retry(failure: EndpointRequestError, attempt: int) -> bool:
    """Wait out a short ``Retry-After`` once; False when the failure stands."""
    wait = failure.retry_after
    if failure.kind != "rate_limited" or attempt > 0 or wait is None or wait > RETRY_AFTER_LIMIT:
        return False
    await asyncio.sleep(wait)
    return True


async def _read_bounded(
    response: httpx2.Response, limit: int, where: str, *, cut: bool = False
) -> bytes:
    """The body, at most ``limit`` bytes: more is a bad reply (or, with ``cut``, dropped)."""
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            if cut:
                parts.append(chunk[: max(0, limit - (size - len(chunk)))])
                break
            raise EndpointRequestError("bad_reply", f"{where} sent more than {limit >> 10} KiB.")
        parts.append(chunk)
    return b"".join(parts)
