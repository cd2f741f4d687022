"""The "URL elicitation required" error (-32042, 2025-11-25): a real SDK server
(link_server.py) over stdio refuses a tool call until the user visited a link. Keiko shows the
link through the elicitation broker (as URL mode), waits for the server's
``notifications/elicitation/complete`` and retries the call once; a link not opened fails
the call, saying so. The person is a scripted elicitor whose "visit" is the server's
``mark_done`` tool (what the page would do on the server's side).

Both protocol modes: the 2025 handshake (``legacy``, the error's own era) and 2026-07-28
(``auto``: the SDK server still sends the error; no completion notification can come, so the
retry is at once)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from keiko_desktop.core.config import Paths
from keiko_desktop.core.events import EventBus
from keiko_desktop.core.tools.elicitation import (
    ElicitAnswer,
    ElicitationBroker,
    ElicitationRequest,
)
from keiko_desktop.core.tools.errors import ToolCallError
from keiko_desktop.mcp_tools.config import McpConfig, StdioServerConfig
from keiko_desktop.mcp_tools.setup import ToolSystem, build_tool_system
from tests.helpers.mcp_servers.link_server import HERE as LINK_SERVER

from .conftest import FAST


@pytest.fixture(params=["auto", "legacy"])
async def system(
    request: pytest.FixtureRequest, paths: Paths, bus: EventBus
) -> AsyncIterator[ToolSystem]:
    server = StdioServerConfig("link", sys.executable, (str(LINK_SERVER),))
    built = await build_tool_system(
        paths,
        bus,
        config=McpConfig(servers={"link": server}, builtins={}),
        options=replace(FAST, protocol=request.param),
        elicitations=ElicitationBroker(timeout=20.0),
    )
    try:
        assert await built.pool.wait_settled(time_limit=30)
        yield built
    finally:
        await built.aclose()


def legacy(system: ToolSystem) -> bool:
    client = system.pool.connection("link")._client
    assert client is not None
    return client.protocol_version != "2026-07-28"


class Visitor:
    """Answers each link with ``answer``; accepting, it "visits" the link: calls the
    server's ``mark_done`` after ``delay`` seconds (after the answer, so Keiko must wait for
    the completion notification), telling the server whether to ``notify``."""

    def __init__(
        self, system: ToolSystem, answer: ElicitAnswer, delay: float = 0.0, notify: bool = True
    ) -> None:
        self.system, self.answer, self.delay, self.notify = system, answer, delay, notify
        self.asked: list[ElicitationRequest] = []
        self.visits: list[asyncio.Task[object]] = []

    async def elicit(self, request: ElicitationRequest) -> ElicitAnswer:
        self.asked.append(request)
        if self.answer == ElicitAnswer.accept():
            self.visits.append(asyncio.create_task(self._visit()))
            if not self.delay:
                await self.visits[-1]
        return self.answer

    async def _visit(self) -> object:
        await asyncio.sleep(self.delay)
        return await self.system.pool.call_tool("link", "mark_done", {"notify": self.notify})


async def test_the_link_is_shown_and_the_call_retried_once_it_is_done(
    system: ToolSystem,
) -> None:
    visitor = Visitor(system, ElicitAnswer.accept(), delay=1.0 if legacy(system) else 0.0)
    system.elicitations.set_elicitor(visitor)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    result = await system.pool.call_tool("link", "needs_link", {})
    assert result.text == "linked after 2 attempts"
    assert loop.time() - begun < 8.0  # woken by the notification, not the 20 s wait
    (asked,) = visitor.asked
    assert (asked.mode, asked.host, asked.problem) == ("url", "example.com", "")
    assert asked.url == "https://example.com/connect?session=1"
    assert "\\x1b[2J" in asked.message  # the server's escape sequence, shown harmless
    assert all(v.done() for v in visitor.visits)  # on 2025 it waited for the visit


async def test_a_server_that_never_says_done_is_retried_after_the_wait(
    paths: Paths, bus: EventBus
) -> None:
    """The spec's completion notification is a MAY: the wait is bounded (the broker's
    timeout, 2 s here), then the call is retried anyway."""
    server = StdioServerConfig("link", sys.executable, (str(LINK_SERVER),))
    system = await build_tool_system(
        paths,
        bus,
        config=McpConfig(servers={"link": server}, builtins={}),
        options=replace(FAST, protocol="legacy"),
        elicitations=ElicitationBroker(timeout=2.0),
    )
    try:
        assert await system.pool.wait_settled(time_limit=30)
        system.elicitations.set_elicitor(Visitor(system, ElicitAnswer.accept(), notify=False))
        loop = asyncio.get_running_loop()
        begun = loop.time()
        result = await system.pool.call_tool("link", "needs_link", {})
        assert result.text == "linked after 2 attempts"
        assert 1.8 < loop.time() - begun < 8.0
    finally:
        await system.aclose()


@pytest.mark.parametrize("answer", [ElicitAnswer.decline(), ElicitAnswer.cancel()])
async def test_a_link_not_opened_fails_the_call_saying_why(
    system: ToolSystem, answer: ElicitAnswer
) -> None:
    system.elicitations.set_elicitor(Visitor(system, answer))
    with pytest.raises(ToolCallError) as caught:
        await system.pool.call_tool("link", "needs_link", {})
    assert "link.needs_link needs you to visit a link on example.com" in caught.value.message
    assert "not opened" in caught.value.message
    assert "open the link" in caught.value.hint
    attempts = await system.pool.call_tool("link", "mark_done", {"notify": False})
    assert attempts.text == "done"  # the server is still up


async def test_nobody_to_answer_fails_the_call(system: ToolSystem) -> None:
    with pytest.raises(ToolCallError, match="needs you to visit a link"):
        await system.pool.call_tool("link", "needs_link", {})


async def test_more_than_three_links_are_refused_without_asking(system: ToolSystem) -> None:
    visitor = Visitor(system, ElicitAnswer.accept())
    system.elicitations.set_elicitor(visitor)
    with pytest.raises(ToolCallError, match="needs you to visit 4 links; Keiko shows at most 3"):
        await system.pool.call_tool("link", "needs_many", {})
    assert visitor.asked == []


async def test_a_link_that_is_not_http_is_never_accepted(system: ToolSystem) -> None:
    visitor = Visitor(system, ElicitAnswer.accept())
    system.elicitations.set_elicitor(visitor)
    with pytest.raises(ToolCallError, match="not opened"):
        await system.pool.call_tool("link", "bad_link", {})
    (asked,) = visitor.asked
    assert "only http and https" in asked.problem


async def test_still_refused_after_the_visit_fails_after_one_retry(system: ToolSystem) -> None:
    """The person says they opened it, but the page was never finished (no ``mark_done``):
    one retry, then a clear error rather than a loop."""

    class Liar(Visitor):
        async def elicit(self, request: ElicitationRequest) -> ElicitAnswer:
            self.asked.append(request)
            return ElicitAnswer.accept()

    broker = system.elicitations
    broker.timeout = 1.0  # the wait for a completion that never comes
    liar = Liar(system, ElicitAnswer.accept())
    broker.set_elicitor(liar)
    with pytest.raises(ToolCallError, match="still needs you to visit a link"):
        await system.pool.call_tool("link", "needs_link", {})
    assert len(liar.asked) == 1
