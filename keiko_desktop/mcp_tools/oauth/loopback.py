"""The loopback redirect of a browser sign-in (RFC 8252 §7.3): a tiny HTTP listener on
127.0.0.1 that waits for ``GET /callback?code=...&state=...``.

Bounded: one request line and headers of at most ``MAX_REQUEST_BYTES``, ``READ_TIMEOUT`` to send
them, ``SIGN_IN_TIMEOUT`` in all. A request whose ``state`` is not the one Keiko sent is refused
(400) and the listener keeps waiting, so a stray page cannot end a sign-in; an ``error`` with the
right state ends it. The browser gets a plain "You can close this tab" page. ``aclose`` (or
cancelling ``wait``) closes the port.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import secrets
from urllib.parse import parse_qs, urlsplit

from mcp.shared.auth import AuthorizationCodeResult

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line

log = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 16_384
READ_TIMEOUT = 10.0
SIGN_IN_TIMEOUT = 300.0
CALLBACK_PATH = "/callback"

_DONE = "Signed in to {server}. You can close this tab and go back to Keiko."
_FAILED = "Keiko could not sign in to {server}: {why}. You can close this tab."


class SignInError(KeikoError):
    """The browser step of a sign-in failed, was refused or took too long."""


def _page(status: str, text: str) -> bytes:
    body = (
        "<!doctype html><html><head><meta charset='utf-8'><title>Keiko</title></head>"
        f"<body><p>{html.escape(text)}</p></body></html>"
    ).encode()
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n"
    )
    return head.encode("ascii") + body


class LoopbackListener:
    """``async with LoopbackListener(server) as listener``: ``listener.redirect_uri`` to register,
    ``expect(state)`` once the authorization URL is built, then ``await wait()``."""

    def __init__(self, server: str, port: int = 0, timeout: float = SIGN_IN_TIMEOUT) -> None:
        self.server_name = one_line(server, 64)
        self.preferred_port = port
        self.timeout = timeout
        self.port = 0
        self._server: asyncio.Server | None = None
        self._state: str | None = None
        self._result: asyncio.Future[AuthorizationCodeResult] | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    async def start(self) -> None:
        self._result = asyncio.get_running_loop().create_future()
        try:
            self._server = await asyncio.start_server(
                self._serve, "127.0.0.1", self.preferred_port, limit=MAX_REQUEST_BYTES
            )
        except OSError:
            if not self.preferred_port:
                raise
            self._server = await asyncio.start_server(
                self._serve, "127.0.0.1", 0, limit=MAX_REQUEST_BYTES
            )
        self.port = self._server.sockets[0].getsockname()[1]

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
        if self._result is not None and not self._result.done():
            self._result.cancel()

    async def __aenter__(self) -> LoopbackListener:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def expect(self, state: str) -> None:
        """Wait for a callback with ``state`` (each authorization, a step-up too, has its own)."""
        self._state = state
        if self._result is None or self._result.done():
            self._result = asyncio.get_running_loop().create_future()

    async def wait(self) -> AuthorizationCodeResult:
        assert self._result is not None, "start() first"
        try:
            async with asyncio.timeout(self.timeout):
                return await asyncio.shield(self._result)
        except TimeoutError:
            raise SignInError(
                f"Nobody finished signing in to {self.server_name} within "
                f"{self.timeout / 60:.0f} minutes.",
                "Try again, and finish the sign-in in the browser.",
            ) from None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(READ_TIMEOUT):
                head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            head = b""
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        try:
            writer.write(self._answer(head))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    def _answer(self, head: bytes) -> bytes:
        if not head or len(head) > MAX_REQUEST_BYTES:
            return _page("431 Request Header Fields Too Large", "The request is too large.")
        line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = line.split(" ")
        if len(parts) != 3 or parts[0] != "GET":
            return _page("405 Method Not Allowed", "Only GET is answered here.")
        target = urlsplit(parts[1])
        if target.path != CALLBACK_PATH:
            return _page("404 Not Found", "Nothing here.")
        query = {k: v[0] for k, v in parse_qs(target.query).items() if v}
        state = query.get("state")
        if (
            self._state is None
            or state is None
            or not secrets.compare_digest(state.encode(), self._state.encode())
        ):
            log.warning(
                "sign-in to %s: a callback with a wrong state was refused", self.server_name
            )
            return _page(
                "400 Bad Request", "This sign-in link is not the one Keiko is waiting for."
            )
        assert self._result is not None
        if self._result.done():
            return _page("200 OK", _DONE.format(server=self.server_name))
        if "error" in query:
            why = one_line(query.get("error_description") or query["error"], 200)
            self._result.set_exception(
                SignInError(
                    f"The authorization server refused the sign-in to {self.server_name}: {why}.",
                    "Try again; if it keeps failing, check the server's OAuth settings.",
                )
            )
            return _page("200 OK", _FAILED.format(server=self.server_name, why=why))
        code = query.get("code")
        if not code:
            return _page("400 Bad Request", "The link carries no authorization code.")
        self._result.set_result(
            AuthorizationCodeResult(code=code, state=state, iss=query.get("iss"))
        )
        return _page("200 OK", _DONE.format(server=self.server_name))
