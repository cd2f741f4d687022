"""Resources, templates, prompts and completions of the pool's servers (``McpContent``).

Each call is made on a ready server's open SDK client from the caller's task, with its own
time limit (a hung server fails that call, never the loop). Lists are paged and bounded
(``MAX_LISTED`` items, 50 pages); strings are cut to sane lengths; blobs are decoded from
base64 here, so the core only ever sees bytes. Subscriptions: on a 2026-07-28 connection a
``subscriptions/listen`` stream filtered to the URI; on the 2025 handshake
``resources/subscribe`` and the ``notifications/resources/updated`` the connection's message
handler passes to its ``listeners``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import logging
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import mcp.types as types
from mcp import Client, MCPError
from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from keiko_desktop.core.errors import KeikoError
from keiko_desktop.core.safe_text import one_line
from keiko_desktop.core.tools.resources import (
    MAX_COMPLETIONS,
    MAX_LISTED,
    MAX_PROMPT_CHARS,
    MAX_URI,
    Capabilities,
    CompletionRef,
    Listing,
    McpContentError,
    PromptArgument,
    PromptInfo,
    PromptMessage,
    PromptResult,
    ResourceContents,
    ResourceInfo,
    Role,
    TemplateInfo,
)
from keiko_desktop.mcp_tools.pool import ServerPool

log = logging.getLogger(__name__)

T = TypeVar("T")
MAX_PAGES = 50
MAX_CONTENTS = 20
"""Parts of one read resource kept."""
TIME_LIMIT = 15.0


def _cut(text: str | None, limit: int) -> str:
    return (text or "")[:limit]


class McpResources:
    """``core.tools.resources.McpContent`` over a ``ServerPool``."""

    def __init__(self, pool: ServerPool, time_limit: float = TIME_LIMIT) -> None:
        self.pool = pool
        self.time_limit = time_limit

    # ---------------------------------------------------------------- helpers
    def _client(self, server: str) -> Client:
        return self.pool.connection(server).ready_client()

    async def _ask(self, server: str, what: str, call: Callable[[], Awaitable[T]]) -> T:
        """``call()`` within the time limit; protocol faults become ``McpContentError``."""
        try:
            async with asyncio.timeout(self.time_limit):
                return await call()
        except TimeoutError:
            raise McpContentError(
                f"The MCP server '{server}' did not answer {what} within {self.time_limit:.0f} s.",
                "It is still running; try again in a moment.",
            ) from None
        except MCPError as exc:
            raise McpContentError(
                f"The MCP server '{server}' refused {what}: {one_line(exc.error.message, 300)}",
                "Check the name and the values, or see the server's log.",
            ) from None
        except ValidationError as exc:
            raise McpContentError(
                f"The MCP server '{server}' sent a malformed answer to {what} "
                f"({exc.error_count()} problems).",
                "The server does not follow the MCP spec; report it to its author.",
            ) from None

    def capabilities(self, server: str) -> Capabilities:
        try:
            client = self._client(server)
        except KeikoError:
            return Capabilities()
        caps = client.server_capabilities
        return Capabilities(
            resources=caps.resources is not None,
            subscribe=bool(caps.resources and caps.resources.subscribe),
            prompts=caps.prompts is not None,
            completions=caps.completions is not None,
        )

    def servers(self) -> list[str]:
        return [s.name for s in self.pool.server_states() if s.status == "ready"]

    async def _paged(
        self, server: str, what: str, fetch: Callable[[str | None], Awaitable[Any]], field: str
    ) -> tuple[list[Any], bool]:
        items: list[Any] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self._ask(server, what, lambda c=cursor: fetch(c))  # type: ignore[misc]
            items.extend(getattr(page, field))
            cursor = page.next_cursor
            if cursor is None or len(items) >= MAX_LISTED:
                break
        truncated = len(items) > MAX_LISTED or cursor is not None
        return items[:MAX_LISTED], truncated

    # ---------------------------------------------------------------- resources
    async def list_resources(self, server: str) -> Listing[ResourceInfo]:
        client = self._client(server)
        if client.server_capabilities.resources is None:
            return Listing(())
        raw, truncated = await self._paged(
            server, "the resource list", lambda c: client.list_resources(cursor=c), "resources"
        )
        items = tuple(
            ResourceInfo(
                server=server,
                uri=str(r.uri),
                name=_cut(r.name, 200),
                title=_cut(r.title, 200),
                description=_cut(r.description, 1_000),
                mime_type=_cut(r.mime_type, 100),
                size=r.size,
            )
            for r in raw
            if len(str(r.uri)) <= MAX_URI
        )
        return Listing(items, truncated)

    async def list_templates(self, server: str) -> Listing[TemplateInfo]:
        client = self._client(server)
        if client.server_capabilities.resources is None:
            return Listing(())
        raw, truncated = await self._paged(
            server,
            "the resource template list",
            lambda c: client.list_resource_templates(cursor=c),
            "resource_templates",
        )
        items = tuple(
            TemplateInfo(
                server=server,
                uri_template=t.uri_template,
                name=_cut(t.name, 200),
                title=_cut(t.title, 200),
                description=_cut(t.description, 1_000),
                mime_type=_cut(t.mime_type, 100),
            )
            for t in raw
            if len(t.uri_template) <= MAX_URI
        )
        return Listing(items, truncated)

    async def read(self, server: str, uri: str) -> tuple[ResourceContents, ...]:
        client = self._client(server)
        result = await self._ask(
            server, f"reading {one_line(uri, 200)}", lambda: client.read_resource(uri)
        )
        out = [_contents(server, part) for part in result.contents[:MAX_CONTENTS]]
        if not out:
            raise McpContentError(
                f"The MCP server '{server}' returned nothing for {one_line(uri, 200)}.",
                "Check the address; the resource may be gone.",
            )
        return tuple(out)

    async def complete(
        self, server: str, ref: CompletionRef, argument: str, value: str, context: Mapping[str, str]
    ) -> tuple[str, ...]:
        """Suggestions for ``argument`` starting from ``value``; none when the server does
        not offer completions."""
        client = self._client(server)
        if client.server_capabilities.completions is None:
            return ()
        wire_ref: types.PromptReference | types.ResourceTemplateReference
        if ref.kind == "prompt":
            wire_ref = types.PromptReference(type="ref/prompt", name=ref.name)
        else:
            wire_ref = types.ResourceTemplateReference(type="ref/resource", uri=ref.name)
        result = await self._ask(
            server,
            "a completion",
            lambda: client.complete(
                wire_ref, {"name": argument, "value": value}, dict(context) or None
            ),
        )
        return tuple(_cut(v, 500) for v in result.completion.values[:MAX_COMPLETIONS])

    # ---------------------------------------------------------------- prompts
    async def list_prompts(self, server: str) -> Listing[PromptInfo]:
        client = self._client(server)
        if client.server_capabilities.prompts is None:
            return Listing(())
        raw, truncated = await self._paged(
            server, "the prompt list", lambda c: client.list_prompts(cursor=c), "prompts"
        )
        items = tuple(
            PromptInfo(
                server=server,
                name=_cut(p.name, 128),
                title=_cut(p.title, 200),
                description=_cut(p.description, 1_000),
                arguments=tuple(
                    PromptArgument(
                        name=_cut(a.name, 64),
                        title=_cut(a.title, 200),
                        description=_cut(a.description, 500),
                        required=bool(a.required),
                    )
                    for a in (p.arguments or [])[:32]
                ),
            )
            for p in raw
        )
        return Listing(items, truncated)

    async def get_prompt(
        self, server: str, name: str, arguments: Mapping[str, str]
    ) -> PromptResult:
        client = self._client(server)
        result = await self._ask(
            server,
            f"the prompt {one_line(name, 80)}",
            lambda: client.get_prompt(name, dict(arguments)),
        )
        messages: list[PromptMessage] = []
        budget = MAX_PROMPT_CHARS
        for message in result.messages[:100]:
            role: Role = "assistant" if message.role == "assistant" else "user"
            content = message.content
            text = ""
            resources: tuple[ResourceContents, ...] = ()
            if isinstance(content, types.TextContent):
                text = content.text[: max(0, budget)]
            elif isinstance(content, types.EmbeddedResource):
                resources = (_contents(server, content.resource),)
            elif isinstance(content, types.ResourceLink):
                text = f"[resource {one_line(str(content.uri), 200)}]"
            else:
                text = f"[{content.type} content not shown]"
            budget -= len(text)
            messages.append(PromptMessage(role, text, resources))
        return PromptResult(server, name, _cut(result.description, 1_000), tuple(messages))

    # ---------------------------------------------------------------- subscriptions
    @asynccontextmanager
    async def subscribe(self, server: str, uri: str) -> AsyncIterator[AsyncIterator[str]]:
        """Updates of ``uri`` while the context is open (each item: the URI updated)."""
        client = self._client(server)
        caps = client.server_capabilities.resources
        if caps is None or not caps.subscribe:
            raise McpContentError(
                f"The MCP server '{server}' does not offer resource updates.",
                "The attachment keeps the content it was read with.",
            )
        if client.protocol_version in MODERN_PROTOCOL_VERSIONS:
            async with self._listen(server, client, uri) as updates:
                yield updates
        else:
            async with self._legacy(server, client, uri) as updates:
                yield updates

    @asynccontextmanager
    async def _listen(
        self, server: str, client: Client, uri: str
    ) -> AsyncIterator[AsyncIterator[str]]:
        try:
            async with asyncio.timeout(self.time_limit):
                opened = client.listen(resource_subscriptions=[uri])
                subscription = await opened.__aenter__()
        except (TimeoutError, MCPError, ListenNotSupportedError, SubscriptionLost) as exc:
            raise McpContentError(
                f"Could not subscribe to {one_line(uri, 200)} on '{server}': {exc}",
                "The attachment keeps the content it was read with.",
            ) from None

        async def updates() -> AsyncIterator[str]:
            try:
                async for event in subscription:
                    updated = getattr(event, "uri", None)
                    if updated == uri:
                        yield uri
            except SubscriptionLost:
                log.info("server %s: the update stream for a resource ended", server)

        try:
            yield updates()
        finally:
            with contextlib.suppress(Exception):
                await opened.__aexit__(None, None, None)

    @asynccontextmanager
    async def _legacy(
        self, server: str, client: Client, uri: str
    ) -> AsyncIterator[AsyncIterator[str]]:
        connection = self.pool.connection(server)
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=64)

        def listener(message: Any) -> None:
            if isinstance(message, types.ResourceUpdatedNotification) and (
                str(message.params.uri) == uri
            ):
                with contextlib.suppress(asyncio.QueueFull):  # updates are level triggers
                    queue.put_nowait(uri)

        connection.listeners.append(listener)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # deprecated for 2026 servers; this is a 2025 one
            await self._ask(server, "a subscription", lambda: client.subscribe_resource(uri))

        async def updates() -> AsyncIterator[str]:
            while True:
                yield await queue.get()

        try:
            yield updates()
        finally:
            connection.listeners.remove(listener)
            with warnings.catch_warnings(), contextlib.suppress(Exception):
                warnings.simplefilter("ignore")
                async with asyncio.timeout(2.0):
                    await client.unsubscribe_resource(uri)


def _contents(
    server: str, part: types.TextResourceContents | types.BlobResourceContents
) -> ResourceContents:
    uri = str(part.uri)[:MAX_URI]
    mime = _cut(part.mime_type, 100)
    if isinstance(part, types.BlobResourceContents):
        try:
            data = base64.b64decode(part.blob, validate=True)
        except (binascii.Error, ValueError):
            raise McpContentError(
                f"The MCP server '{server}' sent {one_line(uri, 200)} as broken base64.",
                "The server does not follow the MCP spec; report it to its author.",
            ) from None
        return ResourceContents(uri, mime, data=data)
    return ResourceContents(uri, mime, text=part.text)
