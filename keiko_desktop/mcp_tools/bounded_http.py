"""An HTTP transport for streamable-HTTP servers that caps a JSON reply while it is read.

The SDK bounds each server-sent event (1 MiB) but reads a plain JSON reply whole
(``response.aread()``), so a remote server could send a reply of any size. ``BoundedTransport``
wraps every ``application/json`` response body in a counter that stops reading past
``limit`` bytes with a ``StreamError``, which the SDK turns into an error for that request.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2

from keiko_desktop.mcp_tools.bounded_stdio import DEFAULT_MAX_MESSAGE_BYTES


class ReplyTooLargeError(httpx2.StreamError):
    """A server's reply went past the limit; what was read of it is dropped."""


class _CappedStream(httpx2.AsyncByteStream):
    def __init__(self, inner: httpx2.AsyncByteStream, limit: int) -> None:
        self._inner = inner
        self._limit = limit

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._limit:
                raise ReplyTooLargeError(
                    f"the server's reply was larger than {self._limit // 1_000_000} MB and "
                    "was dropped"
                )
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class BoundedTransport(httpx2.AsyncBaseTransport):
    """``httpx2.AsyncHTTPTransport`` with JSON reply bodies capped at ``limit`` bytes."""

    def __init__(
        self,
        limit: int = DEFAULT_MAX_MESSAGE_BYTES,
        inner: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        self.limit = limit
        self._inner = inner or httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await self._inner.handle_async_request(request)
        content_type = response.headers.get("content-type", "").lower()
        if content_type.startswith("application/json") and isinstance(
            response.stream, httpx2.AsyncByteStream
        ):
            response.stream = _CappedStream(response.stream, self.limit)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()
