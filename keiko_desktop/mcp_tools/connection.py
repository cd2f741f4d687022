"""One server, one long-lived task: open the client, serve, close it in the same task.

anyio's cancel scopes must be left by the task that entered them, so ``ServerConnection.run``
opens the SDK client, waits on a wake-up event (stop, restart, transport closed, tool list
changed) and closes the client itself. Tool calls are made on the open session from the caller's
task, each with its own time limit; a hung server times out that call and stays up. A server
that dies is restarted with exponential backoff, a limited number of times.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import httpx2
import mcp.types as types
from mcp import Client, MCPError
from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.elicitation import paused_while_answering
from keiko_desktop.core.tools.errors import ServerUnavailableError, ToolCallError, ToolTimeoutError
from keiko_desktop.core.tools.events import McpServerStatusChanged, McpToolsChanged
from keiko_desktop.core.tools.live_calls import current_live_call
from keiko_desktop.core.tools.models import ServerStatus, ToolResult, ToolSpec, tool_name_problem
from keiko_desktop.mcp_tools.config import BuiltinServerConfig, ServerConfig
from keiko_desktop.mcp_tools.convert import tool_result, tool_spec
from keiko_desktop.mcp_tools.elicitation import LinkVisitNeededError
from keiko_desktop.mcp_tools.transport import ClientFactory, stderr_tail

log = logging.getLogger(__name__)

MAX_TOOLS_PER_SERVER = 1_000


@dataclass(frozen=True)
class PoolOptions:
    """Time limits and restart policy. Seconds throughout."""

    call_timeout: float = 60.0
    start_timeout: float = 30.0
    list_timeout: float = 15.0
    max_restarts: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    stable_after: float = 30.0
    max_result_chars: int = 100_000
    max_starting: int = 8
    """Servers starting at the same time; the rest wait their turn (2,000 hanging servers
    must not start at once)."""
    protocol: str = "auto"
    """``auto`` (try 2026-07-28, fall back to the 2025 handshake) or ``legacy`` (handshake only)."""


class ServerConnection:
    """The task and the session of one server."""

    def __init__(
        self,
        config: ServerConfig,
        factory: ClientFactory,
        bus: EventBus,
        options: PoolOptions,
        start_slots: asyncio.Semaphore | None = None,
    ) -> None:
        self.config = config
        self._start_slots = start_slots or asyncio.Semaphore(options.max_starting)
        self.name = config.name
        self.builtin = isinstance(config, BuiltinServerConfig)
        self.status: ServerStatus = "stopped"
        self.detail = "disabled" if config.disabled else ""
        self.tools: tuple[ToolSpec, ...] = ()
        self._factory = factory
        self._bus = bus
        self._options = options
        self._client: Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._stopping = False
        self._restart = False
        self._closed = False
        self._tools_dirty = False
        self._ready_at: float | None = None
        self.restarts = 0
        self.refused: tuple[str, ...] = ()
        """Notes on tools the server offered and Keiko refused (unsafe names), escaped."""
        self.listeners: list[Callable[[Any], None]] = []
        """Called with each message the server sends outside a request (notifications)."""

    # ---------------------------------------------------------------- control
    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._task = asyncio.create_task(self.run(), name=f"mcp-server-{self.name}")

    async def stop(self, time_limit: float = 10.0) -> None:
        """Ask the task to close its client, and wait for it (cancel it past ``time_limit``)."""
        task = self._task
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        if self.status == "starting":  # do not wait out a slow start: unwind it now
            task.cancel()
        done, _ = await asyncio.wait({task}, timeout=time_limit)
        if not done:
            log.warning("server %s did not stop within %.0f s; cancelling", self.name, time_limit)
            task.cancel()
            await asyncio.wait({task}, timeout=5.0)
        self._task = None

    def restart(self) -> None:
        """Close and reopen the session (and start over the restart count). The status is
        ``starting`` from now on, so a ``wait_settled`` right after waits for the new session."""
        self._restart = True
        self.restarts = 0
        self._set_status("starting")
        self._wake.set()

    def stderr_log(self) -> Path | None:
        return None if self.builtin else self._factory.stderr_log(self.name)

    # ---------------------------------------------------------------- the task
    def _set_status(self, status: ServerStatus, detail: str = "") -> None:
        if (status, detail) == (self.status, self.detail):
            return
        self.status, self.detail = status, detail
        log.info("MCP server %s: %s %s", self.name, status, detail)
        self._bus.publish(McpServerStatusChanged(self.name, status, detail))

    def _set_tools(self, tools: tuple[ToolSpec, ...]) -> None:
        self.tools = tools
        self._bus.publish(McpToolsChanged(self.name, tools))

    async def run(self) -> None:
        failures = 0
        try:
            while not self._stopping:
                self._restart = False
                self._set_status("starting")
                permanent = False
                try:
                    reason = await self._serve_once()
                except KeikoError as exc:  # bad command, missing secret: retrying will not help
                    reason, permanent = exc.message, True
                except Exception as exc:  # noqa: BLE001 - any failure to start is a status
                    await self._factory.stderr_settled(self.name)
                    reason = self._describe(exc)
                if self._stopping:
                    break
                if self._restart:
                    failures = 0
                    continue
                if self._ready_at is not None and (
                    time.monotonic() - self._ready_at >= self._options.stable_after
                ):
                    failures = 0
                failures += 1
                if permanent or failures > self._options.max_restarts:
                    gave_up = "" if permanent else f" (gave up after {failures - 1} restarts)"
                    self._set_status("error", f"{reason}{gave_up}")
                    await self._wait_for_wake()
                    failures = 0
                    continue
                delay = min(
                    self._options.backoff_max, self._options.backoff_initial * 2 ** (failures - 1)
                )
                self.restarts += 1
                self._set_status("error", f"{reason}; restarting in {delay:.1f} s")
                await self._wait_for_wake(delay)
        finally:
            self._set_status("stopped", "disabled" if self.config.disabled else "")

    async def _wait_for_wake(self, delay: float | None = None) -> None:
        self._wake.clear()
        try:
            async with asyncio.timeout(delay):
                await self._wake.wait()
        except TimeoutError:
            pass

    def _describe(self, exc: BaseException) -> str:
        while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            exc = exc.exceptions[-1]  # anyio task groups wrap the real cause
        if isinstance(exc, TimeoutError):
            text = f"did not start within {self._options.start_timeout:.0f} s"
        elif isinstance(exc, MCPError):
            text = f"protocol error: {exc.error.message}"
        elif isinstance(exc, OSError):
            text = f"could not start: {exc.strerror or exc}"
        else:
            text = f"failed: {type(exc).__name__}: {exc}"
        tail = stderr_tail(self.stderr_log())
        return self._factory.redactor.redact_text(f"{text} ({tail})" if tail else text)

    def _on_closed(self) -> None:
        self._closed = True
        self._wake.set()

    async def _on_message(self, message: Any) -> None:
        for listener in list(self.listeners):
            listener(message)
        if isinstance(message, types.ToolListChangedNotification):
            self._tools_dirty = True
            self._wake.set()
        elif isinstance(message, Exception):
            text = self._factory.redactor.redact_text(str(message))[:200]
            log.warning("server %s sent something unreadable: %s", self.name, text)

    async def _serve_once(self) -> str | None:
        """Open, serve until stopped or lost, close. Returns why it ended (None: stopped)."""
        self._closed = False
        self._tools_dirty = False
        self._ready_at = None
        async with AsyncExitStack() as stack:
            async with self._start_slots, asyncio.timeout(self._options.start_timeout):
                client = await self._factory.open(
                    self.config, stack, self._on_closed, self._on_message, self._options.protocol
                )
                tools = await self._fetch_tools(client)
            try:
                async with anyio.create_task_group() as tg:
                    caps = client.server_capabilities.tools
                    modern = client.protocol_version in MODERN_PROTOCOL_VERSIONS
                    if modern and caps is not None and caps.list_changed:
                        # Subscribed before "ready", so no change after it can be missed.
                        with anyio.move_on_after(self._options.list_timeout):
                            await tg.start(self._listen, client)
                    self._client = client
                    self._ready_at = time.monotonic()
                    self._set_tools(tools)
                    self._set_status("ready")
                    reason = await self._watch(client)
                    tg.cancel_scope.cancel()
            finally:
                self._client = None
                self._set_tools(())
        return reason

    async def _watch(self, client: Client) -> str | None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._stopping or self._restart:
                return None
            if self._closed:
                await self._factory.stderr_settled(self.name)
                return self._describe_exit()
            if self._tools_dirty:
                self._tools_dirty = False
                try:
                    async with asyncio.timeout(self._options.list_timeout):
                        self._set_tools(await self._fetch_tools(client))
                except (TimeoutError, MCPError, ValidationError) as exc:
                    log.warning("server %s: refreshing tools failed: %s", self.name, exc)

    def _describe_exit(self) -> str:
        tail = stderr_tail(self.stderr_log())
        text = f"the server exited ({tail})" if tail else "the server exited"
        return self._factory.redactor.redact_text(text)

    async def _listen(
        self, client: Client, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """2026-07-28 servers announce tool changes on a ``subscriptions/listen`` stream."""
        started = False
        try:
            async with client.listen(tools_list_changed=True) as subscription:
                task_status.started()
                started = True
                async for _event in subscription:
                    self._tools_dirty = True
                    self._wake.set()
        except (ListenNotSupportedError, SubscriptionLost, MCPError) as exc:
            log.info("server %s: no tool-change stream (%s)", self.name, exc)
            if not started:
                task_status.started()

    async def _fetch_tools(self, client: Client) -> tuple[ToolSpec, ...]:
        """The server's tools. A tool with an unsafe name is refused (kept out, with a note in
        ``refused``); one with a broken schema is kept, marked unusable."""
        tools: list[types.Tool] = []
        cursor: str | None = None
        for _ in range(100):
            page = await client.list_tools(cursor=cursor)
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None or len(tools) >= MAX_TOOLS_PER_SERVER:
                break
        refused: list[str] = []
        specs: dict[str, ToolSpec] = {}
        for tool in tools[:MAX_TOOLS_PER_SERVER]:
            problem = tool_name_problem(tool.name)
            if problem is None and tool.name in specs:
                problem = "another tool of this server has the same name"
            if problem is not None:
                refused.append(f"refused a tool named {one_line(repr(tool.name), 80)}: {problem}")
                continue
            specs[tool.name] = tool_spec(
                self.name, tool, builtin=self.builtin, identity=self.config.identity
            )
        if len(tools) > MAX_TOOLS_PER_SERVER:
            refused.append(f"only the first {MAX_TOOLS_PER_SERVER} tools are used")
        for note in refused:
            log.warning("MCP server %s: %s", self.name, note)
        self.refused = tuple(refused)
        return tuple(specs.values())

    # ---------------------------------------------------------------- calls
    def _unavailable(self) -> ServerUnavailableError:
        detail = f" ({self.detail})" if self.detail else ""
        return ServerUnavailableError(
            f"The MCP server '{self.name}' is {self.status}{detail}.",
            "See `keiko mcp list`; fix its entry in mcp.json or enable it in Settings > Tools.",
        )

    def ready_client(self) -> Client:
        """The open SDK client (resources, prompts: ``mcp_tools/resources.py``)."""
        if self._client is None or self.status != "ready":
            raise self._unavailable()
        return self._client

    async def call(
        self, tool: str, arguments: dict[str, Any], time_limit: float | None = None
    ) -> ToolResult:
        urls, client = self._factory.url_elicitations, self._client
        if urls is None or client is None:
            return await self._call(tool, arguments, time_limit)
        notified = client.protocol_version not in MODERN_PROTOCOL_VERSIONS  # can say "done"
        attempt = functools.partial(self._call, tool, arguments, time_limit)
        return await urls.call(self.name, self.listeners, attempt, notified=notified)

    async def _call(
        self, tool: str, arguments: dict[str, Any], time_limit: float | None = None
    ) -> ToolResult:
        client = self._client
        if client is None or self.status != "ready":
            raise self._unavailable()
        limit = time_limit if time_limit is not None else self._options.call_timeout
        name = f"{self.name}.{tool}"
        try:
            # our limit, not the SDK's (which nothing can move): a question to the user
            # moves it on; its cancellation still sends notifications/cancelled
            async with (
                asyncio.timeout(limit) as scope,
                paused_while_answering(scope, client.session),
            ):
                live = current_live_call()  # its progress goes to the call's card
                result = await client.call_tool(
                    tool,
                    arguments,
                    progress_callback=live.on_progress if live is not None else None,
                )
        except TimeoutError:
            raise self._timeout(name, limit) from None
        except MCPError as exc:
            if exc.code == types.REQUEST_TIMEOUT:
                raise self._timeout(name, limit) from None
            if exc.code == types.URL_ELICITATION_REQUIRED:  # links for the user first
                raise LinkVisitNeededError(name, exc.error) from None
            if exc.code == types.CONNECTION_CLOSED:
                self._on_closed()
                raise ServerUnavailableError(
                    f"The MCP server '{self.name}' stopped while running {tool}.",
                    "It is being restarted; try again in a moment.",
                ) from None
            if self._factory.oauth is not None:  # refused for want of a (wider) sign-in
                self._factory.oauth.raise_if_needed(self.name)
            raise ToolCallError(
                f"{name} failed: {exc.error.message}", "Check the tool's arguments."
            ) from None
        except ValidationError as exc:
            raise ToolCallError(
                f"{name} returned a malformed result ({exc.error_count()} problems).",
                "The server does not follow the MCP spec; report it to its author.",
            ) from None
        except (OSError, httpx2.TransportError) as exc:
            self._on_closed()
            raise ToolCallError(
                f"{name} could not reach its server: {exc}", "Check that the server is running."
            ) from None
        return tool_result(result, self._options.max_result_chars)

    def _timeout(self, name: str, limit: float) -> ToolTimeoutError:
        return ToolTimeoutError(
            f"{name} did not answer within {limit:.0f} s.",
            "The server is still running; try again, or raise the time limit.",
        )
