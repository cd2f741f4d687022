"""Opening a client for a configured server: stdio, streamable HTTP or in-process.

Every client is opened (and later closed) inside its server's own task by ``ServerConnection``.
Stream transports are wrapped so that the end of the server's output (a crash, an exit) calls
``on_closed`` at once, without waiting for the next tool call to notice.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TextIO, TypeVar

import anyio
import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.session import MessageHandlerFnT
from mcp.client.streamable_http import streamable_http_client
from mcp.server.mcpserver import MCPServer

from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.redaction import Redactor, is_secret_key
from keiko_desktop.mcp_tools.bounded_http import BoundedTransport
from keiko_desktop.mcp_tools.bounded_stdio import DEFAULT_MAX_MESSAGE_BYTES, bounded_stdio_client
from keiko_desktop.mcp_tools.client_hooks import ClientHooks
from keiko_desktop.mcp_tools.config import (
    BuiltinServerConfig,
    HttpServerConfig,
    ServerConfig,
    StdioServerConfig,
)
from keiko_desktop.mcp_tools.elicitation import UrlElicitations
from keiko_desktop.mcp_tools.oauth.manager import OAuthManager
from keiko_desktop.mcp_tools.reaper import ProcessReaper
from keiko_desktop.mcp_tools.secrets import SecretStore
from keiko_desktop.mcp_tools.server_log import RedactedServerLog
from keiko_desktop.mcp_tools.shell_env import LoginShellPath, resolve_command

log = logging.getLogger(__name__)

T = TypeVar("T")

BuiltinFactory = Callable[[BuiltinServerConfig], MCPServer]


class WatchedReadStream(Generic[T]):
    """A read stream that calls ``on_closed`` once when it ends or is closed."""

    def __init__(self, inner: Any, on_closed: Callable[[], None]) -> None:
        self._inner = inner
        self._on_closed = on_closed
        self._fired = False

    def _closed(self) -> None:
        if not self._fired:
            self._fired = True
            self._on_closed()

    async def receive(self) -> T:
        try:
            item: T = await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._closed()
            raise
        return item

    def __aiter__(self) -> WatchedReadStream[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        self._closed()
        await self._inner.aclose()

    async def __aenter__(self) -> WatchedReadStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        await self.aclose()
        return None


@asynccontextmanager
async def watched(transport: Any, on_closed: Callable[[], None]) -> AsyncIterator[Any]:
    async with transport as (read_stream, write_stream):
        yield WatchedReadStream[Any](read_stream, on_closed), write_stream


def stderr_tail(path: Path | None, lines: int = 3) -> str:
    """The last lines a server wrote to stderr, for error messages."""
    if path is None:
        return ""
    try:
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 4096))
            tail = fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
    kept = [one_line(line.strip(), 300) for line in tail.splitlines() if line.strip()]
    return " | ".join(kept[-lines:])


class ClientFactory:
    """Builds (and enters on ``stack``) the SDK ``Client`` for one server config."""

    def __init__(
        self,
        *,
        builtins: Mapping[str, BuiltinFactory] | None = None,
        secrets: SecretStore | None = None,
        redactor: Redactor | None = None,
        shell_path: LoginShellPath | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.builtins: dict[str, BuiltinFactory] = dict(builtins or {})
        self.secrets = secrets or SecretStore()
        self.redactor = redactor or Redactor()
        self.shell_path = shell_path or LoginShellPath()
        self.log_dir = log_dir
        self.max_message_bytes = DEFAULT_MAX_MESSAGE_BYTES
        """The longest message a stdio server may send; longer replies become an error."""
        self._server_logs: dict[str, RedactedServerLog] = {}
        self.hooks = ClientHooks()
        """Callbacks each server's client is lent (elicitation, sampling, logging ...)."""
        self.oauth: OAuthManager | None = None
        """OAuth for HTTP servers (``mcp_tools.oauth``); set by ``setup``."""
        self.url_elicitations: UrlElicitations | None = None
        """Links a server needs visited before a call (-32042); set by ``setup``."""

    def stderr_log(self, name: str) -> Path | None:
        return self.log_dir / f"mcp-{name}.log" if self.log_dir is not None else None

    async def stderr_settled(self, name: str, time_limit: float = 1.0) -> None:
        """Wait (off the loop, at most ``time_limit``) until what the server ``name`` wrote
        to stderr before it exited is in its log, so an error message can quote it."""
        server_log = self._server_logs.get(name)
        if server_log is not None:
            await asyncio.to_thread(server_log.join, time_limit)

    async def open(
        self,
        config: ServerConfig,
        stack: AsyncExitStack,
        on_closed: Callable[[], None],
        message_handler: MessageHandlerFnT,
        mode: str = "auto",
    ) -> Client:
        target: Any
        reaper: ProcessReaper | None = None
        server_log: RedactedServerLog | None = None
        if isinstance(config, BuiltinServerConfig):
            factory = self.builtins.get(config.name)
            if factory is None:
                raise LookupError(f"no built-in server named {config.name!r}")
            target = factory(config)
        elif isinstance(config, HttpServerConfig):
            target = await self._http(config, stack, on_closed)
        else:
            reaper = ProcessReaper()
            server_log = self._server_log(config.name, stack)
            errlog = server_log.writer if server_log is not None else self._devnull(stack)
            target = await self._stdio(config, stack, on_closed, reaper, errlog)
        client = Client(
            target,
            cache=None,
            message_handler=message_handler,
            mode=mode,
            **self.hooks.client_kwargs(config.name),
        )
        try:
            await stack.enter_async_context(client)
        except Exception:
            if self.oauth is not None:  # a 401 only a person can answer: say so
                self.oauth.raise_if_needed(config.name)
            raise
        await self.hooks.opened(config.name, client)
        if reaper is not None:
            reaper.find()
            stack.callback(reaper.snapshot)
        if server_log is not None:  # the server holds its own end of the stderr pipe now
            server_log.close_writer()
        return client

    async def _resolve(self, values: Mapping[str, str]) -> dict[str, str]:
        """Values with keychain references resolved; every secret among them (resolved, or
        written in plain text under a secret-looking name) is handed to the redactor."""
        if not values:
            return {}
        resolved = await asyncio.to_thread(self.secrets.resolve_map, values, self.redactor)
        for key, value in resolved.items():
            if is_secret_key(key):
                self.redactor.add_secret(value)
                scheme, _, credential = value.partition(" ")  # "Bearer <token>"
                if credential and scheme.isalpha():
                    self.redactor.add_secret(credential)
        return resolved

    async def _stdio(
        self,
        config: StdioServerConfig,
        stack: AsyncExitStack,
        on_closed: Callable[[], None],
        reaper: ProcessReaper,
        errlog: TextIO,
    ) -> Any:
        env = await self._resolve(config.env)
        path = await self.shell_path.get()
        env["PATH"] = path
        command = resolve_command(config.command, path)
        env.update(reaper.env())
        # LIFO: reap runs after the client has closed; the snapshot (pushed in open(), once
        # the client is entered) runs just before it closes.
        stack.push_async_callback(reaper.reap)
        params = StdioServerParameters(
            command=command, args=list(config.args), env=env, cwd=config.cwd
        )
        return watched(bounded_stdio_client(params, errlog, self.max_message_bytes), on_closed)

    async def _http(
        self, config: HttpServerConfig, stack: AsyncExitStack, on_closed: Callable[[], None]
    ) -> Any:
        headers = await self._resolve(config.headers)
        auth = await self.oauth.auth_for(config) if self.oauth is not None else None
        http = httpx2.AsyncClient(
            headers=headers,
            timeout=httpx2.Timeout(30.0, read=300.0),
            transport=BoundedTransport(self.max_message_bytes),
            auth=auth,
        )
        stack.push_async_callback(http.aclose)
        return watched(streamable_http_client(config.url, http_client=http), on_closed)

    def _server_log(self, name: str, stack: AsyncExitStack) -> RedactedServerLog | None:
        """The server's stderr: a pipe into its redacted, owner-only log (``server_log``)."""
        path = self.stderr_log(name)
        if path is None:
            return None
        server_log = RedactedServerLog(path, self.redactor)
        stack.callback(server_log.close_writer)  # when the start fails before open() closes it
        self._server_logs[name] = server_log
        return server_log

    def _devnull(self, stack: AsyncExitStack) -> TextIO:
        fh = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - the stack closes it
        stack.callback(fh.close)
        return fh
